//! The outbox read side: table changes in, domain events out.

use aws_lambda_events::dynamodb::EventRecord;
use events::PutEntry;
use events::users::{UserDeletedV1, UserProfileUpdatedV1, UserRegisteredV1};
use kit::stream::{Change, Origin, StreamError, change};

use crate::SERVICE;
use crate::items::Item;

/// The events one stream record publishes (often none).
pub fn events_for(record: &EventRecord) -> Result<Vec<PutEntry>, StreamError> {
    let origin = Origin {
        record,
        producer: SERVICE,
    };
    let entry = match change::<Item>(record)? {
        Change::Insert {
            new: Item::Profile(p),
        } => origin.entry(
            p.created_at,
            &p.correlation_id,
            None,
            UserRegisteredV1 {
                user_id: p.user_id,
                email: p.email,
                display_name: p.display_name,
                registered_at: p.created_at,
            },
        )?,
        Change::Modify {
            old: Item::Profile(old),
            new: Item::Profile(new),
        } if old.display_name != new.display_name => origin.entry(
            new.updated_at,
            &new.correlation_id,
            None,
            UserProfileUpdatedV1 {
                user_id: new.user_id,
                display_name: new.display_name,
                previous_display_name: old.display_name,
                updated_at: new.updated_at,
            },
        )?,
        Change::Insert {
            new: Item::Tombstone(t),
        } => origin.entry(
            t.deleted_at,
            &t.correlation_id,
            None,
            UserDeletedV1 {
                user_id: t.user_id,
                deleted_at: t.deleted_at,
            },
        )?,
        // The profile's REMOVE is announced by its tombstone's INSERT, and a
        // tombstone's own expiry announces nothing.
        _ => return Ok(Vec::new()),
    };
    Ok(vec![entry])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::items::{Profile, Tombstone};
    use events::Event;
    use kit::stream::record;

    fn item<T: serde::Serialize>(t: &T) -> serde_dynamo::Item {
        serde_dynamo::to_item(t).unwrap()
    }

    fn at(s: &str) -> chrono::DateTime<chrono::Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn first_profile_registers_the_user() {
        let p = Profile::new(
            "u1",
            "a@example.com",
            "Ada",
            at("2026-11-22T10:00:00Z"),
            "req-1",
        );
        let entries =
            events_for(&record("r1", "INSERT", None, Some(item(&Item::Profile(p))))).unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].key, UserRegisteredV1::KEY);
        assert_eq!(entries[0].correlation_id, "req-1");
    }

    #[test]
    fn a_rename_updates_the_profile_and_a_no_op_write_publishes_nothing() {
        let old = Profile::new(
            "u1",
            "a@example.com",
            "Ada",
            at("2026-11-22T10:00:00Z"),
            "req-1",
        );
        let mut renamed = old.clone();
        renamed.display_name = "Ada L.".into();
        renamed.correlation_id = "req-2".into();
        let r = record(
            "r2",
            "MODIFY",
            Some(item(&Item::Profile(old.clone()))),
            Some(item(&Item::Profile(renamed))),
        );
        let entries = events_for(&r).unwrap();
        assert_eq!(entries[0].key, UserProfileUpdatedV1::KEY);
        assert!(
            entries[0]
                .detail
                .contains("\"previous_display_name\":\"Ada\"")
        );
        let same = record(
            "r3",
            "MODIFY",
            Some(item(&Item::Profile(old.clone()))),
            Some(item(&Item::Profile(old))),
        );
        assert!(events_for(&same).unwrap().is_empty());
    }

    #[test]
    fn deletion_is_announced_by_the_tombstone_only() {
        let p = Profile::new(
            "u1",
            "a@example.com",
            "Ada",
            at("2026-11-22T10:00:00Z"),
            "req-1",
        );
        let removed = record("r4", "REMOVE", Some(item(&Item::Profile(p))), None);
        assert!(events_for(&removed).unwrap().is_empty());
        let t = Tombstone::new("u1", at("2026-11-22T11:00:00Z"), "req-del");
        let inserted = record("r5", "INSERT", None, Some(item(&Item::Tombstone(t))));
        let entries = events_for(&inserted).unwrap();
        assert_eq!(entries[0].key, UserDeletedV1::KEY);
        assert_eq!(entries[0].correlation_id, "req-del");
    }

    #[test]
    fn the_same_record_always_yields_the_same_event_id() {
        let p = Profile::new(
            "u1",
            "a@example.com",
            "Ada",
            at("2026-11-22T10:00:00Z"),
            "req-1",
        );
        let r = record("r1", "INSERT", None, Some(item(&Item::Profile(p))));
        assert_eq!(
            events_for(&r).unwrap()[0].event_id,
            events_for(&r).unwrap()[0].event_id
        );
        let mut other = r.clone();
        other.event_id = "r9".into();
        assert_ne!(
            events_for(&r).unwrap()[0].event_id,
            events_for(&other).unwrap()[0].event_id
        );
    }

    #[test]
    fn an_undecodable_image_is_an_error_naming_the_record() {
        let mut bad = item(&Item::Profile(Profile::new(
            "u1",
            "a@x",
            "A",
            at("2026-11-22T10:00:00Z"),
            "c",
        )));
        bad.remove("email");
        let err = events_for(&record("r7", "INSERT", None, Some(bad))).unwrap_err();
        assert!(err.to_string().contains("r7"), "{err}");
        assert!(err.to_string().contains("email"), "{err}");
    }
}
