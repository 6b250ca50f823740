//! A rule's target, sent an event again as EventBridge sends it: what an
//! EventBridge dead letter names (its `TARGET_ARN`) and failed to reach.
//! A bus gets the event put on it; a queue or a topic gets the event's
//! JSON as its message. Sent with the account's own credentials: the
//! dead-letter queue and the target it names are the team's.

use aws_config::SdkConfig;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use serde_json::Value;

/// What an ARN names, for a re-delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target<'a> {
    Bus(&'a str),
    Queue { account: &'a str, name: &'a str },
    Topic(&'a str),
}

impl<'a> Target<'a> {
    /// The target an ARN names; `None` for a kind this cannot send to.
    pub fn of(arn: &'a str) -> Option<Self> {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let [_, _, service, _, account, resource] = parts[..] else {
            return None;
        };
        match service {
            "events" if resource.starts_with("event-bus/") => Some(Self::Bus(arn)),
            "sqs" => Some(Self::Queue {
                account,
                name: resource,
            }),
            "sns" => Some(Self::Topic(arn)),
            _ => None,
        }
    }
}

/// Sends `event` to `target`; the error says why it was not accepted.
pub async fn send(conf: &SdkConfig, target: &Target<'_>, event: &Value) -> Result<(), String> {
    let text = |k: &str| event[k].as_str().unwrap_or_default().to_owned();
    match target {
        Target::Bus(arn) => {
            let entry = PutEventsRequestEntry::builder()
                .event_bus_name(*arn)
                .source(text("source"))
                .detail_type(text("detail-type"))
                .detail(event["detail"].to_string())
                .build();
            let answer = aws_sdk_eventbridge::Client::new(conf)
                .put_events()
                .entries(entry)
                .send()
                .await
                .map_err(|e| aws_sdk_eventbridge::error::DisplayErrorContext(e).to_string())?;
            match answer.entries().first().and_then(|r| r.error_code()) {
                Some(code) => Err(format!(
                    "{code}: {}",
                    answer.entries()[0].error_message().unwrap_or_default()
                )),
                None => Ok(()),
            }
        }
        Target::Queue { account, name } => {
            let sqs = aws_sdk_sqs::Client::new(conf);
            let url = sqs
                .get_queue_url()
                .queue_name(*name)
                .queue_owner_aws_account_id(*account)
                .send()
                .await
                .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(e).to_string())?
                .queue_url
                .unwrap_or_default();
            sqs.send_message()
                .queue_url(url)
                .message_body(event.to_string())
                .send()
                .await
                .map(|_| ())
                .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(e).to_string())
        }
        Target::Topic(arn) => aws_sdk_sns::Client::new(conf)
            .publish()
            .topic_arn(*arn)
            .message(event.to_string())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| aws_sdk_sns::error::DisplayErrorContext(e).to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_arn_names_a_bus_a_queue_or_a_topic_and_nothing_else() {
        let bus = "arn:aws:events:us-east-1:222222222222:event-bus/todos-inbox";
        assert_eq!(Target::of(bus), Some(Target::Bus(bus)));
        assert_eq!(
            Target::of("arn:aws:sqs:us-east-1:222222222222:todos-inbox"),
            Some(Target::Queue {
                account: "222222222222",
                name: "todos-inbox"
            })
        );
        let topic = "arn:aws:sns:us-east-1:222222222222:todos-alerts";
        assert_eq!(Target::of(topic), Some(Target::Topic(topic)));
        for other in [
            "arn:aws:lambda:us-east-1:222222222222:function:f",
            "arn:aws:events:us-east-1:222222222222:rule/r",
            "todos-inbox",
        ] {
            assert_eq!(Target::of(other), None, "{other}");
        }
    }
}
