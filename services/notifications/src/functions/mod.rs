//! Every function of the service, one module each, as its template's
//! `Handler` names it: the service ships one binary, and the handler
//! picks which function a process runs (`kit::handler`).

pub mod api;
pub mod authorizer;
pub mod consumer;
pub mod deliverer;
pub mod pre_traffic;
pub mod publisher;
pub mod socket;

/// The handlers this service's binary runs, as its template names them.
pub const HANDLERS: &[&str] = &[
    "api",
    "authorizer",
    "consumer",
    "deliverer",
    "pre-traffic",
    "publisher",
    "socket",
];

/// Runs the function `handler` names until the runtime stops it.
pub async fn run(handler: &str) -> Result<(), lambda_runtime::Error> {
    match handler {
        "api" => api::run().await,
        "authorizer" => authorizer::run().await,
        "consumer" => consumer::run().await,
        "deliverer" => deliverer::run().await,
        "pre-traffic" => pre_traffic::run().await,
        "publisher" => publisher::run().await,
        "socket" => socket::run().await,
        other => Err(kit::handler::Unknown::new(other, HANDLERS).into()),
    }
}
