//! Every function of the service, one module each, as its template's
//! `Handler` names it: the service ships one binary, and the handler
//! picks which function a process runs (`kit::handler`).

pub mod api;
pub mod attachment_check;
pub mod on_user_deleted;
pub mod pre_traffic;
pub mod publisher;

/// The handlers this service's binary runs, as its template names them.
pub const HANDLERS: &[&str] = &[
    "api",
    "attachment-check",
    "on-user-deleted",
    "pre-traffic",
    "publisher",
];

/// Runs the function `handler` names until the runtime stops it.
pub async fn run(handler: &str) -> Result<(), lambda_runtime::Error> {
    match handler {
        "api" => api::run().await,
        "attachment-check" => attachment_check::run().await,
        "on-user-deleted" => on_user_deleted::run().await,
        "pre-traffic" => pre_traffic::run().await,
        "publisher" => publisher::run().await,
        other => Err(kit::handler::Unknown::new(other, HANDLERS).into()),
    }
}
