//! Structured JSON logs. Handlers open a span carrying `correlation_id`, so
//! every line inside it carries the id too.

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::prelude::*;

/// Installs the JSON subscriber once; `RUST_LOG` filters (default `info`).
///
/// `RUST_LOG` takes levels and `target=level` pairs (`warn,users=debug`).
/// `Targets` rather than `EnvFilter`: the latter's span and field filters
/// bring a regex engine, a quarter of a megabyte in every function.
pub fn init() {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| v.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_current_span(true)
        .with_span_list(true)
        .with_target(false)
        .without_time() // Lambda stamps every log line itself.
        .finish()
        .with(filter)
        .try_init();
}
