//! A temporary capture of the bus: a rule with a pattern, and a queue it
//! delivers to. `ops events tail`, the replay's dry run and the tests'
//! flow assertions read the bus through one.
//!
//! Nothing may be left behind, yet a process can be killed before it
//! cleans up. So each tap holds a lease, written in its rule's
//! description and renewed while it runs; anyone who opens a tap first
//! sweeps the taps whose lease ran out. A lease, rather than a process
//! id, because the bus is shared by engineers on many machines.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use aws_config::SdkConfig;
use aws_sdk_eventbridge::types::Target;
use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::Value;

/// Every tap's rule and queue are named with this, and nothing else is.
pub const PREFIX: &str = "ops-tap-";
const LEASE_MARK: &str = "ops tap; lease until ";

/// How long a tap outlives its last renewal.
pub fn default_lease() -> Duration {
    Duration::from_secs(120)
}

pub struct Tap {
    conf: SdkConfig,
    eb: aws_sdk_eventbridge::Client,
    sqs: aws_sdk_sqs::Client,
    bus: String,
    pub name: String,
    pub rule_arn: String,
    queue_url: String,
    pattern: String,
    lease: Duration,
    renewed: std::time::Instant,
}

/// A temporary rule that points at another rule's own targets, leased
/// and swept like a tap: a filtered replay's way to one consumer.
pub struct Borrowed {
    conf: SdkConfig,
    bus: String,
    pub name: String,
    pub arn: String,
    pattern: String,
    purpose: String,
    lease: Duration,
    renewed: std::time::Instant,
}

impl Borrowed {
    /// Makes the rule with `pattern`, grants it the invoke permission a
    /// Lambda target needs (under the rule's name), then copies `targets`.
    pub async fn open(
        conf: &SdkConfig,
        bus: &str,
        pattern: &Value,
        targets: Vec<Target>,
        purpose: &str,
        lease: Duration,
    ) -> Result<Borrowed> {
        sweep(conf, bus).await?;
        let mut b = Borrowed {
            conf: conf.clone(),
            bus: bus.to_owned(),
            name: format!("{PREFIX}{}", unique_suffix()),
            arn: String::new(),
            pattern: pattern.to_string(),
            purpose: purpose.to_owned(),
            lease,
            renewed: std::time::Instant::now(),
        };
        b.arn = put_leased_rule(conf, bus, &b.name, &b.pattern, &b.purpose, lease).await?;
        if let Err(e) = b.point_at(targets).await {
            b.close().await.ok();
            return Err(e);
        }
        Ok(b)
    }

    async fn point_at(&self, targets: Vec<Target>) -> Result<()> {
        let lambda = aws_sdk_lambda::Client::new(&self.conf);
        for function in targets
            .iter()
            .map(|t| t.arn())
            .filter(|a| a.contains(":lambda:"))
        {
            lambda
                .add_permission()
                .function_name(function)
                .statement_id(&self.name)
                .action("lambda:InvokeFunction")
                .principal("events.amazonaws.com")
                .source_arn(&self.arn)
                .send()
                .await
                .with_context(|| format!("letting {} invoke {function}", self.name))?;
        }
        aws_sdk_eventbridge::Client::new(&self.conf)
            .put_targets()
            .rule(&self.name)
            .event_bus_name(&self.bus)
            .set_targets(Some(targets))
            .send()
            .await
            .context("copying the rule's targets")?;
        Ok(())
    }

    /// Renews the lease when a third of it has passed.
    pub async fn keep_alive(&mut self) -> Result<()> {
        if self.renewed.elapsed() >= self.lease / 3 {
            put_leased_rule(
                &self.conf,
                &self.bus,
                &self.name,
                &self.pattern,
                &self.purpose,
                self.lease,
            )
            .await?;
            self.renewed = std::time::Instant::now();
        }
        Ok(())
    }

    pub async fn close(self) -> Result<()> {
        remove(&self.conf, &self.bus, &self.name, None).await
    }
}

async fn put_leased_rule(
    conf: &SdkConfig,
    bus: &str,
    name: &str,
    pattern: &str,
    purpose: &str,
    lease: Duration,
) -> Result<String> {
    let until = chrono::Utc::now().timestamp() + lease.as_secs() as i64;
    let out = aws_sdk_eventbridge::Client::new(conf)
        .put_rule()
        .name(name)
        .event_bus_name(bus)
        .event_pattern(pattern)
        .description(format!("{LEASE_MARK}{until}; {purpose}"))
        .send()
        .await
        .with_context(|| format!("putting the rule {name}"))?;
    out.rule_arn.context("the rule has no ARN")
}

/// What a sweep removed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Swept {
    pub rules: usize,
    pub queues: usize,
}

