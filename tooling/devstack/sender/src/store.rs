//! The sandbox's memory: campaigns, the requests grouped by what makes
//! them "the same request" (an Idempotency-Key, or the exact body without
//! one), deliveries and counts. Every decision that depends on earlier
//! requests is taken here under one lock, so two concurrent requests with
//! one key cannot both create a campaign.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::campaign::{CampaignAnswer, Status};
use crate::records::{
    AttemptRecord, CampaignRecord, Change, DeliveryRecord, Listing, Outcome, RequestGroup,
    RequestRecord, Stats,
};
use crate::request::NewCampaign;
use crate::scenario::Scenario;

/// What makes two requests the same request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum GroupKey {
    Idempotency(String),
    /// The SHA-256 of the body, for requests without a key: the scenarios
    /// count refusals per request, and a caller retrying without a key
    /// sends the same bytes again.
    Body(String),
}

pub enum Admission {
    /// `[sandbox:5xx=N]`: 503.
    Unavailable,
    /// `[sandbox:429=N]`: 429.
    Throttled,
    /// The key's campaign, answered as it was when accepted.
    Replayed(CampaignAnswer),
    Accepted(CampaignAnswer, DateTime<Utc>),
}

#[derive(Default)]
struct Group {
    requests: Vec<RequestRecord>,
    /// The last campaign the group's requests created.
    campaign: Option<String>,
}

impl Group {
    fn answered(&self, status: u16) -> usize {
        self.requests.iter().filter(|r| r.status == status).count()
    }
}

#[derive(Default)]
pub struct Store {
    campaigns: Vec<(CampaignRecord, GroupKey)>,
    by_id: HashMap<String, usize>,
    groups: HashMap<GroupKey, Group>,
    /// The groups in the order they first came, for a stable listing.
    group_order: Vec<GroupKey>,
    pub stats: Stats,
}

impl Store {
    /// Answers a valid, authorized request: refused by its scenario,
    /// replayed for its key, or a new campaign.
    pub fn admit(
        &mut self,
        key: GroupKey,
        new: &NewCampaign,
        scenario: Scenario,
        now: DateTime<Utc>,
    ) -> Admission {
        if !self.groups.contains_key(&key) {
            self.group_order.push(key.clone());
        }
        let group = self.groups.entry(key.clone()).or_default();
        if let (GroupKey::Idempotency(_), Some(id)) = (&key, &group.campaign)
            && let Some((record, _)) = self.by_id.get(id).and_then(|&i| self.campaigns.get(i))
        {
            group.requests.push(RequestRecord {
                at: now,
                status: 202,
                campaign_id: Some(id.clone()),
            });
            self.stats.replayed += 1;
            return Admission::Replayed(CampaignAnswer {
                id: id.clone(),
                status: Status::Pending,
                reference: record.reference.clone(),
                recipients: record.recipients,
                reason: None,
            });
        }
        let refusal = if group.answered(503) < scenario.unavailable as usize {
            Some((503, Admission::Unavailable))
        } else if group.answered(429) < scenario.throttled as usize {
            Some((429, Admission::Throttled))
        } else {
            None
        };
        if let Some((status, admission)) = refusal {
            group.requests.push(RequestRecord {
                at: now,
                status,
                campaign_id: None,
            });
            self.stats.refused += 1;
            return admission;
        }
        let id = format!("cmp_{}", uuid::Uuid::new_v4().simple());
        group.campaign = Some(id.clone());
        group.requests.push(RequestRecord {
            at: now,
            status: 202,
            campaign_id: Some(id.clone()),
        });
        let record = CampaignRecord {
            id: id.clone(),
            reference: new.reference.clone(),
            subject: new.subject.clone(),
            recipients: new.recipients.len(),
            idempotency_key: match &key {
                GroupKey::Idempotency(k) => Some(k.clone()),
                GroupKey::Body(_) => None,
            },
            status: Status::Pending,
            reason: None,
            created_at: now,
            history: vec![Change {
                status: Status::Pending,
                at: now,
            }],
            requests: Vec::new(),
            deliveries: Vec::new(),
        };
        let answer = answer(&record);
        self.by_id.insert(id, self.campaigns.len());
        self.campaigns.push((record, key));
        self.stats.accepted += 1;
        Admission::Accepted(answer, now)
    }

    pub fn answer(&self, id: &str) -> Option<CampaignAnswer> {
        self.campaign(id).map(answer)
    }

    /// Moves a campaign on; when it reached `status`.
    pub fn advance(
        &mut self,
        id: &str,
        status: Status,
        reason: Option<String>,
        at: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let campaign = self.campaign_mut(id)?;
        campaign.status = status;
        campaign.reason = reason;
        campaign.history.push(Change { status, at });
        Some(at)
    }

