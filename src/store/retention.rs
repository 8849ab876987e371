//! Removing a closed item's contact data once its retention period has run
//! out: the submitter's name, organisation, address line, phone, e-mail
//! and comment; the raw e-mails and their senders; the files they sent
//! (never the answer's documents); the addresses notices went to and any
//! delivery error that quotes them; failed-address records, idempotency
//! replies and recovery links. The item, its answer, its commune, its
//! statistics and its history stay, with an audit record that it was done.
//! One item per transaction, so a run can stop anywhere and resume.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
};
use uuid::Uuid;

use super::entities::{
    attachment, attachment_blob, feedback_item, idempotency_record, inbound_mail, lookup_recovery,
    mail_address_failure, notice,
};
use super::journal::{AuditEntry, write_audit};
use super::{Store, StoreError};
use crate::domain::ids::FeedbackId;

/// States in which nothing more is done with an item's submitter.
pub const SETTLED_STATES: [&str; 6] = [
    "answered",
    "published",
    "withheld",
    "closed",
    "not_accepted",
    "merged",
];

impl Store {
    /// Items settled before `before` whose contact data is still there,
    /// oldest first, at most `limit`.
    pub async fn items_due_for_erasure(
        &self,
        before: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<(Uuid, String)>, StoreError> {
        Ok(feedback_item::Entity::find()
            .select_only()
            .column(feedback_item::Column::Id)
            .column(feedback_item::Column::TrackingCode)
            .filter(feedback_item::Column::State.is_in(SETTLED_STATES))
            .filter(feedback_item::Column::UpdatedAt.lt(before))
            .filter(feedback_item::Column::ContactErasedAt.is_null())
            .order_by_asc(feedback_item::Column::UpdatedAt)
            .limit(limit)
            .into_tuple::<(Uuid, String)>()
            .all(self.connection())
            .await?)
    }

    /// How many items are due, for the dry-run report.
    pub async fn count_due_for_erasure(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(feedback_item::Entity::find()
            .filter(feedback_item::Column::State.is_in(SETTLED_STATES))
            .filter(feedback_item::Column::UpdatedAt.lt(before))
            .filter(feedback_item::Column::ContactErasedAt.is_null())
            .count(self.connection())
            .await?)
    }

    /// Removes one item's contact data, in one transaction; `false` when
    /// it was already done (another instance got there first).
    pub async fn erase_contact_data(
        &self,
        item: Uuid,
        audit: &AuditEntry,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let txn = self.connection().begin().await?;
        let Some(row) = feedback_item::Entity::find_by_id(item)
            .filter(feedback_item::Column::ContactErasedAt.is_null())
            .one(&txn)
            .await?
        else {
            txn.rollback().await?;
            return Ok(false);
        };
        feedback_item::Entity::update_many()
            .col_expr(feedback_item::Column::SubmitterName, Expr::value(""))
            .col_expr(
                feedback_item::Column::OrganizationName,
                Expr::value(Option::<String>::None),
            )
            .col_expr(feedback_item::Column::AddressDetail, Expr::value(""))
            .col_expr(
                feedback_item::Column::Phone,
                Expr::value(Option::<String>::None),
            )
            .col_expr(
                feedback_item::Column::Email,
                Expr::value(Option::<String>::None),
            )
            .col_expr(
                feedback_item::Column::RatingComment,
                Expr::value(Option::<String>::None),
            )
            .col_expr(
                feedback_item::Column::IntakeDetails,
                Expr::value(Option::<serde_json::Value>::None),
            )
            .col_expr(
                feedback_item::Column::ContactErasedAt,
                Expr::value(Some(now)),
            )
            .filter(feedback_item::Column::Id.eq(item))
            .exec(&txn)
            .await?;
        inbound_mail::Entity::update_many()
            .col_expr(inbound_mail::Column::Raw, Expr::value(Vec::<u8>::new()))
            .col_expr(
                inbound_mail::Column::FromAddress,
                Expr::value(Option::<String>::None),
            )
            .col_expr(
                inbound_mail::Column::Subject,
                Expr::value(Option::<String>::None),
            )
            .col_expr(
                inbound_mail::Column::Note,
                Expr::value(Option::<String>::None),
            )
            .filter(inbound_mail::Column::FeedbackItemId.eq(item))
            .exec(&txn)
            .await?;
        // The files the submitter sent; the answer's documents stay.
        let sent: Vec<attachment::Model> = attachment::Entity::find()
            .filter(attachment::Column::FeedbackItemId.eq(item))
            .filter(attachment::Column::Source.ne("answer"))
            .all(&txn)
            .await?;
        for file in &sent {
            attachment::Entity::delete_by_id(file.id).exec(&txn).await?;
            let still_used = attachment::Entity::find()
                .filter(attachment::Column::Sha256.eq(file.sha256.clone()))
                .count(&txn)
                .await?;
            if still_used == 0 {
                attachment_blob::Entity::delete_by_id(file.sha256.clone())
                    .exec(&txn)
                    .await?;
            }
        }
        notice::Entity::update_many()
            .col_expr(
                notice::Column::Recipient,
                Expr::value(Option::<String>::None),
            )
            .col_expr(
                notice::Column::LastError,
                Expr::value(Option::<String>::None),
            )
            .filter(notice::Column::FeedbackItemId.eq(item))
            .filter(notice::Column::Audience.eq("submitter"))
            .exec(&txn)
            .await?;
        if let Some(email) = row.email.as_deref().map(|e| e.trim().to_lowercase()) {
            // The address's failure record, unless another item still
            // holding its contact data uses it.
            let others = feedback_item::Entity::find()
                .filter(feedback_item::Column::Email.eq(email.clone()))
                .filter(feedback_item::Column::Id.ne(item))
                .count(&txn)
                .await?;
            if others == 0 {
                mail_address_failure::Entity::delete_many()
                    .filter(mail_address_failure::Column::Address.eq(email))
                    .exec(&txn)
                    .await?;
            }
        }
        idempotency_record::Entity::delete_many()
            .filter(idempotency_record::Column::FeedbackItemId.eq(item))
            .exec(&txn)
            .await?;
        lookup_recovery::Entity::delete_many()
            .filter(lookup_recovery::Column::FeedbackItemId.eq(item))
            .exec(&txn)
            .await?;
        write_audit(&txn, Some(FeedbackId::from_uuid(item)), audit, now).await?;
        txn.commit().await?;
        Ok(true)
    }
}