impl Tap {
    /// Sweeps expired taps, then opens one: the queue, the rule, the
    /// queue's policy for that rule, and the target, in that order, so
    /// that a tap half made is still a rule (or a queue) named as a tap.
    pub async fn open(
        conf: &SdkConfig,
        bus: &str,
        pattern: &Value,
        purpose: &str,
        lease: Duration,
    ) -> Result<Tap> {
        sweep(conf, bus).await?;
        let eb = aws_sdk_eventbridge::Client::new(conf);
        let sqs = aws_sdk_sqs::Client::new(conf);
        let name = format!("{PREFIX}{}", unique_suffix());
        let queue_url = sqs
            .create_queue()
            .queue_name(&name)
            .attributes(QueueAttributeName::MessageRetentionPeriod, "3600")
            .send()
            .await
            .context("creating the tap's queue")?
            .queue_url
            .context("the tap's queue has no URL")?;
        let pattern = pattern.to_string();
        let mut tap = Tap {
            conf: conf.clone(),
            eb,
            sqs,
            bus: bus.to_owned(),
            name,
            rule_arn: String::new(),
            queue_url,
            pattern,
            lease,
            renewed: std::time::Instant::now(),
        };
        if let Err(e) = tap.wire(purpose).await {
            tap.close().await.ok();
            return Err(e);
        }
        Ok(tap)
    }

    async fn wire(&mut self, purpose: &str) -> Result<()> {
        self.rule_arn = self.put_rule(purpose).await?;
        let queue_arn = queue_arn(&self.sqs, &self.queue_url).await?;
        self.sqs
            .set_queue_attributes()
            .queue_url(&self.queue_url)
            .attributes(
                QueueAttributeName::Policy,
                send_policy(&queue_arn, &self.rule_arn),
            )
            .send()
            .await
            .context("letting the tap's rule send to its queue")?;
        let target = Target::builder().id("tap").arn(queue_arn).build()?;
        self.eb
            .put_targets()
            .rule(&self.name)
            .event_bus_name(&self.bus)
            .targets(target)
            .send()
            .await
            .context("pointing the tap's rule at its queue")?;
        Ok(())
    }

    /// Creates or renews the rule; the description carries the lease.
    async fn put_rule(&self, purpose: &str) -> Result<String> {
        put_leased_rule(
            &self.conf,
            &self.bus,
            &self.name,
            &self.pattern,
            purpose,
            self.lease,
        )
        .await
    }

    /// Renews the lease when a third of it has passed.
    pub async fn keep_alive(&mut self, purpose: &str) -> Result<()> {
        if self.renewed.elapsed() >= self.lease / 3 {
            self.put_rule(purpose).await?;
            self.renewed = std::time::Instant::now();
        }
        Ok(())
    }

    /// The events that arrived, waiting up to `wait` (whole seconds, as
    /// SQS long polling counts) for the first; each is deleted once read.
    pub async fn receive(&self, wait: Duration) -> Result<Vec<Value>> {
        let got = self
            .sqs
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(wait.as_secs().min(20) as i32)
            .send()
            .await
            .context("reading the tap's queue")?;
        let messages = got.messages.unwrap_or_default();
        let mut events = Vec::with_capacity(messages.len());
        let mut entries = Vec::with_capacity(messages.len());
        for (i, m) in messages.iter().enumerate() {
            let body = m.body().unwrap_or_default();
            events.push(serde_json::from_str(body).unwrap_or(Value::String(body.to_owned())));
            entries.push(
                aws_sdk_sqs::types::DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(m.receipt_handle().unwrap_or_default())
                    .build()?,
            );
        }
        if !entries.is_empty() {
            self.sqs
                .delete_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .context("deleting what the tap read")?;
        }
        Ok(events)
    }

    /// Removes the target, the rule and the queue.
    pub async fn close(self) -> Result<()> {
        remove(&self.conf, &self.bus, &self.name, Some(&self.queue_url)).await
    }
}

/// Removes a tap's targets (and the Lambda permissions a borrowed rule
/// granted), its rule and its queue.
async fn remove(conf: &SdkConfig, bus: &str, name: &str, queue_url: Option<&str>) -> Result<()> {
    let eb = aws_sdk_eventbridge::Client::new(conf);
    let listed = eb
        .list_targets_by_rule()
        .rule(name)
        .event_bus_name(bus)
        .send()
        .await;
    let targets = match listed {
        Ok(out) => out.targets.unwrap_or_default(),
        Err(e) => {
            not_found_is_gone(e)?;
            Vec::new()
        }
    };
    if !targets.is_empty() {
        let ids = targets.iter().map(|t| t.id().to_owned()).collect();
        let removed = eb
            .remove_targets()
            .rule(name)
            .event_bus_name(bus)
            .set_ids(Some(ids))
            .send()
            .await;
        removed.map(drop).or_else(not_found_is_gone)?;
    }
    let lambda = aws_sdk_lambda::Client::new(conf);
    for function in targets
        .iter()
        .map(|t| t.arn())
        .filter(|a| a.contains(":lambda:"))
    {
        // Granted by `borrow` under the rule's name; gone already is fine.
        let _ = lambda
            .remove_permission()
            .function_name(function)
            .statement_id(name)
            .send()
            .await;
    }
    let rule = eb.delete_rule().name(name).event_bus_name(bus).send().await;
    rule.map(drop).or_else(not_found_is_gone)?;
    if let Some(url) = queue_url {
        let sqs = aws_sdk_sqs::Client::new(conf);
        sqs.delete_queue()
            .queue_url(url)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("deleting the tap's queue: {e}"))?;
    }
    Ok(())
}

