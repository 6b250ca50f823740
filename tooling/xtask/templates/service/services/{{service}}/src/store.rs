//! The {{service}} table. Only this module (through `kit::table`) speaks
//! DynamoDB.

use kit::table::{Table, TableError};

use crate::items::{{{ITEM}}_PREFIX, Item, {{Item}}, user_pk};

/// How many {{service}} a list answers with.
pub const LIST_LIMIT: i32 = 50;

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

    pub async fn create(&self, item: &{{Item}}) -> Result<(), TableError> {
        self.table.put_new(&Item::{{Item}}(item.clone())).await
    }

    pub async fn get(&self, user_id: &str, id: &str) -> Result<Option<{{Item}}>, TableError> {
        let sk = format!("{{{ITEM}}_PREFIX}{id}");
        match self.table.get::<Item>(&user_pk(user_id), &sk).await? {
            Some(Item::{{Item}}(item)) => Ok(Some(item)),
            Some(Item::ErasureReceipt(_) | Item::Other) => {
                Err(TableError::Decode("not a {{item}} item".into()))
            }
            None => Ok(None),
        }
    }

    /// The user's newest {{service}}.
    pub async fn newest(&self, user_id: &str) -> Result<Vec<{{Item}}>, TableError> {
        let page = self
            .table
            .query_prefix::<Item>(&user_pk(user_id), {{ITEM}}_PREFIX, LIST_LIMIT, None, false)
            .await?;
        Ok(only_{{service}}(page.items))
    }

    /// The user's erasure receipt ([`kit::erasure`]), once: its stream
    /// record publishes the service's UserDataErased.
    pub async fn write_erasure_receipt(
        &self,
        user_id: &str,
        deleted: &events::Metadata,
    ) -> Result<(), TableError> {
        let key = (user_pk(user_id), user_id);
        kit::erasure::write(&self.table, key, deleted, Item::ErasureReceipt).await
    }

    /// The user's erasure receipt, once written.
    pub async fn erasure_receipt(
        &self,
        user_id: &str,
    ) -> Result<Option<kit::erasure::Receipt>, TableError> {
        let item = (self.table)
            .get::<Item>(&user_pk(user_id), kit::erasure::RECEIPT_SK)
            .await?;
        Ok(match item {
            Some(Item::ErasureReceipt(r)) => Some(r),
            _ => None,
        })
    }

    /// Deletes every {{item}} of a user. Deletes are idempotent, so an
    /// erasure cut short is finished by its retry.
    pub async fn erase_user(&self, user_id: &str) -> Result<usize, TableError> {
        let items = self
            .table
            .query_all::<Item>(&user_pk(user_id), {{ITEM}}_PREFIX)
            .await?;
        let items = only_{{service}}(items);
        for item in &items {
            self.table.delete(&item.pk, &item.sk).await?;
        }
        Ok(items.len())
    }
}

fn only_{{service}}(items: Vec<Item>) -> Vec<{{Item}}> {
    items
        .into_iter()
        .filter_map(|i| match i {
            Item::{{Item}}(item) => Some(item),
            Item::ErasureReceipt(_) | Item::Other => None,
        })
        .collect()
}
