//! The {{service}} HTTP API: the caller's own {{service}}.

use chrono::Utc;
use kit::http_api::{Caller, Request, Response, parse_body};

use crate::domain::{self, {{Item}}Input, {{Item}}List};
use crate::items::{{Item}};
use crate::store::Store;

pub async fn handle(store: &Store, req: Request) -> Response {
    kit::http_api::serve(&req, |caller, req| async move {
        match req.route_key.as_str() {
            "POST /{{service}}" => create(store, &caller, req).await,
            "GET /{{service}}" => list(store, &caller).await,
            "GET /{{service}}/{id}" => read(store, &caller, req).await,
            other => Err(Response::no_route(other)),
        }
    })
    .await
}

async fn create(store: &Store, caller: &Caller, req: &Request) -> Result<Response, Response> {
    let input: {{Item}}Input = parse_body(req.body.as_deref())?;
    let input = input.validate()?;
    let item = {{Item}}::new(&caller.user_id, &input.title, Utc::now(), &req.correlation_id);
    store.create(&item).await?;
    tracing::info!(id = %item.id, "{{item}} created");
    Ok(Response::of(201, &domain::view(&item)))
}

async fn list(store: &Store, caller: &Caller) -> Result<Response, Response> {
    let items = store.newest(&caller.user_id).await?;
    let list = {{Item}}List {
        items: items.iter().map(domain::view).collect(),
    };
    Ok(Response::of(200, &list))
}

async fn read(store: &Store, caller: &Caller, req: &Request) -> Result<Response, Response> {
    let id = req.path.get("id").map(String::as_str).unwrap_or_default();
    let item = store
        .get(&caller.user_id, id)
        .await?
        .ok_or_else(|| Response::not_found("{{item}}"))?;
    Ok(Response::of(200, &domain::view(&item)))
}
