//! The agency's answer desk, beside the workflow: the answer as it is
//! being written, saved on the server every few seconds so that a closed
//! browser, a crash or a colleague taking over loses nothing (the workflow's
//! `answer` action records it on the item, under the version check); and
//! the agency's answer templates. Who may do what is decided here, from
//! the same rules the workflow applies.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::Services;
use super::staff_items::{Opened, StaffError};
use crate::domain::feedback::FieldError;
use crate::domain::redaction::{KnownPersonalData, find_spans};
use crate::domain::staff::{Actor, Permission};
use crate::domain::text::clean_multiline;
use crate::domain::time::VnTime;
use crate::domain::workflow::Action;
use crate::store::answers::{AnswerTemplateRow, DraftSave, SavedDraft, TemplateWrite};
use crate::store::journal::AuditEntry;

/// The longest answer (as the `answer` action allows).
pub const MAX_ANSWER_CHARS: usize = 20_000;
const MAX_TEMPLATE_NAME: usize = 120;

/// The answer being written, as saved on the server.
#[derive(Debug, Clone, Serialize)]
pub struct DraftView {
    pub text: String,
    /// Name it when saving again: a save over someone else's newer one is
    /// refused unless `overwrite` is set.
    pub revision: i32,
    pub saved_by: String,
    pub saved_at: VnTime,
    /// Whether the reader saved it.
    pub mine: bool,
}

impl DraftView {
    pub(crate) fn of(d: SavedDraft, actor: &Actor) -> Self {
        DraftView {
            mine: d.saved_by == actor.staff_id,
            text: d.text,
            revision: d.revision,
            saved_by: d.saved_by_name,
            saved_at: d.saved_at.into(),
        }
    }
}

