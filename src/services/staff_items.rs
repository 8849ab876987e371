//! The staff read side of one item: opening it as an actor (who may see
//! it, and as what, is decided here and nowhere else), the typed view that
//! the JSON API and the console both render, and what the actor may do to
//! it now. Modelled on `services::lookup`, whose `CitizenView` serves the
//! citizen's lookup and `/tra-cuu` alike.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::Services;
use super::deadlines::DeadlineExplanation;
use super::workflow::{ActionInput, Choices, FieldSpec, WorkflowError, fields, item_facts};
use crate::domain::feedback::{Channel, ContentCategory, FeedbackKind, FeedbackState};
use crate::domain::ids::{AgencyId, FeedbackId, FieldId};
use crate::domain::rejection::CLARIFICATION_TIMEOUT;
use crate::domain::staff::{Actor, Involvement, ItemScope, Permission};
use crate::domain::time::VnTime;
use crate::domain::tracking::TrackingCode;
use crate::domain::workflow::{Action, available, separation_refuses};
use crate::store::StoreError;
use crate::store::coordination::{CoordinationRow, active_agencies};
use crate::store::directory_cache::DirectorySnapshot;
use crate::store::feedback::FeedbackRow;
use crate::store::journal::AuditEntry;

/// Why a staff request on an item is refused.
#[derive(Debug, thiserror::Error)]
pub enum StaffError {
    /// No such item, or not one this actor may see (the same answer: a
    /// code is not a secret, the content is).
    #[error("no such item for this actor")]
    NotFound,
    /// The actor sees the item but may not do this.
    #[error("not allowed")]
    Forbidden,
    #[error("invalid fields")]
    Invalid(Vec<crate::domain::feedback::FieldError>),
    #[error(transparent)]
    Workflow(#[from] WorkflowError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// `Forbidden` unless `actor` holds `permission`: the one check every
/// administrative service starts with.
pub fn require(actor: &Actor, permission: Permission) -> Result<(), StaffError> {
    if actor.may(permission) {
        Ok(())
    } else {
        Err(StaffError::Forbidden)
    }
}

/// An item opened by an actor who may see it.
pub struct Opened {
    row: FeedbackRow,
    involvement: Involvement,
}

impl Opened {
    pub fn involvement(&self) -> Involvement {
        self.involvement
    }

    pub fn tracking_code(&self) -> &str {
        &self.row.item.tracking_code
    }

    pub fn version(&self) -> i32 {
        self.row.item.version
    }

    pub(crate) fn row(&self) -> &FeedbackRow {
        &self.row
    }

    fn id(&self) -> FeedbackId {
        FeedbackId::from_uuid(self.row.item.id)
    }

    /// Whether `actor` may write an internal note on it: notes are the
    /// holding agency's and the province's working file; a coordinating
    /// agency answers through its contribution.
    pub fn may_add_note(&self, actor: &Actor) -> bool {
        actor.may(Permission::AddNote) && self.involvement != Involvement::Coordinating
    }

    /// Whether `actor` may write to the submitter (a coordinating agency
    /// does not know who they are).
    pub fn may_message_submitter(&self, actor: &Actor) -> bool {
        actor.may(Permission::MessageSubmitter) && self.involvement != Involvement::Coordinating
    }

    /// Whether `actor` may clear a bounced address (a coordinating agency
    /// does not see the address at all).
    pub fn may_clear_mail_failure(&self, actor: &Actor) -> bool {
        actor.may(Permission::ClearMailFailure) && self.involvement != Involvement::Coordinating
    }
}

/// What an item is opened for: its role rule is checked before the item
/// is looked at, so a role that may never do it is refused (403) without a
/// hint whether the item exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Read it.
    View,
    /// Take a workflow action (or a step of one: its answer's files, its
    /// proposals).
    Act(Action),
    /// Something a permission allows on items one sees (notes, clearing a
    /// mail failure).
    Permitted(Permission),
}

impl Purpose {
    fn allowed(self, actor: &Actor) -> bool {
        actor.may(Permission::ViewItems)
            && match self {
                Purpose::View => true,
                Purpose::Act(action) => crate::domain::workflow::role_may_ever(action, actor.role),
                Purpose::Permitted(p) => actor.may(p),
            }
    }
}

/// The item behind `code` as `actor` may see it, for `purpose`: the whole
/// province for the control office and auditors, the agency's own items
/// and those it coordinates for agency staff. Anything else is
/// `NotFound`, like an unknown code.
pub async fn open(
    s: &Services,
    actor: &Actor,
    code: &str,
    purpose: Purpose,
) -> Result<Opened, StaffError> {
    if !purpose.allowed(actor) {
        return Err(StaffError::Forbidden);
    }
    let code: TrackingCode = code.parse().map_err(|_| StaffError::NotFound)?;
    let row = s
        .store
        .find_feedback_by_code(&code)
        .await?
        .ok_or(StaffError::NotFound)?;
    let handling = row.item.handling_agency_id.map(AgencyId::from_uuid);
    // Only an agency that neither holds the item nor sees the province
    // needs to know whether it coordinates.
    let coordinating = if matches!(actor.item_scope(), ItemScope::OwnAgency(own) if handling != Some(own))
    {
        active_agencies(
            &s.store
                .coordinations_for(FeedbackId::from_uuid(row.item.id))
                .await?,
        )
    } else {
        Vec::new()
    };
    let involvement = actor
        .involvement(handling, &coordinating)
        .ok_or(StaffError::NotFound)?;
    Ok(Opened { row, involvement })
}

/// The item as `actor` sees it now.
pub async fn current_view(
    s: &Services,
    actor: &Actor,
    code: &str,
    now: DateTime<Utc>,
) -> Result<StaffItemView, StaffError> {
    let opened = open(s, actor, code, Purpose::View).await?;
    view(s, actor, &opened, now).await
}

/// Records that `actor` has the item open now, and answers who else had
/// it open since `since` (advisory: the version check still decides).
pub async fn presence(
    s: &Services,
    actor: &Actor,
    opened: &Opened,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Vec<String>, StaffError> {
    s.store
        .touch_presence(opened.row.item.id, actor.staff_id, now)
        .await?;
    Ok(s.store
        .others_present(opened.row.item.id, actor.staff_id, since)
        .await?)
}

/// The item as it is after the actor's own change, seen as they saw it
/// when they acted (an agency that just returned an item sees what it
/// did, though the item is no longer its own).
pub async fn after_change(
    s: &Services,
    actor: &Actor,
    opened: &Opened,
    now: DateTime<Utc>,
) -> Result<StaffItemView, StaffError> {
    let row = s
        .store
        .find_feedback_by_id(opened.id())
        .await?
        .ok_or(StaffError::NotFound)?;
    let refreshed = Opened {
        row,
        involvement: opened.involvement,
    };
    view(s, actor, &refreshed, now).await
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AgencyRef {
    pub code: String,
    pub name: String,
}

/// Who sent the item, as far as the actor may see.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum SubmitterView {
    Full(SubmitterDetails),
    /// A coordinating agency sees the question, not who asked it.
    Withheld {
        #[serde(rename = "type")]
        submitter_type: String,
        withheld: bool,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct SubmitterDetails {
    #[serde(rename = "type")]
    pub submitter_type: String,
    pub full_name: String,
    pub organization_name: Option<String>,
    pub address: AddressView,
    pub phone: Option<String>,
    pub email: Option<String>,
}

impl SubmitterView {
    /// The details, where the actor may see them.
    pub fn details(&self) -> Option<&SubmitterDetails> {
        match self {
            SubmitterView::Full(d) => Some(d),
            SubmitterView::Withheld { .. } => None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct AddressView {
    pub detail: String,
    pub province_code: Option<String>,
    pub commune_code: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AttachmentView {
    pub id: Uuid,
    pub file_name: String,
    pub kind: String,
    pub media_type: String,
    pub size_bytes: i64,
    /// `submitter` or `answer`.
    pub source: String,
    pub download_url: String,
}

impl AttachmentView {
    /// An image the page may show.
    pub fn is_image(&self) -> bool {
        matches!(self.kind.as_str(), "jpg" | "png")
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct HistoryEntry {
    pub action: String,
    pub actor_kind: String,
    pub actor: Option<String>,
    pub from_state: Option<String>,
    pub to_state: Option<String>,
    pub reason: Option<String>,
    pub details: serde_json::Value,
    pub occurred_at: VnTime,
}

impl HistoryEntry {
    /// What happened, in Vietnamese.
    pub fn label_vi(&self) -> String {
        history_label(&self.action)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct NoteView {
    pub id: Uuid,
    pub author: String,
    pub body: String,
    pub created_at: VnTime,
}

#[derive(Debug, Clone, Serialize)]
pub struct CoordinationView {
    pub agency: Option<AgencyRef>,
    pub state: String,
    pub request_note: String,
    pub requested_by: String,
    pub requested_at: VnTime,
    pub due_at: Option<String>,
    pub contribution: Option<String>,
    pub contributed_by: Option<String>,
    pub contributed_at: Option<VnTime>,
}

impl CoordinationView {
    pub fn state_label(&self) -> &'static str {
        match self.state.as_str() {
            "requested" => "đang chờ ý kiến",
            "contributed" => "đã cho ý kiến",
            "withdrawn" => "đã rút đề nghị",
            _ => "",
        }
    }

    /// The due instant as the pages show it.
    pub fn due_vi(&self) -> Option<String> {
        self.due_at
            .as_deref()
            .and_then(|d| DateTime::parse_from_rfc3339(d).ok())
            .map(|d| VnTime(d.with_timezone(&Utc)).datetime_vi())
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct SupplementView {
    pub text: String,
    pub created_at: VnTime,
}

#[derive(Debug, Clone, Serialize)]
pub struct RatingView {
    pub score: i32,
    pub comment: Option<String>,
    pub rated_at: Option<VnTime>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RejectionView {
    pub code: String,
    pub label: Option<String>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MailFailureView {
    pub failed_at: VnTime,
    pub blocked_until: VnTime,
    pub detail: Option<String>,
}

/// One message exchanged with the submitter.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "direction", rename_all = "snake_case")]
pub enum MessageView {
    Out {
        at: VnTime,
        kind: String,
        subject: Option<String>,
        /// queued | sent | bounced | skipped | failed
        delivery: String,
        error: Option<String>,
    },
    In {
        at: VnTime,
        inbound_mail_id: Uuid,
        subject: Option<String>,
        outcome: String,
        matched_by: Option<String>,
        note: Option<String>,
    },
}

impl MessageView {
    pub fn at(&self) -> &VnTime {
        match self {
            MessageView::Out { at, .. } | MessageView::In { at, .. } => at,
        }
    }

    pub fn direction_vi(&self) -> &'static str {
        match self {
            MessageView::Out { .. } => "gửi người dân",
            MessageView::In { .. } => "thư đến",
        }
    }

    /// The subject and what became of the message, in Vietnamese.
    pub fn summary_vi(&self) -> String {
        match self {
            MessageView::Out {
                subject,
                delivery,
                error,
                ..
            } => {
                let state = match delivery.as_str() {
                    "queued" => "chờ gửi",
                    "sent" => "đã gửi",
                    "bounced" => "bị trả lại",
                    "skipped" => "không gửi",
                    "failed" => "gửi lỗi",
                    other => other,
                };
                format!(
                    "{} ({state}{})",
                    subject.as_deref().unwrap_or("Thư báo"),
                    error
                        .as_deref()
                        .map(|e| format!(": {e}"))
                        .unwrap_or_default()
                )
            }
            MessageView::In {
                subject, outcome, ..
            } => format!(
                "{} ({})",
                subject.as_deref().unwrap_or("(không tiêu đề)"),
                match outcome.as_str() {
                    "new_item" => "tạo phản ánh",
                    "reply" => "thư trả lời",
                    "bounce" => "báo lỗi gửi thư",
                    "automatic" => "thư tự động",
                    _ => "chưa đọc được",
                }
            ),
        }
    }
}

/// One option of a choice field.
#[derive(Debug, Clone, Serialize)]
pub struct ChoiceView {
    pub value: String,
    pub label: String,
    /// Why it is there (a rejection reason's legal basis).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// What choosing it tells the submitter (a rejection reason's text,
    /// with where to go instead).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl ChoiceView {
    /// An option that is only a value and its label.
    pub fn plain(value: impl Into<String>, label: impl Into<String>) -> Self {
        Self {
            value: value.into(),
            label: label.into(),
            hint: None,
            note: None,
        }
    }
}

/// A field of an available action, with its options where they depend on
/// the item (the rejection reasons allowed now, the agencies asked to
/// contribute). Options that are the directory's (agencies, fields) are
/// named by `from` and filled by whoever draws the form.
#[derive(Debug, Clone, Serialize)]
pub struct ActionField {
    #[serde(flatten)]
    pub spec: FieldSpec,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<ChoiceView>>,
}

/// An action the actor may take on the item now.
#[derive(Debug, Clone, Serialize)]
pub struct AvailableAction {
    /// The API's and the console's name (`request-info`).
    pub action: &'static str,
    pub label: &'static str,
    pub fields: Vec<ActionField>,
}

/// Everything staff see of one item, as the actor may see it.
#[derive(Debug, Clone, Serialize)]
pub struct StaffItemView {
    pub tracking_code: String,
    pub kind: FeedbackKind,
    pub title: String,
    pub content: String,
    pub content_category: Option<ContentCategory>,
    pub field_code: Option<String>,
    /// The submitter's hint.
    pub agency_code: Option<String>,
    pub submitter: SubmitterView,
    pub consent_to_publish: bool,
    pub channel: Channel,
    pub state: FeedbackState,
    pub language_flagged: bool,
    pub receiving_agency: Option<AgencyRef>,
    pub handling_agency: Option<AgencyRef>,
    pub received_at: VnTime,
    pub registered_at: VnTime,
    pub due_at: Option<VnTime>,
    pub overdue: bool,
    pub entered_by: Option<String>,
    pub intake: Option<serde_json::Value>,
    pub deadlines: Vec<DeadlineExplanation>,
    pub attachments: Vec<AttachmentView>,
    pub history: Vec<HistoryEntry>,
    pub notes: Vec<NoteView>,
    pub messages: Vec<MessageView>,
    pub version: i32,
    pub procedure_text: Option<String>,
    pub procedure_code: Option<String>,
    /// When the submitter's contact data was removed under the retention
    /// policy (the fields above are then empty).
    pub contact_erased_at: Option<VnTime>,
    pub rejection: Option<RejectionView>,
    pub answer_draft: Option<String>,
    pub answer_signed_off: bool,
    pub answer: Option<String>,
    pub answered_at: Option<VnTime>,
    pub question_redacted: Option<String>,
    pub title_redacted: Option<String>,
    pub answer_redacted: Option<String>,
    pub public: bool,
    pub published_at: Option<VnTime>,
    pub withheld_reason: Option<String>,
    pub bounce_count: i32,
    pub needs_attention: bool,
    pub supplements: Vec<SupplementView>,
    pub rating: Option<RatingView>,
    pub coordination: Vec<CoordinationView>,
    pub involvement: &'static str,
    pub mail_failure: Option<MailFailureView>,
    /// What the actor may do to the item now, each with its fields.
    pub actions: Vec<AvailableAction>,
    /// What the machine would allow but is not offered now, and why.
    pub withheld_actions: Vec<WithheldAction>,
    /// The answer as saved while being written (for those who write it).
    pub saved_draft: Option<super::answers::DraftView>,
    /// The answer was sent back to be revised: why, by whom.
    pub sent_back: Option<SentBackView>,
}

/// An action not offered now, and why.
#[derive(Debug, Clone, Serialize)]
pub struct WithheldAction {
    pub action: &'static str,
    pub label: &'static str,
    pub reason: &'static str,
}

/// Why the answer was sent back.
#[derive(Debug, Clone, Serialize)]
pub struct SentBackView {
    pub reason: String,
    pub by: Option<String>,
    pub at: VnTime,
    /// By the control office's review (else by the agency's lead).
    pub from_review: bool,
}

impl StaffItemView {
    pub fn state_label(&self) -> &'static str {
        self.state.label_vi()
    }

    pub fn kind_label(&self) -> &'static str {
        self.kind.label_vi()
    }

    pub fn channel_label(&self) -> &'static str {
        self.channel.label_vi()
    }

    pub fn category_label(&self) -> &'static str {
        self.content_category.map_or("", ContentCategory::label_vi)
    }

    pub fn action(&self, name: &str) -> Option<&AvailableAction> {
        self.actions.iter().find(|a| a.action == name)
    }

    /// Whether the clock is stopped while the office waits for the citizen.
    pub fn paused(&self) -> bool {
        self.state == FeedbackState::AwaitingInformation
    }
}

fn agency_ref(directory: &DirectorySnapshot, id: Option<Uuid>) -> Option<AgencyRef> {
    id.and_then(|id| directory.agency_names.get(&AgencyId::from_uuid(id)))
        .map(|(code, name)| AgencyRef {
            code: code.clone(),
            name: name.clone(),
        })
}

fn integrity(what: &str, value: &str) -> StoreError {
    StoreError::Integrity(format!("unknown {what} {value}"))
}

/// The view of `opened` for `actor` at `now`.
pub async fn view(
    s: &Services,
    actor: &Actor,
    opened: &Opened,
    now: DateTime<Utc>,
) -> Result<StaffItemView, StaffError> {
    let directory = s.store.directory_snapshot().await?;
    let item = &opened.row.item;
    let id = opened.id();
    let involvement = opened.involvement;
    let coordinating = involvement == Involvement::Coordinating;
    let history = s.store.audit_events_for(id).await?;
    let notes = s.store.notes_for(id).await?;
    let mut staff_ids: Vec<Uuid> = notes.iter().map(|n| n.staff_id).collect();
    staff_ids.extend(item.entered_by_staff_id);
    let names = s.store.staff_usernames(&staff_ids).await?;
    let name_of = |id: Uuid| {
        names
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, n)| n.clone())
            .unwrap_or_default()
    };
    let mut deadlines = s.deadlines.explain(&s.store, id, now).await?;
    let coordination = s.store.coordinations_for(id).await?;
    let due_of = |deadline: Option<Uuid>| {
        deadline
            .and_then(|d| deadlines.iter().find(|x| x.id == d))
            .and_then(|x| x.due_at.clone())
    };
    let coordination_view: Vec<CoordinationView> = coordination
        .iter()
        // A coordinating agency sees its own request only.
        .filter(|c| !coordinating || AgencyId::from_uuid(c.agency_id) == actor.agency)
        .map(|c| CoordinationView {
            agency: agency_ref(&directory, Some(c.agency_id)),
            state: c.state.clone(),
            request_note: c.request_note.clone(),
            requested_by: c.requested_by.clone(),
            requested_at: c.requested_at.into(),
            due_at: due_of(c.deadline_id),
            contribution: c.contribution.clone(),
            contributed_by: c.contributed_by.clone(),
            contributed_at: c.contributed_at.map(VnTime),
        })
        .collect();
    if coordinating {
        deadlines.retain(|d| d.agency_id == Some(actor.agency.as_uuid()));
    }
    let state = FeedbackState::parse(&item.state).ok_or_else(|| integrity("state", &item.state))?;
    let block = chrono::Duration::days(i64::from(s.settings.mail.bounce_block_days));
    let mail_failure = match (&item.email, coordinating) {
        (Some(email), false) => {
            s.store
                .address_failure(email, block, now)
                .await?
                .map(|f| MailFailureView {
                    failed_at: f.failed_at.into(),
                    blocked_until: f.blocked_until.into(),
                    detail: f.detail,
                })
        }
        _ => None,
    };
    let messages = if coordinating {
        Vec::new()
    } else {
        messages(s, item.id).await?
    };
    let (actions, withheld_actions) =
        available_actions(s, actor, opened, state, &coordination, now, &directory).await?;
    let saved_draft = if actions.iter().any(|a| a.action == Action::Answer.as_str()) {
        s.store
            .saved_draft(item.id)
            .await?
            .map(|d| super::answers::DraftView::of(d, actor))
    } else {
        None
    };
    let sent_back = if coordinating || state != FeedbackState::InHandling {
        None
    } else {
        sent_back_of(&history)
    };
    // Least privilege for a coordinating agency: the question and its
    // evidence, not who sent it nor the lead agency's working file.
    // Being shown a submitter's contact data is written down.
    if !coordinating {
        super::subject::record_view(s, actor, item.id, "item_page", now).await?;
    }
    let submitter = if coordinating {
        SubmitterView::Withheld {
            submitter_type: item.submitter_type.clone(),
            withheld: true,
        }
    } else {
        SubmitterView::Full(SubmitterDetails {
            submitter_type: item.submitter_type.clone(),
            full_name: item.submitter_name.clone(),
            organization_name: item.organization_name.clone(),
            address: AddressView {
                detail: item.address_detail.clone(),
                province_code: item.address_province_code.clone(),
                commune_code: item.address_commune_code.clone(),
            },
            phone: item.phone.clone(),
            email: item.email.clone(),
        })
    };
    let private = |v: Option<String>| if coordinating { None } else { v };
    Ok(StaffItemView {
        tracking_code: item.tracking_code.clone(),
        kind: FeedbackKind::parse(&item.kind).ok_or_else(|| integrity("kind", &item.kind))?,
        title: item.title.clone(),
        content: item.content.clone(),
        content_category: item
            .content_category
            .as_deref()
            .and_then(ContentCategory::parse),
        field_code: item
            .field_id
            .and_then(|f| directory.field_codes.get(&FieldId::from_uuid(f)).cloned()),
        agency_code: agency_ref(&directory, item.agency_hint_id).map(|a| a.code),
        submitter,
        consent_to_publish: item.consent_to_publish,
        channel: Channel::parse(&item.channel)
            .ok_or_else(|| integrity("channel", &item.channel))?,
        state,
        language_flagged: item.language_flagged,
        receiving_agency: agency_ref(&directory, Some(item.receiving_agency_id)),
        handling_agency: agency_ref(&directory, item.handling_agency_id),
        received_at: item.received_at.into(),
        registered_at: item.created_at.into(),
        due_at: item.due_at.map(VnTime),
        overdue: item.due_at.is_some_and(|d| d < now),
        entered_by: if coordinating {
            None
        } else {
            item.entered_by_staff_id.map(name_of)
        },
        intake: if coordinating {
            None
        } else {
            item.intake_details.clone()
        },
        deadlines,
        attachments: opened
            .row
            .attachments
            .iter()
            .map(|a| AttachmentView {
                id: a.id,
                file_name: a.file_name.clone(),
                kind: a.file_kind.clone(),
                media_type: a.media_type.clone(),
                size_bytes: a.size_bytes,
                source: a.source.clone(),
                download_url: format!(
                    "/api/v1/staff/feedback/{}/attachments/{}",
                    item.tracking_code, a.id
                ),
            })
            .collect(),
        history: if coordinating {
            Vec::new()
        } else {
            history
                .iter()
                .map(|e| HistoryEntry {
                    action: e.action.clone(),
                    actor_kind: e.actor_kind.clone(),
                    actor: e.actor_id.clone(),
                    from_state: e.from_state.clone(),
                    to_state: e.to_state.clone(),
                    reason: e.reason.clone(),
                    details: e.details.clone(),
                    occurred_at: e.occurred_at.into(),
                })
                .collect()
        },
        notes: if coordinating {
            Vec::new()
        } else {
            notes
                .iter()
                .map(|n| NoteView {
                    id: n.id,
                    author: name_of(n.staff_id),
                    body: n.body.clone(),
                    created_at: n.created_at.into(),
                })
                .collect()
        },
        messages,
        version: item.version,
        procedure_text: item.procedure_text.clone(),
        procedure_code: item.procedure_code.clone(),
        contact_erased_at: item.contact_erased_at.map(Into::into),
        rejection: if coordinating {
            None
        } else {
            item.rejection_code.as_ref().map(|code| RejectionView {
                code: code.clone(),
                label: s.rejection_reasons.get(code).map(|r| r.label.clone()),
                note: item.rejection_note.clone(),
            })
        },
        answer_draft: private(item.answer_draft.clone()),
        answer_signed_off: item.answer_signed_off_by.is_some(),
        answer: item.answer.clone(),
        answered_at: item.answered_at.map(VnTime),
        question_redacted: item.question_redacted.clone(),
        title_redacted: item.title_redacted.clone(),
        answer_redacted: item.answer_redacted.clone(),
        public: item.public_search_text.is_some(),
        published_at: item.published_at.map(VnTime),
        withheld_reason: item.withheld_reason.clone(),
        bounce_count: item.bounce_count,
        needs_attention: item.needs_attention,
        supplements: if coordinating {
            Vec::new()
        } else {
            s.store
                .supplements_for(id)
                .await?
                .into_iter()
                .map(|x| SupplementView {
                    text: x.text,
                    created_at: x.created_at.into(),
                })
                .collect()
        },
        rating: if coordinating {
            None
        } else {
            item.rating_score.map(|score| RatingView {
                score,
                comment: item.rating_comment.clone(),
                rated_at: item.rated_at.map(VnTime),
            })
        },
        coordination: coordination_view,
        involvement: match involvement {
            Involvement::Handling => "handling",
            Involvement::Coordinating => "coordinating",
            Involvement::Overseeing => "overseeing",
        },
        mail_failure,
        actions,
        withheld_actions,
        saved_draft,
        sent_back,
    })
}

/// The latest sending back of the answer, while it is still to be acted
/// on (until the next sign-off).
fn sent_back_of(history: &[crate::store::feedback::AuditEventRow]) -> Option<SentBackView> {
    let last = history
        .iter()
        .rev()
        .take_while(|e| e.action != "feedback.sign-off")
        .find(|e| e.action == "feedback.send-back")?;
    Some(SentBackView {
        reason: last.reason.clone().unwrap_or_default(),
        by: last.actor_id.clone(),
        at: last.occurred_at.into(),
        from_review: last.from_state.as_deref() == Some(FeedbackState::AnswerUnderReview.as_str()),
    })
}

/// What the submitter was sent and what they wrote back, oldest first; at
/// the same instant the citizen's mail comes before the acknowledgement it
/// caused.
async fn messages(s: &Services, item: Uuid) -> Result<Vec<MessageView>, StoreError> {
    let (outbound, inbound) = s.store.item_messages(item).await?;
    let office = s.settings.office();
    let mut messages: Vec<(DateTime<Utc>, u8, MessageView)> = Vec::new();
    for n in outbound {
        let rendered = crate::domain::notice_templates::render(&n.kind, &n.payload, &office);
        messages.push((
            n.created_at,
            1,
            MessageView::Out {
                at: n.sent_at.unwrap_or(n.created_at).into(),
                kind: n.kind,
                subject: rendered.map(|r| r.subject),
                delivery: n.status,
                error: n.last_error,
            },
        ));
    }
    for m in inbound {
        messages.push((
            m.received_at,
            0,
            MessageView::In {
                at: m.received_at.into(),
                inbound_mail_id: m.id,
                subject: m.subject,
                outcome: m.outcome,
                matched_by: m.matched_by,
                note: m.note,
            },
        ));
    }
    messages.sort_by_key(|(at, order, _)| (*at, *order));
    Ok(messages.into_iter().map(|(_, _, v)| v).collect())
}

/// The messages of an item, for staff who may see its submitter.
pub async fn item_messages(s: &Services, opened: &Opened) -> Result<Vec<MessageView>, StaffError> {
    if opened.involvement == Involvement::Coordinating {
        return Err(StaffError::Forbidden);
    }
    Ok(messages(s, opened.row.item.id).await?)
}

/// The Vietnamese label of an action.
pub fn action_label(action: Action) -> &'static str {
    match action {
        Action::Classify => "Phân loại",
        Action::RequestInfo => "Đề nghị bổ sung thông tin",
        Action::Supplement => "Ghi nhận thông tin bổ sung",
        Action::Reject => "Không tiếp nhận",
        Action::Forward => "Chuyển cơ quan xử lý",
        Action::Accept => "Tiếp nhận xử lý",
        Action::Return => "Trả lại (không thuộc thẩm quyền)",
        Action::Answer => "Soạn trả lời",
        Action::SignOff => "Ký duyệt dự thảo",
        Action::Approve => "Duyệt trả lời",
        Action::SendBack => "Trả lại dự thảo",
        Action::Publish => "Công khai",
        Action::Withhold => "Không công khai",
        Action::Unpublish => "Gỡ công khai",
        Action::Close => "Đóng hồ sơ",
        Action::Merge => "Gộp vào phản ánh trùng",
        Action::RequestCoordination => "Đề nghị phối hợp",
        Action::WithdrawCoordination => "Rút đề nghị phối hợp",
        Action::Contribute => "Gửi ý kiến phối hợp",
        Action::Recall => "Thu hồi",
    }
}

/// What an audit action says, in Vietnamese (the history timeline).
pub fn history_label(action: &str) -> String {
    let known = match action {
        "feedback.received" => "Tiếp nhận",
        "feedback.supplement" => "Người gửi bổ sung thông tin",
        "feedback.rated" => "Người gửi đánh giá trả lời",
        "feedback.request_info" => "Hệ thống đề nghị bổ sung thông tin",
        "feedback.clarification_undelivered" => "Hết hạn bổ sung nhưng đề nghị chưa đến người gửi",
        "feedback.note_added" => "Thêm ghi chú nội bộ",
        "feedback.mail_failure_cleared" => "Gỡ đánh dấu lỗi địa chỉ thư",
        "feedback.message_sent" => "Gửi thư cho người gửi",
        "feedback.answer-files-added" => "Đính kèm tệp trả lời",
        "feedback.answer-file-removed" => "Gỡ tệp trả lời",
        "deadline.paused" => "Tạm dừng tính thời hạn",
        "deadline.resumed" => "Tính tiếp thời hạn",
        "deadline.extended" => "Gia hạn",
        "deadline.recomputed" => "Tính lại thời hạn theo lịch",
        "note.added" => "Thêm ghi chú nội bộ",
        "agency_succeeded" => "Chuyển sang cơ quan kế thừa (sắp xếp tổ chức)",
        "directory.agency_created" => "Thêm cơ quan vào danh mục",
        "directory.agency_changed" => "Sửa thông tin cơ quan",
        "directory.field_saved" => "Lưu lĩnh vực",
        "directory.unit_saved" => "Lưu xã, phường",
        "directory.routing_rule_added" => "Thêm quy tắc định tuyến",
        "directory.routing_rule_changed" => "Sửa quy tắc định tuyến",
        "directory.routing_rule_deleted" => "Xoá quy tắc định tuyến",
        "directory.routing_rules_imported" => "Nạp tệp quy tắc định tuyến",
        "directory.succession" => "Sắp xếp cơ quan: khai báo cơ quan kế thừa",
        "directory.succession_sweep" => "Chuyển phản ánh còn lại sang cơ quan kế thừa",
        "calendar.day_set" => "Sửa một ngày trong lịch làm việc",
        "calendar.day_removed" => "Bỏ một ngày đã sửa trong lịch làm việc",
        "calendar.year_replaced" => "Nạp lịch làm việc của năm",
        "api_key.created" => "Tạo khoá API",
        "api_key.revoked" => "Thu hồi khoá API",
        "staff.account_created" => "Tạo tài khoản cán bộ",
        "staff.account_changed" => "Sửa tài khoản cán bộ",
        "staff.account_disabled" => "Khoá tài khoản cán bộ",
        "staff.account_enabled" => "Mở lại tài khoản cán bộ",
        "staff.account_unlocked" => "Gỡ tạm khoá tài khoản",
        "staff.password_link_issued" => "Tạo đường dẫn đặt mật khẩu",
        "staff.password_set" => "Đặt mật khẩu",
        "staff.daily_digest_changed" => "Đổi lựa chọn thư tổng hợp hằng ngày",
        _ => "",
    };
    if !known.is_empty() {
        return known.to_string();
    }
    action
        .strip_prefix("feedback.")
        .and_then(|a| Action::ALL.into_iter().find(|x| x.as_str() == a))
        .map_or_else(|| action.to_string(), |a| action_label(a).to_string())
}

/// The actions `actor` may take on the item now, with their fields and the
/// options that depend on the item: the domain's machine and role table
/// (`domain::workflow::available`), the same check the workflow applies.
async fn available_actions(
    s: &Services,
    actor: &Actor,
    opened: &Opened,
    state: FeedbackState,
    coordination: &[CoordinationRow],
    now: DateTime<Utc>,
    directory: &DirectorySnapshot,
) -> Result<(Vec<AvailableAction>, Vec<WithheldAction>), StaffError> {
    let item = &opened.row.item;
    let actions = available(state, actor.role, opened.involvement, item_facts(item));
    let mut out = Vec::with_capacity(actions.len());
    let mut withheld = Vec::new();
    for action in actions {
        if let Some(reason) = withheld_because(s, actor, opened, action) {
            withheld.push(WithheldAction {
                action: action.as_str(),
                label: action_label(action),
                reason,
            });
            continue;
        }
        let mut fields_out = Vec::new();
        for spec in fields(action) {
            let options = match spec.kind {
                super::workflow::FieldKind::Choice {
                    from: Choices::RejectionReason,
                } => {
                    let over = state == FeedbackState::AwaitingInformation
                        && super::workflow::clarification_over(&s.store, opened.id(), now).await?;
                    Some(
                        s.rejection_reasons
                            .all()
                            .iter()
                            .filter(|r| {
                                r.staff_may_use || (r.code == CLARIFICATION_TIMEOUT && over)
                            })
                            .map(|r| ChoiceView {
                                value: r.code.clone(),
                                label: format!("{} — {}", r.code, r.label),
                                hint: Some(r.basis.clone()),
                                note: Some(r.citizen.clone()),
                            })
                            .collect(),
                    )
                }
                super::workflow::FieldKind::Choice {
                    from: Choices::CoordinatingAgency,
                } => Some(
                    coordination
                        .iter()
                        .filter(|c| c.state == "requested")
                        .filter_map(|c| agency_ref(directory, Some(c.agency_id)))
                        .map(|a| ChoiceView::plain(a.code, a.name))
                        .collect(),
                ),
                super::workflow::FieldKind::Choice {
                    from: Choices::WithholdReason,
                } => Some(
                    crate::domain::feedback::WITHHOLD_REASONS
                        .iter()
                        .map(|(code, label)| ChoiceView::plain(*code, *label))
                        .collect(),
                ),
                _ => None,
            };
            fields_out.push(ActionField {
                spec: *spec,
                options,
            });
        }
        out.push(AvailableAction {
            action: action.as_str(),
            label: action_label(action),
            fields: fields_out,
        });
    }
    Ok((out, withheld))
}

/// Why an action the machine and the role table allow is not offered to
/// `actor` now (the workflow refuses it for the same reason).
fn withheld_because(
    s: &Services,
    actor: &Actor,
    opened: &Opened,
    action: Action,
) -> Option<&'static str> {
    let item = &opened.row.item;
    if separation_refuses(
        action,
        s.settings.workflow.four_eyes,
        actor.staff_id,
        item.answer_drafted_by,
    ) {
        return Some(
            "Ông/Bà soạn dự thảo trả lời này; theo quy tắc bốn mắt của đơn vị, cán bộ khác duyệt.",
        );
    }
    if action == Action::Publish
        && !super::publication::basis_allows(s.settings.publication.basis, item)
    {
        return Some(
            "Người gửi không đồng ý công khai: phản ánh này chỉ có thể không công khai (ghi lý do).",
        );
    }
    None
}

/// Whether `action` is offered to `actor` on the item now: the domain's
/// machine and role table, and the reasons an action is withheld.
pub(crate) fn offered(
    s: &Services,
    actor: &Actor,
    opened: &Opened,
    action: Action,
) -> Result<bool, StaffError> {
    let item = &opened.row.item;
    let state = FeedbackState::parse(&item.state).ok_or_else(|| integrity("state", &item.state))?;
    Ok(
        available(state, actor.role, opened.involvement, item_facts(item)).contains(&action)
            && withheld_because(s, actor, opened, action).is_none(),
    )
}

/// An action's fields as they came: a JSON body (the API) or a form (the
/// console), with the same names.
pub enum ActionBody {
    Json(serde_json::Value),
    Form(Vec<(String, String)>),
}

/// Takes `action` on the item as `actor`: whether the actor may act at all
/// is decided first (so a refusal does not depend on the fields), then
/// the fields are read, then the workflow checks the rest against the
/// item as it is now.
pub async fn act(
    s: &Services,
    actor: &Actor,
    opened: &Opened,
    action: Action,
    body: ActionBody,
    request_id: Option<String>,
    now: DateTime<Utc>,
) -> Result<(), StaffError> {
    let workflow = s.workflow();
    workflow.authorize(actor, &opened.row, action).await?;
    let input = match body {
        ActionBody::Json(v) => ActionInput::parse(action, v),
        ActionBody::Form(pairs) => ActionInput::from_form(action, &pairs),
    }
    .map_err(StaffError::Invalid)?;
    workflow
        .take(actor, &opened.row, &input, request_id, now)
        .await?;
    if action == Action::Answer {
        super::answers::answer_recorded(s, opened).await?;
    }
    Ok(())
}

/// Adds files to (or removes one from) the answer being drafted.
pub async fn edit_answer_files(
    s: &Services,
    actor: &Actor,
    opened: &Opened,
    version: Option<i32>,
    change: super::workflow::AnswerFiles,
    request_id: Option<String>,
    now: DateTime<Utc>,
) -> Result<(), StaffError> {
    s.workflow()
        .edit_answer_files(actor, &opened.row, version, change, request_id, now)
        .await?;
    Ok(())
}

/// Adds an internal note (never shown to citizens); not for a coordinating
/// agency, which answers through its contribution.
pub async fn add_note(
    s: &Services,
    actor: &Actor,
    opened: &Opened,
    body: &str,
    request_id: Option<String>,
    now: DateTime<Utc>,
) -> Result<NoteView, StaffError> {
    if !opened.may_add_note(actor) {
        return Err(StaffError::Forbidden);
    }
    let text = crate::domain::text::clean_multiline(body);
    if text.is_empty() || text.chars().count() > 5000 {
        return Err(StaffError::Invalid(vec![
            crate::domain::feedback::FieldError::new(
                "body",
                if text.is_empty() {
                    "required"
                } else {
                    "too_long"
                },
            ),
        ]));
    }
    let note = s
        .store
        .insert_note(opened.id(), actor, &text, request_id, now)
        .await?;
    Ok(NoteView {
        id: note.id,
        author: actor.username.clone(),
        body: note.body,
        created_at: note.created_at.into(),
    })
}

/// The submitter's address works again: notices to it resume, and those
/// of this item skipped because of it are queued again. `NotFound` when
/// there is nothing to clear.
pub async fn clear_mail_failure(
    s: &Services,
    actor: &Actor,
    opened: &Opened,
    request_id: Option<String>,
    now: DateTime<Utc>,
) -> Result<(), StaffError> {
    if !opened.may_clear_mail_failure(actor) {
        return Err(StaffError::Forbidden);
    }
    let item = &opened.row.item;
    let Some(email) = item.email.as_deref() else {
        return Err(StaffError::NotFound);
    };
    let audit = AuditEntry {
        actor_kind: "staff".into(),
        actor_id: Some(actor.username.clone()),
        action: "feedback.mail_failure_cleared".into(),
        from_state: Some(item.state.clone()),
        to_state: Some(item.state.clone()),
        reason: None,
        details: serde_json::json!({}),
        request_id,
    };
    if s.store
        .clear_address_failure(email, item.id, &audit, now)
        .await?
    {
        Ok(())
    } else {
        Err(StaffError::NotFound)
    }
}

/// The longest message to a submitter.
const MAX_MESSAGE_CHARS: usize = 5000;

/// Writes to the submitter of the opened item through the outbox. A plain
/// message: the clock does not pause (asking for missing information is
/// the `request-info` action, which does). Audited with its text.
pub async fn message_submitter(
    s: &Services,
    actor: &Actor,
    opened: &Opened,
    text: &str,
    request_id: Option<String>,
    now: DateTime<Utc>,
) -> Result<(), StaffError> {
    use crate::domain::feedback::FieldError;
    if !opened.may_message_submitter(actor) {
        return Err(StaffError::Forbidden);
    }
    let text = crate::domain::text::clean_multiline(text);
    let item = &opened.row.item;
    let problem = if text.is_empty() {
        Some("required")
    } else if text.chars().count() > MAX_MESSAGE_CHARS {
        Some("too_long")
    } else if item.email.is_none() {
        Some("no_email")
    } else {
        None
    };
    if let Some(code) = problem {
        return Err(StaffError::Invalid(vec![FieldError::new("text", code)]));
    }
    let audit = AuditEntry {
        actor_kind: "staff".into(),
        actor_id: Some(actor.username.clone()),
        action: "feedback.message_sent".into(),
        from_state: Some(item.state.clone()),
        to_state: Some(item.state.clone()),
        reason: Some(text.clone()),
        details: serde_json::json!({}),
        request_id,
    };
    let notice = crate::store::journal::NewNotice {
        dedupe_key: format!("{}:citizen_message:{}", item.id, Uuid::now_v7()),
        kind: "citizen_message".into(),
        audience: "submitter".into(),
        agency_id: item.receiving_agency_id,
        feedback_item_id: Some(item.id),
        deadline_id: None,
        staff_account_id: None,
        payload: serde_json::json!({"tracking_code": item.tracking_code, "text": text}),
    };
    s.store
        .record_and_notify(item.id, &audit, &[notice], now)
        .await?;
    Ok(())
}

/// A file of the item, as staff may download it.
pub struct FileDownload {
    pub file_name: String,
    pub media_type: String,
    /// Shown in the page (an image) rather than saved.
    pub inline: bool,
    pub content: Vec<u8>,
}

impl FileDownload {
    /// A stored file: named with the extension of its detected type (files
    /// stored before names were made to agree with their type get it
    /// here), an image shown, anything else downloaded.
    pub(crate) fn of(meta: &crate::store::feedback::AttachmentRow, content: Vec<u8>) -> Self {
        let kind = crate::domain::attachment::AttachmentKind::parse(&meta.file_kind);
        Self {
            file_name: kind.map_or_else(
                || meta.file_name.clone(),
                |k| crate::domain::attachment::with_extension_of(&meta.file_name, k),
            ),
            media_type: meta.media_type.clone(),
            inline: matches!(meta.file_kind.as_str(), "jpg" | "png"),
            content,
        }
    }
}

/// One of the item's files.
pub async fn attachment(
    s: &Services,
    opened: &Opened,
    file: &str,
) -> Result<FileDownload, StaffError> {
    let id = Uuid::try_parse(file).map_err(|_| StaffError::NotFound)?;
    let meta = opened
        .row
        .attachments
        .iter()
        .find(|a| a.id == id)
        .ok_or(StaffError::NotFound)?;
    let content = s
        .store
        .attachment_content(&meta.sha256)
        .await?
        .ok_or(StaffError::NotFound)?;
    Ok(FileDownload::of(meta, content))
}

/// An earlier item from the same person, as the intake desk lists it
/// while a call is keyed in: the person may be calling about it again.
#[derive(Debug, Clone, Serialize)]
pub struct EarlierItem {
    pub tracking_code: String,
    pub title: String,
    pub state: FeedbackState,
    pub received_at: VnTime,
    /// What the caller says now can join this item as a supplement (by
    /// this actor, in its state).
    pub takes_supplement: bool,
}

impl EarlierItem {
    pub fn state_label(&self) -> &'static str {
        self.state.label_vi()
    }
}

/// How many earlier items the intake desk lists.
const EARLIER_ITEMS: u64 = 10;

/// The items from the phone number or e-mail address being typed, among
/// those the actor may see (newest first). Only staff who key in items
/// ask; a number or address that is not one yet finds nothing.
pub async fn earlier_items(
    s: &Services,
    actor: &Actor,
    phone: &str,
    email: &str,
) -> Result<Vec<EarlierItem>, StaffError> {
    if !actor.may(Permission::EnterFeedback) {
        return Err(StaffError::Forbidden);
    }
    let handled_by = match actor.item_scope() {
        ItemScope::Province => None,
        ItemScope::OwnAgency(agency) => Some(agency.as_uuid()),
        ItemScope::Nothing => return Err(StaffError::Forbidden),
    };
    let phone = crate::domain::phone::PhoneNumber::parse(phone)
        .ok()
        .map(|p| p.as_e164().to_string());
    let email = email.trim();
    let email = (email.len() >= 5 && email.contains('@') && email.len() <= 254).then_some(email);
    let rows = s
        .store
        .items_by_contact(phone.as_deref(), email, handled_by, EARLIER_ITEMS)
        .await?;
    let may_supplement = crate::domain::workflow::role_may_ever(Action::Supplement, actor.role);
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let state = FeedbackState::parse(&r.state)?;
            Some(EarlierItem {
                takes_supplement: may_supplement
                    && crate::domain::workflow::next_state(state, Action::Supplement).is_some(),
                tracking_code: r.tracking_code,
                title: r.title,
                state,
                received_at: VnTime(r.received_at),
            })
        })
        .collect())
}

/// The actions the queue offers for many items at once (triage).
pub const BULK_ACTIONS: [Action; 3] = [Action::Classify, Action::Forward, Action::RequestInfo];

/// The bulk actions `actor`'s role ever takes (each item is still checked
/// on its own when the action runs).
pub fn bulk_actions(actor: &Actor) -> Vec<Action> {
    BULK_ACTIONS
        .into_iter()
        .filter(|a| {
            actor.may(Permission::ViewItems)
                && crate::domain::workflow::role_may_ever(*a, actor.role)
        })
        .collect()
}
