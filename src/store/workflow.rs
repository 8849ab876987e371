//! Writing one workflow transition: the item's new fields and state, its
//! deadlines, the notices it queues and its audit event, in one
//! transaction, applied only if the item still has the version the actor
//! saw (two staff can never overwrite each other).

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, ExprTrait, QueryFilter, TransactionTrait, Value,
    sea_query::Expr,
};

use super::coordination::{CoordinationWrite, write_coordination};
use super::deadlines::{DeadlineInputsUpdate, NewDeadline, write_deadline_inputs};
use super::entities::{feedback_deadline, feedback_item};
use super::journal::{AuditEntry, NewNotice, queue_notices_in, write_audit};
use super::{Store, StoreError};
use crate::domain::ids::FeedbackId;

/// The `source` of a file attached to the answer.
pub const ANSWER_ATTACHMENT: &str = "answer";

/// A field of the item a transition may set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemField {
    Kind,
    ContentCategory,
    FieldId,
    ProcedureText,
    ProcedureCode,
    RejectionCode,
    RejectionNote,
    HandlingAgencyId,
    AnswerDraft,
    AnswerDraftedBy,
    AnswerSignedOffBy,
    Answer,
    AnsweredAt,
    HandlingWorkingDays,
    QuestionRedacted,
    TitleRedacted,
    PublicSearchText,
    PublishedAt,
    AnswerRedacted,
    PublicChangedAt,
    WithheldReason,
    BounceCount,
    NeedsAttention,
    RatingScore,
    RatingComment,
    RatedAt,
    MergedIntoId,
}

impl ItemField {
    fn column(self) -> feedback_item::Column {
        use feedback_item::Column as C;
        match self {
            ItemField::Kind => C::Kind,
            ItemField::ContentCategory => C::ContentCategory,
            ItemField::FieldId => C::FieldId,
            ItemField::ProcedureText => C::ProcedureText,
            ItemField::ProcedureCode => C::ProcedureCode,
            ItemField::RejectionCode => C::RejectionCode,
            ItemField::RejectionNote => C::RejectionNote,
            ItemField::HandlingAgencyId => C::HandlingAgencyId,
            ItemField::AnswerDraft => C::AnswerDraft,
            ItemField::AnswerDraftedBy => C::AnswerDraftedBy,
            ItemField::AnswerSignedOffBy => C::AnswerSignedOffBy,
            ItemField::Answer => C::Answer,
            ItemField::AnsweredAt => C::AnsweredAt,
            ItemField::HandlingWorkingDays => C::HandlingWorkingDays,
            ItemField::QuestionRedacted => C::QuestionRedacted,
            ItemField::TitleRedacted => C::TitleRedacted,
            ItemField::PublicSearchText => C::PublicSearchText,
            ItemField::PublishedAt => C::PublishedAt,
            ItemField::AnswerRedacted => C::AnswerRedacted,
            ItemField::PublicChangedAt => C::PublicChangedAt,
            ItemField::WithheldReason => C::WithheldReason,
            ItemField::BounceCount => C::BounceCount,
            ItemField::NeedsAttention => C::NeedsAttention,
            ItemField::RatingScore => C::RatingScore,
            ItemField::RatingComment => C::RatingComment,
            ItemField::RatedAt => C::RatedAt,
            ItemField::MergedIntoId => C::MergedIntoId,
        }
    }
}

/// What happens to the item's open deadlines.
#[derive(Debug, Clone, Default)]
pub struct DeadlineEffects {
    /// Kinds met now (e.g. `classify` on classification).
    pub meet: Vec<&'static str>,
    /// Kinds no longer relevant (e.g. `forward` when the office handles
    /// the item itself); `cancel_all` for a rejected item.
    pub cancel: Vec<&'static str>,
    pub cancel_all: bool,
}

/// One transition to write.
#[derive(Debug, Clone)]
pub struct Transition {
    pub item: FeedbackId,
    pub expected_version: i32,
    pub state: String,
    pub set: Vec<(ItemField, Value)>,
    pub deadlines: DeadlineEffects,
    pub notices: Vec<NewNotice>,
    pub audit: AuditEntry,
    /// Information the submitter added (kept with the item).
    pub supplement: Option<String>,
    /// Deadlines changed by the same change (the clock paused or
    /// restarted), each a compare-and-set on its row.
    pub deadline_updates: Vec<DeadlineInputsUpdate>,
    /// Deadlines the change starts (clarification timeout, a
    /// coordinating agency's sub-deadline).
    pub new_deadlines: Vec<NewDeadline>,
    /// Further audit events (the clock's).
    pub extra_audit: Vec<AuditEntry>,
    pub coordination: Option<CoordinationWrite>,
    /// Another item that must still be at this version (bumped).
    pub touch: Option<(FeedbackId, i32)>,
    /// Members of this item's cluster move to this primary.
    pub repoint_members_to: Option<FeedbackId>,
    /// Files added to the item (the answer's).
    pub new_attachments: Vec<super::feedback::NewAttachment>,
    /// Attachments of the item to forget, by id, and whether every
    /// attachment of the draft answer goes (the item left the agency).
    pub remove_attachments: Vec<uuid::Uuid>,
    pub drop_answer_attachments: bool,
}

