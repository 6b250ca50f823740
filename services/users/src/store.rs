//! The users table. Only this module (through `kit::table`) speaks DynamoDB.

use kit::table::{Table, TableError};

use crate::items::{
    ERASED_BY_PREFIX, ErasureConfirmation, Item, PROFILE_SK, Profile, TOMBSTONE_SK, Tombstone,
    user_pk,
};

#[derive(Clone)]
pub struct Store {
    table: Table,
}

impl Store {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            table: Table::new(client, table),
        }
    }

    /// Every live profile (erased users have none).
    pub async fn profiles(&self) -> Result<Vec<Profile>, TableError> {
        let items = self.table.scan_all::<Item>().await?;
        Ok(items
            .into_iter()
            .filter_map(|i| match i {
                Item::Profile(p) => Some(p),
                _ => None,
            })
            .collect())
    }

    /// Up to `limit` live profiles after the table key `after`, and the
    /// key to go on from (`None` on the last page). An item that does not
    /// decode is logged and left out, not the whole page.
    pub async fn profiles_page(
        &self,
        limit: i32,
        after: Option<(String, String)>,
    ) -> Result<(Vec<Profile>, Option<(String, String)>), TableError> {
        let (items, next) = self
            .table
            .scan_sk_page::<Item>(PROFILE_SK, limit, after)
            .await?;
        let profiles = items
            .into_iter()
            .filter_map(|i| match i {
                Ok(Item::Profile(p)) => Some(p),
                Ok(_) => {
                    tracing::error!("a PROFILE item of another kind: left out of the list");
                    None
                }
                Err(e) => {
                    tracing::error!(error = %e, "a profile that does not decode: left out of the list");
                    None
                }
            })
            .collect();
        Ok((profiles, next))
    }

    pub async fn get(&self, user_id: &str) -> Result<Option<Profile>, TableError> {
        match self
            .table
            .get::<Item>(&user_pk(user_id), PROFILE_SK)
            .await?
        {
            Some(Item::Profile(p)) => Ok(Some(p)),
            Some(_) => Err(TableError::Decode("not a profile item".into())),
            None => Ok(None),
        }
    }

    /// Creates the profile, or replaces it if unchanged since `before`. A
    /// profile is never created again once the account was deleted
    /// ([`TableError::Barred`] by its tombstone).
    pub async fn save(&self, before: Option<&Profile>, after: &Profile) -> Result<(), TableError> {
        let item = Item::Profile(after.clone());
        match before {
            None => {
                let tombstone = (after.pk.as_str(), TOMBSTONE_SK);
                self.table.put_new_unless(&item, tombstone).await
            }
            Some(b) => self.table.put_unchanged(&item, b.updated_at).await,
        }
    }

    /// Records that `service` erased `user_id` (one item per service, so a
    /// repeated confirmation changes nothing), then returns every service
    /// that has, read consistently: of two confirmations at once, the later
    /// reader sees both.
    pub async fn confirm_erasure(
        &self,
        user_id: &str,
        service: &str,
    ) -> Result<Vec<String>, TableError> {
        let confirmation = ErasureConfirmation::new(user_id, service, chrono::Utc::now());
        self.table
            .put_if_absent(&Item::ErasureConfirmation(confirmation))
            .await?;
        let items = self
            .table
            .query_all::<Item>(&user_pk(user_id), ERASED_BY_PREFIX)
            .await?;
        Ok(items
            .into_iter()
            .filter_map(|i| match i {
                Item::ErasureConfirmation(c) => Some(c.service),
                _ => None,
            })
            .collect())
    }

    pub async fn delete(&self, profile: &Profile, tombstone: &Tombstone) -> Result<(), TableError> {
        self.table
            .delete_with_tombstone(
                &profile.pk,
                &profile.sk,
                &Item::Tombstone(tombstone.clone()),
            )
            .await
    }
}
