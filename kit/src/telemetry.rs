//! What every function reports about itself: one CloudWatch EMF document
//! per invocation on stdout (Lambda's log pipeline turns it into metrics
//! without an API call), and spans from `tracing` carried across the bus as
//! X-Ray trace headers.
//!
//! A trace crosses four kinds of hop, and each needs its own carrier:
//! - into an invocation: `Lambda-Runtime-Trace-Id` (the runtime puts it in
//!   `Context::xray_trace_id`), set by Lambda or the local cloud;
//! - through a table: DynamoDB Streams carry no trace context, so every item
//!   written inside a span stores the header in [`ATTRIBUTE`]
//!   ([`crate::table::to_attrs`]) and the stream publisher continues it;
//! - onto the bus: each PutEvents entry's `TraceHeader`;
//! - into a dead letter and out again: the SQS `AWSTraceHeader` attribute,
//!   which `ops dlq replay` hands back to Lambda as `X-Amzn-Trace-Id`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use lambda_runtime::{Context as LambdaContext, LambdaEvent};
use metrics_cloudwatch_embedded::Collector;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::Instrument;
#[cfg(feature = "otlp")]
use tracing_subscriber::Layer as _;

use crate::invocation::{Invocation, Record};
use crate::xray;

/// The item attribute that carries a write's trace header to the stream.
pub const ATTRIBUTE: &str = "trace_header";

/// The name X-Ray headers travel under (HTTP, Invoke, SNS).
pub const HEADER: &str = "X-Amzn-Trace-Id";

/// Which function this is: the metrics' namespace and dimensions.
#[derive(Debug, Clone, Copy)]
pub struct Meta {
    /// The crate, i.e. the service: `users`, `todos`, `notifications`.
    pub service: &'static str,
    /// The function: the service and its `Handler`, e.g. `todos-api`.
    pub function: &'static str,
}

impl Meta {
    /// `app/<service>`, like the event sources' `app.<service>`.
    pub fn namespace(&self) -> String {
        format!("app/{}", self.service)
    }
}

/// The [`Meta`] of the calling service's function whose `Handler` is
/// `$handler`: `kit::function!("api")` in `todos` is `todos-api`.
#[macro_export]
macro_rules! function {
    ($handler:literal) => {
        $crate::telemetry::Meta {
            service: env!("CARGO_PKG_NAME"),
            function: concat!(env!("CARGO_PKG_NAME"), "-", $handler),
        }
    };
}

static COLLECTOR: OnceLock<&'static Collector> = OnceLock::new();
/// Held while one invocation's document is put together and written: the
/// recorder and its properties are the process's, and invocations running
/// at once (Managed Instances) each get a document of their own.
static WRITING: Mutex<()> = Mutex::new(());

/// The function's telemetry: logs, spans, metrics.
pub struct Telemetry {
    meta: Meta,
    #[cfg(feature = "otlp")]
    export: Option<std::sync::Arc<crate::otlp::Export>>,
    cold: AtomicBool,
}

/// Installs the JSON log subscriber with X-Ray trace context on every span
/// ([`xray`]), and the EMF recorder. With the `otlp` feature, spans are
/// also exported when `OTEL_EXPORTER_OTLP_ENDPOINT` is set.
pub fn init(meta: Meta) -> Telemetry {
    #[cfg(feature = "otlp")]
    let (layer, export) = match crate::otlp::layer(meta.service, meta.function) {
        Some((layer, export)) => (xray::Layer.and_then(Some(layer)), Some(export)),
        None => (xray::Layer.and_then(None), None),
    };
    #[cfg(not(feature = "otlp"))]
    let layer = xray::Layer;
    crate::logging::init_with(Some(layer));
    match metrics_cloudwatch_embedded::Builder::new()
        .cloudwatch_namespace(meta.namespace())
        .with_dimension("service", meta.service)
        .with_dimension("function", meta.function)
        .init()
    {
        Ok(collector) => {
            let _ = COLLECTOR.set(collector);
        }
        Err(e) => tracing::warn!(error = %e, "metrics off"),
    }
    // Units go to the recorder, so after it is installed.
    describe();
    Telemetry {
        meta,
        #[cfg(feature = "otlp")]
        export,
        cold: AtomicBool::new(true),
    }
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_histogram};
    describe_counter!("ColdStart", Unit::Count, "first invocation of a process");
    describe_histogram!("Latency", Unit::Milliseconds, "HTTP handler time");
    describe_histogram!(
        "EventAge",
        Unit::Milliseconds,
        "invocation start − occurred_at"
    );
    describe_histogram!("BatchSize", Unit::Count, "entries per publish");
    describe_histogram!(
        "OwnTime",
        Unit::Milliseconds,
        "an invocation's duration less its waits on calls out"
    );
    describe_histogram!(
        "CallTime",
        Unit::Milliseconds,
        "an invocation's wall time with an AWS or third-party call in flight"
    );
    for name in [
        "Requests",
        "Http2xx",
        "Http4xx",
        "Http5xx",
        "EntriesPut",
        "EntriesFailed",
        "EntriesResent",
        "EventsProcessed",
        "EventsFailed",
        "EventsDuplicate",
        "PushesSent",
        "PushesGone",
        "Delivered",
    ] {
        describe_counter!(name, Unit::Count, "");
    }
}

