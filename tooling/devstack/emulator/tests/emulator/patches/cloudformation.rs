//! Stacks as the patches deploy them: templates read as written, a bus
//! by its name, a role deleted with its stack
//! (`src/patches/cloudformation.py`).

use super::*;

/// A stack deploys to the same resources whether its template is JSON,
/// YAML with CloudFormation's short tags, or YAML written in flow style
/// (which opens as JSON does but is not JSON), and an update reads its
/// new template: the local cloud reads JSON templates with a JSON parser
/// instead of moto's YAML one (`src/patches/`).
#[tokio::test]
async fn a_template_means_the_same_as_json_or_as_yaml() {
    let conf = shared().sdk_config().await;
    let cfn = aws_sdk_cloudformation::Client::new(&conf);
    let sqs = aws_sdk_sqs::Client::new(&conf);
    let json = |timeout: u32| {
        serde_json::json!({
            "Parameters": {"Name": {"Type": "String"}},
            "Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {
                "QueueName": {"Fn::Sub": "${Name}-q"},
                "VisibilityTimeout": timeout,
            }}},
            "Outputs": {
                "Url": {"Value": {"Ref": "Queue"}},
                "Arn": {"Value": {"Fn::GetAtt": ["Queue", "Arn"]}},
            },
        })
        .to_string()
    };
    let yaml = "Parameters:\n  Name: {Type: String}\nResources:\n  Queue:\n    Type: AWS::SQS::Queue\n    Properties:\n      QueueName: !Sub \"${Name}-q\"\n      VisibilityTimeout: 45\nOutputs:\n  Url: {Value: !Ref Queue}\n  Arn: {Value: !GetAtt Queue.Arn}\n";
    let flow = "{Parameters: {Name: {Type: String}}, Resources: {Queue: {Type: 'AWS::SQS::Queue', Properties: {QueueName: !Sub '${Name}-q', VisibilityTimeout: 45}}}, Outputs: {Url: {Value: !Ref Queue}, Arn: {Value: !GetAtt Queue.Arn}}}";
    for (kind, body) in [
        ("json", json(45)),
        ("yaml", yaml.to_owned()),
        ("flow", flow.to_owned()),
    ] {
        let name = unique(kind);
        let outputs = deploy(&cfn, &name, &body, false).await;
        let url = &outputs["Url"];
        assert!(url.ends_with(&format!("/{name}-q")), "{kind}: {outputs:?}");
        assert!(
            outputs["Arn"].ends_with(&format!(":{name}-q")),
            "{kind}: {outputs:?}"
        );
        assert_eq!(visibility(&sqs, url).await, "45", "{kind}");
        if kind == "json" {
            deploy(&cfn, &name, &json(60), true).await;
            assert_eq!(visibility(&sqs, url).await, "60", "the update's template");
        }
    }
}

#[tokio::test]
async fn a_bus_is_referenced_by_its_name_and_a_rule_lands_on_it() {
    let conf = shared().sdk_config().await;
    let cfn = aws_sdk_cloudformation::Client::new(&conf);
    let body = serde_json::json!({
        "Parameters": {"Name": {"Type": "String"}},
        "Resources": {
            "Bus": {"Type": "AWS::Events::EventBus", "Properties": {"Name": {"Ref": "Name"}}},
            "Rule": {"Type": "AWS::Events::Rule", "Properties": {
                "EventBusName": {"Ref": "Bus"},
                "EventPattern": {"source": ["app.users"]}}},
        },
        "Outputs": {"Bus": {"Value": {"Ref": "Bus"}}},
    })
    .to_string();
    let name = unique("inbox");
    let outputs = deploy(&cfn, &name, &body, false).await;
    assert_eq!(outputs["Bus"], name, "Ref of a bus is its name");
    let rules = aws_sdk_eventbridge::Client::new(&conf)
        .list_rules()
        .event_bus_name(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(rules.rules().len(), 1, "the rule is on the bus: {rules:?}");
}

/// `name` created (or updated) from `body`, complete: its outputs.
async fn deploy(
    cfn: &aws_sdk_cloudformation::Client,
    name: &str,
    body: &str,
    update: bool,
) -> std::collections::BTreeMap<String, String> {
    use aws_sdk_cloudformation::types::{Parameter, StackStatus};
    let parameter = Parameter::builder()
        .parameter_key("Name")
        .parameter_value(name)
        .build();
    if update {
        let op = cfn.update_stack().stack_name(name).template_body(body);
        op.parameters(parameter).send().await.unwrap();
    } else {
        let op = cfn.create_stack().stack_name(name).template_body(body);
        op.parameters(parameter).send().await.unwrap();
    }
    let described = cfn.describe_stacks().stack_name(name).send().await.unwrap();
    let stack = &described.stacks()[0];
    let done = [StackStatus::CreateComplete, StackStatus::UpdateComplete];
    assert!(
        stack.stack_status().is_some_and(|s| done.contains(s)),
        "{name}: {described:?}"
    );
    (stack.outputs().iter())
        .map(|o| {
            let key = o.output_key().unwrap_or_default().to_owned();
            (key, o.output_value().unwrap_or_default().to_owned())
        })
        .collect()
}

async fn visibility(sqs: &aws_sdk_sqs::Client, url: &str) -> String {
    use aws_sdk_sqs::types::QueueAttributeName;
    let got = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::VisibilityTimeout)
        .send()
        .await
        .unwrap();
    got.attributes().unwrap()[&QueueAttributeName::VisibilityTimeout].clone()
}

#[tokio::test]
async fn a_deleted_stack_takes_its_role_with_the_managed_policies_it_attached() {
    let conf = shared().sdk_config().await;
    let cfn = aws_sdk_cloudformation::Client::new(&conf);
    let name = unique("role");
    let body = serde_json::json!({
        "Parameters": {"Name": {"Type": "String"}},
        "Resources": {"Role": {"Type": "AWS::IAM::Role", "Properties": {
            "RoleName": {"Ref": "Name"},
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole"}]},
            "ManagedPolicyArns": ["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"],
        }}},
    })
    .to_string();
    deploy(&cfn, &name, &body, false).await;
    cfn.delete_stack().stack_name(&name).send().await.unwrap();
    // Had the role outlived its stack, the same stack again could not
    // make a role of that name.
    deploy(&cfn, &name, &body, false).await;
}