fn not_found_is_gone<E>(e: aws_sdk_eventbridge::error::SdkError<E>) -> Result<()>
where
    E: aws_sdk_eventbridge::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    if e.as_service_error().and_then(|s| s.code()) == Some("ResourceNotFoundException") {
        return Ok(());
    }
    Err(anyhow::Error::new(e).context("removing the tap's rule"))
}

/// Removes every tap whose lease has run out, and every tap queue whose
/// rule is gone and that is older than a lease (a tap killed between
/// making its queue and its rule).
pub async fn sweep(conf: &SdkConfig, bus: &str) -> Result<Swept> {
    let eb = aws_sdk_eventbridge::Client::new(conf);
    let sqs = aws_sdk_sqs::Client::new(conf);
    let now = chrono::Utc::now().timestamp();
    let mut swept = Swept::default();
    let mut live = std::collections::BTreeSet::new();
    for rule in tap_rules(&eb, bus).await? {
        let name = rule.name().unwrap_or_default().to_owned();
        match lease_until(rule.description().unwrap_or_default()) {
            Some(until) if until > now => {
                live.insert(name);
            }
            _ => {
                let url = queue_url_of(&sqs, &name).await;
                remove(conf, bus, &name, url.as_deref()).await?;
                swept.rules += 1;
                swept.queues += usize::from(url.is_some());
            }
        }
    }
    swept.queues += sweep_orphan_queues(&sqs, &live, now).await?;
    Ok(swept)
}

async fn tap_rules(
    eb: &aws_sdk_eventbridge::Client,
    bus: &str,
) -> Result<Vec<aws_sdk_eventbridge::types::Rule>> {
    let mut rules = Vec::new();
    let mut next = None;
    loop {
        let page = eb
            .list_rules()
            .event_bus_name(bus)
            .name_prefix(PREFIX)
            .set_next_token(next)
            .send()
            .await
            .context("listing taps")?;
        rules.extend(page.rules.unwrap_or_default());
        next = page.next_token;
        if next.is_none() {
            return Ok(rules);
        }
    }
}

/// Tap queues with no live rule, once their creation is a lease old.
async fn sweep_orphan_queues(
    sqs: &aws_sdk_sqs::Client,
    live: &std::collections::BTreeSet<String>,
    now: i64,
) -> Result<usize> {
    let urls = sqs
        .list_queues()
        .queue_name_prefix(PREFIX)
        .send()
        .await
        .context("listing tap queues")?
        .queue_urls
        .unwrap_or_default();
    let mut removed = 0;
    for url in urls {
        let name = url.rsplit('/').next().unwrap_or_default();
        if live.contains(name) || !name.starts_with(PREFIX) {
            continue;
        }
        let created = created_at(sqs, &url).await.unwrap_or(now);
        if now - created >= default_lease().as_secs() as i64 {
            sqs.delete_queue().queue_url(&url).send().await.ok();
            removed += 1;
        }
    }
    Ok(removed)
}

async fn created_at(sqs: &aws_sdk_sqs::Client, url: &str) -> Option<i64> {
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::CreatedTimestamp)
        .send()
        .await
        .ok()?
        .attributes?;
    attrs
        .get(&QueueAttributeName::CreatedTimestamp)?
        .parse()
        .ok()
}

async fn queue_url_of(sqs: &aws_sdk_sqs::Client, name: &str) -> Option<String> {
    sqs.get_queue_url()
        .queue_name(name)
        .send()
        .await
        .ok()?
        .queue_url
}

async fn queue_arn(sqs: &aws_sdk_sqs::Client, url: &str) -> Result<String> {
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .context("reading the tap queue's ARN")?
        .attributes
        .unwrap_or_default();
    match attrs.get(&QueueAttributeName::QueueArn) {
        Some(arn) => Ok(arn.clone()),
        None => bail!("the tap's queue has no ARN"),
    }
}

/// The queue policy EventBridge needs to deliver to a queue, for one rule.
fn send_policy(queue_arn: &str, rule_arn: &str) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}}
        }]
    })
    .to_string()
}

/// The lease's end (unix seconds) written in a tap rule's description.
fn lease_until(description: &str) -> Option<i64> {
    let rest = description.strip_prefix(LEASE_MARK)?;
    rest.split(';').next()?.trim().parse().ok()
}

/// Unique enough across engineers and processes, and short: rule names
/// stop at 64 characters and queue names at 80.
fn unique_suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    format!("{:x}-{:x}", nanos, std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lease_is_read_back_from_the_description_it_is_written_in() {
        assert_eq!(
            lease_until("ops tap; lease until 1700000000; tail"),
            Some(1_700_000_000)
        );
        assert_eq!(lease_until("ops tap; lease until soon; tail"), None);
        assert_eq!(lease_until("someone else's rule"), None);
    }

    #[test]
    fn names_fit_eventbridge_and_sqs_limits() {
        let name = format!("{PREFIX}{}", unique_suffix());
        assert!(name.len() <= 64, "{name}");
        assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    }
}
