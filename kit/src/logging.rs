//! Structured JSON logs. Handlers open a span carrying `correlation_id`, so
//! every line inside it carries the id too.

use tracing_subscriber::EnvFilter;

/// Installs the JSON subscriber once; `RUST_LOG` filters (default `info`).
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(true)
        .with_target(false)
        .without_time() // Lambda stamps every log line itself.
        .try_init();
}
