//! Deadlines and the notices they raise. Every write that several
//! instances might race on is a compare-and-set on the row (and notices
//! carry a unique `dedupe_key`), so the scheduler may run anywhere, any
//! number of times, and each notice is queued once.

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, ExprTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait, sea_query::Expr,
};
use uuid::Uuid;

use super::entities::{feedback_deadline, feedback_item, notice};
use super::journal::{AuditEntry, NewNotice, queue_notices_in, write_audit};
use super::{Store, StoreError};
use crate::domain::ids::FeedbackId;

pub use feedback_deadline::Model as DeadlineRow;
pub use notice::Model as NoticeRow;

/// A deadline as first written, with the item.
#[derive(Debug, Clone)]
pub struct NewDeadline {
    pub id: Uuid,
    pub kind: String,
    pub rule: serde_json::Value,
    pub starts_at: DateTime<Utc>,
    pub original_due_at: Option<DateTime<Utc>>,
    pub due_at: Option<DateTime<Utc>>,
    pub remind_at: Option<DateTime<Utc>>,
    pub calendar_version: i64,
    /// The agency answerable for it when not the item's handling agency.
    pub agency_id: Option<Uuid>,
}

impl NewDeadline {
    /// Column names and values, shared by both databases' inserts.
    pub(crate) fn columns(
        &self,
        item: FeedbackId,
        now: DateTime<Utc>,
    ) -> Vec<(&'static str, sea_orm::Value)> {
        vec![
            ("id", self.id.into()),
            ("feedback_item_id", item.as_uuid().into()),
            ("kind", self.kind.clone().into()),
            ("state", "open".into()),
            ("rule", self.rule.clone().into()),
            ("starts_at", self.starts_at.into()),
            ("pauses", serde_json::json!([]).into()),
            ("extension_days", 0i32.into()),
            ("original_due_at", self.original_due_at.into()),
            ("due_at", self.due_at.into()),
            ("remind_at", self.remind_at.into()),
            ("calendar_version", self.calendar_version.into()),
            ("computed_at", now.into()),
            ("overdue_notices", 0i32.into()),
            ("next_overdue_notice_at", self.due_at.into()),
            ("row_version", 0i32.into()),
            ("agency_id", self.agency_id.into()),
        ]
    }
}

/// A recomputed due date to write back.
#[derive(Debug, Clone)]
pub struct Recomputed {
    pub original_due_at: Option<DateTime<Utc>>,
    pub due_at: Option<DateTime<Utc>>,
    pub remind_at: Option<DateTime<Utc>>,
    pub calendar_version: i64,
}

/// A deadline with what the scheduler needs of its item.
#[derive(Debug, Clone)]
pub struct DeadlineWithItem {
    pub deadline: DeadlineRow,
    pub tracking_code: String,
    pub receiving_agency_id: Uuid,
    pub handling_agency_id: Option<Uuid>,
}

impl Store {
    pub async fn deadlines_for_item(
        &self,
        item: FeedbackId,
    ) -> Result<Vec<DeadlineRow>, StoreError> {
        Ok(feedback_deadline::Entity::find()
            .filter(feedback_deadline::Column::FeedbackItemId.eq(item.as_uuid()))
            .order_by_asc(feedback_deadline::Column::Id)
            .all(self.connection())
            .await?)
    }

