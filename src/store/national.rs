//! The items' record in the national PAKN system: the code each got
//! there, and the items still to be re-keyed.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    TransactionTrait,
};
use uuid::Uuid;

use super::entities::{attachment, feedback_item, national_record};
use super::journal::{AuditEntry, write_audit};
use super::{Store, StoreError};
use crate::domain::ids::FeedbackId;

/// An item to re-key, with the file names the national form lists.
#[derive(Debug, Clone)]
pub struct BacklogRow {
    pub item: feedback_item::Model,
    pub files: Vec<String>,
}

/// How many items of the channels were received in a period, and how many
/// of them carry a national code.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NationalCounts {
    pub in_scope: u64,
    pub recorded: u64,
}

fn not_recorded() -> sea_orm::Condition {
    sea_orm::Condition::all().add(Expr::cust(
        "NOT EXISTS (SELECT 1 FROM national_record r WHERE r.feedback_item_id = feedback_item.id)",
    ))
}

fn in_scope(channels: &[String], from: DateTime<Utc>, to: DateTime<Utc>) -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(feedback_item::Column::Channel.is_in(channels.to_vec()))
        .add(feedback_item::Column::ReceivedAt.gte(from))
        .add(feedback_item::Column::ReceivedAt.lt(to))
        // A merged item is entered with the one it joined.
        .add(feedback_item::Column::State.ne("merged"))
}

impl Store {
    pub async fn national_record(
        &self,
        item: Uuid,
    ) -> Result<Option<national_record::Model>, StoreError> {
        Ok(national_record::Entity::find_by_id(item)
            .one(self.connection())
            .await?)
    }

    /// Records (or, with `replace`, corrects) an item's national code,
    /// audited in the same transaction; a code on another item is a
    /// conflict.
    pub async fn record_national(
        &self,
        record: national_record::Model,
        audit: &AuditEntry,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let txn = self.connection().begin().await?;
        let existing = national_record::Entity::find_by_id(record.feedback_item_id)
            .one(&txn)
            .await?;
        let item = record.feedback_item_id;
        let row = national_record::ActiveModel {
            feedback_item_id: Set(record.feedback_item_id),
            national_code: Set(record.national_code),
            origin: Set(record.origin),
            recorded_at: Set(record.recorded_at),
            recorded_by: Set(record.recorded_by),
        };
        if existing.is_some() {
            national_record::Entity::update(row).exec(&txn).await?;
        } else {
            national_record::Entity::insert(row).exec(&txn).await?;
        }
        write_audit(&txn, Some(FeedbackId::from_uuid(item)), audit, now).await?;
        txn.commit().await?;
        Ok(())
    }

    /// The item that carries `code`, if any.
    pub async fn item_with_national_code(&self, code: &str) -> Result<Option<Uuid>, StoreError> {
        Ok(national_record::Entity::find()
            .filter(national_record::Column::NationalCode.eq(code))
            .one(self.connection())
            .await?
            .map(|r| r.feedback_item_id))
    }

    /// Items of `channels` received in `[from, to)` with no national code,
    /// oldest first, at most `limit` (and whether there were more).
    pub async fn national_backlog(
        &self,
        channels: &[String],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: u64,
    ) -> Result<(Vec<BacklogRow>, bool), StoreError> {
        let mut items = feedback_item::Entity::find()
            .filter(in_scope(channels, from, to))
            .filter(not_recorded())
            .order_by_asc(feedback_item::Column::ReceivedAt)
            .order_by_asc(feedback_item::Column::TrackingCode)
            .paginate(self.connection(), limit + 1)
            .fetch_page(0)
            .await?;
        let more = items.len() as u64 > limit;
        items.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        let ids: Vec<Uuid> = items.iter().map(|i| i.id).collect();
        let files = if ids.is_empty() {
            Vec::new()
        } else {
            attachment::Entity::find()
                .filter(attachment::Column::FeedbackItemId.is_in(ids))
                .filter(attachment::Column::Source.eq("submitter"))
                .order_by_asc(attachment::Column::CreatedAt)
                .all(self.connection())
                .await?
        };
        Ok((
            items
                .into_iter()
                .map(|item| BacklogRow {
                    files: files
                        .iter()
                        .filter(|f| f.feedback_item_id == item.id)
                        .map(|f| f.file_name.clone())
                        .collect(),
                    item,
                })
                .collect(),
            more,
        ))
    }

    /// The period's counts for the six-monthly report.
    pub async fn national_counts(
        &self,
        channels: &[String],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<NationalCounts, StoreError> {
        let in_scope_count = feedback_item::Entity::find()
            .filter(in_scope(channels, from, to))
            .count(self.connection())
            .await?;
        let missing = feedback_item::Entity::find()
            .filter(in_scope(channels, from, to))
            .filter(not_recorded())
            .count(self.connection())
            .await?;
        Ok(NationalCounts {
            in_scope: in_scope_count,
            recorded: in_scope_count - missing,
        })
    }
}
