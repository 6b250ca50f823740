//! The users table. Only this module (through `kit::table`) speaks DynamoDB.

use kit::table::{Table, TableError};

use crate::items::{Item, PROFILE_SK, Profile, Tombstone, user_pk};

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

    /// Creates the profile, or replaces it if unchanged since `before`.
    pub async fn save(&self, before: Option<&Profile>, after: &Profile) -> Result<(), TableError> {
        let item = Item::Profile(after.clone());
        match before {
            None => self.table.put_new(&item).await,
            Some(b) => self.table.put_unchanged(&item, b.updated_at).await,
        }
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
