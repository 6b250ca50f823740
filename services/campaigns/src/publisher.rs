//! The outbox read side: table changes in, domain events out.

use aws_lambda_events::dynamodb::EventRecord;
use events::PutEntry;
use events::campaigns::{CampaignDeliveredV1, CampaignsUserErasedV1};
use kit::stream::{Change, Origin, StreamError, change};

use crate::SERVICE;
use crate::items::Item;

/// The events one stream record publishes (often none): a campaign
/// recorded on a recipient announces its delivery to them.
pub fn events_for(record: &EventRecord) -> Result<Vec<PutEntry>, StreamError> {
    let origin = Origin {
        record,
        producer: SERVICE,
    };
    let entry = match change::<Item>(record)? {
        Change::Insert {
            new: Item::Received(r),
        } => origin.entry(
            r.delivered_at,
            &r.correlation_id,
            None,
            CampaignDeliveredV1 {
                campaign_id: r.campaign_id,
                user_id: r.user_id,
                subject: r.subject,
                body: r.body,
                delivered_at: r.delivered_at,
            },
        )?,
        Change::Insert {
            new: Item::ErasureReceipt(r),
        } => origin.entry(
            r.erased_at,
            &r.correlation_id,
            Some(r.causation_id),
            CampaignsUserErasedV1 {
                user_id: r.user_id,
                erased_at: r.erased_at,
            },
        )?,
        // A campaign's own changes stay in the service; an erasure's
        // deletes announce nothing (UserDeleted already did; its receipt
        // says it is done).
        _ => return Ok(Vec::new()),
    };
    Ok(vec![entry])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::items::{Campaign, Received};
    use events::Event;
    use kit::stream::record;

    fn item<T: serde::Serialize>(t: &T) -> serde_dynamo::Item {
        serde_dynamo::to_item(t).unwrap()
    }

    #[test]
    fn a_recorded_recipient_publishes_one_delivery_and_nothing_else_does() {
        let now = chrono::Utc::now();
        let c = Campaign::new("Hi", "Body", "admin", now, "req-c");
        let r = Received::of(&c, "ada", now);
        let inserted = record("1", "INSERT", None, Some(item(&Item::Received(r))));
        let entries = events_for(&inserted).unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].key, CampaignDeliveredV1::KEY);
        assert!(
            entries[0].detail.contains("\"user_id\":\"ada\""),
            "{}",
            entries[0].detail
        );
        assert!(entries[0].detail.contains("req-c"));
        let campaign = record("2", "INSERT", None, Some(item(&Item::Campaign(c))));
        assert!(events_for(&campaign).unwrap().is_empty());
    }
}
