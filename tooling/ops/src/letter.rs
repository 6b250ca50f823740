//! What lands in a dead-letter queue, decoded. Four shapes:
//!
//! - an async invocation failure: the original event, with AWS's
//!   `RequestID`, `ErrorCode` and `ErrorMessage` attributes — inside an SNS
//!   envelope (`Message` as a string, `MessageAttributes` as `{Type, Value}`)
//!   or, with raw delivery, as the body with SQS message attributes;
//! - an EventBridge target's failure: the event as the body, with the
//!   rule's and target's ARNs and the error (`RULE_ARN`, `TARGET_ARN`,
//!   `ERROR_CODE`, `ERROR_MESSAGE`) as SQS message attributes;
//! - a stream mapping's OnFailure record: batch metadata only;
//! - anything else: shown as it is, never dropped.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One SQS message as exported: lossless (body and every attribute).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Raw {
    pub message_id: String,
    pub body: String,
    /// SQS message attributes: name → (data type, string value).
    #[serde(default)]
    pub attributes: BTreeMap<String, (String, String)>,
    /// `SentTimestamp` (epoch ms) and `ApproximateReceiveCount`.
    #[serde(default)]
    pub sent_at_ms: Option<i64>,
    #[serde(default)]
    pub receive_count: Option<u32>,
    /// The X-Ray trace the failure happened in (SQS `AWSTraceHeader`): a
    /// replay continues it, and an export keeps it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_header: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "shape", rename_all = "snake_case")]
pub enum Shape {
    AsyncFailure {
        event: Value,
        request_id: Option<String>,
        error_code: Option<String>,
        error_message: Option<String>,
        enveloped: bool,
    },
    TargetFailure {
        event: Value,
        rule_arn: Option<String>,
        target_arn: Option<String>,
        error_code: Option<String>,
        error_message: Option<String>,
    },
    StreamFailure {
        record: Value,
        function_arn: Option<String>,
        shard_id: Option<String>,
        start_sequence: Option<String>,
        end_sequence: Option<String>,
        stream_arn: Option<String>,
        batch_size: Option<u64>,
    },
    Unrecognised {
        reason: String,
    },
}

pub fn decode(raw: &Raw) -> Shape {
    let Ok(body) = serde_json::from_str::<Value>(&raw.body) else {
        return Shape::Unrecognised {
            reason: "the body is not JSON".into(),
        };
    };
    // The SNS envelope, when the subscription is not raw.
    let (inner, attrs, enveloped) = if body["Type"] == "Notification" && body["Message"].is_string()
    {
        let message = body["Message"].as_str().unwrap_or_default();
        let Ok(inner) = serde_json::from_str::<Value>(message) else {
            return Shape::Unrecognised {
                reason: "the SNS message is not JSON".into(),
            };
        };
        let attrs: BTreeMap<String, String> = body["MessageAttributes"]
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| Some((k.clone(), v["Value"].as_str()?.to_owned())))
            .collect();
        (inner, attrs, true)
    } else {
        let attrs = raw
            .attributes
            .iter()
            .map(|(k, (_, v))| (k.clone(), v.clone()))
            .collect();
        (body, attrs, false)
    };
    if let Some(info) = inner.get("DDBStreamBatchInfo") {
        let s = |v: &Value| v.as_str().map(str::to_owned);
        return Shape::StreamFailure {
            function_arn: s(&inner["requestContext"]["functionArn"]),
            shard_id: s(&info["shardId"]),
            start_sequence: s(&info["startSequenceNumber"]),
            end_sequence: s(&info["endSequenceNumber"]),
            stream_arn: s(&info["streamArn"]),
            batch_size: info["batchSize"].as_u64(),
            record: inner,
        };
    }
    if !enveloped && attrs.contains_key("TARGET_ARN") {
        return Shape::TargetFailure {
            rule_arn: attrs.get("RULE_ARN").cloned(),
            target_arn: attrs.get("TARGET_ARN").cloned(),
            error_code: attrs.get("ERROR_CODE").cloned(),
            error_message: attrs.get("ERROR_MESSAGE").cloned(),
            event: inner,
        };
    }
    if attrs.contains_key("ErrorMessage") || attrs.contains_key("RequestID") {
        return Shape::AsyncFailure {
            request_id: attrs.get("RequestID").cloned(),
            error_code: attrs.get("ErrorCode").cloned(),
            error_message: attrs.get("ErrorMessage").cloned(),
            event: inner,
            enveloped,
        };
    }
    Shape::Unrecognised {
        reason:
            "neither an async failure (no RequestID/ErrorMessage), an EventBridge target's (no TARGET_ARN) nor a stream OnFailure record"
                .into(),
    }
}

