//! The agency's answer desk: the answer as it is being written (saved on
//! the server every few seconds, one copy per item with a revision), and
//! each agency's answer templates, every change to them audited.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, TransactionTrait,
};
use uuid::Uuid;

use super::entities::{answer_draft_save, answer_template, staff_account};
use super::journal::{AuditEntry, write_audit};
use super::{Store, StoreError};

pub use answer_template::Model as AnswerTemplateRow;

/// The most templates one agency keeps.
pub const MAX_TEMPLATES: usize = 100;

/// The saved copy of an answer being written, with who saved it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedDraft {
    pub text: String,
    pub revision: i32,
    pub saved_by: Uuid,
    pub saved_by_name: String,
    pub saved_at: DateTime<Utc>,
}

/// What saving a draft came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DraftSave {
    Saved(SavedDraft),
    /// Someone saved since the revision the writer started from: theirs.
    Conflict(SavedDraft),
}

/// What a template change came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateWrite {
    Written(AnswerTemplateRow),
    NameTaken,
    TooMany,
    NotFound,
}

impl Store {
    /// The saved draft of `item`, if any.
    pub async fn saved_draft(&self, item: Uuid) -> Result<Option<SavedDraft>, StoreError> {
        let Some(row) = answer_draft_save::Entity::find_by_id(item)
            .one(self.connection())
            .await?
        else {
            return Ok(None);
        };
        let name = staff_account::Entity::find_by_id(row.saved_by)
            .one(self.connection())
            .await?
            .map(|s| s.display_name)
            .unwrap_or_default();
        Ok(Some(SavedDraft {
            text: row.text,
            revision: row.revision,
            saved_by: row.saved_by,
            saved_by_name: name,
            saved_at: row.saved_at,
        }))
    }

    /// Saves `text` as `item`'s draft for `staff`, if the saved draft is
    /// still at `base` (the revision the writer started from), was saved by
    /// `staff`, or `overwrite` is set; otherwise the draft someone else
    /// saved since comes back as a conflict.
    pub async fn save_draft(
        &self,
        item: Uuid,
        text: &str,
        base: Option<i32>,
        overwrite: bool,
        staff: Uuid,
        now: DateTime<Utc>,
    ) -> Result<DraftSave, StoreError> {
        let txn = self.connection().begin().await?;
        let current = answer_draft_save::Entity::find_by_id(item)
            .one(&txn)
            .await?;
        let revision = match &current {
            // None saved (or cleared when the answer was recorded): start.
            None => 1,
            // One's own earlier save (another tab, the save on leaving a
            // page) is never a conflict; someone else's is.
            Some(c) if overwrite || base == Some(c.revision) || c.saved_by == staff => {
                c.revision + 1
            }
            Some(_) => {
                txn.commit().await?;
                return Ok(match self.saved_draft(item).await? {
                    Some(theirs) => DraftSave::Conflict(theirs),
                    None => return Err(StoreError::Integrity("draft vanished".into())),
                });
            }
        };
        let written = if current.is_some() {
            answer_draft_save::Entity::update_many()
                .col_expr(answer_draft_save::Column::Text, Expr::value(text))
                .col_expr(answer_draft_save::Column::Revision, Expr::value(revision))
                .col_expr(answer_draft_save::Column::SavedBy, Expr::value(staff))
                .col_expr(answer_draft_save::Column::SavedAt, Expr::value(now))
                .filter(answer_draft_save::Column::FeedbackItemId.eq(item))
                .filter(answer_draft_save::Column::Revision.eq(revision - 1))
                .exec(&txn)
                .await?
                .rows_affected
        } else {
            let inserted = answer_draft_save::Entity::insert(answer_draft_save::ActiveModel {
                feedback_item_id: Set(item),
                text: Set(text.to_string()),
                revision: Set(revision),
                saved_by: Set(staff),
                saved_at: Set(now),
            })
            .on_conflict_do_nothing_on([answer_draft_save::Column::FeedbackItemId])
            .exec_without_returning(&txn)
            .await?;
            match inserted {
                sea_orm::TryInsertResult::Inserted(n) => n,
                _ => 0,
            }
        };
        txn.commit().await?;
        let saved = self
            .saved_draft(item)
            .await?
            .ok_or_else(|| StoreError::Integrity("draft vanished while saved".into()))?;
        // Another writer won the race between the read and the write.
        if written == 0 {
            return Ok(DraftSave::Conflict(saved));
        }
        Ok(DraftSave::Saved(saved))
    }

