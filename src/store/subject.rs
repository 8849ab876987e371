//! A data subject's items, found by their phone number or e-mail address;
//! correcting their contact data; and the log of who saw it.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TransactionTrait,
};
use uuid::Uuid;

use super::entities::{contact_access, feedback_item, inbound_mail, notice, staff_account};
use super::journal::{AuditEntry, write_audit};
use super::{Store, StoreError};
use crate::domain::ids::FeedbackId;

/// One row of the access log.
#[derive(Debug, Clone)]
pub struct AccessRow {
    pub staff_username: String,
    pub tracking_code: String,
    pub purpose: String,
    pub at: DateTime<Utc>,
}

/// New contact data for an item (a field left `None` stays).
#[derive(Debug, Clone, Default)]
pub struct ContactCorrection {
    pub full_name: Option<String>,
    pub address_detail: Option<String>,
    pub phone: Option<Option<String>>,
    pub email: Option<Option<String>>,
}

impl Store {
    /// Every item whose phone is `phone` (E.164) or whose e-mail is
    /// `email` (lower case), oldest first.
    pub async fn items_of_subject(
        &self,
        phone: Option<&str>,
        email: Option<&str>,
    ) -> Result<Vec<feedback_item::Model>, StoreError> {
        let mut any = Condition::any();
        if let Some(p) = phone {
            any = any.add(feedback_item::Column::Phone.eq(p));
        }
        if let Some(e) = email {
            any = any.add(sea_orm::ExprTrait::eq(
                Expr::expr(sea_orm::sea_query::Func::lower(Expr::col(
                    feedback_item::Column::Email,
                ))),
                e,
            ));
        }
        if phone.is_none() && email.is_none() {
            return Ok(Vec::new());
        }
        Ok(feedback_item::Entity::find()
            .filter(any)
            .order_by_asc(feedback_item::Column::ReceivedAt)
            .limit(1000)
            .all(self.connection())
            .await?)
    }

    /// What was sent to and received from the submitter of `item`: the
    /// notices' kinds and times, the inbound mails' subjects and times.
    pub async fn subject_messages(
        &self,
        item: Uuid,
    ) -> Result<
        (
            Vec<notice::Model>,
            Vec<(DateTime<Utc>, Option<String>, String)>,
        ),
        StoreError,
    > {
        let notices = notice::Entity::find()
            .filter(notice::Column::FeedbackItemId.eq(item))
            .filter(notice::Column::Audience.eq("submitter"))
            .order_by_asc(notice::Column::CreatedAt)
            .all(self.connection())
            .await?;
        let mails = inbound_mail::Entity::find()
            .select_only()
            .column(inbound_mail::Column::ReceivedAt)
            .column(inbound_mail::Column::Subject)
            .column(inbound_mail::Column::Outcome)
            .filter(inbound_mail::Column::FeedbackItemId.eq(item))
            .order_by_asc(inbound_mail::Column::ReceivedAt)
            .into_tuple::<(DateTime<Utc>, Option<String>, String)>()
            .all(self.connection())
            .await?;
        Ok((notices, mails))
    }

    /// Corrects an item's contact data, audited (the audit record names
    /// the fields, never their values).
    pub async fn correct_contact_data(
        &self,
        item: Uuid,
        c: &ContactCorrection,
        audit: &AuditEntry,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let txn = self.connection().begin().await?;
        let mut update = feedback_item::Entity::update_many()
            .col_expr(feedback_item::Column::UpdatedAt, Expr::value(now))
            .filter(feedback_item::Column::Id.eq(item));
        if let Some(v) = &c.full_name {
            update = update.col_expr(feedback_item::Column::SubmitterName, Expr::value(v.clone()));
        }
        if let Some(v) = &c.address_detail {
            update = update.col_expr(feedback_item::Column::AddressDetail, Expr::value(v.clone()));
        }
        if let Some(v) = &c.phone {
            update = update.col_expr(feedback_item::Column::Phone, Expr::value(v.clone()));
        }
        if let Some(v) = &c.email {
            update = update.col_expr(feedback_item::Column::Email, Expr::value(v.clone()));
        }
        update.exec(&txn).await?;
        write_audit(&txn, Some(FeedbackId::from_uuid(item)), audit, now).await?;
        txn.commit().await?;
        Ok(())
    }

    /// One audit event on each of `items`, together.
    pub async fn audit_items(
        &self,
        items: &[Uuid],
        audit: &AuditEntry,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let txn = self.connection().begin().await?;
        for item in items {
            write_audit(&txn, Some(FeedbackId::from_uuid(*item)), audit, now).await?;
        }
        txn.commit().await?;
        Ok(())
    }

    /// Whether `staff` was shown `item`'s contact data for `purpose` since
    /// `since`.
    pub async fn contact_access_since(
        &self,
        staff: Uuid,
        item: Uuid,
        purpose: &str,
        since: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        Ok(contact_access::Entity::find()
            .filter(contact_access::Column::StaffAccountId.eq(staff))
            .filter(contact_access::Column::FeedbackItemId.eq(item))
            .filter(contact_access::Column::Purpose.eq(purpose))
            .filter(contact_access::Column::At.gt(since))
            .one(self.connection())
            .await?
            .is_some())
    }

    pub async fn record_contact_access(
        &self,
        staff: Uuid,
        username: &str,
        item: Uuid,
        purpose: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        contact_access::Entity::insert(contact_access::ActiveModel {
            id: Set(Uuid::now_v7()),
            staff_account_id: Set(staff),
            staff_username: Set(username.to_string()),
            feedback_item_id: Set(item),
            purpose: Set(purpose.to_string()),
            at: Set(at),
        })
        .exec_without_returning(self.connection())
        .await?;
        Ok(())
    }

    /// The access log, newest first, for an item and/or a staff member.
    pub async fn contact_access_log(
        &self,
        item: Option<Uuid>,
        staff_username: Option<&str>,
        limit: u64,
    ) -> Result<Vec<AccessRow>, StoreError> {
        let mut q = contact_access::Entity::find().order_by_desc(contact_access::Column::At);
        if let Some(i) = item {
            q = q.filter(contact_access::Column::FeedbackItemId.eq(i));
        }
        if let Some(u) = staff_username {
            let id = staff_account::Entity::find()
                .filter(staff_account::Column::Username.eq(u))
                .one(self.connection())
                .await?
                .map(|s| s.id);
            q = q.filter(contact_access::Column::StaffAccountId.eq(id.unwrap_or(Uuid::nil())));
        }
        let rows = q.limit(limit).all(self.connection()).await?;
        let ids: Vec<Uuid> = rows.iter().map(|r| r.feedback_item_id).collect();
        let codes: Vec<(Uuid, String)> = feedback_item::Entity::find()
            .select_only()
            .column(feedback_item::Column::Id)
            .column(feedback_item::Column::TrackingCode)
            .filter(feedback_item::Column::Id.is_in(ids))
            .into_tuple()
            .all(self.connection())
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| AccessRow {
                tracking_code: codes
                    .iter()
                    .find(|(i, _)| *i == r.feedback_item_id)
                    .map(|(_, c)| c.clone())
                    .unwrap_or_default(),
                staff_username: r.staff_username,
                purpose: r.purpose,
                at: r.at,
            })
            .collect())
    }
}