impl Store {
    /// Writes `t` if the item is still at `t.expected_version`; `false`
    /// (and nothing written) otherwise.
    pub async fn apply_transition(
        &self,
        t: &Transition,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let txn = self.connection().begin().await?;
        let mut update = feedback_item::Entity::update_many()
            .col_expr(feedback_item::Column::State, Expr::value(t.state.clone()))
            .col_expr(
                feedback_item::Column::Version,
                Expr::col(feedback_item::Column::Version).add(1),
            )
            .col_expr(feedback_item::Column::UpdatedAt, Expr::value(now));
        for (field, value) in &t.set {
            update = update.col_expr(field.column(), Expr::value(value.clone()));
        }
        // The item's due date is its open answer deadline's: once that is
        // met or cancelled the item is not overdue, ever (overdue is
        // derived from open deadlines only).
        let d = &t.deadlines;
        if d.cancel_all || d.meet.contains(&"answer") || d.cancel.contains(&"answer") {
            update = update.col_expr(
                feedback_item::Column::DueAt,
                Expr::value(None::<DateTime<Utc>>),
            );
        }
        let result = update
            .filter(feedback_item::Column::Id.eq(t.item.as_uuid()))
            .filter(feedback_item::Column::Version.eq(t.expected_version))
            .exec(&txn)
            .await?;
        if result.rows_affected != 1 {
            txn.rollback().await?;
            return Ok(false);
        }
        // The answer is sent: how it stood against its deadline is judged
        // now, from the deadline as it is (met in this transaction, it
        // never moves again), and kept for the statistics.
        if t.set.iter().any(|(f, _)| *f == ItemField::AnsweredAt) {
            let backend = self.backend();
            txn.execute_raw(sea_orm::Statement::from_sql_and_values(
                backend,
                super::sql(
                    backend,
                    &format!(
                        "UPDATE feedback_item SET answer_timeliness = {} WHERE id = $1",
                        migration::TIMELINESS_SQL
                    ),
                ),
                [t.item.as_uuid().into()],
            ))
            .await?;
        }
        // Another item the change depends on (a merge's primary) must be
        // as the actor saw it too; its version moves so that a concurrent
        // change to it (an approval sending the answer to its cluster)
        // sees this one.
        if let Some((other, version)) = t.touch {
            let touched = feedback_item::Entity::update_many()
                .col_expr(
                    feedback_item::Column::Version,
                    Expr::col(feedback_item::Column::Version).add(1),
                )
                .col_expr(feedback_item::Column::UpdatedAt, Expr::value(now))
                .filter(feedback_item::Column::Id.eq(other.as_uuid()))
                .filter(feedback_item::Column::Version.eq(version))
                .exec(&txn)
                .await?;
            if touched.rows_affected != 1 {
                txn.rollback().await?;
                return Ok(false);
            }
        }
        if let Some(primary) = t.repoint_members_to {
            // A cluster has one level: the merged item's own members
            // follow it to the new primary.
            feedback_item::Entity::update_many()
                .col_expr(
                    feedback_item::Column::MergedIntoId,
                    Expr::value(Some(primary.as_uuid())),
                )
                .filter(feedback_item::Column::MergedIntoId.eq(t.item.as_uuid()))
                .exec(&txn)
                .await?;
        }
        let close = |state: &'static str, kinds: Option<Vec<&'static str>>| {
            let mut q = feedback_deadline::Entity::update_many()
                .col_expr(feedback_deadline::Column::State, Expr::value(state))
                .col_expr(feedback_deadline::Column::MetAt, Expr::value(Some(now)))
                .col_expr(
                    feedback_deadline::Column::RowVersion,
                    Expr::col(feedback_deadline::Column::RowVersion).add(1),
                )
                .filter(feedback_deadline::Column::FeedbackItemId.eq(t.item.as_uuid()))
                .filter(feedback_deadline::Column::State.eq("open"));
            if let Some(kinds) = kinds {
                q = q.filter(feedback_deadline::Column::Kind.is_in(kinds));
            }
            q
        };
        if !d.meet.is_empty() {
            close("met", Some(d.meet.clone())).exec(&txn).await?;
        }
        if d.cancel_all {
            close("cancelled", None).exec(&txn).await?;
        } else if !d.cancel.is_empty() {
            close("cancelled", Some(d.cancel.clone()))
                .exec(&txn)
                .await?;
        }
        if let Some(text) = &t.supplement {
            super::entities::supplement::Entity::insert(super::entities::supplement::ActiveModel {
                id: sea_orm::ActiveValue::Set(uuid::Uuid::now_v7()),
                feedback_item_id: sea_orm::ActiveValue::Set(t.item.as_uuid()),
                text: sea_orm::ActiveValue::Set(text.clone()),
                created_at: sea_orm::ActiveValue::Set(now),
            })
            .exec_without_returning(&txn)
            .await?;
        }
        if let Err(e) =
            write_deadline_inputs(&txn, t.item, &t.deadline_updates, &t.new_deadlines, now).await
        {
            txn.rollback().await?;
            return Err(e);
        }
        if let Some(write) = &t.coordination {
            write_coordination(&txn, t.item, write, now).await?;
        }
        super::feedback::write_attachments(&txn, t.item, &t.new_attachments, now).await?;
        if !t.remove_attachments.is_empty() || t.drop_answer_attachments {
            use super::entities::attachment;
            let mut q = attachment::Entity::delete_many()
                .filter(attachment::Column::FeedbackItemId.eq(t.item.as_uuid()))
                .filter(attachment::Column::Source.eq(ANSWER_ATTACHMENT));
            if !t.drop_answer_attachments {
                q = q.filter(attachment::Column::Id.is_in(t.remove_attachments.clone()));
            }
            q.exec(&txn).await?;
        }
        queue_notices_in(&txn, &t.notices, now).await?;
        write_audit(&txn, Some(t.item), &t.audit, now).await?;
        for audit in &t.extra_audit {
            write_audit(&txn, Some(t.item), audit, now).await?;
        }
        txn.commit().await?;
        if t.set
            .iter()
            .any(|(f, _)| matches!(f, ItemField::PublicChangedAt))
        {
            self.public_changed();
        }
        Ok(true)
    }
}

