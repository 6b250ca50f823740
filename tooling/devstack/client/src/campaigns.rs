//! `devstack campaign`: one campaign to many recipients on a running local
//! cloud, timed. It signs the recipients up, waits until the campaigns
//! service's audience holds them, has an admin start a campaign, and
//! follows it: the sender's report, every recipient recorded, and each
//! recipient's notification. Every recipient must have exactly one; the
//! last line says how many have none or more.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use aws_sdk_dynamodb::types::AttributeValue;
use futures_util::{StreamExt, TryStreamExt, stream};
use reqwest::Method;
use serde::Serialize;
use serde_json::json;

use crate::walkthrough::{Client, token_for};
use devstack_api::Endpoints;

/// What to run.
#[derive(Debug, Clone)]
pub struct Config {
    pub recipients: usize,
    /// Requests in flight at once (sign-ups, then the notification reads).
    pub concurrency: usize,
    /// How long the campaign, then the notifications, may take.
    pub within: Duration,
}

/// The figures, in seconds from the campaign's start where not said.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub recipients: usize,
    /// The campaign's own count: the whole audience at delivery.
    pub audience: u64,
    pub sign_ups_s: f64,
    /// Sign-ups done → all of them in the campaigns audience.
    pub audience_s: f64,
    pub sent_s: f64,
    pub delivered_s: f64,
    /// The last of our recipients' notifications seen through the API.
    pub notified_s: f64,
    pub missing: usize,
    pub duplicated: usize,
}

/// Runs it; `admin` is a user of the pool already in the admins group.
pub async fn run(endpoints: &Endpoints, admin: &str, config: &Config) -> Result<Report> {
    let run_id = &uuid::Uuid::new_v4().simple().to_string()[..8];
    let t0 = Instant::now();
    let users = sign_up_all(endpoints, run_id, config).await?;
    let sign_ups_s = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    in_audience(endpoints, &users, config.within).await?;
    let audience_s = t1.elapsed().as_secs_f64();

    let admin = client(endpoints, admin).await?;
    let subject = format!("Campaign {run_id} to {}", config.recipients);
    let start = Instant::now();
    let (status, started) = admin
        .call(
            Method::POST,
            "/campaigns",
            Some(json!({"subject": subject, "body": "Measured by devstack campaign."})),
        )
        .await?;
    if status != 202 {
        bail!("POST /campaigns: {status} {started}");
    }
    let id = started["id"].as_str().context("the campaign's id")?;
    let (sent_s, delivered_s, audience) = follow(&admin, id, start, config.within).await?;
    let (notified_s, counts) = notified(&users, &subject, start, config).await?;
    Ok(Report {
        recipients: users.len(),
        audience,
        sign_ups_s,
        audience_s,
        sent_s,
        delivered_s,
        notified_s,
        missing: counts.iter().filter(|n| **n == 0).count(),
        duplicated: counts.iter().filter(|n| **n > 1).count(),
    })
}

struct User {
    id: String,
    client: Client,
}

async fn client(endpoints: &Endpoints, email: &str) -> Result<Client> {
    Ok(Client {
        http: reqwest::Client::new(),
        base: endpoints.api_base_url.clone(),
        token: token_for(endpoints, email).await?,
    })
}

async fn sign_up_all(endpoints: &Endpoints, run_id: &str, config: &Config) -> Result<Vec<User>> {
    stream::iter(0..config.recipients)
        .map(|i| async move {
            let email = format!("campaign-{run_id}-r{i}@example.com");
            let client = client(endpoints, &email).await?;
            // The confirmation made the profile (the pool's trigger).
            let (status, me) = client.call(Method::GET, "/users/me", None).await?;
            if status != 200 {
                bail!("GET /users/me for {email}: {status} {me}");
            }
            let id = me["id"].as_str().context("the user's id")?.to_owned();
            Ok(User { id, client })
        })
        .buffer_unordered(config.concurrency)
        .try_collect()
        .await
}

