//! Cognito's error answer, as its JSON 1.1 APIs give it (`__type` and the
//! error header), readable by the browser that called the front.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

pub(super) fn refused(status: StatusCode, kind: &str, message: &str) -> Response {
    (
        status,
        [
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amzn-errortype", kind),
            ("access-control-allow-origin", "*"),
        ],
        json!({ "__type": kind, "message": message }).to_string(),
    )
        .into_response()
}