impl Telemetry {
    pub fn meta(&self) -> Meta {
        self.meta
    }

    /// The Lambda runtime loop, one invocation at a time, with a span per
    /// invocation continuing the trace Lambda hands over, and the metrics
    /// flushed after each one. The handler's error is anything Lambda can
    /// report: its `errorType` is what a state machine's `Retry` and
    /// `Catch` match (see [`TypedError`]).
    pub async fn run<A, R, E, F, Fut>(&self, handler: F) -> Result<(), lambda_runtime::Error>
    where
        A: DeserializeOwned + Send + 'static,
        R: Serialize + Send,
        E: Into<lambda_runtime::Diagnostic> + std::fmt::Display + std::fmt::Debug,
        F: Fn(LambdaEvent<A>) -> Fut,
        Fut: Future<Output = Result<R, E>>,
    {
        let handler = &handler;
        lambda_runtime::run(lambda_runtime::service_fn(move |event| {
            self.invoke(handler, event)
        }))
        .await
    }

    /// [`Telemetry::run`] for a function that may run on Lambda Managed
    /// Instances: with `AWS_LAMBDA_MAX_CONCURRENCY` above 1 the runtime
    /// serves that many invocations at once in this process, each with
    /// its own span, metrics document and waits ([`crate::invocation`]);
    /// without it, one at a time as [`Telemetry::run`]. The handler is
    /// shared by every invocation in flight, so it holds nothing mutable
    /// of its own.
    pub async fn run_concurrent<A, R, E, F, Fut>(
        self,
        handler: F,
    ) -> Result<(), lambda_runtime::Error>
    where
        A: DeserializeOwned + Send + 'static,
        R: Serialize + Send + 'static,
        E: Into<lambda_runtime::Diagnostic> + std::fmt::Display + std::fmt::Debug + Send + 'static,
        F: Fn(LambdaEvent<A>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, E>> + Send + 'static,
    {
        // Both live as long as the process, and every worker the runtime
        // starts shares them.
        let telemetry: &'static Self = Box::leak(Box::new(self));
        let handler: &'static F = Box::leak(Box::new(handler));
        lambda_runtime::run_concurrent(lambda_runtime::service_fn(move |event| {
            telemetry.invoke(handler, event)
        }))
        .await
    }

    /// One invocation: its state current while the handler runs, its span,
    /// and its document written when it ends.
    async fn invoke<A, R, E, F, Fut>(&self, handler: &F, event: LambdaEvent<A>) -> Result<R, E>
    where
        E: std::fmt::Display,
        F: Fn(LambdaEvent<A>) -> Fut,
        Fut: Future<Output = Result<R, E>>,
    {
        let started = std::time::Instant::now();
        let invocation = Invocation::new(&event.context.request_id);
        invocation
            .clone()
            .scope(async move {
                let span = self.invocation(&event.context);
                // Boxed: nested inline, a handler's future overflows the
                // compiler's layout depth.
                let result = Box::pin(handler(event)).instrument(span.clone()).await;
                let timing = (started.elapsed(), crate::call_time::take());
                if let Err(e) = &result {
                    span.in_scope(|| tracing::error!(error = %e, "invocation failed"));
                }
                drop(span);
                self.close(Some(&invocation), Some(timing)).await;
                result
            })
            .await
    }

    /// The invocation's span: a child of the trace Lambda handed over.
    pub fn invocation(&self, ctx: &LambdaContext) -> tracing::Span {
        let span = tracing::info_span!(
            "invocation",
            request_id = %ctx.request_id,
            trace_id = tracing::field::Empty,
        );
        if let Some(header) = &ctx.xray_trace_id {
            continue_from(&span, header);
        }
        let trace_id = trace_id_of(&span);
        span.record("trace_id", trace_id.as_str());
        if let Some(i) = Invocation::current() {
            i.state().trace_id = trace_id;
        }
        span
    }

    /// After an invocation: `ColdStart` once, the EMF document out, and the
    /// spans flushed when exporting (a frozen process sends nothing).
    pub async fn finish(&self) {
        self.close(Invocation::current().as_ref(), None).await;
    }

    /// [`Telemetry::finish`], with the invocation's duration and its waits
    /// on calls out when known. They go in the same document as
    /// `ColdStart` (an HTTP route's), so a reader can tell the cold one.
    async fn close(
        &self,
        invocation: Option<&Arc<Invocation>>,
        timing: Option<(Duration, Duration)>,
    ) {
        let labels = invocation
            .map(|i| i.state().labels.clone())
            .unwrap_or_default();
        if self.cold.swap(false, Ordering::Relaxed) {
            counter("ColdStart", &labels, 1);
        }
        if let Some((duration, waited)) = timing {
            timed(&labels, duration, waited);
        }
        if let Some(i) = invocation {
            write(i);
        }
        #[cfg(feature = "otlp")]
        if let Some(export) = self.export.clone() {
            let _ = tokio::task::spawn_blocking(move || export.flush()).await;
        }
    }
}

/// The invocation's EMF document: its metrics put to the recorder and
/// written out with its properties, while no other invocation's are.
fn write(invocation: &Invocation) {
    let (records, trace_id, event_type) = {
        let mut state = invocation.state();
        (
            std::mem::take(&mut state.records),
            state.trace_id.clone(),
            state.event_type.take(),
        )
    };
    let _writing = WRITING.lock().unwrap_or_else(|e| e.into_inner());
    for record in records {
        match record {
            Record::Counter { name, labels, n } => {
                metrics::counter!(name, to_labels(&labels)).increment(n)
            }
            Record::Histogram {
                name,
                labels,
                value,
            } => metrics::histogram!(name, to_labels(&labels)).record(value),
        }
    }
    if let Some(c) = COLLECTOR.get() {
        c.set_property("trace_id", trace_id)
            .set_property("request_id", invocation.request_id.clone());
        match event_type {
            Some(t) => c.set_property("event_type", t),
            None => c.remove_property("event_type"),
        };
        let _ = c.flush(std::io::stdout().lock());
    }
}

/// A count, kept by the running invocation for its document (outside
/// one, straight to the recorder).
fn counter(name: &'static str, labels: &[(&'static str, String)], n: u64) {
    match Invocation::current() {
        Some(i) => i.state().records.push(Record::Counter {
            name,
            labels: labels.to_vec(),
            n,
        }),
        None => metrics::counter!(name, to_labels(labels)).increment(n),
    }
}

