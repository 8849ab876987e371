//! The citizen's view of their own item, opened with tracking code + token.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::config::Settings;
use crate::domain::feedback::{FeedbackKind, FeedbackState};
use crate::domain::ids::{AgencyId, FeedbackId};
use crate::domain::time::to_vietnam_rfc3339;
use crate::domain::tracking::{LookupToken, TrackingCode};
use crate::services::deadlines::{DeadlineExplanation, DeadlineService};
use crate::store::feedback::{AttachmentRow, FeedbackRow};
use crate::store::workflow::ANSWER_ATTACHMENT;
use crate::store::{Store, StoreError};

/// The deadlines of an item, explained to its submitter.
#[derive(Debug, Clone, Serialize)]
pub struct DeadlinesView {
    pub tracking_code: String,
    pub calendar_version: i64,
    pub deadlines: Vec<DeadlineExplanation>,
}

/// How the item's due dates were computed (same token as the lookup).
#[tracing::instrument(name = "Citizen deadline explanation", skip_all)]
pub async fn deadlines(
    store: &Store,
    service: &DeadlineService,
    code: &str,
    token: &str,
    now: DateTime<Utc>,
) -> Result<DeadlinesView, LookupError> {
    let row = authorize(store, code, token).await?;
    let id = FeedbackId::from_uuid(row.item.id);
    let mut deadlines = service.explain(store, id, now).await?;
    // Agencies' internal sub-deadlines are theirs, not the submitter's.
    deadlines.retain(|d| d.kind != "coordinate");
    Ok(DeadlinesView {
        tracking_code: row.item.tracking_code,
        calendar_version: service.calendar().current().version,
        deadlines,
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct CitizenView {
    pub tracking_code: String,
    pub status: &'static str,
    pub status_label: &'static str,
    /// One sentence on where the item stands, for this status.
    pub status_note: &'static str,
    /// What the agency below is to the citizen now ("Cơ quan tiếp nhận",
    /// "Cơ quan đang xử lý", "Cơ quan trả lời", …).
    pub agency_label: &'static str,
    pub kind: &'static str,
    pub kind_label: &'static str,
    pub title: String,
    pub received_at: String,
    pub handling_agency: AgencyRef,
    pub due_at: Option<String>,
    pub answer: Option<AnswerView>,
    pub attachments: usize,
    /// The submitter's rating of the answer, once given.
    pub rating: Option<u8>,
    /// What the office asked for, while the item waits for the submitter
    /// (ND 20 Art. 7: they may complete it).
    pub information_requested: Option<String>,
    /// Whether the submitter can send a supplement now.
    pub can_supplement: bool,
    /// Until when the answer can be rated; `None` when it cannot (not
    /// answered, already rated, or the window has passed).
    pub rating_open_until: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AgencyRef {
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct AnswerView {
    pub text: String,
    pub answered_at: Option<String>,
    /// The answer's documents (the signed reply, annexes).
    pub attachments: Vec<FileRef>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FileRef {
    pub id: String,
    pub file_name: String,
    pub media_type: String,
    pub size_bytes: i64,
    /// Opened with the same lookup token.
    pub download_url: String,
}

fn answer_files_of(row: &FeedbackRow) -> Vec<AttachmentRow> {
    // Only an answer sent to the citizen: never the draft's files.
    if row.item.answered_at.is_none() {
        return Vec::new();
    }
    row.attachments
        .iter()
        .filter(|a| a.source == ANSWER_ATTACHMENT)
        .cloned()
        .collect()
}

/// A file the submitter may download with their token: one they sent,
/// or one of the answer sent to them (their primary's, when merged).
pub async fn citizen_file(
    store: &Store,
    code: &str,
    token: &str,
    file: uuid::Uuid,
) -> Result<crate::services::staff_items::FileDownload, LookupError> {
    let row = authorize(store, code, token).await?;
    let mut allowed: Vec<AttachmentRow> = row
        .attachments
        .iter()
        .filter(|a| a.source != ANSWER_ATTACHMENT)
        .cloned()
        .collect();
    let answered = match row.item.merged_into_id {
        Some(p) => store
            .find_feedback_by_id(FeedbackId::from_uuid(p))
            .await?
            .map(|p| answer_files_of(&p))
            .unwrap_or_default(),
        None => answer_files_of(&row),
    };
    allowed.extend(answered);
    let meta = allowed
        .into_iter()
        .find(|a| a.id == file)
        .ok_or(LookupError::NotFound)?;
    let content = store
        .attachment_content(&meta.sha256)
        .await?
        .ok_or(LookupError::NotFound)?;
    Ok(crate::services::staff_items::FileDownload::of(
        &meta, content,
    ))
}

#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    /// Unknown code, malformed input and wrong token are indistinguishable
    /// on purpose: nobody learns whether someone else's code exists.
    #[error("no such item for this token")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The item behind `code` if `token` opens it; otherwise `NotFound`,
/// whatever the reason.
pub async fn authorize(store: &Store, code: &str, token: &str) -> Result<FeedbackRow, LookupError> {
    let token = LookupToken::parse(token);
    let Ok(code) = code.parse::<TrackingCode>() else {
        return Err(LookupError::NotFound);
    };
    let row = store.find_feedback_by_code(&code).await?;
    let (Some(row), Some(token)) = (row, token) else {
        return Err(LookupError::NotFound);
    };
    if !token.matches(&row.item.lookup_token_hash) {
        return Err(LookupError::NotFound);
    }
    Ok(row)
}

#[tracing::instrument(name = "Citizen lookup", skip_all)]
pub async fn lookup(
    store: &Store,
    settings: &Settings,
    code: &str,
    token: &str,
    now: DateTime<Utc>,
) -> Result<CitizenView, LookupError> {
    let row = authorize(store, code, token).await?;
    let own_id = FeedbackId::from_uuid(row.item.id);
    let own_state = row.item.state.clone();
    let rated = row.item.rated_at.is_some();
    let submitted_files = row
        .attachments
        .iter()
        .filter(|a| a.source != ANSWER_ATTACHMENT)
        .count();
    let mut answer_files = answer_files_of(&row);
    let own_code = row.item.tracking_code.clone();
    let mut item = row.item;
    // A duplicate merged into another item follows that item: its state,
    // agency, due date and answer are the ones the submitter sees.
    if let Some(primary) = item.merged_into_id
        && let Some(p) = store
            .find_feedback_by_id(FeedbackId::from_uuid(primary))
            .await?
    {
        answer_files = answer_files_of(&p);
        item.state = p.item.state;
        item.handling_agency_id = p.item.handling_agency_id;
        item.due_at = p.item.due_at;
        item.answer = p.item.answer;
        item.answered_at = p.item.answered_at;
    }
    let state = FeedbackState::parse(&item.state)
        .ok_or_else(|| StoreError::Integrity(format!("unknown state {}", item.state)))?;
    let kind = FeedbackKind::parse(&item.kind)
        .ok_or_else(|| StoreError::Integrity(format!("unknown kind {}", item.kind)))?;
    // Until an agency takes it, the receiving office holds the item.
    let agency_id =
        AgencyId::from_uuid(item.handling_agency_id.unwrap_or(item.receiving_agency_id));
    let agency = store.find_agency_by_id(agency_id).await?.ok_or_else(|| {
        StoreError::Integrity(format!(
            "item {} names a missing agency",
            item.tracking_code
        ))
    })?;
    let status = state.citizen_status();
    let fmt = |t: DateTime<Utc>| to_vietnam_rfc3339(t);
    // The item itself waits (a merged duplicate follows its primary).
    let waiting = own_state == FeedbackState::AwaitingInformation.as_str();
    let information_requested = if waiting {
        store
            .audit_events_for(own_id)
            .await?
            .into_iter()
            .rev()
            // Staff ask with `request-info`; the service itself (an
            // e-mail that lacked a name or address) with `request_info`.
            .find(|e| {
                matches!(
                    e.action.as_str(),
                    "feedback.request-info" | "feedback.request_info"
                )
            })
            .and_then(|e| e.reason)
    } else {
        None
    };
    // The same rule as `Workflow::rate`: once, within the window after
    // the answer was sent.
    let answered = matches!(
        state,
        FeedbackState::Answered
            | FeedbackState::Published
            | FeedbackState::Withheld
            | FeedbackState::Closed
    );
    let rating_open_until = item
        .answered_at
        .map(|t| t + chrono::Duration::days(i64::from(settings.workflow.rating_window_days)))
        .filter(|until| answered && !rated && now <= *until)
        .map(fmt);
    Ok(CitizenView {
        tracking_code: item.tracking_code,
        status: status.as_str(),
        status_label: status.label_vi(),
        status_note: status.note_vi(),
        agency_label: status.agency_label_vi(),
        kind: kind.as_str(),
        kind_label: kind.label_vi(),
        title: item.title,
        received_at: fmt(item.received_at),
        handling_agency: AgencyRef {
            code: agency.code,
            name: agency.name,
        },
        // A due date means nothing once answered or not accepted.
        due_at: item.due_at.filter(|_| status.is_open()).map(fmt),
        answer: item.answer.map(|text| AnswerView {
            text,
            answered_at: item.answered_at.map(fmt),
            attachments: answer_files
                .iter()
                .map(|a| FileRef {
                    id: a.id.to_string(),
                    file_name: a.file_name.clone(),
                    media_type: a.media_type.clone(),
                    size_bytes: a.size_bytes,
                    download_url: format!("/api/v1/feedback/{own_code}/attachments/{}", a.id),
                })
                .collect(),
        }),
        attachments: submitted_files,
        rating: item.rating_score.and_then(|s| u8::try_from(s).ok()),
        information_requested,
        can_supplement: waiting,
        rating_open_until,
    })
}
