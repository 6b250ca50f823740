//! The HTTP API (API Gateway HTTP API, payload 2.0, Cognito JWT authorizer).
//! Requests are dispatched on the route key the template declares.

use std::collections::HashMap;

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::{HeaderMap, HeaderValue};
use chrono::Utc;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::domain::{self, Invalid, NewTodo, Patch};
use crate::items::Tombstone;
use crate::store::{Store, StoreError};
use events::todos::DeletionReason;

/// Bodies past this size are refused before parsing (413).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The authenticated caller, from the JWT authorizer's claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user_id: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub status: u16,
    pub body: Option<Value>,
}

impl Response {
    fn json(status: u16, body: Value) -> Self {
        Self {
            status,
            body: Some(body),
        }
    }

    pub fn error(status: u16, code: &str, message: impl Into<String>, field: Option<&str>) -> Self {
        let mut error = json!({"code": code, "message": message.into()});
        if let Some(field) = field {
            error["field"] = Value::from(field);
        }
        Self::json(status, json!({ "error": error }))
    }

    fn not_found() -> Self {
        Self::error(404, "not_found", "no such todo", None)
    }

    pub fn into_apigw(self) -> ApiGatewayV2httpResponse {
        let mut headers = HeaderMap::new();
        let mut out = ApiGatewayV2httpResponse::default();
        out.status_code = i64::from(self.status);
        if let Some(body) = self.body {
            headers.insert("content-type", HeaderValue::from_static("application/json"));
            out.body = Some(Body::Text(body.to_string()));
        }
        out.headers = headers;
        out
    }
}

impl From<Invalid> for Response {
    fn from(e: Invalid) -> Self {
        let code = if e.status == 400 {
            "bad_request"
        } else {
            "invalid_field"
        };
        Response::error(e.status, code, e.message, Some(&e.field))
    }
}

impl From<StoreError> for Response {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Response::not_found(),
            StoreError::Conflict => Response::error(409, "conflict", e.to_string(), None),
            other => {
                tracing::error!(error = %other, "store failure");
                Response::error(500, "internal", "internal error", None)
            }
        }
    }
}

/// What a handler needs from a request, independent of the wire format.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub route_key: String,
    pub path: HashMap<String, String>,
    pub query: HashMap<String, String>,
    pub body: Option<String>,
    pub caller: Option<Caller>,
    pub correlation_id: String,
}

impl Request {
    pub fn from_apigw(req: &ApiGatewayV2httpRequest) -> Self {
        let ctx = &req.request_context;
        let caller = ctx
            .authorizer
            .as_ref()
            .and_then(|a| a.jwt.as_ref())
            .and_then(|jwt| jwt.claims.get("sub"))
            .map(|sub| Caller {
                user_id: sub.clone(),
            });
        let correlation_id = req
            .headers
            .get("x-correlation-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .or_else(|| ctx.request_id.clone())
            .unwrap_or_else(|| Uuid::new_v4().to_string());
        // Clients send JSON text; a base64 body fails JSON parsing with a
        // clear 400 rather than being guessed at.
        let body = req.body.clone();
        Self {
            route_key: req
                .route_key
                .clone()
                .or_else(|| ctx.route_key.clone())
                .unwrap_or_default(),
            path: req.path_parameters.clone(),
            query: req
                .query_string_parameters
                .iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            body,
            caller,
            correlation_id,
        }
    }
}

pub async fn handle(store: &Store, req: Request) -> Response {
    let Some(caller) = req.caller.clone() else {
        // API Gateway's authorizer stops these; never trust that alone.
        return Response::error(401, "unauthorized", "no authenticated caller", None);
    };
    if req.body.as_ref().is_some_and(|b| b.len() > MAX_BODY_BYTES) {
        return Response::error(
            413,
            "too_large",
            format!("body over {MAX_BODY_BYTES} bytes"),
            Some("body"),
        );
    }
    let span = tracing::info_span!("request", correlation_id = %req.correlation_id, route = %req.route_key);
    let _guard = span.enter();
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
        .ok_or_else(Response::not_found)
}

async fn create(store: &Store, caller: &Caller, req: &Request) -> Result<Response, Response> {
    let new: NewTodo = domain::parse_body(req.body.as_deref())?;
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
    let id = todo_id(req)?;
    let todo = store
        .get(&caller.user_id, id)
        .await?
        .ok_or_else(Response::not_found)?;
    Ok(Response::json(200, domain::view(&todo)))
}

async fn patch(store: &Store, caller: &Caller, req: &Request) -> Result<Response, Response> {
    let id = todo_id(req)?;
    let patch: Patch = domain::parse_body(req.body.as_deref())?;
    let patch = patch.validate()?;
    let todo = store
        .get(&caller.user_id, id)
        .await?
        .ok_or_else(Response::not_found)?;
    let next = patch.apply(&todo, Utc::now(), &req.correlation_id);
    store.update(&todo, &next).await?;
    Ok(Response::json(200, domain::view(&next)))
}

async fn delete(store: &Store, caller: &Caller, req: &Request) -> Result<Response, Response> {
    let id = todo_id(req)?;
    let todo = store
        .get(&caller.user_id, id)
        .await?
        .ok_or_else(Response::not_found)?;
    let tombstone = Tombstone::of(
        &todo,
        DeletionReason::UserRequest,
        Utc::now(),
        &req.correlation_id,
        None,
    );
    store.delete(&todo, &tombstone).await?;
    Ok(Response {
        status: 204,
        body: None,
    })
}
