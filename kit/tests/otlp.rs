//! With `OTEL_EXPORTER_OTLP_ENDPOINT` set, a function's spans also go out
//! over OTLP/HTTP (JSON) to whatever collector listens there, in the trace
//! Lambda handed over. One test in this binary: it sets the environment.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::time::Duration;

/// A collector in a dozen lines: each request's path and body.
fn collector() -> (String, std::sync::mpsc::Receiver<(String, Vec<u8>)>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            let path = request_line
                .split(' ')
                .nth(1)
                .unwrap_or_default()
                .to_owned();
            let mut length = 0;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if line.trim().is_empty() {
                    break;
                }
                if let Some((name, value)) = line.split_once(':')
                    && name.eq_ignore_ascii_case("content-length")
                {
                    length = value.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let mut stream = stream;
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
            let _ = tx.send((path, body));
        }
    });
    (url, rx)
}

#[test]
fn spans_are_exported_over_otlp_in_the_trace_lambda_handed_over() {
    let (url, received) = collector();
    // SAFETY: set before anything else in this one-test binary reads the
    // environment or starts a thread that could.
    unsafe { std::env::set_var("OTEL_EXPORTER_OTLP_ENDPOINT", &url) };
    let telemetry = kit::telemetry::init(kit::telemetry::Meta {
        service: "todos",
        function: "todos-api",
    });
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let mut ctx = lambda_runtime::Context::default();
        ctx.request_id = "r-1".into();
        ctx.xray_trace_id = Some(
            "Root=1-58406520-a006649127e371903a2de979;Parent=4c721bf33e3caf8f;Sampled=1".into(),
        );
        let span = telemetry.invocation(&ctx);
        span.in_scope(|| tracing::info!("inside the invocation"));
        drop(span);
        telemetry.finish().await;
    });
    let (path, body) = received
        .recv_timeout(Duration::from_secs(10))
        .expect("a span export");
    assert_eq!(path, "/v1/traces");
    let export: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let text = export.to_string();
    let span = &export["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
    assert_eq!(span["name"], "invocation", "{text}");
    assert_eq!(
        span["traceId"], "58406520a006649127e371903a2de979",
        "{text}"
    );
    assert_eq!(span["parentSpanId"], "4c721bf33e3caf8f", "{text}");
    assert!(text.contains("\"todos\""), "service.name: {text}");
}
