//! The office's publicity sources and the items that came through them.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
};

use super::entities::{feedback_item, outreach_source};
use super::journal::{AuditEntry, write_audit};
use super::{Store, StoreError};

pub use outreach_source::Model as SourceRow;

/// Items received in a period, grouped as the publicity figures need them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceCount {
    pub source: Option<String>,
    pub channel: String,
    pub state: String,
    pub rejection_code: Option<String>,
    pub items: i64,
}

/// Source, channel, state, rejection reason, items.
type CountRow = (Option<String>, String, String, Option<String>, i64);

impl Store {
    /// Adds a source, audited; a code in use (live or retired) is a
    /// conflict.
    pub async fn create_source(
        &self,
        row: SourceRow,
        audit: &AuditEntry,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let txn = self.connection().begin().await?;
        if outreach_source::Entity::find_by_id(row.code.clone())
            .one(&txn)
            .await?
            .is_some()
        {
            txn.rollback().await?;
            return Err(StoreError::Conflict("outreach_source.code".into()));
        }
        outreach_source::Entity::insert(outreach_source::ActiveModel {
            code: Set(row.code),
            name: Set(row.name),
            kind: Set(row.kind),
            place: Set(row.place),
            created_by: Set(row.created_by),
            created_at: Set(row.created_at),
            retired_at: Set(None),
        })
        .exec_without_returning(&txn)
        .await?;
        write_audit(&txn, None, audit, now).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Every source, by code.
    pub async fn sources(&self) -> Result<Vec<SourceRow>, StoreError> {
        Ok(outreach_source::Entity::find()
            .order_by_asc(outreach_source::Column::Code)
            .all(self.connection())
            .await?)
    }

    pub async fn source(&self, code: &str) -> Result<Option<SourceRow>, StoreError> {
        Ok(outreach_source::Entity::find_by_id(code.to_string())
            .one(self.connection())
            .await?)
    }

    /// Retires a live source: its link still reaches the form, the items
    /// it brings count as unknown. `false` when there was none live.
    pub async fn retire_source(
        &self,
        code: &str,
        audit: &AuditEntry,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let txn = self.connection().begin().await?;
        let n = outreach_source::Entity::update_many()
            .col_expr(outreach_source::Column::RetiredAt, Expr::value(now))
            .filter(outreach_source::Column::Code.eq(code))
            .filter(outreach_source::Column::RetiredAt.is_null())
            .exec(&txn)
            .await?
            .rows_affected;
        if n != 1 {
            txn.rollback().await?;
            return Ok(false);
        }
        write_audit(&txn, None, audit, now).await?;
        txn.commit().await?;
        Ok(true)
    }

    /// Items received in `[from, to)` by source, channel, state and
    /// rejection reason.
    pub async fn source_counts(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<SourceCount>, StoreError> {
        use feedback_item::Column as C;
        let rows: Vec<CountRow> = feedback_item::Entity::find()
            .select_only()
            .column(C::SourceCode)
            .column(C::Channel)
            .column(C::State)
            .column(C::RejectionCode)
            .column_as(C::Id.count(), "n")
            .filter(C::ReceivedAt.gte(from))
            .filter(C::ReceivedAt.lt(to))
            .group_by(C::SourceCode)
            .group_by(C::Channel)
            .group_by(C::State)
            .group_by(C::RejectionCode)
            .into_tuple()
            .all(self.connection())
            .await?;
        Ok(rows
            .into_iter()
            .map(
                |(source, channel, state, rejection_code, items)| SourceCount {
                    source,
                    channel,
                    state,
                    rejection_code,
                    items,
                },
            )
            .collect())
    }
}
