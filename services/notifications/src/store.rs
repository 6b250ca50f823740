//! The notifications table. Only this module (through `kit::table`) and the
//! idempotency records speak DynamoDB.

use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Put, TransactWriteItem};
use chrono::{DateTime, Utc};
use kit::idempotency::Processed;
use kit::table::{Table, TableError, to_attrs};

use crate::items::{
    CONNECTION_PREFIX, Connection, ERASURE_SK, Erasure, Item, Notification, connection_sk, user_pk,
};

/// How long an erasure is remembered: as long as processed-event records.
pub const ERASURE_KEPT: std::time::Duration = std::time::Duration::from_secs(14 * 24 * 3600);

/// Holds unless the user was erased at or after `:occurred`.
const NOT_ERASED_SINCE: &str = "attribute_not_exists(pk) OR erased_at_ms < :occurred";

/// What [`Store::add_once`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    Stored,
    /// The event was processed before; nothing was written.
    Duplicate,
    /// The user was erased after the event happened; nothing was written.
    Erased,
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

    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            table: Table::new(client, table),
        }
    }

    pub fn client(&self) -> &aws_sdk_dynamodb::Client {
        self.table.client()
    }

    pub fn name(&self) -> &str {
        self.table.name()
    }

    /// Stores the notification and the source event's processed record in
    /// one transaction, unless the event was processed before or its user
    /// was erased after it `occurred_at` (then nothing is written).
    pub async fn add_once(
        &self,
        n: &Notification,
        processed: &Processed,
        occurred_at: DateTime<Utc>,
    ) -> Result<Added, TableError> {
        let not_erased = ConditionCheck::builder()
            .table_name(self.table.name())
            .key("pk", AttributeValue::S(user_pk(&n.user_id)))
            .key("sk", AttributeValue::S(ERASURE_SK.into()))
            .condition_expression(NOT_ERASED_SINCE)
            .expression_attribute_values(
                ":occurred",
                AttributeValue::N(occurred_at.timestamp_millis().to_string()),
            )
            .build()
            .map_err(|e| TableError::Dynamo(e.to_string()))?;
        let put = Put::builder()
            .table_name(self.table.name())
            .set_item(Some(to_attrs(&Item::Notification(n.clone()))))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(|e| TableError::Dynamo(e.to_string()))?;
        let result = self
            .table
            .client()
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put).build())
            .transact_items(
                TransactWriteItem::builder()
                    .put(processed.marker(n.source_event_id))
                    .build(),
            )
            .transact_items(
                TransactWriteItem::builder()
                    .condition_check(not_erased)
                    .build(),
            )
            .send()
            .await;
        match result {
            Ok(_) => Ok(Added::Stored),
            Err(err) => {
                // Reasons line up with the items: notification, processed
                // record, erasure check.
                let failed: Vec<bool> = match err.as_service_error() {
                    Some(aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(c)) => c
                        .cancellation_reasons()
                        .iter()
                        .map(|r| r.code() == Some("ConditionalCheckFailed"))
                        .collect(),
                    _ => Vec::new(),
                };
                if failed.get(1) == Some(&true) {
                    Ok(Added::Duplicate)
                } else if failed.get(2) == Some(&true) {
                    Ok(Added::Erased)
                } else if failed.iter().any(|f| *f) {
                    // A reason list without positions: nothing was written.
                    Ok(Added::Duplicate)
                } else {
                    Err(TableError::Dynamo(
                        aws_sdk_dynamodb::error::DisplayErrorContext(err).to_string(),
                    ))
                }
            }
        }
    }

    /// Records the user's erasure at `erased_at`, first, so a notification
    /// about something before it is refused from then on (a later one
    /// stays recorded if two erasures race).
    pub async fn mark_erased(
        &self,
        user_id: &str,
        erased_at: DateTime<Utc>,
    ) -> Result<(), TableError> {
        let result = self
            .table
            .client()
            .put_item()
            .table_name(self.table.name())
            .set_item(Some(to_attrs(&Item::Erasure(Erasure::new(
                user_id,
                erased_at,
                ERASURE_KEPT,
            )))))
            .condition_expression(NOT_ERASED_SINCE)
            .expression_attribute_values(
                ":occurred",
                AttributeValue::N(erased_at.timestamp_millis().to_string()),
            )
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(TableError::Dynamo(
                aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string(),
            )),
        }
    }

    /// A user's notifications, newest first (ids are UUID v7).
    pub async fn newest(&self, user_id: &str, limit: i32) -> Result<Vec<Notification>, TableError> {
        let page = self
            .table
            .query_prefix::<Item>(&user_pk(user_id), "NOTIF#", limit, None, false)
            .await?;
        Ok(page
            .items
            .into_iter()
            .filter_map(|i| match i {
                Item::Notification(n) => Some(n),
                _ => None,
            })
            .collect())
    }

    /// Deletes every notification of a user, and the records of their
    /// connections (no push reaches an erased user); idempotent. Counts
    /// the notifications.
    pub async fn erase(&self, user_id: &str) -> Result<usize, TableError> {
        let all = self
            .table
            .query_all::<Item>(&user_pk(user_id), "NOTIF#")
            .await?;
        let mut erased = 0;
        for item in all {
            if let Item::Notification(n) = item {
                self.table.delete(&n.pk, &n.sk).await?;
                erased += 1;
            }
        }
        for c in self.connections(user_id).await? {
            self.forget_connection(user_id, &c.connection_id).await?;
        }
        Ok(erased)
    }

    /// Records an open connection (`$connect`), unless its user was
    /// erased ([`TableError::Barred`]): a token from before the erasure
    /// opens no connection a push could reach.
    pub async fn add_connection(&self, c: &Connection) -> Result<(), TableError> {
        let erasure = (c.pk.as_str(), ERASURE_SK);
        self.table
            .put_new_unless(&Item::Connection(c.clone()), erasure)
            .await
    }

    /// Forgets a connection (`$disconnect`, or a push answered 410 Gone);
    /// idempotent.
    pub async fn forget_connection(
        &self,
        user_id: &str,
        connection_id: &str,
    ) -> Result<(), TableError> {
        self.table
            .delete(&user_pk(user_id), &connection_sk(connection_id))
            .await
    }

    /// The user's open connections. Records past their TTL are skipped:
    /// DynamoDB deletes expired items only eventually.
    pub async fn connections(&self, user_id: &str) -> Result<Vec<Connection>, TableError> {
        let now = chrono::Utc::now().timestamp();
        Ok(self
            .table
            .query_all::<Item>(&user_pk(user_id), CONNECTION_PREFIX)
            .await?
            .into_iter()
            .filter_map(|i| match i {
                Item::Connection(c) if c.expires_at > now => Some(c),
                _ => None,
            })
            .collect())
    }
}
