//! The campaigns table's items. The stream publisher reads these shapes.
//!
//! | pk | sk | item |
//! |---|---|---|
//! | `CAMPAIGNS` | `CAMPAIGN#<uuid v7>` | a campaign, its progress and step history |
//! | `AUDIENCE` | `USER#<sub>` | a member of the audience (from UserRegistered) |
//! | `USER#<sub>` | `RECEIVED#<campaign id>` | a campaign recorded on its recipient: publishes CampaignDelivered |
//! | `USER#<sub>` | `ERASED` | the user's erasure (TTL 14 days): a late UserRegistered adds nothing |
//!
//! One partition lists the campaigns and one holds the audience: an admin
//! starts a few campaigns a day, and the audience is read whole, once per
//! campaign.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::status::{CampaignStatus, Step, VendorStatus};

pub const CAMPAIGNS_PK: &str = "CAMPAIGNS";
pub const CAMPAIGN_PREFIX: &str = "CAMPAIGN#";
pub const AUDIENCE_PK: &str = "AUDIENCE";
pub const MEMBER_PREFIX: &str = "USER#";
pub const RECEIVED_PREFIX: &str = "RECEIVED#";
pub const ERASED_SK: &str = "ERASED";

/// How long an erasure is remembered: longer than any retry or replay of
/// the events before it (the bus's archive keeps 14 days).
pub const ERASURE_DAYS: i64 = 14;

pub fn user_pk(user_id: &str) -> String {
    format!("USER#{user_id}")
}

pub fn campaign_sk(id: Uuid) -> String {
    format!("{CAMPAIGN_PREFIX}{id}")
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Item {
    Campaign(Campaign),
    Member(Member),
    Received(Received),
    Erased(Erased),
    /// Written once the user's data is erased: publishes UserDataErased.
    ErasureReceipt(kit::erasure::Receipt),
    /// Items the publisher has no business with (idempotency records, ...).
    #[serde(other)]
    Other,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Campaign {
    pub pk: String,
    pub sk: String,
    pub id: Uuid,
    pub subject: String,
    pub body: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub status: CampaignStatus,
    /// The sender's id for the campaign, once it accepted it.
    pub vendor_id: Option<String>,
    /// The furthest status the sender reported.
    pub vendor_status: Option<VendorStatus>,
    /// The last status handed to the waiting step of the flow.
    pub handed: Option<VendorStatus>,
    /// The waiting step's task token, until a status is handed to it.
    pub token: Option<String>,
    pub reason: Option<String>,
    pub recipients: Option<u32>,
    pub steps: Vec<Step>,
    pub execution_arn: Option<String>,
    /// Of the request that started the campaign.
    pub correlation_id: String,
}

impl Campaign {
    pub fn new(
        subject: &str,
        body: &str,
        created_by: &str,
        now: DateTime<Utc>,
        correlation_id: &str,
    ) -> Self {
        // v7: ids sort by creation time, so the list reads newest first.
        let id = Uuid::now_v7();
        Self {
            pk: CAMPAIGNS_PK.into(),
            sk: campaign_sk(id),
            id,
            subject: subject.into(),
            body: body.into(),
            created_by: created_by.into(),
            created_at: now,
            updated_at: now,
            status: CampaignStatus::Submitted,
            vendor_id: None,
            vendor_status: None,
            handed: None,
            token: None,
            reason: None,
            recipients: None,
            steps: vec![Step::new(now, "submitted", "by an admin")],
            execution_arn: None,
            correlation_id: correlation_id.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Member {
    pub pk: String,
    pub sk: String,
    pub user_id: String,
    pub email: String,
    pub joined_at: DateTime<Utc>,
}

impl Member {
    pub fn new(user_id: &str, email: &str, joined_at: DateTime<Utc>) -> Self {
        Self {
            pk: AUDIENCE_PK.into(),
            sk: format!("{MEMBER_PREFIX}{user_id}"),
            user_id: user_id.into(),
            email: email.into(),
            joined_at,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Received {
    pub pk: String,
    pub sk: String,
    pub campaign_id: Uuid,
    pub user_id: String,
    pub subject: String,
    pub body: String,
    pub delivered_at: DateTime<Utc>,
    /// Of the request that started the campaign: the notification it
    /// causes carries it on.
    pub correlation_id: String,
}

impl Received {
    pub fn of(campaign: &Campaign, user_id: &str, now: DateTime<Utc>) -> Self {
        Self {
            pk: user_pk(user_id),
            sk: format!("{RECEIVED_PREFIX}{}", campaign.id),
            campaign_id: campaign.id,
            user_id: user_id.into(),
            subject: campaign.subject.clone(),
            body: campaign.body.clone(),
            delivered_at: now,
            correlation_id: campaign.correlation_id.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Erased {
    pub pk: String,
    pub sk: String,
    pub user_id: String,
    pub erased_at: DateTime<Utc>,
    /// Epoch seconds; the table's TTL attribute.
    pub expires_at: i64,
}

impl Erased {
    pub fn new(user_id: &str, now: DateTime<Utc>) -> Self {
        Self {
            pk: user_pk(user_id),
            sk: ERASED_SK.into(),
            user_id: user_id.into(),
            erased_at: now,
            expires_at: (now + chrono::Duration::days(ERASURE_DAYS)).timestamp(),
        }
    }
}
