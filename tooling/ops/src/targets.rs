//! Which DLQs exist and who consumes what: from the local cloud's endpoints
//! file, or from the deployed CloudFormation stacks on AWS.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use aws_config::SdkConfig;
use devstack_api::Endpoints;
use serde_json::Value;

#[derive(Debug, Clone)]
pub struct Consumer {
    pub function: String,
    pub trigger: String,
    pub pattern: Option<Value>,
    /// The rule's name, for a `rule` trigger.
    pub rule: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Service {
    pub name: String,
    pub dlq_queue_url: String,
    pub consumers: Vec<Consumer>,
    /// How to reach the account its stack lives in, when that is not the
    /// platform's (`--role <stack>=<role ARN>`); `None`: as the platform.
    pub reach: Option<Reach>,
}

/// A configuration and Lambda client for one account.
#[derive(Debug, Clone)]
pub struct Reach {
    pub conf: SdkConfig,
    pub lambda: aws_sdk_lambda::Client,
}

impl Reach {
    pub fn new(conf: SdkConfig) -> Self {
        let lambda = aws_sdk_lambda::Client::new(&conf);
        Self { conf, lambda }
    }
}

impl Service {
    /// The function an async failure's event was for.
    pub fn consumer_of(&self, event: &Value) -> Option<&Consumer> {
        if event.get("Records").is_some() {
            return self.consumers.iter().find(|c| c.trigger == "upload");
        }
        self.consumers.iter().find(|c| {
            c.trigger == "rule"
                && c.pattern
                    .as_ref()
                    .is_some_and(|p| event_pattern::matches(p, event))
        })
    }
}

pub struct Targets {
    pub conf: SdkConfig,
    pub lambda: aws_sdk_lambda::Client,
    pub bus_name: String,
    pub services: BTreeMap<String, Service>,
}

impl Targets {
    /// The same targets with every request made through their
    /// configurations, in every account, counted in `calls`.
    pub fn counted(mut self, calls: &crate::request_counts::Calls) -> Result<Self> {
        self.conf = calls.counting(&self.conf)?;
        for reach in self.services.values_mut().filter_map(|s| s.reach.as_mut()) {
            reach.conf = calls.counting(&reach.conf)?;
        }
        Ok(self)
    }

    /// The configuration for `service`'s account.
    pub fn conf_of<'a>(&'a self, service: &'a Service) -> &'a SdkConfig {
        service.reach.as_ref().map_or(&self.conf, |r| &r.conf)
    }

    /// The Lambda client for `service`'s account.
    pub fn lambda_of<'a>(&'a self, service: &'a Service) -> &'a aws_sdk_lambda::Client {
        service.reach.as_ref().map_or(&self.lambda, |r| &r.lambda)
    }

