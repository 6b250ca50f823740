//! Deploying an adapted stack into the emulator with CloudFormation, then
//! carrying out the parts of the plan made by API.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use aws_config::SdkConfig;
use aws_sdk_cloudformation::types::{Capability, Parameter, StackStatus};
use aws_sdk_s3::types::{
    BucketVersioningStatus, Event as S3EventType, FilterRule, FilterRuleName,
    NotificationConfiguration, NotificationConfigurationFilter, QueueConfiguration, S3KeyFilter,
    VersioningConfiguration,
};
use aws_sdk_sqs::types::QueueAttributeName;
use serde::Serialize;
use serde_json::Value;

use devstack_template::adapt::Plan;

/// The stacks as deployed: name, plan, physical ids, adapted template.
/// A function's key among the local cloud's functions, and its display
/// name: `<service>/<LogicalId>`.
pub fn qualified(service: &str, logical: &str) -> String {
    format!("{service}/{logical}")
}

pub type Stack = (String, Plan, Deployed, Value);

/// A template as JSON, loaded off the runtime's workers: a translation
/// runs Python for seconds under load, and a worker blocked that long
/// stopped the whole local cloud (a test run's redeploy held every
/// function call and delivery of its cloud for 12 s, till timeouts).
pub async fn load_template(path: &std::path::Path) -> Result<Value> {
    let owned = path.to_owned();
    tokio::task::spawn_blocking(move || devstack_template::load(&owned))
        .await
        .context("loading a template")?
        .with_context(|| format!("loading {}", path.display()))
}

/// A deployed stack: its outputs and the physical id of every resource.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct Deployed {
    pub stack: String,
    pub outputs: BTreeMap<String, String>,
    pub resources: BTreeMap<String, String>,
}

impl Deployed {
    pub fn physical(&self, logical: &str) -> Result<&str> {
        self.resources
            .get(logical)
            .map(String::as_str)
            .with_context(|| format!("{}: no resource {logical}", self.stack))
    }
}

/// An empty zip archive: the emulator wants code for a function it never
/// runs (the local cloud runs the real binary).
const EMPTY_ZIP: [u8; 22] = [
    0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
];

async fn placeholder_code(conf: &SdkConfig, template: &Value) -> Result<()> {
    let s3 = path_style_s3(conf);
    let mut buckets = std::collections::BTreeSet::new();
    for r in template["Resources"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(_, r)| r)
    {
        let code = &r["Properties"]["Code"];
        if let (Some(bucket), Some(key)) = (code["S3Bucket"].as_str(), code["S3Key"].as_str()) {
            if buckets.insert(bucket.to_owned()) {
                let _ = s3.create_bucket().bucket(bucket).send().await;
            }
            s3.put_object()
                .bucket(bucket)
                .key(key)
                .body(EMPTY_ZIP.to_vec().into())
                .send()
                .await
                .with_context(|| format!("placeholder code s3://{bucket}/{key}"))?;
        }
    }
    Ok(())
}

/// S3 on the emulator: path-style addressing.
pub fn path_style_s3(conf: &SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(conf)
            .force_path_style(true)
            .build(),
    )
}

/// The tags every deploy puts on its stack (the workflows' `sam deploy
/// --tags` too): the service it is, and the commit it was built from.
pub const TAG_SERVICE: &str = "service";
pub const TAG_COMMIT: &str = "commit";

/// A stack tag: which service a stack is and which commit it was built
/// from, read back by `cargo xtask can-i-deploy`.
pub type Tag<'a> = (&'a str, &'a str);

/// Every tag a deploy puts on `service`'s stack: the service, the commit,
/// and the contract it carries (`declarations::Carried`: the versions it
/// publishes and consumes, read back by the deploy plan). A stack outside
/// the bus (the platform, the web app) carries the first two only.
pub fn service_tags(service: &str, commit: &str) -> Result<Vec<(String, String)>> {
    let mut tags = vec![
        (TAG_SERVICE.to_owned(), service.to_owned()),
        (TAG_COMMIT.to_owned(), commit.to_owned()),
    ];
    if let Some(declared) = declarations::SERVICES.iter().find(|s| s.name == service) {
        tags.extend(declarations::Carried::of(declared)?.tags());
    }
    Ok(tags)
}

