//! The todos HTTP API (API Gateway HTTP API, payload 2.0, Cognito JWT
//! authorizer), dispatched on the route keys the template declares.

use chrono::Utc;
use events::todos::DeletionReason;
use kit::http_api::{Caller, Request, Response, parse_body};
use uuid::Uuid;

use crate::domain::{self, NewAttachment, NewTodo, Patch, TodoPage, UploadHeaders, UploadTicket};
use crate::items::Tombstone;
use crate::objects::Objects;
use crate::store::Store;

/// The adapters the API works with, built once per process.
#[derive(Clone)]
pub struct Todos {
    pub store: Store,
    pub objects: Objects,
}

pub async fn handle(app: &Todos, req: Request) -> Response {
    kit::http_api::serve(&req, |caller, req| async move {
        let store = &app.store;
        match req.route_key.as_str() {
            "POST /todos" => create(store, &caller, req).await,
            "GET /todos" => list(store, &caller, req).await,
            "GET /todos/{id}" => get(store, &caller, req).await,
            "PATCH /todos/{id}" => patch(store, &caller, req).await,
            "DELETE /todos/{id}" => delete(app, &caller, req).await,
            "POST /todos/{id}/attachments" => attach(app, &caller, req).await,
            other => Err(Response::no_route(other)),
        }
    })
    .await
}

fn todo_id(req: &Request) -> Result<Uuid, Response> {
    req.path
        .get("id")
        .and_then(|id| id.parse().ok())
        .ok_or_else(|| Response::not_found("todo"))
}

async fn owned(
    store: &Store,
    caller: &Caller,
    req: &Request,
) -> Result<crate::items::Todo, Response> {
    // Another user's todo is indistinguishable from a missing one.
    store
        .get(&caller.user_id, todo_id(req)?)
        .await?
        .ok_or_else(|| Response::not_found("todo"))
}

async fn create(store: &Store, caller: &Caller, req: &Request) -> Result<Response, Response> {
    let new: NewTodo = parse_body(req.body.as_deref())?;
    let todo = new.validate()?.into_todo(
        Uuid::now_v7(),
        &caller.user_id,
        Utc::now(),
        &req.correlation_id,
    );
    match store.create(&todo).await {
        Err(kit::table::TableError::Barred) => {
            tracing::info!("a todo refused: the account was erased");
            return Err(kit::erasure::refused());
        }
        created => created?,
    }
    tracing::info!(todo_id = %todo.todo_id, "todo created");
    Ok(Response::of(201, &domain::view(&todo)))
}

async fn list(store: &Store, caller: &Caller, req: &Request) -> Result<Response, Response> {
    let limit = kit::http_api::page_limit(req)?;
    let after = match req.query.get("cursor") {
        None => None,
        Some(c) => Some(c.parse::<Uuid>().map_err(|_| {
            Response::error(
                400,
                "bad_request",
                "cursor is not one this API issued",
                Some("cursor"),
            )
        })?),
    };
    let page = store.list(&caller.user_id, limit, after).await?;
    Ok(Response::of(
        200,
        &TodoPage {
            items: page.items.iter().map(domain::view).collect(),
            next_cursor: page.next,
        },
    ))
}

async fn get(store: &Store, caller: &Caller, req: &Request) -> Result<Response, Response> {
    let todo = owned(store, caller, req).await?;
    Ok(Response::of(200, &domain::view(&todo)))
}

async fn patch(store: &Store, caller: &Caller, req: &Request) -> Result<Response, Response> {
    let patch: Patch = parse_body(req.body.as_deref())?;
    let patch = patch.validate()?;
    let todo = owned(store, caller, req).await?;
    let next = patch.apply(&todo, Utc::now(), &req.correlation_id);
    store.update(&todo, &next).await?;
    Ok(Response::of(200, &domain::view(&next)))
}

async fn delete(app: &Todos, caller: &Caller, req: &Request) -> Result<Response, Response> {
    let todo = owned(&app.store, caller, req).await?;
    let tombstone = Tombstone::of(
        &todo,
        DeletionReason::UserRequest,
        Utc::now(),
        &req.correlation_id,
        None,
    );
    app.store.delete(&todo, &tombstone).await?;
    // The todo is gone either way; an object left behind is logged, and
    // the upload check deletes late arrivals whose todo is gone.
    let keys: Vec<String> = todo
        .attachments
        .iter()
        .map(|a| a.object_key.clone())
        .collect();
    if let Err(e) = app.objects.delete(&keys).await {
        tracing::warn!(error = %e, "attachment objects not deleted");
    }
    Ok(Response::no_content())
}

async fn attach(app: &Todos, caller: &Caller, req: &Request) -> Result<Response, Response> {
    let new: NewAttachment = parse_body(req.body.as_deref())?;
    let todo = owned(&app.store, caller, req).await?;
    let new = new.validate(&todo)?;
    let now = Utc::now();
    let (next, attachment) = new.attach(&todo, Uuid::now_v7(), now, &req.correlation_id);
    let (url, expires_at) = app
        .objects
        .upload_url(
            &attachment.object_key,
            &attachment.content_type,
            attachment.size_bytes,
            now,
        )
        .await
        .map_err(|e| Response::internal(&e))?;
    app.store.update(&todo, &next).await?;
    Ok(Response::of(
        201,
        &UploadTicket {
            attachment_id: attachment.attachment_id,
            upload_url: url,
            expires_at,
            method: "PUT".into(),
            headers: UploadHeaders {
                content_type: attachment.content_type,
            },
        },
    ))
}