/// Waits until the campaigns table's audience holds every one of `users`.
async fn in_audience(endpoints: &Endpoints, users: &[User], within: Duration) -> Result<()> {
    let table = &endpoints
        .services
        .get("campaigns")
        .context("no campaigns service on this local cloud")?
        .table;
    let conf = ops::targets::administrator(endpoints, "campaigns").await;
    let dynamo = aws_sdk_dynamodb::Client::new(&conf);
    let deadline = Instant::now() + within;
    let mut waiting: Vec<&str> = users.iter().map(|u| u.id.as_str()).collect();
    while !waiting.is_empty() {
        let present = audience(&dynamo, table).await?;
        waiting.retain(|id| !present.contains(&format!("USER#{id}")));
        if Instant::now() > deadline {
            bail!("{} recipient(s) never reached the audience", waiting.len());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Ok(())
}

/// The campaign audience's sort keys (`USER#<id>`).
pub(crate) async fn audience(
    dynamo: &aws_sdk_dynamodb::Client,
    table: &str,
) -> Result<std::collections::HashSet<String>> {
    let mut pages = dynamo
        .query()
        .table_name(table)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", AttributeValue::S("AUDIENCE".into()))
        .projection_expression("sk")
        .into_paginator()
        .send();
    let mut present = std::collections::HashSet::new();
    while let Some(page) = pages.next().await {
        for item in page?.items() {
            if let Some(Ok(sk)) = item.get("sk").map(AttributeValue::as_s) {
                present.insert(sk.clone());
            }
        }
    }
    Ok(present)
}

/// Seconds to `sent` and to `delivered`, and the recipients it counted.
async fn follow(
    admin: &Client,
    id: &str,
    start: Instant,
    within: Duration,
) -> Result<(f64, f64, u64)> {
    let path = format!("/campaigns/{id}");
    let mut sent = None;
    loop {
        let (_, c) = admin.call(Method::GET, &path, None).await?;
        let at = start.elapsed().as_secs_f64();
        match c["status"].as_str() {
            Some("sent") => {
                sent.get_or_insert(at);
            }
            Some("delivered") => {
                let recipients = c["recipients"].as_u64().unwrap_or_default();
                return Ok((sent.unwrap_or(at), at, recipients));
            }
            Some("failed") => bail!("the campaign failed: {c}"),
            _ => {}
        }
        if start.elapsed() > within {
            bail!("the campaign had not been delivered after {within:?}: {c}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// When the last recipient's notification showed, and how many each has.
async fn notified(
    users: &[User],
    subject: &str,
    start: Instant,
    config: &Config,
) -> Result<(f64, Vec<usize>)> {
    let subject: Arc<str> = subject.into();
    let deadline = start + config.within * 2;
    let found: Vec<(f64, usize)> = stream::iter(users)
        .map(|u| {
            let subject = subject.clone();
            async move {
                loop {
                    let n = campaign_notifications(&u.client, &subject).await?;
                    if n > 0 || Instant::now() > deadline {
                        return Ok::<_, anyhow::Error>((start.elapsed().as_secs_f64(), n));
                    }
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        })
        .buffer_unordered(config.concurrency)
        .try_collect()
        .await?;
    let last = found.iter().map(|(at, _)| *at).fold(0.0, f64::max);
    Ok((last, found.into_iter().map(|(_, n)| n).collect()))
}

async fn campaign_notifications(user: &Client, subject: &str) -> Result<usize> {
    let (status, list) = user.call(Method::GET, "/notifications", None).await?;
    if status != 200 {
        bail!("GET /notifications: {status} {list}");
    }
    let items = list["items"].as_array().cloned().unwrap_or_default();
    Ok(items
        .iter()
        .filter(|n| {
            n["kind"] == "campaign"
                && n["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with(subject))
        })
        .count())
}

pub fn render(r: &Report) -> String {
    let row = |what: &str, value: String| format!("  {what:<44} {value:>10}\n");
    let mut out = format!(
        "campaign to {} new recipient(s) (audience {})\n",
        r.recipients, r.audience
    );
    out += &row("sign-ups (concurrent)", format!("{:.1} s", r.sign_ups_s));
    out += &row(
        "sign-ups done → all in the campaigns audience",
        format!("{:.1} s", r.audience_s),
    );
    out += &row("start → sender reports sent", format!("{:.2} s", r.sent_s));
    out += &row(
        "start → every recipient recorded (delivered)",
        format!("{:.2} s", r.delivered_s),
    );
    out += &row(
        "start → the last notification seen",
        format!("{:.2} s", r.notified_s),
    );
    out += &format!("missing: {}, duplicated: {}", r.missing, r.duplicated);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_line_counts_missing_and_duplicated() {
        let r = Report {
            recipients: 3,
            audience: 5,
            sign_ups_s: 1.0,
            audience_s: 0.5,
            sent_s: 1.2,
            delivered_s: 1.5,
            notified_s: 2.0,
            missing: 1,
            duplicated: 0,
        };
        let text = render(&r);
        assert!(text.starts_with("campaign to 3 new recipient(s) (audience 5)"));
        assert!(text.ends_with("missing: 1, duplicated: 0"), "{text}");
    }
}
