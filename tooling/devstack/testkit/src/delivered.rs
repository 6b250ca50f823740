//! What a rule's target is handed, for tests that feed a consumer by hand.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use events::EventKey;
use serde_json::Value;

/// The event a bus rule's target receives for `detail`.
pub fn delivered(key: &EventKey, detail: Value) -> EventBridgeEvent<Value> {
    let mut event = EventBridgeEvent::<Value>::default();
    event.version = Some("0".into());
    event.id = Some("6a7e8feb-b491-4cf7-a9f1-bf3703467718".into());
    event.source = key.source.into();
    event.detail_type = key.detail_type.into();
    event.account = Some("123456789012".into());
    event.region = Some("us-east-1".into());
    event.time = Some("2026-11-22T10:00:00Z".parse().unwrap());
    event.resources = Some(Vec::new());
    event.detail = detail;
    event
}
