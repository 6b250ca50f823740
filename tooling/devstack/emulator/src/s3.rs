//! S3 object-created notifications in the exact shape AWS delivers them to
//! a function. The local cloud normalises the emulator's notifications into
//! this shape, and tests use it as the real trigger payload.

use aws_lambda_events::s3::S3Event;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::json;

/// S3 encodes keys in notifications like a form: unreserved characters
/// and `/` stay, a space becomes `+`, the rest is percent-encoded.
const KEY_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/')
    .remove(b' ');

pub fn encode_key(key: &str) -> String {
    utf8_percent_encode(key, KEY_ENCODE)
        .to_string()
        .replace(' ', "+")
}

/// One `ObjectCreated:Put` record for `bucket`/`key`.
pub fn object_created(bucket: &str, key: &str, size: i64, etag: &str, sequencer: &str) -> S3Event {
    let event = json!({
        "Records": [{
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "awsRegion": crate::REGION,
            "eventTime": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "eventName": "ObjectCreated:Put",
            "userIdentity": {"principalId": "AWS:LOCAL"},
            "requestParameters": {"sourceIPAddress": "127.0.0.1"},
            "responseElements": {"x-amz-request-id": "LOCAL", "x-amz-id-2": "LOCAL"},
            "s3": {
                "s3SchemaVersion": "1.0",
                "configurationId": "ObjectCreated",
                "bucket": {
                    "name": bucket,
                    "ownerIdentity": {"principalId": "LOCAL"},
                    "arn": format!("arn:aws:s3:::{bucket}")
                },
                "object": {
                    "key": encode_key(key),
                    "size": size,
                    "eTag": etag.trim_matches('"'),
                    "sequencer": sequencer
                }
            }
        }]
    });
    serde_json::from_value(event).expect("the S3 event shape parses")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_encoded_as_s3_does() {
        assert_eq!(
            encode_key("users/u 1/a+b(é).png"),
            "users/u+1/a%2Bb%28%C3%A9%29.png"
        );
        let event = object_created("b", "k 1", 3, "\"abc\"", "0001");
        assert_eq!(event.records[0].s3.object.key.as_deref(), Some("k+1"));
        assert_eq!(event.records[0].s3.object.e_tag.as_deref(), Some("abc"));
        assert_eq!(
            event.records[0].event_name.as_deref(),
            Some("ObjectCreated:Put")
        );
    }
}
