//! Every function of the service, one module each, as its template's
//! `Handler` names it: the service ships one binary, and the handler
//! picks which function a process runs (`kit::handler`).

pub mod api;
pub mod consumer;
pub mod flow_deliver;
pub mod flow_fail;
pub mod flow_send;
pub mod flow_wait;
pub mod page;
pub mod page_cache;
pub mod pre_traffic;
pub mod publisher;
pub mod webhook;

/// The handlers this service's binary runs, as its template names them.
pub const HANDLERS: &[&str] = &[
    "api",
    "consumer",
    "flow-deliver",
    "flow-fail",
    "flow-send",
    "flow-wait",
    "page-cache",
    "page",
    "pre-traffic",
    "publisher",
    "webhook",
];

/// Runs the function `handler` names until the runtime stops it.
pub async fn run(handler: &str) -> Result<(), lambda_runtime::Error> {
    match handler {
        "api" => api::run().await,
        "consumer" => consumer::run().await,
        "flow-deliver" => flow_deliver::run().await,
        "flow-fail" => flow_fail::run().await,
        "flow-send" => flow_send::run().await,
        "flow-wait" => flow_wait::run().await,
        "page-cache" => page_cache::run().await,
        "page" => page::run().await,
        "pre-traffic" => pre_traffic::run().await,
        "publisher" => publisher::run().await,
        "webhook" => webhook::run().await,
        other => Err(kit::handler::Unknown::new(other, HANDLERS).into()),
    }
}
