//! The outbox read side: a stored notification is announced as sent.

use aws_lambda_events::dynamodb::EventRecord;
use events::PutEntry;
use events::notifications::{NotificationSentV1, NotificationSentV2, NotificationsUserErasedV1};
use kit::stream::{Change, Origin, StreamError, change};

use crate::SERVICE;
use crate::items::Item;

pub fn events_for(record: &EventRecord) -> Result<Vec<PutEntry>, StreamError> {
    let origin = Origin {
        record,
        producer: SERVICE,
    };
    match change::<Item>(record)? {
        Change::Insert {
            new: Item::Notification(n),
        } => {
            let v2 = NotificationSentV2 {
                notification_id: n.notification_id,
                user_id: n.user_id,
                kind: n.notification_kind,
                message: n.message,
                source_event_id: n.source_event_id,
                sent_at: n.created_at,
            };
            let cause = Some(n.source_event_id.to_string());
            let mut entries = Vec::new();
            // v1 stays published beside v2 for the kinds it has, so its
            // readers keep working until they move to v2.
            if let Some(kind) = v2.kind.v1() {
                let v1 = NotificationSentV1 {
                    notification_id: v2.notification_id,
                    user_id: v2.user_id.clone(),
                    kind,
                    message: v2.message.clone(),
                    source_event_id: v2.source_event_id,
                    sent_at: v2.sent_at,
                };
                entries.push(origin.entry(n.created_at, &n.correlation_id, cause.clone(), v1)?);
            }
            entries.push(origin.entry(n.created_at, &n.correlation_id, cause, v2)?);
            Ok(entries)
        }
        Change::Insert {
            new: Item::ErasureReceipt(r),
        } => Ok(vec![origin.entry(
            r.erased_at,
            &r.correlation_id,
            Some(r.causation_id),
            NotificationsUserErasedV1 {
                user_id: r.user_id,
                erased_at: r.erased_at,
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
    use events::notifications::Kind;
    use kit::stream::record;
    use uuid::Uuid;

    #[test]
    fn a_stored_notification_is_announced_caused_by_its_source_event() {
        let n = Notification::new(
            Uuid::from_u128(1),
            Draft {
                user_id: "u1".into(),
                kind: Kind::Welcome,
                message: "hi".into(),
                link: None,
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
        let keys: Vec<_> = entries.iter().map(|e| e.key).collect();
        assert_eq!(keys, [NotificationSentV1::KEY, NotificationSentV2::KEY]);
        let cause = format!("\"causation_id\":\"{}\"", Uuid::from_u128(2));
        assert!(entries.iter().all(|e| e.detail.contains(&cause)));
    }

    #[test]
    fn a_kind_v1_lacks_is_announced_in_v2_only() {
        let draft = Draft {
            user_id: "u1".into(),
            kind: Kind::Campaign,
            message: "news".into(),
            link: Some("/view/x".into()),
        };
        let at = "2026-11-22T10:00:00Z".parse().unwrap();
        let n = Notification::new(Uuid::from_u128(1), draft, Uuid::from_u128(2), at, "req-1");
        let item = serde_dynamo::to_item(Item::Notification(n)).unwrap();
        let entries = events_for(&record("r", "INSERT", None, Some(item))).unwrap();
        let keys: Vec<_> = entries.iter().map(|e| e.key).collect();
        assert_eq!(keys, [NotificationSentV2::KEY]);
        assert!(entries[0].detail.contains("\"kind\":\"campaign\""));
    }
}
