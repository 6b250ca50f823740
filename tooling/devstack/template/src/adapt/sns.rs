//! SNS subscriptions, skipped silently by the emulator's CloudFormation, are
//! made by API.

use serde::Serialize;
use serde_json::Value;

use super::{AdaptError, Stack, target};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Subscription {
    pub topic: String,
    pub queue: String,
    pub raw: bool,
}

/// `AWS::SNS::Subscription`: leaves the template for the plan.
pub(super) fn subscription(st: &mut Stack, id: &str, props: &Value) -> Result<(), AdaptError> {
    if props["Protocol"] != "sqs" {
        return Err(st.unsupported(id, "only SNS → SQS subscriptions are supported"));
    }
    st.plan.subscriptions.push(Subscription {
        topic: target(&props["TopicArn"]).unwrap_or_default().to_owned(),
        queue: target(&props["Endpoint"]).unwrap_or_default().to_owned(),
        raw: props["RawMessageDelivery"].as_bool().unwrap_or(false),
    });
    st.removed.insert(id.to_owned());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::adapt;
    use super::super::tests::template;
    use super::*;

    #[test]
    fn subscriptions_are_made_by_api() {
        let (_, plan) = adapt("svc", &template()).unwrap();
        assert_eq!(
            plan.subscriptions,
            [Subscription {
                topic: "Dlq".into(),
                queue: "DlqQueue".into(),
                raw: false
            }]
        );
    }
}