    pub fn queue_delivery(&mut self, id: &str, delivery_id: uuid::Uuid, status: Status) {
        if let Some(campaign) = self.campaign_mut(id) {
            campaign.deliveries.push(DeliveryRecord {
                delivery_id,
                status,
                outcome: Outcome::Queued,
                attempts: Vec::new(),
            });
        }
    }

    pub fn begin_delivery(&mut self, id: &str, delivery_id: uuid::Uuid) {
        self.stats.deliveries += 1;
        self.set_outcome(id, delivery_id, Outcome::Delivering);
    }

    pub fn record_attempt(&mut self, id: &str, delivery_id: uuid::Uuid, attempt: AttemptRecord) {
        if attempt.duplicate {
            self.stats.duplicates_sent += 1;
        } else {
            self.stats.delivery_attempts += 1;
        }
        if let Some(delivery) = self.delivery_mut(id, delivery_id) {
            delivery.attempts.push(attempt);
        }
    }

    pub fn set_outcome(&mut self, id: &str, delivery_id: uuid::Uuid, outcome: Outcome) {
        if outcome == Outcome::GivenUp {
            self.stats.deliveries_given_up += 1;
        }
        if let Some(delivery) = self.delivery_mut(id, delivery_id) {
            delivery.outcome = outcome;
        }
    }

    pub fn listing(&self) -> Listing {
        let campaigns = self
            .campaigns
            .iter()
            .map(|(record, key)| CampaignRecord {
                requests: self
                    .groups
                    .get(key)
                    .map(|g| g.requests.clone())
                    .unwrap_or_default(),
                ..record.clone()
            })
            .collect();
        let requests_without_campaign = self
            .group_order
            .iter()
            .filter_map(|key| {
                let group = self.groups.get(key)?;
                group.campaign.is_none().then(|| RequestGroup {
                    idempotency_key: match key {
                        GroupKey::Idempotency(k) => Some(k.clone()),
                        GroupKey::Body(_) => None,
                    },
                    requests: group.requests.clone(),
                })
            })
            .collect();
        Listing {
            campaigns,
            requests_without_campaign,
        }
    }

    fn campaign(&self, id: &str) -> Option<&CampaignRecord> {
        let &i = self.by_id.get(id)?;
        self.campaigns.get(i).map(|(c, _)| c)
    }

    fn campaign_mut(&mut self, id: &str) -> Option<&mut CampaignRecord> {
        let &i = self.by_id.get(id)?;
        self.campaigns.get_mut(i).map(|(c, _)| c)
    }

    fn delivery_mut(&mut self, id: &str, delivery_id: uuid::Uuid) -> Option<&mut DeliveryRecord> {
        self.campaign_mut(id)?
            .deliveries
            .iter_mut()
            .find(|d| d.delivery_id == delivery_id)
    }
}

fn answer(record: &CampaignRecord) -> CampaignAnswer {
    CampaignAnswer {
        id: record.id.clone(),
        status: record.status,
        reference: record.reference.clone(),
        recipients: record.recipients,
        reason: record.reason.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new() -> NewCampaign {
        NewCampaign {
            subject: "s".into(),
            body: "b".into(),
            recipients: vec!["a@x".into()],
            reference: "r".into(),
        }
    }

    fn statuses(store: &mut Store, key: GroupKey, scenario: Scenario, n: usize) -> Vec<u16> {
        (0..n)
            .map(
                |_| match store.admit(key.clone(), &new(), scenario, Utc::now()) {
                    Admission::Unavailable => 503,
                    Admission::Throttled => 429,
                    Admission::Replayed(_) => 200,
                    Admission::Accepted(..) => 202,
                },
            )
            .collect()
    }

    #[test]
    fn refusals_come_first_then_one_campaign_per_key() {
        let mut store = Store::default();
        let scenario = Scenario {
            unavailable: 2,
            throttled: 1,
            ..Scenario::default()
        };
        let key = GroupKey::Idempotency("k".into());
        assert_eq!(
            statuses(&mut store, key, scenario, 5),
            [503, 503, 429, 202, 200]
        );
        assert_eq!(store.stats.accepted, 1);
        assert_eq!(store.stats.refused, 3);
        assert_eq!(store.listing().campaigns[0].requests.len(), 5);
    }

    #[test]
    fn without_a_key_the_same_body_is_not_replayed() {
        let mut store = Store::default();
        let scenario = Scenario {
            unavailable: 1,
            ..Scenario::default()
        };
        let key = GroupKey::Body("h".into());
        assert_eq!(statuses(&mut store, key, scenario, 3), [503, 202, 202]);
        assert_eq!(store.stats.accepted, 2);
    }
}
