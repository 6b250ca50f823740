//! The campaigns rules, pure: what an admin may send, how a campaign moves
//! as the sender reports, and when the waiting flow is woken. No I/O.

use chrono::{DateTime, Utc};
use kit::http_api::{Caller, Invalid, Response, check_line};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::items::Campaign;
pub use crate::status::{CampaignStatus, Step, VendorStatus, name};

pub const SUBJECT_MAX: usize = 200;
pub const BODY_MAX: usize = 2000;
/// The Cognito group whose members may use the admin API.
pub const ADMINS: &str = "admins";

/// A new campaign, as an admin sends it.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignInput {
    /// One line of text.
    #[schemars(length(min = 1, max = 200))]
    pub subject: String,
    /// The message; line breaks allowed.
    #[schemars(length(min = 1, max = 2000))]
    pub body: String,
}

impl CampaignInput {
    pub fn validate(self) -> Result<Self, Invalid> {
        check_line("subject", &self.subject, SUBJECT_MAX)?;
        let n = self.body.chars().count();
        let control = |c: char| c.is_control() && c != '\n' && c != '\r' && c != '\t';
        if n > BODY_MAX || self.body.trim().is_empty() || self.body.chars().any(control) {
            return Err(Invalid::range(
                "body",
                format!(
                    "must be 1 to {BODY_MAX} characters, not blank, without control characters other than line breaks (got {n})"
                ),
            ));
        }
        Ok(Self {
            subject: self.subject.trim().to_owned(),
            body: self.body.trim().to_owned(),
        })
    }
}

/// Only the admins group uses the admin API; anyone else gets 403.
pub fn require_admin(caller: &Caller) -> Result<(), Response> {
    if caller.in_group(ADMINS) {
        return Ok(());
    }
    Err(Response::error(
        403,
        "forbidden",
        format!("only members of the {ADMINS} group may manage campaigns"),
        None,
    ))
}

/// What the waiting step of the flow is resumed with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    pub status: VendorStatus,
    /// Always present (null when none): the machine's failure branch reads it.
    #[serde(default)]
    pub reason: Option<String>,
}

