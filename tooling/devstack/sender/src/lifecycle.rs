//! A campaign's life after acceptance: pending, sending, then sent or
//! failed, one step apart, each change handed to its webhook worker in
//! order. The statuses move on their own clock: a slow webhook delays the
//! deliveries, never the campaign, as with a real sender.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use tokio::sync::mpsc;

use crate::campaign::{Event, REJECTED, Status};
use crate::scenario::Scenario;
use crate::shared::Shared;
use crate::webhook::{self, Outgoing};

pub struct Accepted {
    pub id: String,
    pub reference: String,
    pub scenario: Scenario,
    pub at: DateTime<Utc>,
}

pub fn start(shared: &Arc<Shared>, campaign: Accepted) {
    if campaign.scenario.silent {
        tracing::info!(target: "trail", campaign = %campaign.id, "sender: [sandbox:silent]: the campaign will not move");
        return;
    }
    let (queue, deliveries) = mpsc::unbounded_channel();
    shared.spawn(webhook::worker(
        shared.clone(),
        campaign.scenario.duplicate,
        deliveries,
    ));
    shared.spawn(run(shared.clone(), campaign, queue));
}

async fn run(shared: Arc<Shared>, campaign: Accepted, queue: mpsc::UnboundedSender<Outgoing>) {
    let step = if campaign.scenario.fast {
        Duration::ZERO
    } else {
        shared.settings.step
    };
    emit(
        &shared,
        &campaign,
        &queue,
        Status::Pending,
        None,
        campaign.at,
    );
    let last = if campaign.scenario.fail {
        (Status::Failed, Some(REJECTED.to_owned()))
    } else {
        (Status::Sent, None)
    };
    for (status, reason) in [(Status::Sending, None), last] {
        if !step.is_zero() {
            tokio::time::sleep(step).await;
        }
        let moved = shared
            .store()
            .advance(&campaign.id, status, reason.clone(), Utc::now());
        let Some(at) = moved else { return };
        tracing::debug!(campaign = %campaign.id, status = ?status, "sender: campaign moved");
        emit(&shared, &campaign, &queue, status, reason, at);
    }
}

fn emit(
    shared: &Shared,
    campaign: &Accepted,
    queue: &mpsc::UnboundedSender<Outgoing>,
    status: Status,
    reason: Option<String>,
    at: DateTime<Utc>,
) {
    let event = Event {
        delivery_id: uuid::Uuid::new_v4(),
        campaign_id: campaign.id.clone(),
        reference: campaign.reference.clone(),
        status,
        reason,
        occurred_at: at.to_rfc3339_opts(SecondsFormat::Millis, true),
    };
    let body = match serde_json::to_vec(&event) {
        Ok(body) => Bytes::from(body),
        Err(e) => {
            tracing::error!(campaign = %campaign.id, error = %e, "sender: webhook body not serializable");
            return;
        }
    };
    shared
        .store()
        .queue_delivery(&campaign.id, event.delivery_id, status);
    let outgoing = Outgoing {
        campaign_id: campaign.id.clone(),
        delivery_id: event.delivery_id,
        body,
    };
    if queue.send(outgoing).is_err() {
        tracing::warn!(campaign = %campaign.id, "sender: the webhook worker is gone");
    }
}