    pub fn service(&self, name: &str) -> Result<&Service> {
        self.services.get(name).with_context(|| {
            format!(
                "no service {name}; known: {}",
                self.services.keys().cloned().collect::<Vec<_>>().join(", ")
            )
        })
    }
}

/// A local cloud's endpoints file (read typed: the local cloud's
/// `devstack_api` defines it), and an SDK configuration for its emulator.
pub async fn local_cloud(path: &Path) -> Result<(Endpoints, SdkConfig)> {
    let e = Endpoints::read(path)?;
    if e.emulator_url.is_empty() {
        bail!("the endpoints file {} has no emulator_url", path.display());
    }
    let conf = kit::config::endpoint(&e.emulator_url).await;
    Ok((e, conf))
}

/// The administrator of the account that holds `service` on the local
/// cloud `endpoints` describes: the emulator's own keys hold the
/// platform's account, and a team in an account of its own is reached by
/// assuming its access role there, as an organisation's administrator
/// reaches a member account.
pub async fn administrator(endpoints: &Endpoints, service: &str) -> SdkConfig {
    let base = kit::config::endpoint(&endpoints.emulator_url).await;
    match endpoints.access_role(service) {
        Some(role) => assume(&base, &role).await,
        None => base,
    }
}

pub async fn from_endpoints_file(path: &Path) -> Result<Targets> {
    let (e, conf) = local_cloud(path).await?;
    if e.lambda_endpoint.is_empty() {
        bail!(
            "the endpoints file {} has no lambda_endpoint",
            path.display()
        );
    }
    let lambda = aws_sdk_lambda::Client::from_conf(
        aws_sdk_lambda::config::Builder::from(&conf)
            .endpoint_url(&e.lambda_endpoint)
            .build(),
    );
    let mut services: BTreeMap<String, Service> = e
        .services
        .iter()
        .map(|(name, s)| {
            let consumers = s
                .consumers
                .iter()
                .map(|c| Consumer {
                    function: c.function.clone(),
                    trigger: c.trigger.clone(),
                    pattern: c.pattern.clone(),
                    rule: c.rule.clone(),
                })
                .collect();
            let service = Service {
                name: name.clone(),
                dlq_queue_url: s.dlq_queue_url.clone(),
                consumers,
                reach: None,
            };
            (name.clone(), service)
        })
        .collect();
    if services.is_empty() {
        bail!("{} lists no services", path.display());
    }
    // A team in an account of its own is reached as the local cloud's
    // administrator reaches it: through the account's access role.
    for (name, service) in &mut services {
        if let Some(role) = e.access_role(name) {
            let conf = assume(&conf, &role).await;
            let lambda = lambda_as(&lambda, &conf);
            service.reach = Some(Reach { conf, lambda });
        }
    }
    Ok(Targets {
        conf,
        lambda,
        bus_name: if e.bus_name.is_empty() {
            "app-bus".to_owned()
        } else {
            e.bus_name
        },
        services,
    })
}

/// Discovery on AWS: each service stack's outputs, and its processed
/// template for which function each rule and bucket notification targets.
pub async fn from_cloudformation(
    base: SdkConfig,
    platform: &str,
    stacks: &[String],
    roles: &BTreeMap<String, String>,
) -> Result<Targets> {
    // Each role is assumed from the caller's own session, never from
    // another role's: the roles of an organisation trust its operators.
    let conf = match roles.get(platform) {
        Some(role) => assume(&base, role).await,
        None => base.clone(),
    };
    let cfn = aws_sdk_cloudformation::Client::new(&conf);
    let bus_name = stack_outputs(&cfn, platform)
        .await?
        .get("BusName")
        .cloned()
        .unwrap_or_default();
    let mut services = BTreeMap::new();
    for stack in stacks {
        let reach = match roles.get(stack) {
            Some(role) => Some(Reach::new(assume(&base, role).await)),
            None => None,
        };
        let cfn = aws_sdk_cloudformation::Client::new(reach.as_ref().map_or(&conf, |r| &r.conf));
        let mut service = service_stack(&cfn, stack).await?;
        service.reach = reach;
        services.insert(stack.clone(), service);
    }
    let lambda = aws_sdk_lambda::Client::new(&conf);
    Ok(Targets {
        conf,
        lambda,
        bus_name,
        services,
    })
}

/// A local cloud's targets with `roles` applied as on AWS: the platform's
/// and each named service's account reached through its role.
pub async fn with_roles(
    mut t: Targets,
    platform: &str,
    roles: &BTreeMap<String, String>,
) -> Targets {
    let base = t.conf.clone();
    for (stack, role) in roles {
        let conf = assume(&base, role).await;
        let lambda = lambda_as(&t.lambda, &conf);
        if stack == platform {
            (t.conf, t.lambda) = (conf, lambda);
        } else if let Some(s) = t.services.get_mut(stack) {
            s.reach = Some(Reach { conf, lambda });
        }
    }
    t
}

/// `lambda` (where it is: the local cloud's Invoke API, or Lambda's)
/// called with `conf`'s credentials.
fn lambda_as(lambda: &aws_sdk_lambda::Client, conf: &SdkConfig) -> aws_sdk_lambda::Client {
    let mut config = lambda.config().to_builder();
    config.set_credentials_provider(conf.credentials_provider());
    aws_sdk_lambda::Client::from_conf(config.build())
}

/// `base` acting as `role`, as an operator reaches another account of
/// the organisation; the session is renewed before it expires.
pub async fn assume(base: &SdkConfig, role: &str) -> SdkConfig {
    let provider = aws_config::sts::AssumeRoleProvider::builder(role)
        .session_name("ops")
        .configure(base)
        .build()
        .await;
    base.to_builder()
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(provider),
        )
        .build()
}

