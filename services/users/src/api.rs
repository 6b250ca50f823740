//! The users HTTP API: the caller's own profile, at `/users/me`, and for
//! the admins group, every user (`GET /users`).

use chrono::Utc;
use kit::http_api::{Caller, Invalid, Request, Response, parse_body};
use kit::table::TableError;

use crate::domain::{self, ADMINS, ProfileInput, UserPage};
use crate::items::Tombstone;
use crate::store::Store;

pub async fn handle(store: &Store, req: Request) -> Response {
    kit::http_api::serve(&req, |caller, req| async move {
        match req.route_key.as_str() {
            "PUT /users/me" => put(store, &caller, req).await,
            "GET /users/me" => get(store, &caller).await,
            "DELETE /users/me" => delete(store, &caller, req).await,
            "GET /users" => list(store, &caller, req).await,
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
    match store.save(existing.as_ref(), &profile).await {
        // A token issued before the account was deleted still lives up to
        // an hour: it must not bring the erased person back (a new profile
        // would register them again in every service).
        Err(TableError::Barred) => return Err(kit::erasure::refused()),
        saved => saved?,
    }
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

/// Every live user, a page at a time: admins only. The group is checked
/// before anything else, so nobody else learns even what is malformed.
async fn list(store: &Store, caller: &Caller, req: &Request) -> Result<Response, Response> {
    if !caller.in_group(ADMINS) {
        return Err(Response::error(
            403,
            "forbidden",
            format!("only members of the {ADMINS} group may list users"),
            None,
        ));
    }
    let limit = kit::http_api::page_limit(req)?;
    let after = match req.query.get("cursor") {
        None => None,
        Some(c) => Some(domain::decode_cursor(c)?),
    };
    let (profiles, next) = store.profiles_page(limit, after).await?;
    tracing::info!(count = profiles.len(), "users listed");
    Ok(Response::of(
        200,
        &UserPage {
            items: profiles.iter().map(domain::view).collect(),
            next_cursor: next.as_ref().map(domain::encode_cursor),
        },
    ))
}