/// The one-line facts an on-call engineer wants first.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    pub message_id: String,
    pub shape: &'static str,
    pub source: Option<String>,
    pub detail_type: Option<String>,
    pub event_id: Option<String>,
    pub correlation_id: Option<String>,
    pub function: Option<String>,
    /// The rule target an EventBridge dead letter failed to reach.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub receive_count: Option<u32>,
    pub age_seconds: Option<i64>,
}

impl Summary {
    /// A bus event's source, detail-type and the ids its metadata carries.
    fn read_bus_event(&mut self, event: &Value) {
        let text = |v: &Value| v.as_str().map(str::to_owned);
        self.source = text(&event["source"]);
        self.detail_type = text(&event["detail-type"]);
        self.event_id = text(&event["detail"]["metadata"]["event_id"]);
        self.correlation_id = text(&event["detail"]["metadata"]["correlation_id"]);
    }
}

pub fn summarize(raw: &Raw, shape: &Shape, function: Option<String>, now_ms: i64) -> Summary {
    let mut s = Summary {
        message_id: raw.message_id.clone(),
        receive_count: raw.receive_count,
        age_seconds: raw.sent_at_ms.map(|t| (now_ms - t) / 1000),
        function,
        ..Summary::default()
    };
    let text = |v: &Value| v.as_str().map(str::to_owned);
    match shape {
        Shape::AsyncFailure {
            event,
            error_code,
            error_message,
            ..
        } => {
            s.shape = "async-failure";
            if event.get("Records").is_some() {
                s.source = text(&event["Records"][0]["eventSource"]);
                s.detail_type = text(&event["Records"][0]["eventName"]);
            } else {
                s.read_bus_event(event);
            }
            s.error_code = error_code.clone();
            s.error_message = error_message.clone();
        }
        Shape::TargetFailure {
            event,
            target_arn,
            error_code,
            error_message,
            ..
        } => {
            s.shape = "target-failure";
            s.read_bus_event(event);
            s.target = target_arn.clone();
            s.error_code = error_code.clone();
            s.error_message = error_message.clone();
        }
        Shape::StreamFailure {
            record,
            function_arn,
            ..
        } => {
            s.shape = "stream-failure";
            s.source = Some("aws:dynamodb".into());
            s.function = s.function.or_else(|| {
                function_arn
                    .as_ref()
                    .map(|a| a.rsplit(':').next().unwrap_or(a).to_owned())
            });
            s.error_code = text(&record["responseContext"]["statusCode"]).or_else(|| {
                record["responseContext"]["statusCode"]
                    .as_i64()
                    .map(|c| c.to_string())
            });
            s.error_message = text(&record["requestContext"]["condition"]);
        }
        Shape::Unrecognised { reason } => {
            s.shape = "unrecognised";
            s.error_message = Some(reason.clone());
        }
    }
    s
}

/// Replay and peek filters.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// One letter, by its SQS message id (the console's replay button).
    pub message_id: Option<String>,
    pub detail_type: Option<String>,
    pub error_contains: Option<String>,
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
}

