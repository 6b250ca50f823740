//! The users HTTP API: the caller's own profile, at `/users/me`.

use chrono::Utc;
use kit::http::{Caller, Invalid, Request, Response, parse_body};

use crate::domain::{self, ProfileInput};
use crate::items::Tombstone;
use crate::store::Store;

pub async fn handle(store: &Store, req: Request) -> Response {
    kit::http::serve(&req, |caller, req| async move {
        match req.route_key.as_str() {
            "PUT /users/me" => put(store, &caller, req).await,
            "GET /users/me" => get(store, &caller).await,
            "DELETE /users/me" => delete(store, &caller, req).await,
            other => Err(Response::no_route(other)),
        }
    })
    .await
}

async fn put(store: &Store, caller: &Caller, req: &Request) -> Result<Response, Response> {
    let input: ProfileInput = parse_body(req.body.as_deref())?;
    let input = input.validate()?;
    // The email comes from the identity token, never from the body.
    let email = caller.email.as_deref().ok_or_else(|| {
        Invalid::range(
            "email",
            "the token carries no email claim: send the ID token",
        )
    })?;
    let existing = store.get(&caller.user_id).await?;
    let profile = domain::upsert(
        existing.as_ref(),
        input,
        &caller.user_id,
        email,
        Utc::now(),
        &req.correlation_id,
    );
    store.save(existing.as_ref(), &profile).await?;
    let status = if existing.is_some() { 200 } else { 201 };
    tracing::info!(status, "profile saved");
    Ok(Response::of(status, &domain::view(&profile)))
}

async fn get(store: &Store, caller: &Caller) -> Result<Response, Response> {
    let profile = store
        .get(&caller.user_id)
        .await?
        .ok_or_else(|| Response::not_found("profile"))?;
    Ok(Response::of(200, &domain::view(&profile)))
}

async fn delete(store: &Store, caller: &Caller, req: &Request) -> Result<Response, Response> {
    let profile = store
        .get(&caller.user_id)
        .await?
        .ok_or_else(|| Response::not_found("profile"))?;
    let tombstone = Tombstone::new(&caller.user_id, Utc::now(), &req.correlation_id);
    store.delete(&profile, &tombstone).await?;
    tracing::info!("profile deleted");
    Ok(Response::no_content())
}
