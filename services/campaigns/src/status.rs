//! A campaign's statuses and history lines: plain data, shared by the
//! items the table holds and the domain's rules.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Where a campaign is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CampaignStatus {
    /// Stored; its flow is starting.
    Submitted,
    /// The sender accepted it and is working on it.
    Accepted,
    /// The sender reports it sending.
    Sending,
    /// The sender reports it sent; its recipients are being recorded.
    Sent,
    /// Every recipient has it.
    Delivered,
    /// It ended without being sent; `reason` says why.
    Failed,
}

/// What the sender reports, in the order it happens. `sent` and `failed`
/// end it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum VendorStatus {
    Pending,
    Sending,
    Sent,
    Failed,
}

impl VendorStatus {
    fn rank(self) -> u8 {
        match self {
            VendorStatus::Pending => 0,
            VendorStatus::Sending => 1,
            VendorStatus::Sent | VendorStatus::Failed => 2,
        }
    }

    /// Whether `self` is news after `seen`: statuses only move forward, so
    /// a duplicate, a retry or a late delivery of an earlier one is not.
    pub fn advances(self, seen: Option<VendorStatus>) -> bool {
        seen.is_none_or(|s| self.rank() > s.rank())
    }
}

/// One line of a campaign's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Step {
    pub at: DateTime<Utc>,
    pub step: String,
    pub detail: String,
}

impl Step {
    pub fn new(at: DateTime<Utc>, step: &str, detail: impl Into<String>) -> Self {
        Self {
            at,
            step: step.into(),
            detail: detail.into(),
        }
    }
}

pub fn name(status: VendorStatus) -> &'static str {
    match status {
        VendorStatus::Pending => "pending",
        VendorStatus::Sending => "sending",
        VendorStatus::Sent => "sent",
        VendorStatus::Failed => "failed",
    }
}