    /// Open deadlines computed with a calendar older than `version`.
    /// Open deadlines due at or after `from` (those a calendar change on
    /// that day can move), at most `limit`.
    pub async fn open_deadlines_due_from(
        &self,
        from: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<DeadlineRow>, StoreError> {
        Ok(feedback_deadline::Entity::find()
            .filter(feedback_deadline::Column::State.eq("open"))
            .filter(feedback_deadline::Column::DueAt.gte(from))
            .order_by_asc(feedback_deadline::Column::DueAt)
            .limit(limit)
            .all(self.connection())
            .await?)
    }

    pub async fn deadlines_behind_calendar(
        &self,
        version: i64,
        limit: u64,
    ) -> Result<Vec<DeadlineRow>, StoreError> {
        Ok(feedback_deadline::Entity::find()
            .filter(feedback_deadline::Column::State.eq("open"))
            .filter(feedback_deadline::Column::CalendarVersion.lt(version))
            .order_by_asc(feedback_deadline::Column::Id)
            .limit(limit)
            .all(self.connection())
            .await?)
    }

    /// Writes a recomputed due date if nobody else did first (the row
    /// still has `row.calendar_version`). A moved due date is audited and,
    /// for the answer deadline, copied to the item. Returns whether this
    /// call wrote.
    pub async fn store_recomputed_deadline(
        &self,
        row: &DeadlineRow,
        new: &Recomputed,
        audit: Option<&AuditEntry>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let txn = self.connection().begin().await?;
        let mut update = feedback_deadline::Entity::update_many()
            .col_expr(
                feedback_deadline::Column::OriginalDueAt,
                Expr::value(new.original_due_at),
            )
            .col_expr(feedback_deadline::Column::DueAt, Expr::value(new.due_at))
            .col_expr(
                feedback_deadline::Column::RemindAt,
                Expr::value(new.remind_at),
            )
            .col_expr(
                feedback_deadline::Column::CalendarVersion,
                Expr::value(new.calendar_version),
            )
            .col_expr(feedback_deadline::Column::ComputedAt, Expr::value(now))
            .col_expr(feedback_deadline::Column::RowVersion, bump());
        update = follow_new_due_date(update, row, new.due_at);
        let result = update
            .filter(feedback_deadline::Column::Id.eq(row.id))
            .filter(feedback_deadline::Column::RowVersion.eq(row.row_version))
            .exec(&txn)
            .await?;
        if result.rows_affected != 1 {
            txn.rollback().await?;
            return Ok(false);
        }
        if let Some(audit) = audit {
            write_audit(
                &txn,
                Some(FeedbackId::from_uuid(row.feedback_item_id)),
                audit,
                now,
            )
            .await?;
            if row.kind == "answer" {
                feedback_item::Entity::update_many()
                    .col_expr(feedback_item::Column::DueAt, Expr::value(new.due_at))
                    .filter(feedback_item::Column::Id.eq(row.feedback_item_id))
                    .exec(&txn)
                    .await?;
            }
        }
        txn.commit().await?;
        Ok(true)
    }

    /// Open deadlines whose reminder time has come and not been noticed.
    pub async fn deadlines_to_remind(
        &self,
        now: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<DeadlineWithItem>, StoreError> {
        let rows = feedback_deadline::Entity::find()
            .filter(feedback_deadline::Column::State.eq("open"))
            .filter(feedback_deadline::Column::RemindAt.lte(now))
            .filter(feedback_deadline::Column::DueAt.gt(now))
            .filter(feedback_deadline::Column::NearDueNotifiedAt.is_null())
            .order_by_asc(feedback_deadline::Column::RemindAt)
            .limit(limit)
            .all(self.connection())
            .await?;
        self.with_items(rows).await
    }

    /// Open deadlines past due whose next overdue notice is due.
    pub async fn deadlines_to_escalate(
        &self,
        now: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<DeadlineWithItem>, StoreError> {
        let rows = feedback_deadline::Entity::find()
            .filter(feedback_deadline::Column::State.eq("open"))
            .filter(feedback_deadline::Column::DueAt.lt(now))
            .filter(feedback_deadline::Column::NextOverdueNoticeAt.lte(now))
            .order_by_asc(feedback_deadline::Column::NextOverdueNoticeAt)
            .limit(limit)
            .all(self.connection())
            .await?;
        self.with_items(rows).await
    }

    async fn with_items(
        &self,
        rows: Vec<DeadlineRow>,
    ) -> Result<Vec<DeadlineWithItem>, StoreError> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<Uuid> = rows.iter().map(|r| r.feedback_item_id).collect();
        let items = feedback_item::Entity::find()
            .select_only()
            .column(feedback_item::Column::Id)
            .column(feedback_item::Column::TrackingCode)
            .column(feedback_item::Column::ReceivingAgencyId)
            .column(feedback_item::Column::HandlingAgencyId)
            .filter(feedback_item::Column::Id.is_in(ids))
            .into_tuple::<(Uuid, String, Uuid, Option<Uuid>)>()
            .all(self.connection())
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for deadline in rows {
            let Some((_, code, receiving, handling)) = items
                .iter()
                .find(|(id, ..)| *id == deadline.feedback_item_id)
                .cloned()
            else {
                return Err(StoreError::Integrity(format!(
                    "deadline {} without its item",
                    deadline.id
                )));
            };
            out.push(DeadlineWithItem {
                deadline,
                tracking_code: code,
                receiving_agency_id: receiving,
                handling_agency_id: handling,
            });
        }
        Ok(out)
    }

    /// Marks a deadline near-due and queues its notices, unless another
    /// instance did first. Returns the number of notices queued.
    pub async fn mark_near_due(
        &self,
        deadline: Uuid,
        notices: &[NewNotice],
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let txn = self.connection().begin().await?;
        let claimed = feedback_deadline::Entity::update_many()
            .col_expr(
                feedback_deadline::Column::NearDueNotifiedAt,
                Expr::value(now),
            )
            .filter(feedback_deadline::Column::Id.eq(deadline))
            .filter(feedback_deadline::Column::NearDueNotifiedAt.is_null())
            .exec(&txn)
            .await?;
        if claimed.rows_affected != 1 {
            txn.rollback().await?;
            return Ok(0);
        }
        let queued = queue_notices_in(&txn, notices, now).await?;
        txn.commit().await?;
        Ok(queued)
    }

    /// Records the `sent_before`+1-th overdue notice and schedules the
    /// next at `next_at`, unless another instance did first.
    pub async fn mark_overdue(
        &self,
        deadline: Uuid,
        sent_before: i32,
        next_at: DateTime<Utc>,
        notices: &[NewNotice],
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let txn = self.connection().begin().await?;
        let claimed = feedback_deadline::Entity::update_many()
            .col_expr(
                feedback_deadline::Column::OverdueNotices,
                Expr::col(feedback_deadline::Column::OverdueNotices).add(1),
            )
            .col_expr(
                feedback_deadline::Column::NextOverdueNoticeAt,
                Expr::value(next_at),
            )
            .filter(feedback_deadline::Column::Id.eq(deadline))
            .filter(feedback_deadline::Column::OverdueNotices.eq(sent_before))
            .exec(&txn)
            .await?;
        if claimed.rows_affected != 1 {
            txn.rollback().await?;
            return Ok(0);
        }
        let queued = queue_notices_in(&txn, notices, now).await?;
        txn.commit().await?;
        Ok(queued)
    }

    /// Queues notices outside the scheduler (acknowledgements and the
    /// like); a notice whose `dedupe_key` is already queued is skipped.
    /// Returns how many were queued.
    pub async fn queue_notices(
        &self,
        notices: &[NewNotice],
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let txn = self.connection().begin().await?;
        let queued = queue_notices_in(&txn, notices, now).await?;
        txn.commit().await?;
        Ok(queued)
    }

    /// Records an event on an item and queues its notices in one
    /// transaction (a message to the submitter exists with its trace, or
    /// neither does).
    pub async fn record_and_notify(
        &self,
        item: uuid::Uuid,
        audit: &super::journal::AuditEntry,
        notices: &[NewNotice],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let txn = self.connection().begin().await?;
        super::journal::write_audit(
            &txn,
            Some(crate::domain::ids::FeedbackId::from_uuid(item)),
            audit,
            now,
        )
        .await?;
        queue_notices_in(&txn, notices, now).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Queued notices, newest first (for operators until delivery lands).
    pub async fn list_notices(
        &self,
        unsent_only: bool,
        limit: u64,
    ) -> Result<Vec<NoticeRow>, StoreError> {
        let mut query = notice::Entity::find();
        if unsent_only {
            query = query.filter(notice::Column::SentAt.is_null());
        }
        Ok(query
            .order_by_desc(notice::Column::CreatedAt)
            .order_by_desc(notice::Column::Id)
            .limit(limit)
            .all(self.connection())
            .await?)
    }
}

fn bump() -> sea_orm::sea_query::SimpleExpr {
    Expr::col(feedback_deadline::Column::RowVersion).add(1)
}

/// When the due date moves: the reminder may fire again for the new date,
/// and an item not yet escalated is first escalated at the new date.
fn follow_new_due_date(
    mut update: sea_orm::UpdateMany<feedback_deadline::Entity>,
    row: &DeadlineRow,
    due_at: Option<DateTime<Utc>>,
) -> sea_orm::UpdateMany<feedback_deadline::Entity> {
    if due_at != row.due_at {
        update = update.col_expr(
            feedback_deadline::Column::NearDueNotifiedAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        );
        if row.overdue_notices == 0 {
            update = update.col_expr(
                feedback_deadline::Column::NextOverdueNoticeAt,
                Expr::value(due_at),
            );
        }
    }
    update
}

/// New inputs for one deadline (a pause, a resumption, an extension) and
/// the due date they give.
#[derive(Debug, Clone)]
pub struct DeadlineInputsUpdate {
    pub id: Uuid,
    pub pauses: serde_json::Value,
    pub extension_days: i32,
    pub extension_reason: Option<String>,
    pub recomputed: Recomputed,
    /// "met" when the change ends the deadline (the citizen answered the
    /// request for more information).
    pub state: String,
    pub met_at: Option<DateTime<Utc>>,
    /// The row version the update was computed from.
    pub expected_row_version: i32,
}

impl Store {
    /// Writes changed deadline inputs with their audit events, all in one
    /// transaction; the answer's due date is copied to the item.
    pub async fn update_deadline_inputs(
        &self,
        item: FeedbackId,
        updates: &[DeadlineInputsUpdate],
        new: &[NewDeadline],
        audit: &AuditEntry,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let txn = self.connection().begin().await?;
        if let Err(e) = write_deadline_inputs(&txn, item, updates, new, now).await {
            txn.rollback().await?;
            return Err(e);
        }
        write_audit(&txn, Some(item), audit, now).await?;
        txn.commit().await?;
        Ok(())
    }
}

/// Writes changed and new deadlines inside `txn`; a deadline changed
/// since it was read is a `Conflict` (the caller rolls back and retries).
/// The answer's due date is copied to the item.
pub(crate) async fn write_deadline_inputs(
    txn: &sea_orm::DatabaseTransaction,
    item: FeedbackId,
    updates: &[DeadlineInputsUpdate],
    new: &[NewDeadline],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    for u in updates {
        let row = feedback_deadline::Entity::find_by_id(u.id)
            .one(txn)
            .await?
            .ok_or_else(|| StoreError::Integrity(format!("deadline {} vanished", u.id)))?;
        let mut update = feedback_deadline::Entity::update_many()
            .col_expr(
                feedback_deadline::Column::Pauses,
                Expr::value(u.pauses.clone()),
            )
            .col_expr(
                feedback_deadline::Column::ExtensionDays,
                Expr::value(u.extension_days),
            )
            .col_expr(
                feedback_deadline::Column::ExtensionReason,
                Expr::value(u.extension_reason.clone()),
            )
            .col_expr(
                feedback_deadline::Column::OriginalDueAt,
                Expr::value(u.recomputed.original_due_at),
            )
            .col_expr(
                feedback_deadline::Column::DueAt,
                Expr::value(u.recomputed.due_at),
            )
            .col_expr(
                feedback_deadline::Column::RemindAt,
                Expr::value(u.recomputed.remind_at),
            )
            .col_expr(
                feedback_deadline::Column::CalendarVersion,
                Expr::value(u.recomputed.calendar_version),
            )
            .col_expr(feedback_deadline::Column::ComputedAt, Expr::value(now))
            .col_expr(
                feedback_deadline::Column::State,
                Expr::value(u.state.clone()),
            )
            .col_expr(feedback_deadline::Column::MetAt, Expr::value(u.met_at))
            // Bumped so a writer that read the row before this change (the
            // scheduler recomputing it) loses its compare-and-set.
            .col_expr(feedback_deadline::Column::RowVersion, bump());
        update = follow_new_due_date(update, &row, u.recomputed.due_at);
        let result = update
            .filter(feedback_deadline::Column::Id.eq(u.id))
            .filter(feedback_deadline::Column::RowVersion.eq(u.expected_row_version))
            .exec(txn)
            .await?;
        if result.rows_affected != 1 {
            return Err(StoreError::Conflict(format!(
                "feedback_deadline {} changed concurrently",
                u.id
            )));
        }
        if row.kind == "answer" {
            feedback_item::Entity::update_many()
                .col_expr(
                    feedback_item::Column::DueAt,
                    Expr::value(u.recomputed.due_at),
                )
                .filter(feedback_item::Column::Id.eq(item.as_uuid()))
                .exec(txn)
                .await?;
        }
    }
    for d in new {
        let (columns, values): (Vec<&'static str>, Vec<sea_orm::Value>) =
            d.columns(item, now).into_iter().unzip();
        let backend = txn.get_database_backend();
        let placeholders: Vec<String> = (1..=values.len()).map(|i| format!("${i}")).collect();
        txn.execute_raw(sea_orm::Statement::from_sql_and_values(
            backend,
            super::sql(
                backend,
                &format!(
                    "INSERT INTO feedback_deadline ({}) VALUES ({})",
                    columns.join(", "),
                    placeholders.join(", ")
                ),
            ),
            values,
        ))
        .await?;
    }
    Ok(())
}
