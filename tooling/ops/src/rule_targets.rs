//! A rule's target, sent an event again: what an EventBridge dead letter
//! names (its `TARGET_ARN`) and failed to reach. Only a bus target is sent
//! to: a team's subscription forwards to its own bus, where its rules
//! decide again. A queue's or a topic's delivery depends on the rule's
//! target settings (its input transformer, a FIFO group), which the
//! letter does not carry, so such a letter stays for a person to decide.

use aws_config::SdkConfig;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_eventbridge::types::builders::PutEventsRequestEntryBuilder;
use serde_json::Value;

/// Why a target did not take the event.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("{0}: only a bus target is sent to; the letter stays")]
    NotABus(String),
    #[error("{code}: {message}")]
    Refused { code: String, message: String },
    #[error("{0}")]
    Call(String),
}

/// A bus an ARN names: its ARN and region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bus<'a> {
    pub arn: &'a str,
    pub region: &'a str,
}

impl<'a> Bus<'a> {
    /// The bus `arn` names, or why it is not one this sends to.
    pub fn of(arn: &'a str) -> Result<Self, SendError> {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        match parts[..] {
            [_, _, "events", region, _, resource] if resource.starts_with("event-bus/") => {
                Ok(Self { arn, region })
            }
            _ => Err(SendError::NotABus(arn.to_owned())),
        }
    }
}

/// A PutEvents entry for `bus` with a bus event's source, detail-type and
/// detail: what every re-delivery of a dead letter puts.
pub fn entry(bus: &str, event: &Value) -> PutEventsRequestEntryBuilder {
    let text = |k: &str| event[k].as_str().unwrap_or_default().to_owned();
    PutEventsRequestEntry::builder()
        .event_bus_name(bus)
        .source(text("source"))
        .detail_type(text("detail-type"))
        .detail(event["detail"].to_string())
}

/// Puts `event` on `bus` in its region, with its source, detail-type,
/// detail, time and resources; the bus gives it a new id, and the caller's
/// account as its `account`.
pub async fn send(conf: &SdkConfig, bus: &Bus<'_>, event: &Value) -> Result<(), SendError> {
    let conf = conf
        .to_builder()
        .region(aws_config::Region::new(bus.region.to_owned()))
        .build();
    let resources = (event["resources"].as_array().into_iter().flatten())
        .filter_map(|r| r.as_str().map(str::to_owned))
        .collect();
    let time = (event["time"].as_str())
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| aws_smithy_types::DateTime::from_secs(t.timestamp()));
    let entry = entry(bus.arn, event)
        .set_resources(Some(resources))
        .set_time(time)
        .build();
    let answer = aws_sdk_eventbridge::Client::new(&conf)
        .put_events()
        .entries(entry)
        .send()
        .await
        .map_err(|e| {
            SendError::Call(aws_sdk_eventbridge::error::DisplayErrorContext(e).to_string())
        })?;
    match answer.entries().first() {
        Some(r) if r.error_code().is_none() && answer.failed_entry_count() == 0 => Ok(()),
        Some(r) => Err(SendError::Refused {
            code: r.error_code().unwrap_or("Failed").to_owned(),
            message: r.error_message().unwrap_or_default().to_owned(),
        }),
        None => Err(SendError::Call("PutEvents answered no entry".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bus_is_sent_to_in_its_region_and_nothing_else_is() {
        let bus = "arn:aws:events:eu-west-1:222222222222:event-bus/todos-inbox";
        assert_eq!(
            Bus::of(bus).unwrap(),
            Bus {
                arn: bus,
                region: "eu-west-1"
            }
        );
        for other in [
            "arn:aws:sqs:us-east-1:222222222222:todos-inbox",
            "arn:aws:sns:us-east-1:222222222222:todos-alerts",
            "arn:aws:lambda:us-east-1:222222222222:function:f",
            "arn:aws:events:us-east-1:222222222222:rule/r",
            "todos-inbox",
        ] {
            assert!(
                matches!(Bus::of(other), Err(SendError::NotABus(_))),
                "{other}"
            );
        }
    }
}