/// `tags` as the deploy calls take them.
pub fn borrowed(tags: &[(String, String)]) -> Vec<Tag<'_>> {
    tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// Creates the stack and waits for it; on failure, says which resource
/// failed and why.
pub async fn create_stack(
    conf: &SdkConfig,
    stack: &str,
    template: &Value,
    parameters: &[(&str, &str)],
) -> Result<Deployed> {
    create_tagged(conf, stack, template, parameters, &[]).await
}

pub async fn create_tagged(
    conf: &SdkConfig,
    stack: &str,
    template: &Value,
    parameters: &[(&str, &str)],
    tags: &[Tag<'_>],
) -> Result<Deployed> {
    placeholder_code(conf, template).await?;
    let cfn = aws_sdk_cloudformation::Client::new(conf);
    let asked = aws_sdk_cloudformation::primitives::DateTime::from(
        std::time::SystemTime::now() - std::time::Duration::from_secs(1),
    );
    let created = cfn
        .create_stack()
        .stack_name(stack)
        .template_body(template.to_string())
        .set_capabilities(Some(capabilities()))
        .set_parameters(Some(params(parameters)))
        .set_tags(Some(stack_tags(tags)))
        .send()
        .await;
    if let Err(e) = created {
        // The SDK retries a call whose answer it did not get (a busy
        // emulator): the first attempt may have created the stack. One
        // created since this call is that one; any older one is an error.
        let exists = e
            .as_service_error()
            .is_some_and(|s| s.is_already_exists_exception());
        if !(exists && created_since(&cfn, stack, asked).await) {
            return Err(e).with_context(|| format!("creating stack {stack}"));
        }
    }
    wait(
        &cfn,
        stack,
        StackStatus::CreateInProgress,
        StackStatus::CreateComplete,
    )
    .await
}

/// Whether `stack` was created at or after `since`.
async fn created_since(
    cfn: &aws_sdk_cloudformation::Client,
    stack: &str,
    since: aws_sdk_cloudformation::primitives::DateTime,
) -> bool {
    let Ok(out) = cfn.describe_stacks().stack_name(stack).send().await else {
        return false;
    };
    out.stacks()
        .first()
        .and_then(|s| s.creation_time())
        .is_some_and(|t| t.secs() >= since.secs())
}

/// A deployed stack's template and tags as they are now: what a failed
/// update puts back.
pub async fn current(conf: &SdkConfig, stack: &str) -> Result<(Value, Vec<(String, String)>)> {
    let cfn = aws_sdk_cloudformation::Client::new(conf);
    let body = cfn
        .get_template()
        .stack_name(stack)
        .send()
        .await
        .with_context(|| format!("reading stack {stack}'s template"))?;
    let template = serde_json::from_str(body.template_body().unwrap_or("{}"))
        .with_context(|| format!("stack {stack}'s template"))?;
    let described = cfn
        .describe_stacks()
        .stack_name(stack)
        .send()
        .await
        .with_context(|| format!("describing stack {stack}"))?;
    let tags = (described.stacks().iter().flat_map(|s| s.tags()))
        .map(|t| {
            (
                t.key().unwrap_or_default().to_owned(),
                t.value().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    Ok((template, tags))
}

/// `template` with each parameter it leaves without a value taking the
/// one the deployed stack (`previous`, its template as the local cloud
/// deployed it) had: CloudFormation's `UsePreviousValue`, which `sam
/// deploy` asks for a parameter it is not given.
pub fn with_previous_values(mut template: Value, previous: &Value) -> Value {
    let params = template
        .get_mut("Parameters")
        .and_then(Value::as_object_mut);
    for (name, p) in params.into_iter().flatten() {
        let before = &previous["Parameters"][name]["Default"];
        if let Some(p) = p.as_object_mut()
            && !p.contains_key("Default")
            && !before.is_null()
        {
            p.insert("Default".into(), before.clone());
        }
    }
    template
}

/// Updates a deployed stack in place (what `sam deploy` does to an existing
/// stack) and waits for it. An unchanged template is not an error.
pub async fn update_stack(
    conf: &SdkConfig,
    stack: &str,
    template: &Value,
    parameters: &[(&str, &str)],
    tags: &[Tag<'_>],
) -> Result<Deployed> {
    placeholder_code(conf, template).await?;
    let cfn = aws_sdk_cloudformation::Client::new(conf);
    let sent = cfn
        .update_stack()
        .stack_name(stack)
        .template_body(template.to_string())
        .set_capabilities(Some(capabilities()))
        .set_parameters(Some(params(parameters)))
        .set_tags(Some(stack_tags(tags)))
        .send()
        .await;
    if let Err(e) = sent {
        let text = aws_sdk_cloudformation::error::DisplayErrorContext(&e).to_string();
        if !text.contains("No updates are to be performed") {
            return Err(anyhow::Error::new(e).context(format!("updating stack {stack}")));
        }
    }
    wait(
        &cfn,
        stack,
        StackStatus::UpdateInProgress,
        StackStatus::UpdateComplete,
    )
    .await
}

fn capabilities() -> Vec<Capability> {
    vec![
        Capability::CapabilityIam,
        Capability::CapabilityNamedIam,
        Capability::CapabilityAutoExpand,
    ]
}

fn params(parameters: &[(&str, &str)]) -> Vec<Parameter> {
    parameters
        .iter()
        .map(|(k, v)| {
            Parameter::builder()
                .parameter_key(*k)
                .parameter_value(*v)
                .build()
        })
        .collect()
}

fn stack_tags(tags: &[Tag<'_>]) -> Vec<aws_sdk_cloudformation::types::Tag> {
    tags.iter()
        .map(|(k, v)| {
            aws_sdk_cloudformation::types::Tag::builder()
                .key(*k)
                .value(*v)
                .build()
        })
        .collect()
}

/// Why a stack failed, as `sam deploy` shows it: the first event of a
/// resource that failed, with its reason (CloudFormation leaves a rolled
/// back stack's own reason empty).
async fn first_failure(cfn: &aws_sdk_cloudformation::Client, stack: &str) -> Option<String> {
    let events = cfn
        .describe_stack_events()
        .stack_name(stack)
        .send()
        .await
        .ok()?;
    // Newest first, back to where this operation began (the stack's own
    // event in progress); its first failure is the last one listed.
    let began = |e: &&aws_sdk_cloudformation::types::StackEvent| {
        e.logical_resource_id() == Some(stack)
            && e.resource_status()
                .is_some_and(|s| matches!(s.as_str(), "CREATE_IN_PROGRESS" | "UPDATE_IN_PROGRESS"))
    };
    let this: Vec<_> = (events.stack_events().iter())
        .take_while(|e| !began(e))
        .collect();
    (this.into_iter().rev())
        .find(|e| {
            e.resource_status()
                .is_some_and(|s| s.as_str().ends_with("_FAILED"))
                && e.resource_status_reason().is_some_and(|r| !r.is_empty())
        })
        .map(|e| {
            format!(
                "{}: {}",
                e.logical_resource_id().unwrap_or_default(),
                e.resource_status_reason().unwrap_or_default()
            )
        })
}

async fn wait(
    cfn: &aws_sdk_cloudformation::Client,
    stack: &str,
    in_progress: StackStatus,
    complete: StackStatus,
) -> Result<Deployed> {
    let mut status = in_progress.clone();
    for _ in 0..600 {
        let described = cfn.describe_stacks().stack_name(stack).send().await?;
        let s = described.stacks().first().context("the stack vanished")?;
        status = s.stack_status().cloned().unwrap_or(in_progress.clone());
        if status != in_progress {
            // An update with nothing to do leaves the stack as it was.
            let settled = status == complete
                || (complete == StackStatus::UpdateComplete
                    && status == StackStatus::CreateComplete);
            if !settled {
                let reason = match s.stack_status_reason() {
                    Some(reason) if !reason.is_empty() => reason.to_owned(),
                    _ => first_failure(cfn, stack).await.unwrap_or_default(),
                };
                bail!("stack {stack}: {status:?}: {reason}");
            }
            let outputs = s
                .outputs()
                .iter()
                .filter_map(|o| Some((o.output_key()?.to_owned(), o.output_value()?.to_owned())))
                .collect();
            let resources = cfn
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
            return Ok(Deployed {
                stack: stack.to_owned(),
                outputs,
                resources,
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A stack that stays in progress is one whose creation failed inside
    // the emulator (its answer a 500, the SDK's retry then told the stack
    // exists): the engine's log holds moto's traceback.
    let log = devstack_emulator::engine_socket()
        .map(|s| devstack_emulator::engine_log_path(&s).display().to_string())
        .unwrap_or_default();
    bail!("stack {stack} still {status:?} after a minute (the engine's errors: {log})")
}

async fn queue_arn(sqs: &aws_sdk_sqs::Client, url: &str) -> Result<String> {
    sqs.get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await?
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn))
        .cloned()
        .with_context(|| format!("{url} has no ARN"))
}

/// The plan's API-made parts: SNS → SQS subscriptions, bucket versioning
/// and bucket notifications to tap queues.
pub async fn apply(conf: &SdkConfig, plan: &Plan, deployed: &Deployed) -> Result<()> {
    let sns = aws_sdk_sns::Client::new(conf);
    let sqs = aws_sdk_sqs::Client::new(conf);
    for s in &plan.subscriptions {
        let topic = deployed.physical(&s.topic)?;
        let queue = queue_arn(&sqs, deployed.physical(&s.queue)?).await?;
        let mut sub = sns
            .subscribe()
            .topic_arn(topic)
            .protocol("sqs")
            .endpoint(queue);
        if s.raw {
            sub = sub.attributes("RawMessageDelivery", "true");
        }
        sub.send()
            .await
            .with_context(|| format!("subscribing {} to {}", s.queue, s.topic))?;
    }
    let s3 = path_style_s3(conf);
    let mut per_bucket: BTreeMap<&str, Vec<QueueConfiguration>> = BTreeMap::new();
    for u in &plan.uploads {
        let arn = queue_arn(&sqs, deployed.physical(&u.tap_queue)?).await?;
        let mut config = QueueConfiguration::builder().queue_arn(arn);
        for e in &u.events {
            config = config.events(S3EventType::from(e.as_str()));
        }
        if let Some(prefix) = &u.prefix {
            config = config.filter(
                NotificationConfigurationFilter::builder()
                    .key(
                        S3KeyFilter::builder()
                            .filter_rules(
                                FilterRule::builder()
                                    .name(FilterRuleName::Prefix)
                                    .value(prefix)
                                    .build(),
                            )
                            .build(),
                    )
                    .build(),
            );
        }
        per_bucket
            .entry(deployed.physical(&u.bucket)?)
            .or_default()
            .push(config.build()?);
    }
    for b in &plan.versioned_buckets {
        let bucket = deployed.physical(b)?;
        s3.put_bucket_versioning()
            .bucket(bucket)
            .versioning_configuration(
                VersioningConfiguration::builder()
                    .status(BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .with_context(|| format!("versioning of bucket {bucket}"))?;
    }
    for (bucket, configs) in per_bucket {
        s3.put_bucket_notification_configuration()
            .bucket(bucket)
            .notification_configuration(
                NotificationConfiguration::builder()
                    .set_queue_configurations(Some(configs))
                    .build(),
            )
            .send()
            .await
            .with_context(|| format!("notifications of bucket {bucket}"))?;
    }
    Ok(())
}
