//! The todos table through the official SDK. Only this module speaks DynamoDB.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use uuid::Uuid;

use crate::items::{Item, Todo, Tombstone, todo_sk, user_pk};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the todo changed since it was read")]
    Conflict,
    #[error("the todo does not exist")]
    NotFound,
    #[error("stored item does not decode: {0}")]
    Decode(String),
    #[error("DynamoDB: {0}")]
    Dynamo(String),
}

fn dynamo<E: std::error::Error + 'static>(err: E) -> StoreError {
    StoreError::Dynamo(DisplayErrorContext(err).to_string())
}

type Attrs = HashMap<String, AttributeValue>;

fn to_attrs(item: &Item) -> Attrs {
    serde_dynamo::to_item(item).expect("todo items always serialize")
}

fn from_attrs(attrs: Attrs) -> Result<Todo, StoreError> {
    match serde_dynamo::from_item(attrs).map_err(|e| StoreError::Decode(e.to_string()))? {
        Item::Todo(t) => Ok(t),
        _ => Err(StoreError::Decode("not a todo item".into())),
    }
}

/// One page of a user's todos, oldest first (ids are UUID v7).
pub struct Page {
    pub items: Vec<Todo>,
    pub next: Option<Uuid>,
}

#[derive(Clone)]
pub struct Store {
    client: Client,
    table: String,
}

impl Store {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub async fn create(&self, todo: &Todo) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_attrs(&Item::Todo(todo.clone()))))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(|err| {
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception())
                {
                    StoreError::Conflict
                } else {
                    dynamo(err)
                }
            })?;
        Ok(())
    }

    /// The caller's todo; another user's todo is simply not found.
    pub async fn get(&self, user_id: &str, todo_id: Uuid) -> Result<Option<Todo>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(user_pk(user_id)))
            .key("sk", AttributeValue::S(todo_sk(todo_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(dynamo)?;
        out.item.map(from_attrs).transpose()
    }

    pub async fn list(
        &self,
        user_id: &str,
        limit: i32,
        after: Option<Uuid>,
    ) -> Result<Page, StoreError> {
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :todo)")
            .expression_attribute_values(":pk", AttributeValue::S(user_pk(user_id)))
            .expression_attribute_values(":todo", AttributeValue::S("TODO#".into()))
            .limit(limit);
        if let Some(after) = after {
            query = query
                .exclusive_start_key("pk", AttributeValue::S(user_pk(user_id)))
                .exclusive_start_key("sk", AttributeValue::S(todo_sk(after)));
        }
        let out = query.send().await.map_err(dynamo)?;
        let items = out
            .items
            .unwrap_or_default()
            .into_iter()
            .map(from_attrs)
            .collect::<Result<Vec<_>, _>>()?;
        let next = match out.last_evaluated_key {
            Some(_) => items.last().map(|t| t.todo_id),
            None => None,
        };
        Ok(Page { items, next })
    }

    /// Replaces `before` with `after` unless someone else wrote in between.
    pub async fn update(&self, before: &Todo, after: &Todo) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_attrs(&Item::Todo(after.clone()))))
            .condition_expression("updated_at = :seen")
            .expression_attribute_values(
                ":seen",
                serde_dynamo::to_attribute_value(before.updated_at)
                    .expect("a timestamp serializes"),
            )
            .send()
            .await
            .map_err(|err| {
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception())
                {
                    StoreError::Conflict
                } else {
                    dynamo(err)
                }
            })?;
        Ok(())
    }

    /// Deletes the todo and writes its tombstone in one transaction: the
    /// stream then carries the deletion with its reason and correlation id.
    pub async fn delete(&self, todo: &Todo, tombstone: &Tombstone) -> Result<(), StoreError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(todo.pk.clone()))
            .key("sk", AttributeValue::S(todo.sk.clone()))
            .condition_expression("attribute_exists(pk)")
            .build()
            .map_err(dynamo)?;
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(to_attrs(&Item::Tombstone(tombstone.clone()))))
            .build()
            .map_err(dynamo)?;
        self.client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().delete(delete).build())
            .transact_items(TransactWriteItem::builder().put(put).build())
            .send()
            .await
            .map_err(|err| {
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_transaction_canceled_exception())
                {
                    StoreError::NotFound
                } else {
                    dynamo(err)
                }
            })?;
        Ok(())
    }
}

impl Store {
    /// Every todo of a user, across pages.
    pub async fn all_for_user(&self, user_id: &str) -> Result<Vec<Todo>, StoreError> {
        let mut out = Vec::new();
        let mut after = None;
        loop {
            let page = self.list(user_id, 100, after).await?;
            out.extend(page.items);
            match page.next {
                Some(next) => after = Some(next),
                None => return Ok(out),
            }
        }
    }
}