/// Why a draft was not saved.
#[derive(Debug, thiserror::Error)]
pub enum DraftError {
    #[error(transparent)]
    Staff(#[from] StaffError),
    /// Someone saved since the revision the writer started from.
    #[error("someone else saved the draft")]
    Conflict(DraftView),
}

impl From<crate::store::StoreError> for DraftError {
    fn from(e: crate::store::StoreError) -> Self {
        DraftError::Staff(e.into())
    }
}

/// Whether `actor` may write the answer of the opened item now: exactly
/// when the workflow offers them the `answer` action.
async fn may_write(s: &Services, actor: &Actor, opened: &Opened) -> Result<(), StaffError> {
    s.workflow()
        .authorize(actor, opened.row(), Action::Answer)
        .await?;
    if !super::staff_items::offered(s, actor, opened, Action::Answer)? {
        return Err(StaffError::Workflow(
            super::workflow::WorkflowError::InvalidTransition {
                state: opened.row().item.state.clone(),
                version: opened.version(),
            },
        ));
    }
    Ok(())
}

/// The saved draft of the opened item, for whoever may write it (others
/// see the draft recorded on the item, in the item's view).
pub async fn saved_draft(
    s: &Services,
    actor: &Actor,
    opened: &Opened,
) -> Result<Option<DraftView>, StaffError> {
    if may_write(s, actor, opened).await.is_err() {
        return Ok(None);
    }
    Ok(s.store
        .saved_draft(opened.row().item.id)
        .await?
        .map(|d| DraftView::of(d, actor)))
}

/// Saves what `actor` has written so far. `base` is the revision they
/// started from (none: nothing was saved when they opened it).
pub async fn save_draft(
    s: &Services,
    actor: &Actor,
    opened: &Opened,
    text: &str,
    base: Option<i32>,
    overwrite: bool,
    now: DateTime<Utc>,
) -> Result<DraftView, DraftError> {
    may_write(s, actor, opened).await?;
    let text = clean_multiline(text);
    if text.chars().count() > MAX_ANSWER_CHARS {
        return Err(StaffError::Invalid(vec![FieldError::new("text", "too_long")]).into());
    }
    match s
        .store
        .save_draft(
            opened.row().item.id,
            &text,
            base,
            overwrite,
            actor.staff_id,
            now,
        )
        .await?
    {
        DraftSave::Saved(d) => Ok(DraftView::of(d, actor)),
        DraftSave::Conflict(d) => Err(DraftError::Conflict(DraftView::of(d, actor))),
    }
}

/// Forgets the saved draft once the answer is recorded on the item.
pub(crate) async fn answer_recorded(s: &Services, opened: &Opened) -> Result<(), StaffError> {
    Ok(s.store.clear_saved_draft(opened.row().item.id).await?)
}

/// One answer template of the reader's agency.
#[derive(Debug, Clone, Serialize)]
pub struct TemplateView {
    pub id: Uuid,
    pub name: String,
    pub body: String,
    pub updated_at: VnTime,
}

impl From<AnswerTemplateRow> for TemplateView {
    fn from(t: AnswerTemplateRow) -> Self {
        TemplateView {
            id: t.id,
            name: t.name,
            body: t.body,
            updated_at: t.updated_at.into(),
        }
    }
}

fn need(actor: &Actor, p: Permission) -> Result<(), StaffError> {
    if actor.may(p) {
        Ok(())
    } else {
        Err(StaffError::Forbidden)
    }
}

/// The reader's agency's templates, by name.
pub async fn templates(s: &Services, actor: &Actor) -> Result<Vec<TemplateView>, StaffError> {
    need(actor, Permission::UseAnswerTemplates)?;
    Ok(s.store
        .answer_templates(actor.agency.as_uuid())
        .await?
        .into_iter()
        .map(TemplateView::from)
        .collect())
}

/// One of the reader's agency's templates.
pub async fn template(s: &Services, actor: &Actor, id: Uuid) -> Result<TemplateView, StaffError> {
    need(actor, Permission::UseAnswerTemplates)?;
    s.store
        .answer_template(actor.agency.as_uuid(), id)
        .await?
        .map(TemplateView::from)
        .ok_or(StaffError::NotFound)
}

/// A template's fields as written.
#[derive(Debug, Clone, Default)]
pub struct TemplateInput {
    pub name: String,
    pub body: String,
}

/// Checks a template: a name, a body, and nothing that looks like a
/// citizen's data (a template is the agency's wording, never a case's).
fn check_template(input: &TemplateInput) -> Result<(String, String), Vec<FieldError>> {
    let name = input.name.split_whitespace().collect::<Vec<_>>().join(" ");
    let body = clean_multiline(&input.body);
    let mut errors = Vec::new();
    if name.is_empty() {
        errors.push(FieldError::new("name", "required"));
    } else if name.chars().count() > MAX_TEMPLATE_NAME {
        errors.push(FieldError::new("name", "too_long"));
    }
    if body.is_empty() {
        errors.push(FieldError::new("body", "required"));
    } else if body.chars().count() > MAX_ANSWER_CHARS {
        errors.push(FieldError::new("body", "too_long"));
    } else if !find_spans(&body, &KnownPersonalData::default()).is_empty() {
        errors.push(FieldError::new("body", "personal_data_in_template"));
    }
    if errors.is_empty() {
        Ok((name, body))
    } else {
        Err(errors)
    }
}

fn template_audit(
    actor: &Actor,
    action: &str,
    name: &str,
    request_id: Option<String>,
) -> AuditEntry {
    AuditEntry::by_staff(
        &actor.username,
        action,
        serde_json::json!({"name": name, "agency_id": actor.agency.as_uuid()}),
        request_id,
    )
}

/// Writes a new template (`id` none) or rewrites one, audited.
pub async fn write_template(
    s: &Services,
    actor: &Actor,
    id: Option<Uuid>,
    input: &TemplateInput,
    request_id: Option<String>,
    now: DateTime<Utc>,
) -> Result<TemplateView, StaffError> {
    need(actor, Permission::ManageAnswerTemplates)?;
    let (name, body) = check_template(input).map_err(StaffError::Invalid)?;
    let action = if id.is_some() {
        "answer_template.changed"
    } else {
        "answer_template.created"
    };
    let audit = template_audit(actor, action, &name, request_id);
    match s
        .store
        .write_answer_template(
            actor.agency.as_uuid(),
            id,
            &name,
            &body,
            actor.staff_id,
            &audit,
            now,
        )
        .await?
    {
        TemplateWrite::Written(row) => Ok(row.into()),
        TemplateWrite::NameTaken => Err(StaffError::Invalid(vec![FieldError::new(
            "name",
            "name_taken",
        )])),
        TemplateWrite::TooMany => Err(StaffError::Invalid(vec![FieldError::new(
            "name",
            "too_many_items",
        )])),
        TemplateWrite::NotFound => Err(StaffError::NotFound),
    }
}

/// Deletes one of the agency's templates, audited.
pub async fn delete_template(
    s: &Services,
    actor: &Actor,
    id: Uuid,
    request_id: Option<String>,
    now: DateTime<Utc>,
) -> Result<(), StaffError> {
    need(actor, Permission::ManageAnswerTemplates)?;
    let existing = template(s, actor, id).await?;
    let audit = template_audit(actor, "answer_template.deleted", &existing.name, request_id);
    if s.store
        .delete_answer_template(actor.agency.as_uuid(), id, &audit, now)
        .await?
    {
        Ok(())
    } else {
        Err(StaffError::NotFound)
    }
}

/// What the citizen will see once the answer is approved: the notice
/// e-mail (as the outbox renders it) and the answer as the lookup page
/// shows it, with the answer's documents by name.
#[derive(Debug, Clone, Serialize)]
pub struct AnswerPreview {
    pub mail_subject: String,
    pub mail_body: String,
    pub text: String,
    pub files: Vec<String>,
}

/// The preview of `text` as the answer of the item `view` shows.
pub fn preview(
    view: &super::staff_items::StaffItemView,
    text: &str,
    settings: &crate::config::Settings,
) -> Option<AnswerPreview> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let mut payload = serde_json::json!({
        "tracking_code": view.tracking_code,
        "lookup_url": super::outbox::lookup_url(settings, &view.tracking_code),
    });
    if settings.mail.answer_text_in_mail {
        payload["answer"] = text.into();
    }
    let mail =
        crate::domain::notice_templates::render("citizen_answered", &payload, &settings.office())?;
    Some(AnswerPreview {
        mail_subject: mail.subject,
        mail_body: mail.body,
        text: text.to_string(),
        files: view
            .attachments
            .iter()
            .filter(|a| a.source == "answer")
            .map(|a| a.file_name.clone())
            .collect(),
    })
}