/// The sender reported `status`: recorded when it is news. When a waiting
/// step left its token and the flow has not been handed the furthest
/// status yet, returns the token and what to resume it with.
pub fn report(
    c: &mut Campaign,
    status: VendorStatus,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> Reported {
    let news = status.advances(c.vendor_status);
    if news {
        c.vendor_status = Some(status);
        if let Some(r) = reason {
            c.reason = Some(r.to_owned());
        }
        c.status = match (c.status, status) {
            // An ended campaign stays ended: a report after the flow gave
            // up (a timeout) is history, not a new state.
            (CampaignStatus::Failed | CampaignStatus::Delivered, _) => c.status,
            (_, VendorStatus::Sending) => CampaignStatus::Sending,
            (_, VendorStatus::Sent) => CampaignStatus::Sent,
            // Failed is written by the flow's failure step, with its reason.
            (_, VendorStatus::Pending | VendorStatus::Failed) => c.status,
        };
        let detail = reason.map_or_else(|| "reported by the sender".to_owned(), str::to_owned);
        c.steps
            .push(Step::new(now, &format!("sender: {}", name(status)), detail));
        c.updated_at = now;
    }
    let furthest = c.vendor_status.filter(|v| v.advances(c.handed));
    match (furthest, c.token.take()) {
        (Some(status), Some(token)) => {
            c.handed = Some(status);
            c.updated_at = now;
            Reported::Wake {
                token,
                progress: Progress {
                    status,
                    reason: c.reason.clone(),
                },
            }
        }
        (_, token) => {
            c.token = token;
            if news {
                Reported::Recorded
            } else {
                Reported::Stale
            }
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum Reported {
    /// Nothing new: a duplicate or an earlier status arriving late.
    Stale,
    /// Recorded; no step is waiting for it yet (the next one takes it).
    Recorded,
    /// Resume the flow: the waiting step's token, and what with.
    Wake { token: String, progress: Progress },
}

/// The waiting step arrived with `token`: if the sender already reported
/// something the flow has not been handed (it can report before this step
/// runs), resume at once; else keep the token for the webhook.
pub fn wait(c: &mut Campaign, token: &str, now: DateTime<Utc>) -> Option<Progress> {
    match c.vendor_status {
        Some(status) if status.advances(c.handed) => {
            c.handed = Some(status);
            c.token = None;
            c.updated_at = now;
            Some(Progress {
                status,
                reason: c.reason.clone(),
            })
        }
        _ => {
            c.token = Some(token.to_owned());
            c.updated_at = now;
            None
        }
    }
}

/// A campaign as an admin sees it.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct CampaignView {
    pub id: Uuid,
    pub subject: String,
    pub body: String,
    pub status: CampaignStatus,
    pub vendor_status: Option<VendorStatus>,
    pub reason: Option<String>,
    pub recipients: Option<u32>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Oldest first.
    pub steps: Vec<Step>,
}

pub fn view(c: &Campaign) -> CampaignView {
    CampaignView {
        id: c.id,
        subject: c.subject.clone(),
        body: c.body.clone(),
        status: c.status,
        vendor_status: c.vendor_status,
        reason: c.reason.clone(),
        recipients: c.recipients,
        created_by: c.created_by.clone(),
        created_at: c.created_at,
        updated_at: c.updated_at,
        steps: c.steps.clone(),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct CampaignList {
    /// Newest first.
    pub items: Vec<CampaignView>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn campaign() -> Campaign {
        Campaign::new("s", "b", "admin", Utc::now(), "req")
    }

    fn input(subject: &str, body: &str) -> CampaignInput {
        CampaignInput {
            subject: subject.into(),
            body: body.into(),
        }
    }

    #[test]
    fn a_campaign_needs_a_one_line_subject_and_a_bounded_body() {
        assert!(input("Hello", "line one\nline two").validate().is_ok());
        assert_eq!(input("a\nb", "x").validate().unwrap_err().field, "subject");
        assert_eq!(input("ok", "  ").validate().unwrap_err().field, "body");
        let long = "x".repeat(BODY_MAX + 1);
        assert_eq!(input("ok", &long).validate().unwrap_err().field, "body");
        assert_eq!(
            input("ok", "bell\u{7}").validate().unwrap_err().field,
            "body"
        );
    }

    #[test]
    fn only_admins_pass() {
        let mut caller = Caller {
            user_id: "u".into(),
            email: None,
            groups: vec!["editors".into()],
        };
        assert_eq!(require_admin(&caller).unwrap_err().status, 403);
        caller.groups.push(ADMINS.into());
        assert!(require_admin(&caller).is_ok());
    }

    #[test]
    fn statuses_only_move_forward() {
        use VendorStatus::*;
        assert!(Pending.advances(None));
        assert!(Sending.advances(Some(Pending)));
        assert!(!Pending.advances(Some(Sending)));
        assert!(!Sending.advances(Some(Sending)));
        assert!(!Failed.advances(Some(Sent)) && !Sent.advances(Some(Failed)));
    }

    #[test]
    fn a_report_wakes_a_waiting_step_once() {
        let mut c = campaign();
        c.handed = Some(VendorStatus::Pending);
        assert_eq!(wait(&mut c, "t1", Utc::now()), None, "nothing new yet");
        let woke = report(&mut c, VendorStatus::Sending, None, Utc::now());
        let progress = Progress {
            status: VendorStatus::Sending,
            reason: None,
        };
        assert_eq!(
            woke,
            Reported::Wake {
                token: "t1".into(),
                progress
            }
        );
        assert_eq!(
            (c.token.as_deref(), c.status),
            (None, CampaignStatus::Sending)
        );
        let again = report(&mut c, VendorStatus::Sending, None, Utc::now());
        assert_eq!(
            again,
            Reported::Stale,
            "a duplicate delivery changes nothing"
        );
    }

    #[test]
    fn a_report_before_the_token_is_taken_by_the_next_wait() {
        let mut c = campaign();
        c.handed = Some(VendorStatus::Pending);
        let early = report(&mut c, VendorStatus::Sent, None, Utc::now());
        assert_eq!(early, Reported::Recorded);
        let resumed = wait(&mut c, "t2", Utc::now()).expect("resumed at once");
        assert_eq!(resumed.status, VendorStatus::Sent);
        assert_eq!(c.token, None);
        assert_eq!(wait(&mut c, "t3", Utc::now()), None, "handed once");
    }

    #[test]
    fn a_token_given_back_is_woken_by_the_retried_report() {
        let mut c = campaign();
        c.handed = Some(VendorStatus::Pending);
        wait(&mut c, "t1", Utc::now());
        let woke = report(&mut c, VendorStatus::Sent, None, Utc::now());
        assert!(matches!(woke, Reported::Wake { .. }));
        // Resuming failed: the token and the earlier hand-over come back.
        c.token = Some("t1".into());
        c.handed = Some(VendorStatus::Pending);
        let retried = report(&mut c, VendorStatus::Sent, None, Utc::now());
        assert!(
            matches!(retried, Reported::Wake { ref token, .. } if token == "t1"),
            "{retried:?}"
        );
    }

    #[test]
    fn a_report_after_the_end_is_history_only() {
        let mut c = campaign();
        c.status = CampaignStatus::Failed;
        report(&mut c, VendorStatus::Sent, None, Utc::now());
        assert_eq!(c.status, CampaignStatus::Failed);
        assert_eq!(c.steps.last().unwrap().step, "sender: sent");
    }

    #[test]
    fn a_failure_carries_its_reason() {
        let mut c = campaign();
        c.handed = Some(VendorStatus::Pending);
        wait(&mut c, "t1", Utc::now());
        report(&mut c, VendorStatus::Failed, Some("rejected"), Utc::now());
        assert_eq!(c.reason.as_deref(), Some("rejected"));
        assert_eq!(c.handed, Some(VendorStatus::Failed));
    }
}
