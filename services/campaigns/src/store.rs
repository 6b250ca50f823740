//! The campaigns table. Only this module (through `kit::table`) and the
//! idempotency records speak DynamoDB.

use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Put, TransactWriteItem};
use kit::table::{Table, TableError, to_attrs};
use uuid::Uuid;

use crate::items::{
    AUDIENCE_PK, CAMPAIGN_PREFIX, CAMPAIGNS_PK, Campaign, ERASED_SK, Erased, Item, MEMBER_PREFIX,
    Member, RECEIVED_PREFIX, Received, campaign_sk, user_pk,
};

/// How many campaigns a list answers with.
pub const LIST_LIMIT: i32 = 50;
/// Tries of a read-change-write before a conflict is given up on: the
/// webhook and the flow's steps change one campaign concurrently.
const UPDATE_TRIES: usize = 8;

/// What [`Store::join`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Joined {
    Member,
    /// The user was erased; nothing was written.
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

    /// A new campaign, unless the admin starting it was erased
    /// ([`TableError::Barred`]): their token outlives their account.
    pub async fn create(&self, c: &Campaign) -> Result<(), TableError> {
        let erased = user_pk(&c.created_by);
        self.table
            .put_new_unless(&Item::Campaign(c.clone()), (&erased, ERASED_SK))
            .await
    }

    pub async fn campaign(&self, id: Uuid) -> Result<Option<Campaign>, TableError> {
        match self
            .table
            .get::<Item>(CAMPAIGNS_PK, &campaign_sk(id))
            .await?
        {
            Some(Item::Campaign(c)) => Ok(Some(c)),
            Some(_) => Err(TableError::Decode("not a campaign item".into())),
            None => Ok(None),
        }
    }

    /// The newest campaigns.
    pub async fn campaigns(&self) -> Result<Vec<Campaign>, TableError> {
        let page = self
            .table
            .query_prefix::<Item>(CAMPAIGNS_PK, CAMPAIGN_PREFIX, LIST_LIMIT, None, false)
            .await?;
        Ok(page
            .items
            .into_iter()
            .filter_map(|i| match i {
                Item::Campaign(c) => Some(c),
                _ => None,
            })
            .collect())
    }

    /// Reads the campaign, lets `change` alter it, and writes it back only
    /// if nobody wrote it meanwhile (else reads again). `change` returns
    /// `None` to write nothing.
    pub async fn update<R>(
        &self,
        id: Uuid,
        mut change: impl FnMut(&mut Campaign) -> Option<R>,
    ) -> Result<Option<R>, TableError> {
        for _ in 0..UPDATE_TRIES {
            let Some(mut c) = self.campaign(id).await? else {
                return Err(TableError::NotFound);
            };
            let seen = c.updated_at;
            let Some(out) = change(&mut c) else {
                return Ok(None);
            };
            match self.table.put_unchanged(&Item::Campaign(c), seen).await {
                Ok(()) => return Ok(Some(out)),
                Err(TableError::Conflict) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(TableError::Conflict)
    }

    /// Adds the user to the audience, unless they were erased.
    pub async fn join(&self, m: &Member) -> Result<Joined, TableError> {
        let not_erased = ConditionCheck::builder()
            .table_name(self.table.name())
            .key("pk", AttributeValue::S(user_pk(&m.user_id)))
            .key("sk", AttributeValue::S(ERASED_SK.into()))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(|e| TableError::Dynamo(e.to_string()))?;
        let put = Put::builder()
            .table_name(self.table.name())
            .set_item(Some(to_attrs(&Item::Member(m.clone()))))
            .build()
            .map_err(|e| TableError::Dynamo(e.to_string()))?;
        let result = self
            .table
            .client()
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put).build())
            .transact_items(
                TransactWriteItem::builder()
                    .condition_check(not_erased)
                    .build(),
            )
            .send()
            .await;
        match result {
            Ok(_) => Ok(Joined::Member),
            Err(e) if cancelled_by_a_condition(&e) => Ok(Joined::Erased),
            Err(e) => Err(TableError::Dynamo(DisplayErrorContext(e).to_string())),
        }
    }

    /// The user's erasure: recorded first (a late UserRegistered then adds
    /// nothing), then their membership and what they received deleted.
    /// Every write is idempotent, so a retry finishes a cut-short erasure.
    pub async fn erase(&self, erased: &Erased) -> Result<usize, TableError> {
        self.table
            .client()
            .put_item()
            .table_name(self.table.name())
            .set_item(Some(to_attrs(&Item::Erased(erased.clone()))))
            .send()
            .await
            .map_err(|e| TableError::Dynamo(DisplayErrorContext(e).to_string()))?;
        let sk = format!("{MEMBER_PREFIX}{}", erased.user_id);
        self.table.delete(AUDIENCE_PK, &sk).await?;
        let pk = user_pk(&erased.user_id);
        let received = self.table.query_all::<Item>(&pk, RECEIVED_PREFIX).await?;
        for item in &received {
            if let Item::Received(r) = item {
                self.table.delete(&r.pk, &r.sk).await?;
            }
        }
        Ok(received.len())
    }

    /// The whole audience.
    pub async fn audience(&self) -> Result<Vec<Member>, TableError> {
        let items = self
            .table
            .query_all::<Item>(AUDIENCE_PK, MEMBER_PREFIX)
            .await?;
        Ok(items
            .into_iter()
            .filter_map(|i| match i {
                Item::Member(m) => Some(m),
                _ => None,
            })
            .collect())
    }

    /// Records the campaign on its recipient once: a retried step finds it
    /// there and writes nothing (so publishes nothing twice).
    pub async fn receive(&self, r: &Received) -> Result<bool, TableError> {
        self.table.put_if_absent(&Item::Received(r.clone())).await
    }

    /// What a user received (newest last).
    pub async fn received(&self, user_id: &str) -> Result<Vec<Received>, TableError> {
        let items = self
            .table
            .query_all::<Item>(&user_pk(user_id), RECEIVED_PREFIX)
            .await?;
        Ok(items
            .into_iter()
            .filter_map(|i| match i {
                Item::Received(r) => Some(r),
                _ => None,
            })
            .collect())
    }
}

fn cancelled_by_a_condition(
    e: &aws_sdk_dynamodb::error::SdkError<TransactWriteItemsError>,
) -> bool {
    match e.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(c)) => c
            .cancellation_reasons()
            .iter()
            .any(|r| r.code() == Some("ConditionalCheckFailed")),
        _ => false,
    }
}