    /// Forgets `item`'s saved draft (the answer was recorded).
    pub async fn clear_saved_draft(&self, item: Uuid) -> Result<(), StoreError> {
        answer_draft_save::Entity::delete_by_id(item)
            .exec(self.connection())
            .await?;
        Ok(())
    }

    /// `agency`'s answer templates, by name.
    pub async fn answer_templates(
        &self,
        agency: Uuid,
    ) -> Result<Vec<AnswerTemplateRow>, StoreError> {
        Ok(answer_template::Entity::find()
            .filter(answer_template::Column::AgencyId.eq(agency))
            .order_by_asc(answer_template::Column::Name)
            .all(self.connection())
            .await?)
    }

    /// One of `agency`'s templates.
    pub async fn answer_template(
        &self,
        agency: Uuid,
        id: Uuid,
    ) -> Result<Option<AnswerTemplateRow>, StoreError> {
        Ok(answer_template::Entity::find_by_id(id)
            .filter(answer_template::Column::AgencyId.eq(agency))
            .one(self.connection())
            .await?)
    }

    /// Creates (`id` none) or rewrites one of `agency`'s templates, with
    /// its audit event.
    #[allow(clippy::too_many_arguments)]
    pub async fn write_answer_template(
        &self,
        agency: Uuid,
        id: Option<Uuid>,
        name: &str,
        body: &str,
        staff: Uuid,
        audit: &AuditEntry,
        now: DateTime<Utc>,
    ) -> Result<TemplateWrite, StoreError> {
        let txn = self.connection().begin().await?;
        let existing = answer_template::Entity::find()
            .filter(answer_template::Column::AgencyId.eq(agency))
            .all(&txn)
            .await?;
        if existing.iter().any(|t| t.name == name && Some(t.id) != id) {
            return Ok(TemplateWrite::NameTaken);
        }
        let id = match id {
            Some(id) => {
                if !existing.iter().any(|t| t.id == id) {
                    return Ok(TemplateWrite::NotFound);
                }
                answer_template::Entity::update_many()
                    .col_expr(answer_template::Column::Name, Expr::value(name))
                    .col_expr(answer_template::Column::Body, Expr::value(body))
                    .col_expr(answer_template::Column::UpdatedBy, Expr::value(staff))
                    .col_expr(answer_template::Column::UpdatedAt, Expr::value(now))
                    .filter(answer_template::Column::Id.eq(id))
                    .exec(&txn)
                    .await?;
                id
            }
            None => {
                if existing.len() >= MAX_TEMPLATES {
                    return Ok(TemplateWrite::TooMany);
                }
                let id = Uuid::now_v7();
                answer_template::Entity::insert(answer_template::ActiveModel {
                    id: Set(id),
                    agency_id: Set(agency),
                    name: Set(name.to_string()),
                    body: Set(body.to_string()),
                    updated_by: Set(staff),
                    updated_at: Set(now),
                })
                .exec_without_returning(&txn)
                .await?;
                id
            }
        };
        let mut audit = audit.clone();
        audit.details["template_id"] = serde_json::json!(id);
        write_audit(&txn, None, &audit, now).await?;
        txn.commit().await?;
        Ok(match self.answer_template(agency, id).await? {
            Some(row) => TemplateWrite::Written(row),
            None => TemplateWrite::NotFound,
        })
    }

    /// Deletes one of `agency`'s templates, with its audit event; `false`
    /// when there was none.
    pub async fn delete_answer_template(
        &self,
        agency: Uuid,
        id: Uuid,
        audit: &AuditEntry,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let txn = self.connection().begin().await?;
        let gone = answer_template::Entity::delete_many()
            .filter(answer_template::Column::Id.eq(id))
            .filter(answer_template::Column::AgencyId.eq(agency))
            .exec(&txn)
            .await?
            .rows_affected
            == 1;
        if gone {
            let mut audit = audit.clone();
            audit.details["template_id"] = serde_json::json!(id);
            write_audit(&txn, None, &audit, now).await?;
        }
        txn.commit().await?;
        Ok(gone)
    }
}