/// `draft` with `template` added: the template alone into an empty draft,
/// else after what is written, a blank line between.
pub fn with_template(draft: &str, template: &str) -> String {
    let draft = draft.trim_end();
    if draft.is_empty() {
        template.to_string()
    } else {
        format!("{draft}\n\n{template}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_template_never_carries_a_citizens_data() {
        let ok = TemplateInput {
            name: "  Lời chào  ".into(),
            body: "Kính gửi Ông/Bà,\nSở Xây dựng trả lời như sau:".into(),
        };
        assert_eq!(check_template(&ok).unwrap().0, "Lời chào");
        for leak in [
            "Kính gửi ông, gọi lại số 0912345678",
            "Gửi về nguyenvana@example.vn",
            "CCCD 001203004567 của người gửi",
        ] {
            let bad = TemplateInput {
                name: "Mẫu".into(),
                body: leak.into(),
            };
            let errors = check_template(&bad).unwrap_err();
            assert_eq!(errors[0].code, "personal_data_in_template", "{leak}");
        }
        let empty = check_template(&TemplateInput::default()).unwrap_err();
        assert_eq!(empty.len(), 2);
    }

    #[test]
    fn a_template_goes_after_what_is_written() {
        assert_eq!(with_template("", "Kính gửi"), "Kính gửi");
        assert_eq!(
            with_template("Trả lời.\n\n", "Trân trọng."),
            "Trả lời.\n\nTrân trọng."
        );
    }
}
