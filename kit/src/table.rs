//! A service's own table through the official SDK: the few access patterns
//! every service uses, with items mapped by serde_dynamo. Every table has
//! string keys `pk` and `sk`.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Put, ReturnValuesOnConditionCheckFailure,
    TransactWriteItem,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("the item changed since it was read, or exists already")]
    Conflict,
    #[error("the item does not exist")]
    NotFound,
    #[error("the item that bars this write exists")]
    Barred,
    #[error("stored item does not decode: {0}")]
    Decode(String),
    #[error("DynamoDB: {0}")]
    Dynamo(String),
}

fn dynamo<E: std::error::Error + 'static>(err: E) -> TableError {
    TableError::Dynamo(DisplayErrorContext(err).to_string())
}

pub type Attrs = HashMap<String, AttributeValue>;

/// An item's attributes, stamped with the trace header of the span writing
/// it: DynamoDB Streams carry no trace context, so the item carries it to
/// the stream publisher ([`crate::telemetry::ATTRIBUTE`]).
pub fn to_attrs<T: Serialize>(item: &T) -> Attrs {
    let mut attrs: Attrs =
        serde_dynamo::to_item(item).expect("service items always serialize to a map");
    if let Some(header) = crate::telemetry::current_header() {
        attrs.insert(
            crate::telemetry::ATTRIBUTE.to_owned(),
            AttributeValue::S(header),
        );
    }
    attrs
}

pub fn from_attrs<T: DeserializeOwned>(attrs: Attrs) -> Result<T, TableError> {
    serde_dynamo::from_item(attrs).map_err(|e| TableError::Decode(e.to_string()))
}

/// How many items each call of [`Table::scan_sk_page`] evaluates at least.
const EVALUATED_PER_SCAN: i32 = 100;

/// An item's table key, as a scan's `ExclusiveStartKey` takes it.
fn key_of(item: &Attrs) -> Option<Attrs> {
    pk_sk(item).map(|(pk, sk)| key(&pk, &sk))
}

/// A table key (or an item's key attributes) as `(pk, sk)`.
fn pk_sk(k: &Attrs) -> Option<(String, String)> {
    let part = |name: &str| k.get(name)?.as_s().ok().cloned();
    Some((part("pk")?, part("sk")?))
}

fn key(pk: &str, sk: &str) -> Attrs {
    HashMap::from([
        ("pk".to_owned(), AttributeValue::S(pk.to_owned())),
        ("sk".to_owned(), AttributeValue::S(sk.to_owned())),
    ])
}

/// One page of a key-prefix query.
pub struct Page<T> {
    pub items: Vec<T>,
    /// The `sk` to continue after, when there may be more.
    pub last_sk: Option<String>,
}

#[derive(Clone)]
pub struct Table {
    client: Client,
    name: String,
}