/// A histogram value, kept as [`counter`] keeps a count.
fn histogram(name: &'static str, labels: &[(&'static str, String)], value: f64) {
    match Invocation::current() {
        Some(i) => i.state().records.push(Record::Histogram {
            name,
            labels: labels.to_vec(),
            value,
        }),
        None => metrics::histogram!(name, to_labels(labels)).record(value),
    }
}

/// One invocation's own time, its duration less its waits on calls out
/// (what the function's code and the SDK's own work cost), and those waits.
fn timed(labels: &[(&'static str, String)], duration: Duration, waited: Duration) {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    histogram("OwnTime", labels, ms(duration.saturating_sub(waited)));
    histogram("CallTime", labels, ms(waited));
}

fn to_labels(labels: &[(&'static str, String)]) -> Vec<metrics::Label> {
    labels
        .iter()
        .map(|(k, v)| metrics::Label::new(*k, v.clone()))
        .collect()
}

fn remember(labels: Vec<(&'static str, String)>) {
    if let Some(i) = Invocation::current() {
        i.state().labels = labels;
    }
}

/// Makes `span` a child of the X-Ray `header`'s context; a header that does
/// not parse leaves the span a root of its own.
pub fn continue_from(span: &tracing::Span, header: &str) {
    xray::continue_from(span, header);
}

/// The X-Ray header naming `span` as the parent, for whatever it hands on.
pub fn header_of(span: &tracing::Span) -> Option<String> {
    xray::trace_of(span).map(|t| xray::header(&t))
}

/// The current span's X-Ray header (None outside any span).
pub fn current_header() -> Option<String> {
    header_of(&tracing::Span::current())
}

/// The span's trace id as X-Ray writes it, `1-<8 hex>-<24 hex>` (all
/// zeros for a span that has none).
pub fn trace_id_of(span: &tracing::Span) -> String {
    xray::trace_id(xray::trace_of(span).map_or(0, |t| t.trace_id))
}

/// The `Root` of an X-Ray header.
pub fn root_of(header: &str) -> Option<&str> {
    header
        .split(';')
        .find_map(|part| part.trim().strip_prefix("Root="))
}

/// One HTTP request: count, latency and status class per route. A 5xx and
/// the latency are also kept per version of the function
/// (`AWS_LAMBDA_FUNCTION_VERSION`, the number a gradual deployment's
/// alarms name): an answer the handler gives is no Lambda error, so
/// Lambda's own `Errors` never sees it, and a slow new version is rolled
/// back on its own latency percentile.
pub fn http(route: &str, status: u16, latency: Duration) {
    let labels = vec![("route", route.to_owned())];
    let ms = latency.as_secs_f64() * 1000.0;
    counter("Requests", &labels, 1);
    histogram("Latency", &labels, ms);
    histogram("Latency", &[("version", version().to_owned())], ms);
    let class = match status {
        500.. => "Http5xx",
        400..=499 => "Http4xx",
        _ => "Http2xx",
    };
    counter(class, &labels, 1);
    if status >= 500 {
        counter("Http5xx", &[("version", version().to_owned())], 1);
    }
    remember(labels);
}

/// The function version this process runs, as Lambda tells it.
fn version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| {
        std::env::var("AWS_LAMBDA_FUNCTION_VERSION").unwrap_or_else(|_| "$LATEST".to_owned())
    })
}

/// One publish: entries put, failed for good, re-sent after a partial
/// failure, and the batch's size.
pub fn published(put: usize, failed: usize, resent: usize, batch: usize) {
    counter("EntriesPut", &[], put as u64);
    counter("EntriesFailed", &[], failed as u64);
    counter("EntriesResent", &[], resent as u64);
    histogram("BatchSize", &[], batch as f64);
}

/// How a consumer's delivery ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consumed {
    Processed,
    Duplicate,
    Failed,
}

impl Consumed {
    /// How a handler's result ended; `duplicate` tells a delivery it skipped.
    pub fn of<T, E>(result: &Result<T, E>, duplicate: impl FnOnce(&T) -> bool) -> Self {
        match result {
            Ok(handled) if duplicate(handled) => Consumed::Duplicate,
            Ok(_) => Consumed::Processed,
            Err(_) => Consumed::Failed,
        }
    }
}

/// One event consumed from the bus, with its age: the invocation's start −
/// `occurred_at`, the lag a team watches (how far behind the consumer is,
/// as a stream's IteratorAge; the handler's own time is `OwnTime` and
/// `CallTime`). The detail-type goes in as a property, so a consumer's
/// metrics stay one dimension set (what its alarms watch).
pub fn consumed(
    event_type: &str,
    occurred_at: Option<chrono::DateTime<chrono::Utc>>,
    how: Consumed,
) {
    let name = match how {
        Consumed::Processed => "EventsProcessed",
        Consumed::Duplicate => "EventsDuplicate",
        Consumed::Failed => "EventsFailed",
    };
    counter(name, &[], 1);
    let invocation = Invocation::current();
    if let Some(at) = occurred_at {
        let received = invocation
            .as_ref()
            .map_or_else(chrono::Utc::now, |i| i.received_at);
        let age = (received - at).num_milliseconds().max(0);
        histogram("EventAge", &[], age as f64);
    }
    if let Some(i) = invocation {
        i.state().event_type = Some(event_type.to_owned());
    }
}

/// [`consumed`] for a delivery from the bus, reading its detail-type and
/// `detail.metadata.occurred_at` (absent on an event that does not decode).
pub fn consumed_event(
    event: &aws_lambda_events::eventbridge::EventBridgeEvent<serde_json::Value>,
    how: Consumed,
) {
    let occurred_at = event.detail["metadata"]["occurred_at"]
        .as_str()
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&chrono::Utc));
    consumed(&event.detail_type, occurred_at, how);
}

