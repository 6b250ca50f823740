//! What the adapter tests build on the emulator through the SDK: a bus
//! whose events land in a queue, and the queue's messages read back. They
//! fail the test (a panic) on any error.

use aws_sdk_eventbridge::types::Target;
use aws_sdk_sqs::types::QueueAttributeName;
use kit::config::SdkConfig;

use crate::unique;

/// A new bus whose every `app.todos` event lands in a new queue: the bus's
/// name, an SQS client and the queue's URL.
pub async fn bus_with_queue(conf: &SdkConfig) -> (String, aws_sdk_sqs::Client, String) {
    let eb = aws_sdk_eventbridge::Client::new(conf);
    let sqs = aws_sdk_sqs::Client::new(conf);
    let bus = unique("bus");
    eb.create_event_bus().name(&bus).send().await.unwrap();
    let queue_url = rule_to_new_queue(&eb, &sqs, &bus, "all-todos").await;
    (bus, sqs, queue_url)
}

/// A new standard queue named after `prefix`; its URL.
pub async fn new_queue(sqs: &aws_sdk_sqs::Client, prefix: &str) -> String {
    sqs.create_queue()
        .queue_name(unique(prefix))
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap()
}

/// The ARN of the queue at `queue_url`.
pub async fn queue_arn(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> String {
    sqs.get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&QueueAttributeName::QueueArn]
        .clone()
}

/// A rule on `bus` for every `app.todos` event, whose target is a new
/// queue; the queue's URL.
pub async fn rule_to_new_queue(
    eb: &aws_sdk_eventbridge::Client,
    sqs: &aws_sdk_sqs::Client,
    bus: &str,
    rule: &str,
) -> String {
    let queue_url = new_queue(sqs, "q").await;
    let arn = queue_arn(sqs, &queue_url).await;
    let rule_arn = eb
        .put_rule()
        .name(rule)
        .event_bus_name(bus)
        .event_pattern(r#"{"source":["app.todos"]}"#)
        .send()
        .await
        .unwrap()
        .rule_arn
        .expect("the rule's ARN");
    let_the_rule_send(sqs, &queue_url, &arn, &rule_arn).await;
    eb.put_targets()
        .rule(rule)
        .event_bus_name(bus)
        .targets(Target::builder().id("q").arn(arn).build().unwrap())
        .send()
        .await
        .unwrap();
    queue_url
}

/// The queue's policy lets EventBridge send to it for `rule_arn` alone, as
/// AWS requires of a rule's queue target (the local cloud judges it).
pub async fn let_the_rule_send(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    queue_arn: &str,
    rule_arn: &str,
) {
    let_the_rules_send(sqs, queue_url, queue_arn, &[rule_arn.to_owned()]).await;
}

/// The queue's policy lets EventBridge send to it for these rules alone.
pub async fn let_the_rules_send(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    queue_arn: &str,
    rule_arns: &[String],
) {
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": rule_arns}},
        }],
    });
    sqs.set_queue_attributes()
        .queue_url(queue_url)
        .attributes(QueueAttributeName::Policy, policy.to_string())
        .send()
        .await
        .unwrap();
}

/// Every message in the queue now, parsed as JSON and deleted.
pub async fn drain(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    loop {
        let got = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        let messages = got.messages.unwrap_or_default();
        if messages.is_empty() {
            return out;
        }
        for m in messages {
            out.push(serde_json::from_str(m.body().unwrap()).unwrap());
            sqs.delete_message()
                .queue_url(queue_url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
}