impl Table {
    pub fn new(client: Client, name: impl Into<String>) -> Self {
        Self {
            client,
            name: name.into(),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// A strongly consistent read of one item.
    pub async fn get<T: DeserializeOwned>(
        &self,
        pk: &str,
        sk: &str,
    ) -> Result<Option<T>, TableError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.name)
            .set_key(Some(key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(dynamo)?;
        out.item.map(from_attrs).transpose()
    }

    /// Writes an item that must not exist yet.
    pub async fn put_new<T: Serialize>(&self, item: &T) -> Result<(), TableError> {
        self.put_when(item, "attribute_not_exists(pk)", None).await
    }

    /// Writes an item unless one with its key is there already (a record
    /// written once, which a retry finds done): whether this call wrote it.
    pub async fn put_if_absent<T: Serialize>(&self, item: &T) -> Result<bool, TableError> {
        match self.put_new(item).await {
            Ok(()) => Ok(true),
            Err(TableError::Conflict) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Writes an item that must not exist yet, in one transaction with a
    /// check that the item at `bar` does not exist either: a marker written
    /// later (a user's erasure) then stops every write after it, with no
    /// moment between the check and the write. The SDK gives the
    /// transaction an idempotency token, so its own retry of a call that
    /// applied is not taken for a conflict.
    pub async fn put_new_unless<T: Serialize>(
        &self,
        item: &T,
        (pk, sk): (&str, &str),
    ) -> Result<(), TableError> {
        let check = ConditionCheck::builder()
            .table_name(&self.name)
            .set_key(Some(key(pk, sk)))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(dynamo)?;
        let put = Put::builder()
            .table_name(&self.name)
            .set_item(Some(to_attrs(item)))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(dynamo)?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().condition_check(check).build())
            .transact_items(TransactWriteItem::builder().put(put).build())
            .send()
            .await;
        let Err(err) = result else { return Ok(()) };
        let failed = match err.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(e)) => e
                .cancellation_reasons()
                .iter()
                .map(|r| r.code() == Some("ConditionalCheckFailed"))
                .collect::<Vec<_>>(),
            _ => return Err(dynamo(err)),
        };
        match failed.as_slice() {
            [true, ..] => Err(TableError::Barred),
            [false, true] => Err(TableError::Conflict),
            _ => Err(dynamo(err)),
        }
    }

    /// Replaces an item only if its `updated_at` is still what was read
    /// (optimistic concurrency: a lost update becomes a 409).
    pub async fn put_unchanged<T: Serialize>(
        &self,
        item: &T,
        seen_updated_at: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), TableError> {
        let seen =
            serde_dynamo::to_attribute_value(seen_updated_at).expect("a timestamp serializes");
        self.put_when(item, "updated_at = :seen", Some((":seen", seen)))
            .await
    }

    async fn put_when<T: Serialize>(
        &self,
        item: &T,
        condition: &str,
        value: Option<(&str, AttributeValue)>,
    ) -> Result<(), TableError> {
        let attrs = to_attrs(item);
        let mut put = self
            .client
            .put_item()
            .table_name(&self.name)
            .set_item(Some(attrs.clone()))
            .condition_expression(condition)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        if let Some((name, v)) = value {
            put = put.expression_attribute_values(name, v);
        }
        match put.send().await {
            Ok(_) => Ok(()),
            Err(err) => match err.as_service_error() {
                // The SDK retries a call whose answer was lost, and when
                // that call had applied, the retry finds the item exactly
                // as this request wrote it: done, not a conflict. (Another
                // request never writes the same item: every item carries
                // its own timestamps and correlation id.)
                Some(PutItemError::ConditionalCheckFailedException(e))
                    if e.item() == Some(&attrs) =>
                {
                    Ok(())
                }
                Some(e) if e.is_conditional_check_failed_exception() => Err(TableError::Conflict),
                _ => Err(dynamo(err)),
            },
        }
    }

    /// Deletes an existing item and writes its tombstone in one
    /// transaction, so the deletion reaches the stream with its context.
    pub async fn delete_with_tombstone<T: Serialize>(
        &self,
        pk: &str,
        sk: &str,
        tombstone: &T,
    ) -> Result<(), TableError> {
        let delete = Delete::builder()
            .table_name(&self.name)
            .set_key(Some(key(pk, sk)))
            .condition_expression("attribute_exists(pk)")
            .build()
            .map_err(dynamo)?;
        let attrs = to_attrs(tombstone);
        let put = Put::builder()
            .table_name(&self.name)
            .set_item(Some(attrs.clone()))
            .build()
            .map_err(dynamo)?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().delete(delete).build())
            .transact_items(TransactWriteItem::builder().put(put).build())
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_transaction_canceled_exception()) =>
            {
                // A retry of this very transaction (its answer was lost)
                // finds the item gone; its tombstone says it was this one.
                let (Some(AttributeValue::S(pk)), Some(AttributeValue::S(sk))) =
                    (attrs.get("pk"), attrs.get("sk"))
                else {
                    return Err(TableError::NotFound);
                };
                let stored = self
                    .client
                    .get_item()
                    .table_name(&self.name)
                    .set_key(Some(key(pk, sk)))
                    .consistent_read(true)
                    .send()
                    .await
                    .map_err(dynamo)?;
                if stored.item() == Some(&attrs) {
                    Ok(())
                } else {
                    Err(TableError::NotFound)
                }
            }
            Err(err) => Err(dynamo(err)),
        }
    }

    /// Deletes an item if it exists; idempotent.
    pub async fn delete(&self, pk: &str, sk: &str) -> Result<(), TableError> {
        self.client
            .delete_item()
            .table_name(&self.name)
            .set_key(Some(key(pk, sk)))
            .send()
            .await
            .map_err(dynamo)?;
        Ok(())
    }

    /// Items of one partition whose `sk` starts with `prefix`, in key
    /// order (`forward`) or reverse, after `after_sk` when given.
    pub async fn query_prefix<T: DeserializeOwned>(
        &self,
        pk: &str,
        prefix: &str,
        limit: i32,
        after_sk: Option<&str>,
        forward: bool,
    ) -> Result<Page<T>, TableError> {
        self.query_page(pk, prefix, limit, after_sk, forward, false)
            .await
    }

    async fn query_page<T: DeserializeOwned>(
        &self,
        pk: &str,
        prefix: &str,
        limit: i32,
        after_sk: Option<&str>,
        forward: bool,
        consistent: bool,
    ) -> Result<Page<T>, TableError> {
        let mut query = self
            .client
            .query()
            .table_name(&self.name)
            .consistent_read(consistent)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", AttributeValue::S(pk.to_owned()))
            .expression_attribute_values(":prefix", AttributeValue::S(prefix.to_owned()))
            .scan_index_forward(forward)
            .limit(limit);
        if let Some(after) = after_sk {
            query = query.set_exclusive_start_key(Some(key(pk, after)));
        }
        let out = query.send().await.map_err(dynamo)?;
        let last_sk = out
            .last_evaluated_key
            .as_ref()
            .and_then(|k| k.get("sk"))
            .and_then(|v| v.as_s().ok())
            .cloned();
        let items = out
            .items
            .unwrap_or_default()
            .into_iter()
            .map(from_attrs)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page { items, last_sk })
    }

    /// Up to `limit` items whose `sk` is `sk`, each decoded (or why not:
    /// one bad item need not hide the others), scanning from after the
    /// key `after` (`(pk, sk)`), with the key to go on from when the scan
    /// is not over. DynamoDB applies a scan's limit before its filter: each
    /// call evaluates [`EVALUATED_PER_SCAN`] items (or `limit`, if more), so
    /// items of other kinds between the wanted ones (a user's erasure
    /// markers) do not leave a page empty; a page that fills goes on from
    /// its last item's key. At most `MAX_SCANS` calls.
    #[allow(clippy::type_complexity)]
    pub async fn scan_sk_page<T: DeserializeOwned>(
        &self,
        sk: &str,
        limit: i32,
        after: Option<(String, String)>,
    ) -> Result<(Vec<Result<T, TableError>>, Option<(String, String)>), TableError> {
        const MAX_SCANS: usize = 10;
        let mut items = Vec::new();
        let mut start = after.map(|(pk, sk)| key(&pk, &sk));
        for _ in 0..MAX_SCANS {
            let page = self
                .client
                .scan()
                .table_name(&self.name)
                .filter_expression("sk = :sk")
                .expression_attribute_values(":sk", AttributeValue::S(sk.to_owned()))
                .limit(EVALUATED_PER_SCAN.max(limit))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(dynamo)?;
            let mut found = page.items.unwrap_or_default().into_iter();
            start = page.last_evaluated_key;
            for item in found.by_ref() {
                let at = key_of(&item);
                items.push(from_attrs(item));
                if items.len() as i32 >= limit {
                    // Full: the next page starts after this item, unless
                    // the scan has nothing after it.
                    if found.len() > 0 || start.is_some() {
                        start = at;
                    }
                    return Ok((items, start.as_ref().and_then(pk_sk)));
                }
            }
            if start.is_none() {
                break;
            }
        }
        Ok((items, start.as_ref().and_then(pk_sk)))
    }

    /// Every item of the table, across pages: for exports (a snapshot of
    /// the whole table), never for a request's path.
    pub async fn scan_all<T: DeserializeOwned>(&self) -> Result<Vec<T>, TableError> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.name)
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(dynamo)?;
            for item in page.items.unwrap_or_default() {
                out.push(from_attrs(item)?);
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(out);
            }
        }
    }

    /// Every item of a partition under a prefix, across pages, read
    /// consistently (an erasure must see every item written before it).
    pub async fn query_all<T: DeserializeOwned>(
        &self,
        pk: &str,
        prefix: &str,
    ) -> Result<Vec<T>, TableError> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = self
                .query_page::<T>(pk, prefix, 100, after.as_deref(), true, true)
                .await?;
            out.extend(page.items);
            match page.last_sk {
                Some(sk) => after = Some(sk),
                None => return Ok(out),
            }
        }
    }
}
