//! X-Ray trace context for `tracing` spans, without the OpenTelemetry SDK.
//!
//! A function only has to continue the trace it is handed and hand it on
//! (a header in, a header out, ids in between); the SDK and its exporter
//! cost 0.6–0.85 MB in every function for that (docs/deploying.md, "Artifact size").
//! So each span gets its [`Trace`] here, in the span's extensions, and the
//! OTLP export, when a team wants it, reads the same ids
//! ([`crate::otlp`], feature `otlp`).

use tracing::span::{Attributes, Id};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

/// One span's place in its trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trace {
    pub trace_id: u128,
    pub span_id: u64,
    /// The span this one continues, in this process or (`remote`) the
    /// caller's segment.
    pub parent_id: Option<u64>,
    pub remote_parent: bool,
    pub sampled: bool,
}

/// An X-Ray header's parts: `Root=1-<8 hex>-<24 hex>;Parent=<16 hex>;Sampled=<0|1>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub trace_id: u128,
    pub parent_id: u64,
    pub sampled: bool,
}

impl Header {
    /// Both `Root` and `Parent` are needed to continue a trace, as for
    /// X-Ray's own SDKs; anything else (`Lineage`, `Self`) is ignored.
    pub fn parse(header: &str) -> Option<Self> {
        let (mut root, mut parent, mut sampled) = (None, None, true);
        for part in header.split(';') {
            let (key, value) = part.trim().split_once('=')?;
            match key {
                "Root" => root = parse_root(value),
                "Parent" if value.len() == 16 => parent = u64::from_str_radix(value, 16).ok(),
                // `?` (the caller left it to us) samples, as X-Ray's default rule does.
                "Sampled" => sampled = value != "0",
                _ => {}
            }
        }
        Some(Self {
            trace_id: root.filter(|id| *id != 0)?,
            parent_id: parent.filter(|id| *id != 0)?,
            sampled,
        })
    }
}

fn parse_root(value: &str) -> Option<u128> {
    let rest = value.strip_prefix("1-")?;
    let (time, random) = rest.split_once('-')?;
    if time.len() != 8 || random.len() != 24 {
        return None;
    }
    u128::from_str_radix(&format!("{time}{random}"), 16).ok()
}

/// The header naming a span as the parent of whatever it hands on.
pub fn header(trace: &Trace) -> String {
    format!(
        "Root={};Parent={:016x};Sampled={}",
        trace_id(trace.trace_id),
        trace.span_id,
        u8::from(trace.sampled)
    )
}

/// A trace id as X-Ray writes it, `1-<8 hex>-<24 hex>`.
pub fn trace_id(id: u128) -> String {
    let hex = format!("{id:032x}");
    format!("1-{}-{}", &hex[..8], &hex[8..])
}

/// A new trace id: epoch seconds in the first 32 bits, as X-Ray requires,
/// then 96 random ones.
pub fn new_trace_id() -> u128 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as u32);
    (u128::from(secs) << 96) | (random() & ((1u128 << 96) - 1))
}

/// A new span (segment) id, never zero.
pub fn new_span_id() -> u64 {
    (random() as u64).max(1)
}

fn random() -> u128 {
    uuid::Uuid::new_v4().as_u128()
}

/// Gives every span a [`Trace`]: a child of its parent span's, or the root
/// of a new trace.
pub struct Layer;

impl<S> tracing_subscriber::Layer<S> for Layer
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, _attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let parent = span
            .parent()
            .and_then(|p| p.extensions().get::<Trace>().copied());
        let trace = match parent {
            Some(p) => Trace {
                trace_id: p.trace_id,
                span_id: new_span_id(),
                parent_id: Some(p.span_id),
                remote_parent: false,
                sampled: p.sampled,
            },
            None => Trace {
                trace_id: new_trace_id(),
                span_id: new_span_id(),
                parent_id: None,
                remote_parent: false,
                sampled: true,
            },
        };
        span.extensions_mut().insert(trace);
    }
}

/// The span's [`Trace`], when the installed subscriber keeps them (None
/// for a disabled span, or outside any).
pub fn trace_of(span: &tracing::Span) -> Option<Trace> {
    with_trace(span, |t| *t)
}