pub use super::entities::supplement::Model as SupplementRow;

impl Store {
    pub async fn supplements_for(
        &self,
        item: FeedbackId,
    ) -> Result<Vec<SupplementRow>, StoreError> {
        use super::entities::supplement;
        use sea_orm::QueryOrder;
        Ok(supplement::Entity::find()
            .filter(supplement::Column::FeedbackItemId.eq(item.as_uuid()))
            .order_by_asc(supplement::Column::CreatedAt)
            .all(self.connection())
            .await?)
    }

    /// Open clarification timeouts that have run out.
    /// Items waiting for the submitter whose clarification period is over,
    /// with the clarification deadline: those whose request reached the
    /// submitter (`delivered`: a request notice sent since the clock
    /// stopped, and not reported bounced), or those whose request did not
    /// and that nobody was told about yet (not yet needing attention).
    pub async fn expired_clarifications(
        &self,
        now: DateTime<Utc>,
        delivered: bool,
    ) -> Result<Vec<(uuid::Uuid, uuid::Uuid)>, StoreError> {
        use sea_orm::{ConnectionTrait, Statement};
        let backend = self.backend();
        let statement = format!(
            "SELECT d.feedback_item_id AS item_id, d.id AS deadline_id \
             FROM feedback_deadline d JOIN feedback_item i ON i.id = d.feedback_item_id \
             WHERE d.state = 'open' AND d.kind = 'clarify_timeout' AND d.due_at < $1 \
               AND i.state = 'awaiting_information' {} \
               AND {} EXISTS (SELECT 1 FROM notice n \
                   WHERE n.feedback_item_id = i.id AND n.kind = 'citizen_request_info' \
                     AND n.status = 'sent' AND n.created_at >= d.starts_at) \
             ORDER BY d.due_at LIMIT 500",
            if delivered {
                ""
            } else {
                "AND i.needs_attention = false"
            },
            if delivered { "" } else { "NOT" },
        );
        let rows = self
            .connection()
            .query_all_raw(Statement::from_sql_and_values(
                backend,
                super::sql(backend, &statement),
                [now.into()],
            ))
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("", "item_id")?, r.try_get("", "deadline_id")?)))
            .collect()
    }

    pub async fn find_feedback_by_id(
        &self,
        id: FeedbackId,
    ) -> Result<Option<super::feedback::FeedbackRow>, StoreError> {
        let Some(item) = feedback_item::Entity::find_by_id(id.as_uuid())
            .one(self.connection())
            .await?
        else {
            return Ok(None);
        };
        let code = item.tracking_code.parse().map_err(|_| {
            StoreError::Integrity(format!("bad tracking code {}", item.tracking_code))
        })?;
        self.find_feedback_by_code(&code).await
    }
}

impl Store {
    /// The items merged into `primary` (its duplicate cluster), as (id,
    /// tracking code).
    pub async fn merged_members(
        &self,
        primary: FeedbackId,
    ) -> Result<Vec<(uuid::Uuid, String)>, StoreError> {
        use sea_orm::QuerySelect;
        Ok(feedback_item::Entity::find()
            .select_only()
            .column(feedback_item::Column::Id)
            .column(feedback_item::Column::TrackingCode)
            .filter(feedback_item::Column::MergedIntoId.eq(primary.as_uuid()))
            .into_tuple()
            .all(self.connection())
            .await?)
    }
}
