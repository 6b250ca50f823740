//! The outbox read side: a stored notification is announced as sent.

use aws_lambda_events::dynamodb::EventRecord;
use events::PutEntry;
use events::notifications::NotificationSentV1;
use kit::stream::{Change, Origin, StreamError, change};

use crate::contract::SERVICE;
use crate::items::Item;

pub fn events_for(record: &EventRecord) -> Result<Vec<PutEntry>, StreamError> {
    let origin = Origin {
        record,
        producer: SERVICE,
    };
    match change::<Item>(record)? {
        Change::Insert {
            new: Item::Notification(n),
        } => Ok(vec![origin.entry(
            n.created_at,
            &n.correlation_id,
            Some(n.source_event_id.to_string()),
            NotificationSentV1 {
                notification_id: n.notification_id,
                user_id: n.user_id,
                kind: n.notification_kind,
                message: n.message,
                source_event_id: n.source_event_id,
                sent_at: n.created_at,
            },
        )?]),
        _ => Ok(Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Draft;
    use crate::items::Notification;
    use events::Event;
    use events::notifications::NotificationKind;
    use kit::stream::record;
    use uuid::Uuid;

    #[test]
    fn a_stored_notification_is_announced_caused_by_its_source_event() {
        let n = Notification::new(
            Uuid::from_u128(1),
            Draft {
                user_id: "u1".into(),
                kind: NotificationKind::Welcome,
                message: "hi".into(),
            },
            Uuid::from_u128(2),
            "2026-11-22T10:00:00Z".parse().unwrap(),
            "req-1",
        );
        let r = record(
            "r",
            "INSERT",
            None,
            Some(serde_dynamo::to_item(Item::Notification(n)).unwrap()),
        );
        let entries = events_for(&r).unwrap();
        assert_eq!(entries[0].key, NotificationSentV1::KEY);
        assert!(
            entries[0]
                .detail
                .contains(&format!("\"causation_id\":\"{}\"", Uuid::from_u128(2)))
        );
    }
}
