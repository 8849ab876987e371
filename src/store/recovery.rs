//! Lookup token recovery: a one-time link, stored as a digest, queued with
//! its e-mail in one transaction; used up at most once, and then the item's
//! token is replaced in the same transaction.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, TransactionTrait};
use uuid::Uuid;

use super::entities::{feedback_item, lookup_recovery};
use super::journal::{AuditEntry, NewNotice, queue_notices_in, write_audit};
use super::{Store, StoreError};
use crate::domain::ids::FeedbackId;

/// A recovery link to store with its e-mail.
#[derive(Debug, Clone)]
pub struct NewRecovery {
    pub id: Uuid,
    pub item: Uuid,
    pub token_hash: String,
    pub expires_at: DateTime<Utc>,
    pub notice: NewNotice,
}

impl Store {
    /// Whether the item had a recovery link made since `since`.
    pub async fn recovery_requested_since(
        &self,
        item: Uuid,
        since: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        Ok(lookup_recovery::Entity::find()
            .filter(lookup_recovery::Column::FeedbackItemId.eq(item))
            .filter(lookup_recovery::Column::CreatedAt.gt(since))
            .one(self.connection())
            .await?
            .is_some())
    }

    /// Stores the link and queues its e-mail, together.
    pub async fn insert_recovery(
        &self,
        r: &NewRecovery,
        audit: &AuditEntry,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let txn = self.connection().begin().await?;
        lookup_recovery::Entity::insert(lookup_recovery::ActiveModel {
            id: Set(r.id),
            feedback_item_id: Set(r.item),
            token_hash: Set(r.token_hash.clone()),
            created_at: Set(now),
            expires_at: Set(r.expires_at),
            used_at: Set(None),
        })
        .exec_without_returning(&txn)
        .await?;
        queue_notices_in(&txn, std::slice::from_ref(&r.notice), now).await?;
        write_audit(&txn, Some(FeedbackId::from_uuid(r.item)), audit, now).await?;
        txn.commit().await?;
        Ok(())
    }

    /// The tracking code a live, unused link is for (not using it up).
    pub async fn recovery_item_code(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, StoreError> {
        let Some(link) = lookup_recovery::Entity::find()
            .filter(lookup_recovery::Column::TokenHash.eq(token_hash))
            .filter(lookup_recovery::Column::UsedAt.is_null())
            .filter(lookup_recovery::Column::ExpiresAt.gt(now))
            .one(self.connection())
            .await?
        else {
            return Ok(None);
        };
        Ok(feedback_item::Entity::find_by_id(link.feedback_item_id)
            .one(self.connection())
            .await?
            .map(|i| i.tracking_code))
    }

    /// Uses the link up and gives the item `new_token_hash`, in one
    /// transaction: the tracking code for exactly one caller while the link
    /// is live, `None` for everyone else. The item's other unused links
    /// stop working too.
    pub async fn redeem_recovery(
        &self,
        token_hash: &str,
        new_token_hash: Vec<u8>,
        audit: &AuditEntry,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, StoreError> {
        let txn = self.connection().begin().await?;
        let used = lookup_recovery::Entity::update_many()
            .col_expr(lookup_recovery::Column::UsedAt, Expr::value(now))
            .filter(lookup_recovery::Column::TokenHash.eq(token_hash))
            .filter(lookup_recovery::Column::UsedAt.is_null())
            .filter(lookup_recovery::Column::ExpiresAt.gt(now))
            .exec(&txn)
            .await?;
        if used.rows_affected != 1 {
            txn.rollback().await?;
            return Ok(None);
        }
        let Some(link) = lookup_recovery::Entity::find()
            .filter(lookup_recovery::Column::TokenHash.eq(token_hash))
            .one(&txn)
            .await?
        else {
            txn.rollback().await?;
            return Ok(None);
        };
        lookup_recovery::Entity::update_many()
            .col_expr(lookup_recovery::Column::UsedAt, Expr::value(now))
            .filter(lookup_recovery::Column::FeedbackItemId.eq(link.feedback_item_id))
            .filter(lookup_recovery::Column::UsedAt.is_null())
            .exec(&txn)
            .await?;
        feedback_item::Entity::update_many()
            .col_expr(
                feedback_item::Column::LookupTokenHash,
                Expr::value(new_token_hash),
            )
            .filter(feedback_item::Column::Id.eq(link.feedback_item_id))
            .exec(&txn)
            .await?;
        let code = feedback_item::Entity::find_by_id(link.feedback_item_id)
            .one(&txn)
            .await?
            .map(|i| i.tracking_code);
        write_audit(
            &txn,
            Some(FeedbackId::from_uuid(link.feedback_item_id)),
            audit,
            now,
        )
        .await?;
        txn.commit().await?;
        Ok(code)
    }
}
