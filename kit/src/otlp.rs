//! Span export over OTLP/HTTP (JSON), for a team that runs a collector
//! beside its functions (the ADOT layer on AWS): feature `otlp`, on when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set. Off by default because the SDK
//! and exporter cost 0.6–0.85 MB in every function (docs/deploying.md, "Artifact
//! size"); the trace ids are [`crate::xray`]'s either way, so an exported
//! span sits in the trace the X-Ray headers carry.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use opentelemetry::trace::{
    SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_sdk::trace::{
    BatchSpanProcessor, SpanData, SpanEvents, SpanLinks, SpanProcessor,
};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use crate::xray::Trace;

/// The exporter behind the layer; [`Export::flush`] sends what is queued
/// (a frozen process sends nothing).
pub struct Export {
    processor: BatchSpanProcessor,
    scope: InstrumentationScope,
}

impl Export {
    pub fn flush(&self) {
        let _ = self.processor.force_flush();
    }
}

/// The export layer of the `function` of `service`, when
/// `OTEL_EXPORTER_OTLP_ENDPOINT` is set and the exporter could be built.
pub fn layer(service: &'static str, function: &'static str) -> Option<(Layer, Arc<Export>)> {
    if !std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT").is_ok_and(|v| !v.is_empty()) {
        return None;
    }
    // The exporter's blocking HTTP client must not be made (or dropped)
    // on the async runtime's threads.
    let built = std::thread::spawn(|| {
        use opentelemetry_otlp::{Protocol, WithExportConfig};
        opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpJson)
            .with_timeout(Duration::from_secs(2))
            .build()
    })
    .join();
    let exporter = match built {
        Ok(Ok(exporter)) => exporter,
        Ok(Err(e)) => {
            eprintln!("OTLP export off: {e}");
            return None;
        }
        Err(_) => {
            eprintln!("OTLP export off: the exporter could not be built");
            return None;
        }
    };
    let mut processor = BatchSpanProcessor::builder(exporter).build();
    processor.set_resource(
        &opentelemetry_sdk::Resource::builder()
            .with_service_name(service)
            .with_attribute(KeyValue::new("faas.name", function))
            .build(),
    );
    let export = Arc::new(Export {
        processor,
        scope: InstrumentationScope::builder(function).build(),
    });
    Some((
        Layer {
            export: export.clone(),
        },
        export,
    ))
}

/// Hands each sampled span to the exporter when it closes.
pub struct Layer {
    export: Arc<Export>,
}

/// What a span needs for its export besides its [`Trace`].
struct Recorded {
    start: SystemTime,
    attributes: Vec<KeyValue>,
}

struct Fields<'a>(&'a mut Vec<KeyValue>);

impl tracing::field::Visit for Fields<'_> {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.push(KeyValue::new(field.name(), value.to_owned()));
    }
    fn record_i64(&mut self, field: &tracing::field::Field, value: i64) {
        self.0.push(KeyValue::new(field.name(), value));
    }
    fn record_bool(&mut self, field: &tracing::field::Field, value: bool) {
        self.0.push(KeyValue::new(field.name(), value));
    }
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0
            .push(KeyValue::new(field.name(), format!("{value:?}")));
    }
}

impl<S> tracing_subscriber::Layer<S> for Layer
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut attributes = Vec::new();
        attrs.record(&mut Fields(&mut attributes));
        span.extensions_mut().insert(Recorded {
            start: SystemTime::now(),
            attributes,
        });
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        if let Some(r) = span.extensions_mut().get_mut::<Recorded>() {
            values.record(&mut Fields(&mut r.attributes));
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let mut extensions = span.extensions_mut();
        let Some(trace) = extensions.get_mut::<Trace>().copied() else {
            return;
        };
        let Some(recorded) = extensions.remove::<Recorded>() else {
            return;
        };
        if trace.sampled {
            self.export
                .processor
                .on_end(self.data(span.name(), trace, recorded));
        }
    }
}

impl Layer {
    fn data(&self, name: &'static str, trace: Trace, recorded: Recorded) -> SpanData {
        SpanData {
            span_context: SpanContext::new(
                TraceId::from(trace.trace_id),
                SpanId::from(trace.span_id),
                TraceFlags::SAMPLED,
                false,
                TraceState::default(),
            ),
            parent_span_id: trace.parent_id.map_or(SpanId::INVALID, SpanId::from),
            parent_span_is_remote: trace.remote_parent,
            span_kind: SpanKind::Internal,
            name: Cow::Borrowed(name),
            start_time: recorded.start,
            end_time: SystemTime::now(),
            attributes: recorded.attributes,
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links: SpanLinks::default(),
            status: Status::Unset,
            instrumentation_scope: self.export.scope.clone(),
        }
    }
}
