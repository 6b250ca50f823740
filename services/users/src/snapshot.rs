//! The users who exist now, as the `UserRegistered` events that registered
//! them: how a consumer that joins after the bus archive's retention (or
//! after the archive lost anything) learns every user. `users-snapshot`
//! prints them as EventBridge delivers events; `ops events deliver` hands
//! them to one consumer, so no other consumer sees them again.
//!
//! An erased user has no profile, so is not in it. Each event's id is
//! derived from the user and their registration: a snapshot delivered
//! twice is deduplicated by the consumer like any redelivery.

use events::users::UserRegisteredV1;
use events::{ContractError, Envelope, Event, PutEntry};
use uuid::Uuid;

use crate::SERVICE;
use crate::items::Profile;

/// The snapshot's events, oldest registration first.
pub fn registrations(
    profiles: &[Profile],
    correlation_id: &str,
) -> Result<Vec<PutEntry>, ContractError> {
    let mut profiles: Vec<&Profile> = profiles.iter().collect();
    profiles.sort_by(|a, b| (a.created_at, &a.user_id).cmp(&(b.created_at, &b.user_id)));
    profiles
        .into_iter()
        .map(|p| {
            let envelope = Envelope::new(
                event_id(p),
                p.created_at,
                correlation_id,
                None,
                SERVICE,
                UserRegisteredV1 {
                    user_id: p.user_id.clone(),
                    email: p.email.clone(),
                    display_name: p.display_name.clone(),
                    registered_at: p.created_at,
                },
            );
            PutEntry::from_envelope(&envelope)
        })
        .collect()
}

fn event_id(p: &Profile) -> Uuid {
    let name = format!(
        "snapshot/{}/{}/{}",
        UserRegisteredV1::KEY.detail_type,
        p.user_id,
        p.created_at.timestamp_micros()
    );
    Uuid::new_v5(&Uuid::NAMESPACE_OID, name.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(id: &str, at: &str) -> Profile {
        Profile::new(
            id,
            &format!("{id}@example.com"),
            id,
            at.parse().unwrap(),
            "c",
        )
    }

    #[test]
    fn each_live_user_is_one_registration_with_a_stable_id() {
        let users = [
            profile("b", "2026-01-02T00:00:00Z"),
            profile("a", "2026-01-01T00:00:00Z"),
        ];
        let first = registrations(&users, "snap-1").unwrap();
        assert_eq!(first.len(), 2);
        assert!(first[0].detail.contains(r#""user_id":"a""#), "oldest first");
        assert_eq!(first[0].key, UserRegisteredV1::KEY);
        let again = registrations(&users, "snap-2").unwrap();
        assert_eq!(
            first[0].event_id, again[0].event_id,
            "a second snapshot is a redelivery"
        );
        assert_ne!(first[0].event_id, first[1].event_id);
        let delivered = first[0].delivered("eu-west-1").unwrap();
        assert_eq!(delivered.detail_type, "UserRegistered");
        assert_eq!(delivered.detail["metadata"]["correlation_id"], "snap-1");
    }
}