/// Notifications handed to the delivery topic.
pub fn delivered(count: usize) {
    counter("Delivered", &[], count as u64);
}

/// A failure with the `errorType` Lambda reports for it, e.g.
/// `Sender.Unavailable`, so a state machine can retry or catch it by name
/// (a plain error reports its Rust type name).
#[derive(Debug, thiserror::Error)]
#[error("{error_type}: {message}")]
pub struct TypedError {
    pub error_type: String,
    pub message: String,
}

impl TypedError {
    pub fn new(error_type: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            error_type: error_type.into(),
            message: message.into(),
        }
    }
}

impl From<TypedError> for lambda_runtime::Diagnostic {
    fn from(e: TypedError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: e.error_type,
            error_message: e.message,
        }
    }
}

/// A count a service names itself (webhooks rejected, secrets refetched,
/// executions started...): one metric in the function's dimension set.
pub fn count(name: &'static str, n: u64) {
    counter(name, &[], n);
}

/// Live pushes: sent, and found gone (410).
pub fn pushed(sent: usize, gone: usize) {
    counter("PushesSent", &[], sent as u64);
    counter("PushesGone", &[], gone as u64);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_span_continues_the_header_it_is_given_and_hands_on_its_own() {
        use tracing_subscriber::prelude::*;
        let subscriber = tracing_subscriber::registry().with(xray::Layer);
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("x");
            continue_from(
                &span,
                "Root=1-58406520-a006649127e371903a2de979;Parent=4c721bf33e3caf8f;Sampled=1",
            );
            assert_eq!(trace_id_of(&span), "1-58406520-a006649127e371903a2de979");
            let handed_on = span.in_scope(current_header).unwrap();
            assert!(
                handed_on.starts_with("Root=1-58406520-a006649127e371903a2de979;Parent="),
                "{handed_on}"
            );
            assert!(!handed_on.contains("4c721bf33e3caf8f"), "its own span id");
            // A header that does not parse leaves a root of its own.
            let other = tracing::info_span!("y");
            continue_from(&other, "Sampled=1");
            assert_ne!(trace_id_of(&other), "1-58406520-a006649127e371903a2de979");
        });
    }

    #[test]
    fn a_result_says_how_a_delivery_was_consumed() {
        let dup = |n: &u8| *n == 0;
        assert_eq!(Consumed::of(&Ok::<u8, ()>(0), dup), Consumed::Duplicate);
        assert_eq!(Consumed::of(&Ok::<u8, ()>(1), dup), Consumed::Processed);
        assert_eq!(Consumed::of(&Err::<u8, ()>(()), dup), Consumed::Failed);
    }

    #[test]
    fn x_ray_ids_and_roots() {
        assert_eq!(
            xray::trace_id(0x58406520_a006649127e371903a2de979),
            "1-58406520-a006649127e371903a2de979"
        );
        assert_eq!(
            root_of("Root=1-58406520-a006649127e371903a2de979;Parent=4c721bf33e3caf8f;Sampled=1"),
            Some("1-58406520-a006649127e371903a2de979")
        );
        assert_eq!(root_of("Parent=4c721bf33e3caf8f"), None);
    }
}
