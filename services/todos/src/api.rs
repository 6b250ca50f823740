//! The todos HTTP API (API Gateway HTTP API, payload 2.0, Cognito JWT
//! authorizer), dispatched on the route keys the template declares.

use chrono::Utc;
use events::todos::DeletionReason;
use kit::http::{Caller, Request, Response, parse_body};
use serde_json::json;
use uuid::Uuid;

use crate::domain::{self, NewTodo, Patch};
use crate::items::Tombstone;
use crate::store::Store;

pub async fn handle(store: &Store, req: Request) -> Response {
    let caller = match req.admit() {
        Ok(caller) => caller,
        Err(refused) => return refused,
    };
    let _guard = req.span().entered();
    let result = match req.route_key.as_str() {
        "POST /todos" => create(store, &caller, &req).await,
        "GET /todos" => list(store, &caller, &req).await,
        "GET /todos/{id}" => get(store, &caller, &req).await,
        "PATCH /todos/{id}" => patch(store, &caller, &req).await,
        "DELETE /todos/{id}" => delete(store, &caller, &req).await,
        other => Err(Response::error(
            404,
            "no_route",
            format!("no route {other}"),
            None,
        )),
    };
    result.unwrap_or_else(|e| e)
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
    store.create(&todo).await?;
    tracing::info!(todo_id = %todo.todo_id, "todo created");
    Ok(Response::json(201, domain::view(&todo)))
}

async fn list(store: &Store, caller: &Caller, req: &Request) -> Result<Response, Response> {
    let limit = match req.query.get("limit") {
        None => 20,
        Some(l) => l
            .parse::<i32>()
            .ok()
            .filter(|l| (1..=100).contains(l))
            .ok_or_else(|| {
                Response::error(400, "bad_request", "limit must be 1..=100", Some("limit"))
            })?,
    };
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
    Ok(Response::json(
        200,
        json!({
            "items": page.items.iter().map(domain::view).collect::<Vec<_>>(),
            "next_cursor": page.next,
        }),
    ))
}

async fn get(store: &Store, caller: &Caller, req: &Request) -> Result<Response, Response> {
    let todo = owned(store, caller, req).await?;
    Ok(Response::json(200, domain::view(&todo)))
}

async fn patch(store: &Store, caller: &Caller, req: &Request) -> Result<Response, Response> {
    let patch: Patch = parse_body(req.body.as_deref())?;
    let patch = patch.validate()?;
    let todo = owned(store, caller, req).await?;
    let next = patch.apply(&todo, Utc::now(), &req.correlation_id);
    store.update(&todo, &next).await?;
    Ok(Response::json(200, domain::view(&next)))
}

async fn delete(store: &Store, caller: &Caller, req: &Request) -> Result<Response, Response> {
    let todo = owned(store, caller, req).await?;
    let tombstone = Tombstone::of(
        &todo,
        DeletionReason::UserRequest,
        Utc::now(),
        &req.correlation_id,
        None,
    );
    store.delete(&todo, &tombstone).await?;
    Ok(Response::no_content())
}
