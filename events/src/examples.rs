//! The committed example of every event version (its `detail`), as the
//! producing team wrote it beside the schema, compiled in: for what must
//! handle real events before any arrives, such as a consumer's pre-traffic
//! hook, which runs where the checkout is not.

use crate::{Event, EventKey, campaigns, notifications, todos, users};

/// `key`'s example `detail`, as committed.
pub fn example(key: &EventKey) -> Option<&'static str> {
    (EXAMPLES.iter())
        .find(|(k, _)| k == key)
        .map(|(_, text)| *text)
}

const EXAMPLES: &[(EventKey, &str)] = &[
    (
        users::UserRegisteredV1::KEY,
        include_str!("../examples/app.users/UserRegistered/v1/example.json"),
    ),
    (
        users::UserProfileUpdatedV1::KEY,
        include_str!("../examples/app.users/UserProfileUpdated/v1/example.json"),
    ),
    (
        users::UserDeletedV1::KEY,
        include_str!("../examples/app.users/UserDeleted/v1/example.json"),
    ),
    (
        todos::TodoCreatedV1::KEY,
        include_str!("../examples/app.todos/TodoCreated/v1/example.json"),
    ),
    (
        todos::TodoUpdatedV1::KEY,
        include_str!("../examples/app.todos/TodoUpdated/v1/example.json"),
    ),
    (
        todos::TodoCompletedV1::KEY,
        include_str!("../examples/app.todos/TodoCompleted/v1/example.json"),
    ),
    (
        todos::TodoDeletedV1::KEY,
        include_str!("../examples/app.todos/TodoDeleted/v1/example.json"),
    ),
    (
        todos::TodoAttachmentAddedV1::KEY,
        include_str!("../examples/app.todos/TodoAttachmentAdded/v1/example.json"),
    ),
    (
        todos::TodosUserErasedV1::KEY,
        include_str!("../examples/app.todos/UserDataErased/v1/example.json"),
    ),
    (
        notifications::NotificationSentV1::KEY,
        include_str!("../examples/app.notifications/NotificationSent/v1/example.json"),
    ),
    (
        notifications::NotificationSentV2::KEY,
        include_str!("../examples/app.notifications/NotificationSent/v2/example.json"),
    ),
    (
        notifications::NotificationsUserErasedV1::KEY,
        include_str!("../examples/app.notifications/UserDataErased/v1/example.json"),
    ),
    (
        campaigns::CampaignDeliveredV1::KEY,
        include_str!("../examples/app.campaigns/CampaignDelivered/v1/example.json"),
    ),
    (
        campaigns::CampaignsUserErasedV1::KEY,
        include_str!("../examples/app.campaigns/UserDataErased/v1/example.json"),
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_version_in_the_catalog_has_its_example_and_it_decodes() {
        let catalog = crate::catalog();
        assert_eq!(EXAMPLES.len(), catalog.len(), "one example per version");
        for spec in catalog {
            let text = example(&spec.key)
                .unwrap_or_else(|| panic!("no example compiled in for {:?}", spec.key));
            let detail: serde_json::Value = serde_json::from_str(text).unwrap();
            spec.check_detail(&detail)
                .unwrap_or_else(|e| panic!("{:?}: its example does not decode: {e}", spec.key));
        }
    }
}
