//! Structured JSON logs. Handlers open a span carrying `correlation_id`, so
//! every line inside it carries the id too; the invocation span adds the
//! X-Ray `trace_id` ([`crate::telemetry`]).

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::prelude::*;

/// Installs the JSON subscriber once; `RUST_LOG` filters (default `info`).
pub fn init() {
    init_with(None::<tracing_subscriber::layer::Identity>);
}

/// [`init`] with one more layer (the X-Ray context one, for functions).
///
/// `RUST_LOG` takes levels and `target=level` pairs (`warn,users=debug`).
/// `Targets` rather than `EnvFilter`: the latter's span and field filters
/// bring a regex engine, a quarter of a megabyte in every function.
pub fn init_with<L>(extra: Option<L>)
where
    L: tracing_subscriber::Layer<tracing_subscriber::Registry> + Send + Sync + 'static,
{
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| v.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO));
    let fmt = tracing_subscriber::fmt::layer()
        .json()
        .with_current_span(true)
        .with_span_list(true)
        .with_target(false)
        // Lambda stamps every log line itself; no colour codes in a log.
        .without_time()
        .with_ansi(false);
    // The filter is the log's only: a function logging nothing (`off`)
    // still traces, so its writes and events carry the trace on.
    let _ = tracing_subscriber::registry()
        // Our spans are `info`; the SDK's own (debug and below) stay out of traces.
        .with(extra.map(|layer| layer.with_filter(LevelFilter::INFO)))
        .with(fmt.with_filter(filter))
        .try_init();
}