impl Filter {
    pub fn accepts(&self, raw: &Raw, summary: &Summary) -> bool {
        if let Some(id) = &self.message_id
            && raw.message_id != *id
        {
            return false;
        }
        if let Some(d) = &self.detail_type
            && summary.detail_type.as_deref() != Some(d.as_str())
        {
            return false;
        }
        if let Some(e) = &self.error_contains
            && !summary
                .error_message
                .as_deref()
                .is_some_and(|m| m.contains(e.as_str()))
        {
            return false;
        }
        let sent = raw.sent_at_ms.unwrap_or_default();
        self.since_ms.is_none_or(|t| sent >= t) && self.until_ms.is_none_or(|t| sent <= t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn raw(body: Value) -> Raw {
        Raw {
            message_id: "m1".into(),
            body: body.to_string(),
            attributes: BTreeMap::new(),
            sent_at_ms: Some(1_000),
            receive_count: Some(1),
            trace_header: None,
        }
    }

    fn event() -> Value {
        json!({"source": "app.users", "detail-type": "UserDeleted", "detail": {"metadata": {"event_id": "e1", "correlation_id": "c1"}, "data": {}}})
    }

    #[test]
    fn an_enveloped_async_failure_yields_the_event_and_attributes() {
        let body = json!({"Type": "Notification", "Message": event().to_string(), "MessageAttributes": {
            "RequestID": {"Type": "String", "Value": "r1"},
            "ErrorCode": {"Type": "Number", "Value": "200"},
            "ErrorMessage": {"Type": "String", "Value": "missing field `user_id`"}}});
        let r = raw(body);
        let shape = decode(&r);
        let Shape::AsyncFailure {
            event: e,
            error_code,
            enveloped,
            ..
        } = &shape
        else {
            panic!("{shape:?}")
        };
        assert_eq!(
            (e, error_code.as_deref(), *enveloped),
            (&event(), Some("200"), true)
        );
        let s = summarize(&r, &shape, Some("f".into()), 11_000);
        assert_eq!(s.detail_type.as_deref(), Some("UserDeleted"));
        assert_eq!(s.event_id.as_deref(), Some("e1"));
        assert_eq!(s.correlation_id.as_deref(), Some("c1"));
        assert_eq!(s.age_seconds, Some(10));
    }

    #[test]
    fn a_raw_delivery_reads_the_sqs_attributes() {
        let mut r = raw(event());
        r.attributes
            .insert("ErrorMessage".into(), ("String".into(), "boom".into()));
        r.attributes
            .insert("RequestID".into(), ("String".into(), "r".into()));
        assert!(matches!(
            decode(&r),
            Shape::AsyncFailure {
                enveloped: false,
                ..
            }
        ));
    }

    #[test]
    fn an_eventbridge_targets_dead_letter_names_its_rule_target_and_error() {
        let mut r = raw(event());
        for (k, v) in [
            (
                "RULE_ARN",
                "arn:aws:events:us-east-1:1:rule/platform-bus/todos-Subscription",
            ),
            (
                "TARGET_ARN",
                "arn:aws:events:us-east-1:2:event-bus/todos-inbox",
            ),
            ("ERROR_CODE", "NO_PERMISSIONS"),
            (
                "ERROR_MESSAGE",
                "not authorized to perform events:PutEvents",
            ),
        ] {
            r.attributes.insert(k.into(), ("String".into(), v.into()));
        }
        let shape = decode(&r);
        let Shape::TargetFailure {
            event: e, rule_arn, ..
        } = &shape
        else {
            panic!("{shape:?}")
        };
        assert_eq!(e, &event());
        assert!(rule_arn.as_deref().unwrap().ends_with("todos-Subscription"));
        let s = summarize(&r, &shape, None, 11_000);
        assert_eq!(
            (s.shape, s.target.as_deref(), s.error_code.as_deref()),
            (
                "target-failure",
                Some("arn:aws:events:us-east-1:2:event-bus/todos-inbox"),
                Some("NO_PERMISSIONS")
            )
        );
        assert_eq!(s.event_id.as_deref(), Some("e1"));
    }

    #[test]
    fn a_stream_on_failure_record_yields_its_batch() {
        let record = json!({"requestContext": {"functionArn": "arn:aws:lambda:us-east-1:1:function:pub", "condition": "RetryAttemptsExhausted"},
            "responseContext": {"statusCode": 200}, "DDBStreamBatchInfo": {"shardId": "s", "startSequenceNumber": "1", "endSequenceNumber": "2", "streamArn": "arn", "batchSize": 2}});
        let r = raw(
            json!({"Type": "Notification", "Message": record.to_string(), "MessageAttributes": {}}),
        );
        let shape = decode(&r);
        assert!(matches!(&shape, Shape::StreamFailure { start_sequence: Some(s), .. } if s == "1"));
        assert_eq!(
            summarize(&r, &shape, None, 0).function.as_deref(),
            Some("pub")
        );
    }

    #[test]
    fn anything_else_is_unrecognised_but_kept() {
        for body in [
            "not json".to_owned(),
            json!({"hello": "world"}).to_string(),
            json!({"Type": "Notification", "Message": "plain"}).to_string(),
        ] {
            let r = Raw {
                body,
                ..raw(json!({}))
            };
            assert!(matches!(decode(&r), Shape::Unrecognised { .. }));
        }
    }

    #[test]
    fn filters_select_by_type_error_and_time() {
        let r = raw(json!({}));
        let s = Summary {
            detail_type: Some("UserDeleted".into()),
            error_message: Some("missing user_id".into()),
            ..Summary::default()
        };
        assert!(Filter::default().accepts(&r, &s));
        let one = |id: &str| Filter {
            message_id: Some(id.into()),
            ..Filter::default()
        };
        assert!(one(&r.message_id).accepts(&r, &s));
        assert!(!one("another-letter").accepts(&r, &s));
        assert!(
            Filter {
                detail_type: Some("UserDeleted".into()),
                ..Filter::default()
            }
            .accepts(&r, &s)
        );
        assert!(
            !Filter {
                detail_type: Some("TodoCompleted".into()),
                ..Filter::default()
            }
            .accepts(&r, &s)
        );
        assert!(
            Filter {
                error_contains: Some("user_id".into()),
                ..Filter::default()
            }
            .accepts(&r, &s)
        );
        assert!(
            !Filter {
                since_ms: Some(2_000),
                ..Filter::default()
            }
            .accepts(&r, &s)
        );
        assert!(
            Filter {
                until_ms: Some(2_000),
                ..Filter::default()
            }
            .accepts(&r, &s)
        );
    }
}
