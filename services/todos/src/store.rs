//! The todos table. Only this module (through `kit::table`) speaks DynamoDB.

use kit::table::{Table, TableError};
use uuid::Uuid;

use crate::items::{Item, Todo, Tombstone, todo_sk, user_pk};

pub use kit::table::TableError as StoreError;

/// One page of a user's todos, oldest first (ids are UUID v7).
pub struct Page {
    pub items: Vec<Todo>,
    pub next: Option<Uuid>,
}

fn todo(item: Item) -> Result<Todo, TableError> {
    match item {
        Item::Todo(t) => Ok(t),
        _ => Err(TableError::Decode("not a todo item".into())),
    }
}

#[derive(Clone)]
pub struct Store {
    table: Table,
}

impl Store {
    /// The user's erasure receipt ([`kit::erasure`]), once: its stream
    /// record publishes UserDataErased.
    pub async fn write_erasure_receipt(
        &self,
        user_id: &str,
        deleted: &events::Metadata,
    ) -> Result<(), TableError> {
        let key = (user_pk(user_id), user_id);
        kit::erasure::write(&self.table, key, deleted, Item::ErasureReceipt).await
    }

    /// Closes the user's account to new todos ([`kit::erasure::close`]),
    /// before their erasure deletes anything.
    pub async fn close_account(
        &self,
        user_id: &str,
        deleted: &events::Metadata,
    ) -> Result<(), TableError> {
        let key = (user_pk(user_id), user_id);
        kit::erasure::close(&self.table, key, deleted, Item::ErasureClosure).await
    }

    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            table: Table::new(client, table),
        }
    }

    /// A new todo, unless its user's account was closed by an erasure
    /// ([`TableError::Barred`]).
    pub async fn create(&self, t: &Todo) -> Result<(), StoreError> {
        let closure = (t.pk.as_str(), kit::erasure::CLOSURE_SK);
        self.table
            .put_new_unless(&Item::Todo(t.clone()), closure)
            .await
    }

    /// The caller's todo; another user's todo is simply not found.
    pub async fn get(&self, user_id: &str, todo_id: Uuid) -> Result<Option<Todo>, StoreError> {
        self.table
            .get::<Item>(&user_pk(user_id), &todo_sk(todo_id))
            .await?
            .map(todo)
            .transpose()
    }

    pub async fn list(
        &self,
        user_id: &str,
        limit: i32,
        after: Option<Uuid>,
    ) -> Result<Page, StoreError> {
        let after = after.map(todo_sk);
        let page = self
            .table
            .query_prefix::<Item>(&user_pk(user_id), "TODO#", limit, after.as_deref(), true)
            .await?;
        let items = page
            .items
            .into_iter()
            .map(todo)
            .collect::<Result<Vec<_>, _>>()?;
        let next = page.last_sk.and(items.last().map(|t| t.todo_id));
        Ok(Page { items, next })
    }

    /// Every todo of a user, across pages.
    pub async fn all_for_user(&self, user_id: &str) -> Result<Vec<Todo>, StoreError> {
        self.table
            .query_all::<Item>(&user_pk(user_id), "TODO#")
            .await?
            .into_iter()
            .map(todo)
            .collect()
    }

    /// Replaces `before` with `after` unless someone else wrote in between.
    pub async fn update(&self, before: &Todo, after: &Todo) -> Result<(), StoreError> {
        self.table
            .put_unchanged(&Item::Todo(after.clone()), before.updated_at)
            .await
    }

    /// Deletes the todo and writes its tombstone in one transaction.
    pub async fn delete(&self, t: &Todo, tombstone: &Tombstone) -> Result<(), StoreError> {
        self.table
            .delete_with_tombstone(&t.pk, &t.sk, &Item::Tombstone(tombstone.clone()))
            .await
    }
}