/// A `--role` that is not `<stack>=<role ARN>`. It names the stack
/// alone: the roles come from a secret, which a log must not spell out.
#[derive(Debug, thiserror::Error)]
pub enum RoleError {
    #[error("a --role is not <stack>=<role ARN>")]
    NoStack,
    #[error("the --role for {0} is not arn:<partition>:iam::<account>:role/<name>")]
    NotARole(String),
}

/// `--role` names a stack and the role that reaches its account:
/// `<stack>=<role ARN>`; empty is none (an unset secret, passed as "").
pub fn parse_role(text: &str) -> Result<Option<(String, String)>, RoleError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let (stack, role) = text.split_once('=').ok_or(RoleError::NoStack)?;
    if stack.is_empty() {
        return Err(RoleError::NoStack);
    }
    let arn_like = role.starts_with("arn:")
        && role.contains(":iam::")
        && role.contains(":role/")
        && !role.contains(char::is_whitespace);
    if !arn_like {
        return Err(RoleError::NotARole(stack.to_owned()));
    }
    Ok(Some((stack.to_owned(), role.to_owned())))
}

async fn stack_outputs(
    cfn: &aws_sdk_cloudformation::Client,
    stack: &str,
) -> Result<BTreeMap<String, String>> {
    let d = cfn
        .describe_stacks()
        .stack_name(stack)
        .send()
        .await
        .with_context(|| format!("describing stack {stack}"))?;
    Ok(d.stacks().first().map(outputs_of).unwrap_or_default())
}

/// A stack's outputs, by key.
pub(crate) fn outputs_of(stack: &aws_sdk_cloudformation::types::Stack) -> BTreeMap<String, String> {
    (stack.outputs().iter())
        .filter_map(|o| Some((o.output_key()?.to_owned(), o.output_value()?.to_owned())))
        .collect()
}

/// Every stack DescribeStacks lists in `cf`'s account, every page.
pub(crate) async fn every_stack(
    cf: &aws_sdk_cloudformation::Client,
) -> Result<Vec<aws_sdk_cloudformation::types::Stack>> {
    let mut out = Vec::new();
    let mut pages = cf.describe_stacks().into_paginator().send();
    while let Some(page) = pages.next().await {
        out.extend(page?.stacks().iter().cloned());
    }
    Ok(out)
}

/// A service stack: its DLQ from its outputs, its consumers from its
/// processed template and resources.
async fn service_stack(cfn: &aws_sdk_cloudformation::Client, stack: &str) -> Result<Service> {
    let outs = stack_outputs(cfn, stack).await?;
    let resources: BTreeMap<String, String> = cfn
        .describe_stack_resources()
        .stack_name(stack)
        .send()
        .await?
        .stack_resources()
        .iter()
        .filter_map(|r| {
            Some((
                r.logical_resource_id()?.to_owned(),
                r.physical_resource_id()?.to_owned(),
            ))
        })
        .collect();
    let body = cfn
        .get_template()
        .stack_name(stack)
        .template_stage(aws_sdk_cloudformation::types::TemplateStage::Processed)
        .send()
        .await?
        .template_body
        .unwrap_or_default();
    let template: Value = serde_json::from_str(&body).unwrap_or_default();
    let consumers = consumers(&template, &resources);
    Ok(Service {
        name: stack.to_owned(),
        reach: None,
        dlq_queue_url: outs
            .get("DeadLetterQueueUrl")
            .cloned()
            .with_context(|| format!("stack {stack} has no DeadLetterQueueUrl output"))?,
        consumers,
    })
}

/// The functions a template's rules and bucket notifications target, by
/// their physical names in `resources` (logical id to physical id).
fn consumers(template: &Value, resources: &BTreeMap<String, String>) -> Vec<Consumer> {
    let mut consumers = Vec::new();
    for (logical, r) in template["Resources"].as_object().into_iter().flatten() {
        match r["Type"].as_str() {
            Some("AWS::Events::Rule") => {
                for t in r["Properties"]["Targets"].as_array().into_iter().flatten() {
                    let target = t["Arn"]["Fn::GetAtt"][0].as_str();
                    if let Some(f) = target
                        .filter(|f| template["Resources"][*f]["Type"] != "AWS::Events::EventBus")
                        .and_then(|f| resources.get(f))
                    {
                        let delivering = on_the_platforms_bus(template, logical);
                        consumers.push(Consumer {
                            function: f.clone(),
                            trigger: "rule".into(),
                            pattern: Some(r["Properties"]["EventPattern"].clone()),
                            rule: resources.get(delivering).map(|p| rule_name(p)),
                        });
                    }
                }
            }
            Some("AWS::S3::Bucket") => {
                for c in r["Properties"]["NotificationConfiguration"]["LambdaConfigurations"]
                    .as_array()
                    .into_iter()
                    .flatten()
                {
                    if let Some(f) = c["Function"]["Fn::GetAtt"][0]
                        .as_str()
                        .and_then(|f| resources.get(f))
                    {
                        consumers.push(Consumer {
                            function: f.clone(),
                            trigger: "upload".into(),
                            pattern: None,
                            rule: None,
                        });
                    }
                }
            }
            _ => {}
        }
    }
    consumers
}