/// Makes `span` continue the trace `header` names (its own id stays); a
/// header that does not parse changes nothing.
pub fn continue_from(span: &tracing::Span, header: &str) {
    let Some(h) = Header::parse(header) else {
        return;
    };
    with_trace(span, |t| {
        t.trace_id = h.trace_id;
        t.parent_id = Some(h.parent_id);
        t.remote_parent = true;
        t.sampled = h.sampled;
    });
}

fn with_trace<R>(span: &tracing::Span, f: impl FnOnce(&mut Trace) -> R) -> Option<R> {
    span.with_subscriber(|(id, dispatch)| {
        let registry = dispatch.downcast_ref::<tracing_subscriber::Registry>()?;
        let span = registry.span(id)?;
        let mut extensions = span.extensions_mut();
        extensions.get_mut::<Trace>().map(f)
    })
    .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::prelude::*;

    const HEADER: &str =
        "Root=1-58406520-a006649127e371903a2de979;Parent=4c721bf33e3caf8f;Sampled=1";

    #[test]
    fn a_header_parses_and_formats_back() {
        let h = Header::parse(HEADER).unwrap();
        assert_eq!(h.trace_id, 0x58406520_a006649127e371903a2de979);
        assert_eq!(h.parent_id, 0x4c721bf33e3caf8f);
        assert!(h.sampled);
        let back = header(&Trace {
            trace_id: h.trace_id,
            span_id: h.parent_id,
            parent_id: None,
            remote_parent: false,
            sampled: h.sampled,
        });
        assert_eq!(back, HEADER);
        // Lambda's headers carry more parts, in any order.
        let lambda = "Parent=4c721bf33e3caf8f;Root=1-58406520-a006649127e371903a2de979;Sampled=0;Lineage=a87bd80c:1";
        let h = Header::parse(lambda).unwrap();
        assert_eq!(h.parent_id, 0x4c721bf33e3caf8f);
        assert!(!h.sampled);
    }

    #[test]
    fn a_header_without_root_or_parent_or_with_bad_ids_continues_nothing() {
        for bad in [
            "Sampled=1",
            "Root=1-58406520-a006649127e371903a2de979",
            "Parent=4c721bf33e3caf8f",
            "Root=2-58406520-a006649127e371903a2de979;Parent=4c721bf33e3caf8f",
            "Root=1-5840652-a006649127e371903a2de979;Parent=4c721bf33e3caf8f",
            "Root=1-58406520-a006649127e371903a2de97z;Parent=4c721bf33e3caf8f",
            "Root=1-58406520-a006649127e371903a2de979;Parent=4c721bf33e3caf8",
            "Root=1-00000000-000000000000000000000000;Parent=4c721bf33e3caf8f",
            "",
            "garbage",
        ] {
            assert_eq!(Header::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn new_trace_ids_start_with_the_time() {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let id = new_trace_id();
        let secs = (id >> 96) as u64;
        assert!(secs.abs_diff(now) <= 1, "{secs} vs {now}");
        assert_ne!(new_trace_id(), id);
        assert_ne!(new_span_id(), 0);
    }

    #[test]
    fn spans_inherit_their_parents_trace_and_a_header_reparents_one() {
        let subscriber = tracing_subscriber::registry().with(Layer);
        tracing::subscriber::with_default(subscriber, || {
            let root = tracing::info_span!("root");
            let r = trace_of(&root).unwrap();
            assert_eq!(r.parent_id, None);
            continue_from(&root, HEADER);
            let r = trace_of(&root).unwrap();
            assert_eq!(r.trace_id, 0x58406520_a006649127e371903a2de979);
            assert_eq!(r.parent_id, Some(0x4c721bf33e3caf8f));
            assert!(r.remote_parent);
            let child = root.in_scope(|| tracing::info_span!("child"));
            let c = trace_of(&child).unwrap();
            assert_eq!(c.trace_id, r.trace_id);
            assert_eq!(c.parent_id, Some(r.span_id));
            assert_ne!(c.span_id, r.span_id);
            // An unsampled caller's choice holds for the children.
            let quiet = tracing::info_span!("quiet");
            continue_from(
                &quiet,
                "Root=1-58406520-a006649127e371903a2de979;Parent=4c721bf33e3caf8f;Sampled=0",
            );
            let child = quiet.in_scope(|| tracing::info_span!("child"));
            assert!(!trace_of(&child).unwrap().sampled);
        });
        // No subscriber keeping traces: none.
        assert_eq!(trace_of(&tracing::info_span!("x")), None);
    }
}