/// The rule on the platform's bus whose deliveries reach rule `logical`
/// (logical ids of `template`): the rule itself, or, for a rule on the
/// stack's own bus (a team's inbox), the subscription forwarding to it.
/// An archive replay names that rule.
pub fn on_the_platforms_bus<'a>(template: &'a Value, logical: &'a str) -> &'a str {
    let resources = &template["Resources"];
    let Some(bus) = resources[logical]["Properties"]["EventBusName"]["Ref"]
        .as_str()
        .filter(|b| resources[*b]["Type"] == "AWS::Events::EventBus")
    else {
        return logical;
    };
    let forwards = |arn: &Value| {
        arn["Fn::GetAtt"][0].as_str() == Some(bus)
            || arn["Fn::GetAtt"].as_str() == Some(&format!("{bus}.Arn"))
    };
    (resources.as_object().into_iter().flatten())
        .find(|(_, r)| {
            r["Type"] == "AWS::Events::Rule"
                && (r["Properties"]["Targets"].as_array())
                    .is_some_and(|ts| ts.iter().any(|t| forwards(&t["Arn"])))
        })
        .map_or(logical, |(id, _)| id.as_str())
}

/// A rule's name from its physical id, which CloudFormation gives as
/// `bus|name` for a rule on a custom bus.
pub fn rule_name(physical: &str) -> String {
    physical.rsplit('|').next().unwrap_or(physical).to_owned()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_rule_on_the_teams_inbox_is_reached_through_its_subscription() {
        let template = json!({"Resources": {
            "InboxBus": {"Type": "AWS::Events::EventBus"},
            "Subscription": {"Type": "AWS::Events::Rule", "Properties": {
                "EventBusName": "arn:aws:events:us-east-1:111111111111:event-bus/app-bus",
                "Targets": [{"Arn": {"Fn::GetAtt": ["InboxBus", "Arn"]}}]}},
            "OnUserDeleted": {"Type": "AWS::Events::Rule", "Properties": {
                "EventBusName": {"Ref": "InboxBus"},
                "Targets": [{"Arn": {"Fn::GetAtt": ["Consumer", "Arn"]}}]}},
            "OnShared": {"Type": "AWS::Events::Rule", "Properties": {
                "EventBusName": "app-bus",
                "Targets": [{"Arn": {"Fn::GetAtt": ["Consumer", "Arn"]}}]}},
            "Consumer": {"Type": "AWS::Lambda::Function"},
        }});
        assert_eq!(
            on_the_platforms_bus(&template, "OnUserDeleted"),
            "Subscription"
        );
        assert_eq!(on_the_platforms_bus(&template, "OnShared"), "OnShared");
        let physical: BTreeMap<String, String> = [
            ("Subscription", "todos-Subscription-1"),
            ("OnUserDeleted", "todos-inbox|todos-OnUserDeleted-2"),
            ("OnShared", "todos-OnShared-3"),
            ("Consumer", "todos-consumer"),
            ("InboxBus", "todos-inbox"),
        ]
        .into_iter()
        .map(|(l, p)| (l.to_owned(), p.to_owned()))
        .collect();
        let found: Vec<(String, Option<String>)> = consumers(&template, &physical)
            .into_iter()
            .map(|c| (c.function, c.rule))
            .collect();
        assert_eq!(
            found,
            [
                ("todos-consumer".into(), Some("todos-OnShared-3".into())),
                ("todos-consumer".into(), Some("todos-Subscription-1".into())),
            ],
            "the subscription is no consumer; the inbox's consumer names it"
        );
    }
}
