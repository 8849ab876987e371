//! Taking a workflow action on an item: the domain decides whether the
//! transition exists and whether this actor may take it; this service
//! checks the action's fields, builds the change (item fields, deadlines,
//! queued notices, audit event) and writes it only if nobody changed the
//! item meanwhile.

use chrono::{DateTime, Utc};
use sea_orm::Value;

use crate::config::Settings;
use crate::domain::deadline::DeadlineKind;
use crate::domain::feedback::{ContentCategory, FeedbackKind, FeedbackState, FieldError};
use crate::domain::ids::{AgencyId, FeedbackId};
use crate::domain::rejection::{CLARIFICATION_TIMEOUT, RejectionReasons};
use crate::domain::staff::Actor;
use crate::domain::text::{clean_line, clean_multiline, fold_for_search};
use crate::domain::time::to_vietnam_rfc3339;
use crate::domain::workflow::{Action, may_take, next_state, role_may_ever};
use crate::services::deadlines::{ClockChange, ClockError, DeadlineService};
use crate::services::intake::{IncomingAttachment, check_files};
use crate::services::publication;
use crate::store::coordination::{CoordinationWrite, active_agencies};
use crate::store::deadlines::NewNotice;
use crate::store::feedback::{AuditEntry, FeedbackRow, ItemRow};
use crate::store::workflow::{ANSWER_ATTACHMENT, DeadlineEffects, ItemField, Transition};
use crate::store::{Store, StoreError};

/// The fields an action may carry (each action uses some of them).
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionBody {
    pub version: Option<i32>,
    pub kind: Option<String>,
    pub content_category: Option<String>,
    pub field_code: Option<String>,
    pub procedure_text: Option<String>,
    pub procedure_code: Option<String>,
    pub message: Option<String>,
    pub reason_code: Option<String>,
    pub note: Option<String>,
    pub agency_code: Option<String>,
    pub text: Option<String>,
    pub question_redacted: Option<String>,
    #[serde(default)]
    pub title_redacted: Option<String>,
    /// `publish`: the answer as the public reads it (the approved answer
    /// when absent); checked like the title and question.
    pub answer_redacted: Option<String>,
    /// `publish`: why what the detector still finds in the public text is
    /// not personal data (an official's name, the office's hotline).
    /// Without it such text is refused; with it the reason is audited.
    pub confirm_personal_data: Option<String>,
    /// `merge`: the primary item's tracking code.
    pub into: Option<String>,
    /// `request-coordination`: the sub-deadline, in the policy's unit
    /// (the policy's period when absent).
    pub days: Option<i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum WorkflowError {
    #[error("no such item for this actor")]
    NotFound,
    #[error("the actor's role may not take this action")]
    Forbidden,
    #[error("action not possible in state {state}")]
    InvalidTransition { state: String, version: i32 },
    #[error("the item changed since version {expected}")]
    VersionConflict {
        state: String,
        version: i32,
        expected: i32,
    },
    #[error("invalid action fields")]
    Invalid(Vec<FieldError>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn required(
    value: &Option<String>,
    field: &str,
    max: usize,
    multiline: bool,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    let cleaned = value
        .as_deref()
        .map(|v| {
            if multiline {
                clean_multiline(v)
            } else {
                clean_line(v)
            }
        })
        .filter(|v| !v.is_empty());
    match cleaned {
        None => {
            errors.push(FieldError::new(field, "required"));
            None
        }
        Some(v) if v.chars().count() > max => {
            errors.push(FieldError::new(field, "too_long"));
            None
        }
        Some(v) => Some(v),
    }
}

fn optional(
    value: &Option<String>,
    field: &str,
    max: usize,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    let cleaned = value
        .as_deref()
        .map(clean_multiline)
        .filter(|v| !v.is_empty());
    match cleaned {
        Some(v) if v.chars().count() > max => {
            errors.push(FieldError::new(field, "too_long"));
            None
        }
        other => other,
    }
}

/// A change to the item's clock that goes with a transition.
enum Clock<'a> {
    /// Waiting for the submitter: the clock stops.
    Pause(&'a ClockChange),
    /// The submitter answered: it restarts.
    Resume(&'a ClockChange),
}

/// Writes `t` with its clock change in one transaction; the deadline rows
/// are read afresh and the write retried if another writer (the
/// scheduler) changed one meanwhile. `false` if the item itself changed.
async fn apply_with_clock(
    store: &Store,
    deadlines: &DeadlineService,
    t: &mut Transition,
    clock: Option<Clock<'_>>,
    now: DateTime<Utc>,
) -> Result<bool, WorkflowError> {
    let Some(clock) = clock else {
        return Ok(store.apply_transition(t, now).await?);
    };
    let mut tries = 0;
    loop {
        let plan = match clock {
            Clock::Pause(change) => deadlines.plan_pause(store, t.item, now, change).await,
            Clock::Resume(change) => deadlines.plan_resume(store, t.item, now, change).await,
        };
        match plan {
            Ok(plan) => {
                t.deadline_updates = plan.updates;
                t.new_deadlines.retain(|d| d.kind != "clarify_timeout");
                t.new_deadlines.extend(plan.new);
                t.extra_audit = vec![plan.audit];
            }
            // A clock in the wrong state must not block the item itself.
            Err(e @ (ClockError::AlreadyPaused | ClockError::NotPaused)) => {
                tracing::warn!(item = %t.item.as_uuid(), error = %e, "clock left as it was");
            }
            Err(ClockError::Store(e)) => return Err(e.into()),
            Err(e) => return Err(StoreError::Integrity(e.to_string()).into()),
        }
        match store.apply_transition(t, now).await {
            Err(StoreError::Conflict(m)) if tries < 3 && m.contains("feedback_deadline") => {
                tries += 1;
            }
            other => return Ok(other?),
        }
    }
}

/// Forgets the answer being drafted (the item leaves the agency).
fn clear_draft(set: &mut Vec<(ItemField, Value)>) {
    set.push((ItemField::AnswerDraft, Value::from(None::<String>)));
    set.push((ItemField::AnswerDraftedBy, Value::from(None::<uuid::Uuid>)));
    set.push((
        ItemField::AnswerSignedOffBy,
        Value::from(None::<uuid::Uuid>),
    ));
}

/// The longest sub-deadline a lead agency may give a coordinating one,
/// in the policy's unit.
const MAX_COORDINATION_DAYS: u32 = 60;

fn text(v: Option<String>) -> Value {
    Value::from(v)
}

/// Whether the item's clarification period (while it waits for the
/// submitter) is over.
async fn clarification_over(
    store: &Store,
    item: FeedbackId,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    Ok(store.deadlines_for_item(item).await?.iter().any(|d| {
        d.kind == DeadlineKind::ClarifyTimeout.as_str()
            && d.state == "open"
            && d.due_at.is_some_and(|due| due < now)
    }))
}

/// What the workflow reads and writes through.
pub struct Workflow<'a> {
    pub store: &'a Store,
    pub settings: &'a Settings,
    pub deadlines: &'a DeadlineService,
    pub reasons: &'a RejectionReasons,
}

impl Workflow<'_> {
    /// Takes `action` on the item `row` as `actor`; returns once written.
    pub async fn take(
        &self,
        actor: &Actor,
        row: &FeedbackRow,
        action: Action,
        body: &ActionBody,
        request_id: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<(), WorkflowError> {
        take_action(self, actor, row, action, body, request_id, now).await
    }
}

/// What taking an action found allowed.
struct Allowed {
    state: FeedbackState,
    to: FeedbackState,
    /// The version the actor saw (and the item still has).
    expected: i32,
    coordination: Vec<crate::store::coordination::CoordinationRow>,
}

/// Whether `actor` may take `action` on the item now, checked in the order
/// that tells the caller most without telling too much: an item it may not
/// see (404), a role or agency that may not act (403), a missing or stale
/// version (422/409: whoever acted on an old view must reload, whatever
/// the item's state is now), a transition the state does not have (409).
async fn allowed(
    store: &Store,
    actor: &Actor,
    row: &FeedbackRow,
    action: Action,
    version: Option<i32>,
) -> Result<Allowed, WorkflowError> {
    let item = &row.item;
    let state = FeedbackState::parse(&item.state)
        .ok_or_else(|| StoreError::Integrity(format!("unknown state {}", item.state)))?;
    let coordination = store
        .coordinations_for(FeedbackId::from_uuid(item.id))
        .await?;
    let Some(involvement) = actor.involvement(
        item.handling_agency_id.map(AgencyId::from_uuid),
        &active_agencies(&coordination),
    ) else {
        return Err(WorkflowError::NotFound);
    };
    if !role_may_ever(action, actor.role)
        || (next_state(state, action).is_some()
            && !may_take(action, state, actor.role, involvement))
    {
        return Err(WorkflowError::Forbidden);
    }
    let Some(expected) = version else {
        return Err(WorkflowError::Invalid(vec![FieldError::new(
            "version", "required",
        )]));
    };
    if expected != item.version {
        return Err(WorkflowError::VersionConflict {
            state: item.state.clone(),
            version: item.version,
            expected,
        });
    }
    // A closed item leaves the public pages only if it is on them.
    let public = item.public_search_text.is_some();
    let Some(to) = next_state(state, action).filter(|_| action != Action::Unpublish || public)
    else {
        return Err(WorkflowError::InvalidTransition {
            state: item.state.clone(),
            version: item.version,
        });
    };
    Ok(Allowed {
        state,
        to,
        expected,
        coordination,
    })
}

async fn take_action(
    ctx: &Workflow<'_>,
    actor: &Actor,
    row: &FeedbackRow,
    action: Action,
    body: &ActionBody,
    request_id: Option<String>,
    now: DateTime<Utc>,
) -> Result<(), WorkflowError> {
    let Workflow {
        store,
        settings,
        deadlines,
        reasons,
    } = *ctx;
    let item = &row.item;
    let id = FeedbackId::from_uuid(item.id);
    let Allowed {
        state,
        to,
        expected,
        coordination,
    } = allowed(store, actor, row, action, body.version).await?;
    let mut errors = Vec::new();
    let mut set: Vec<(ItemField, Value)> = Vec::new();
    let mut effects = DeadlineEffects::default();
    let mut notices = Vec::new();
    let mut reason: Option<String> = None;
    let mut supplement: Option<String> = None;
    let mut coordination_write: Option<CoordinationWrite> = None;
    let mut touch = None;
    let mut repoint_members_to = None;
    let mut drop_answer_attachments = false;
    let mut new_deadlines = Vec::new();
    let mut details = serde_json::json!({});
    let directory = store.directory_snapshot().await?;
    let today = crate::domain::time::vietnam_date(now);
    let notice =
        |kind: &str, audience: &str, agency: uuid::Uuid, payload: serde_json::Value| NewNotice {
            dedupe_key: format!("{}:{kind}:{}:{audience}", item.id, item.version),
            kind: kind.into(),
            audience: audience.into(),
            agency_id: agency,
            feedback_item_id: Some(item.id),
            deadline_id: None,
            payload,
        };
    match action {
        Action::Classify => {
            if let Some(k) = body.kind.as_deref() {
                match FeedbackKind::parse(k) {
                    Some(k) => set.push((ItemField::Kind, text(Some(k.as_str().into())))),
                    None => errors.push(FieldError::new("kind", "invalid_choice")),
                }
            }
            if let Some(c) = body.content_category.as_deref() {
                match ContentCategory::parse(c) {
                    Some(c) => {
                        set.push((ItemField::ContentCategory, text(Some(c.as_str().into()))))
                    }
                    None => errors.push(FieldError::new("content_category", "invalid_choice")),
                }
            }
            if let Some(code) = body.field_code.as_deref() {
                match directory.fields.get(code) {
                    Some(id) => set.push((ItemField::FieldId, Value::from(Some(id.as_uuid())))),
                    None => errors.push(FieldError::new("field_code", "unknown_code")),
                }
            }
            if let Some(v) = optional(&body.procedure_text, "procedure_text", 500, &mut errors) {
                set.push((ItemField::ProcedureText, text(Some(v))));
            }
            if let Some(v) = optional(&body.procedure_code, "procedure_code", 50, &mut errors) {
                set.push((ItemField::ProcedureCode, text(Some(v))));
            }
            // Classifying means deciding the content category (DOMAIN
            // §2.2); the rest may follow.
            if body.content_category.is_none() && item.content_category.is_none() {
                errors.push(FieldError::new("content_category", "required"));
            }
            effects.meet.push("classify");
        }
        Action::RequestInfo => {
            let message = required(&body.message, "message", 2000, true, &mut errors);
            reason = message.clone();
            notices.push(notice(
                "citizen_request_info",
                "submitter",
                item.receiving_agency_id,
                serde_json::json!({
                    "tracking_code": item.tracking_code,
                    "message": message,
                    "reply_by_mail": item.channel == "email",
                }),
            ));
        }
        // Staff record what the submitter said by phone or in person.
        Action::Supplement => {
            supplement = required(&body.text, "text", 5000, true, &mut errors);
            reason = optional(&body.note, "note", 2000, &mut errors);
        }
        Action::Reject => {
            let code = body.reason_code.as_deref().unwrap_or_default();
            // R07 is the system's, after the citizen let a delivered
            // request go unanswered; where the request never reached
            // them, staff decide once the period is over.
            let clarification = code == CLARIFICATION_TIMEOUT;
            if clarification
                && !(state == FeedbackState::AwaitingInformation
                    && clarification_over(store, id, now).await?)
            {
                errors.push(FieldError::new("reason_code", "clarification_not_over"));
            }
            match reasons
                .get(code)
                .filter(|r| r.staff_may_use || clarification)
            {
                None => errors.push(FieldError::new(
                    "reason_code",
                    if code.is_empty() {
                        "required"
                    } else {
                        "unknown_code"
                    },
                )),
                Some(r) => {
                    let note = optional(&body.note, "note", 2000, &mut errors);
                    set.push((ItemField::RejectionCode, text(Some(r.code.clone()))));
                    set.push((ItemField::RejectionNote, text(note.clone())));
                    reason = Some(format!("{} — {}", r.code, r.label));
                    details =
                        serde_json::json!({"reason_code": r.code, "basis": r.basis, "note": note});
                    notices.push(notice(
                        "citizen_not_accepted",
                        "submitter",
                        item.receiving_agency_id,
                        serde_json::json!({"tracking_code": item.tracking_code, "reason_code": r.code, "message": r.citizen}),
                    ));
                    // Items merged into this one share its fate.
                    for (member, member_code) in store.merged_members(id).await? {
                        notices.push(not_accepted_via(item, member, &member_code, r));
                    }
                }
            }
            effects.cancel_all = true;
        }
        Action::Forward => {
            let code = body.agency_code.as_deref().unwrap_or_default();
            match directory.agencies.get(code) {
                None => errors.push(FieldError::new(
                    "agency_code",
                    if code.is_empty() {
                        "required"
                    } else {
                        "unknown_code"
                    },
                )),
                Some(target) if target.as_uuid() == item.receiving_agency_id => {
                    // The office handling an item itself "accepts" it.
                    errors.push(FieldError::new("agency_code", "invalid_choice"));
                }
                Some(target) if !directory.agency_exists_on(*target, today) => {
                    errors.push(FieldError::new("agency_code", "dissolved_agency"));
                }
                Some(target) => {
                    set.push((
                        ItemField::HandlingAgencyId,
                        Value::from(Some(target.as_uuid())),
                    ));
                    // Past the bounce limit the item waits for the control
                    // office instead of going round again: sending it on
                    // needs the office's reasoned decision.
                    let over_limit = u32::try_from(item.bounce_count).unwrap_or(u32::MAX)
                        > settings.workflow.max_bounces;
                    reason = if over_limit {
                        required(&body.note, "note", 2000, true, &mut errors)
                    } else {
                        optional(&body.note, "note", 2000, &mut errors)
                    };
                    set.push((ItemField::NeedsAttention, Value::from(false)));
                    details = serde_json::json!({"to": code, "over_bounce_limit": over_limit});
                    notices.push(notice(
                        "agency_forwarded",
                        "handling_agency",
                        target.as_uuid(),
                        serde_json::json!({"tracking_code": item.tracking_code, "note": reason}),
                    ));
                    notices.push(notice(
                        "citizen_forwarded",
                        "submitter",
                        item.receiving_agency_id,
                        serde_json::json!({"tracking_code": item.tracking_code, "agency_code": code}),
                    ));
                }
            }
            // Classification is part of routing; forwarding meets both.
            effects.meet.extend(["classify", "forward"]);
        }
        Action::Accept => {
            if state == FeedbackState::Classified {
                // The receiving office handles it itself: no forwarding.
                set.push((
                    ItemField::HandlingAgencyId,
                    Value::from(Some(actor.agency.as_uuid())),
                ));
                effects.meet.push("classify");
                effects.cancel.push("forward");
            }
        }
        Action::Return => {
            let note = required(&body.note, "note", 2000, true, &mut errors);
            let bounces = item.bounce_count + 1;
            set.push((ItemField::HandlingAgencyId, Value::from(None::<uuid::Uuid>)));
            set.push((ItemField::BounceCount, Value::from(bounces)));
            let attention =
                u32::try_from(bounces).unwrap_or(u32::MAX) > settings.workflow.max_bounces;
            if attention {
                set.push((ItemField::NeedsAttention, Value::from(true)));
            }
            // Which agency sent it back: the statistics count returns per
            // agency (issue #8).
            let from = directory.agency_code(item.handling_agency_id);
            details =
                serde_json::json!({"from": from, "bounces": bounces, "needs_attention": attention});
            // The next lead agency asks its own coordinating agencies and
            // writes its own answer.
            coordination_write = Some(CoordinationWrite::WithdrawOpen);
            effects.cancel.push("coordinate");
            clear_draft(&mut set);
            drop_answer_attachments = true;
            // Re-routing is forwarding again: a fresh 05-working-day clock
            // (ND 20 as amended by ND 92/2017).
            effects.cancel.push("forward");
            new_deadlines.push(deadlines.deadline_from(DeadlineKind::Forward, now, None, None));
            reason = note.clone();
            notices.push(notice(
                "control_office_returned",
                "control_office",
                item.receiving_agency_id,
                serde_json::json!({"tracking_code": item.tracking_code, "note": note, "bounces": bounces}),
            ));
        }
        Action::Recall => {
            reason = required(&body.note, "note", 2000, true, &mut errors);
            set.push((ItemField::HandlingAgencyId, Value::from(None::<uuid::Uuid>)));
            details = serde_json::json!({"from": directory.agency_code(item.handling_agency_id)});
            coordination_write = Some(CoordinationWrite::WithdrawOpen);
            effects.cancel.extend(["coordinate", "forward"]);
            clear_draft(&mut set);
            drop_answer_attachments = true;
            new_deadlines.push(deadlines.deadline_from(DeadlineKind::Forward, now, None, None));
            if let Some(agency) = item.handling_agency_id {
                notices.push(notice(
                    "agency_recalled",
                    "handling_agency",
                    agency,
                    serde_json::json!({"tracking_code": item.tracking_code, "note": reason}),
                ));
            }
        }
        Action::Answer => {
            let answer = required(&body.text, "text", 20000, true, &mut errors);
            set.push((ItemField::AnswerDraft, text(answer)));
            set.push((
                ItemField::AnswerDraftedBy,
                Value::from(Some(actor.staff_id)),
            ));
            // A redraft needs a fresh sign-off.
            set.push((
                ItemField::AnswerSignedOffBy,
                Value::from(None::<uuid::Uuid>),
            ));
        }
        Action::SignOff => {
            if item.answer_draft.as_deref().is_none_or(str::is_empty) {
                errors.push(FieldError::new("text", "answer_missing"));
            }
            set.push((
                ItemField::AnswerSignedOffBy,
                Value::from(Some(actor.staff_id)),
            ));
        }
        Action::Approve => {
            set.push((ItemField::Answer, text(item.answer_draft.clone())));
            set.push((ItemField::AnsweredAt, Value::from(Some(now))));
            effects.meet.push("answer");
            // The answer is out: contributions still awaited are moot.
            coordination_write = Some(CoordinationWrite::WithdrawOpen);
            effects.cancel.push("coordinate");
            // The answer goes to every submitter of the cluster.
            for (member, member_code) in store.merged_members(id).await? {
                notices.push(answered_via(item, member, &member_code));
            }
            notices.push(notice(
                "citizen_answered",
                "submitter",
                item.receiving_agency_id,
                serde_json::json!({"tracking_code": item.tracking_code}),
            ));
        }
        Action::SendBack => {
            reason = required(&body.note, "note", 2000, true, &mut errors);
            set.push((
                ItemField::AnswerSignedOffBy,
                Value::from(None::<uuid::Uuid>),
            ));
            if let Some(agency) = item.handling_agency_id {
                notices.push(notice(
                    "agency_answer_sent_back",
                    "handling_agency",
                    agency,
                    serde_json::json!({"tracking_code": item.tracking_code, "note": reason}),
                ));
            }
        }
        Action::Publish => {
            if !publication::basis_allows(settings.publication.basis, item) {
                errors.push(FieldError::new("consent_to_publish", "consent_missing"));
            }
            let question = required(
                &body.question_redacted,
                "question_redacted",
                20000,
                true,
                &mut errors,
            );
            if item
                .rejection_code
                .as_deref()
                .and_then(|c| reasons.get(c))
                .is_some_and(|r| !r.publishable)
            {
                errors.push(FieldError::new("question_redacted", "not_publishable"));
            }
            // The original title may name people as much as the text does
            // (DOMAIN §8 rule 2): the public sees only the redacted one.
            let title = required(
                &body.title_redacted,
                "title_redacted",
                usize::try_from(settings.intake.title_max_chars).unwrap_or(200),
                false,
                &mut errors,
            );
            // The answer is public text too: a redacted copy, the
            // approved answer itself when nothing was removed from it.
            let answer = optional(&body.answer_redacted, "answer_redacted", 20000, &mut errors)
                .or_else(|| item.answer.clone());
            let confirmed = optional(
                &body.confirm_personal_data,
                "confirm_personal_data",
                500,
                &mut errors,
            );
            let texts: Vec<(&'static str, &str)> = [
                ("title_redacted", title.as_deref()),
                ("question_redacted", question.as_deref()),
                ("answer_redacted", answer.as_deref()),
            ]
            .into_iter()
            .filter_map(|(f, t)| t.map(|t| (f, t)))
            .collect();
            let left = publication::personal_data_left(item, &texts);
            if !left.is_empty() {
                match &confirmed {
                    None => errors.extend(publication::personal_data_errors(&left)),
                    Some(why) => {
                        details = serde_json::json!({
                            "personal_data_confirmed": {
                                "reason": why,
                                "fields": left.iter().map(|(f, kinds)| serde_json::json!({"field": f, "kinds": kinds})).collect::<Vec<_>>(),
                            }
                        });
                        reason = Some(why.clone());
                    }
                }
            }
            // Search runs on what is published only: a name left in the
            // private original must not find the item.
            let public_text = match (&title, &question) {
                (Some(t), Some(q)) => Some(fold_for_search(&format!(
                    "{t} {q} {}",
                    answer.as_deref().unwrap_or_default()
                ))),
                _ => None,
            };
            set.push((ItemField::QuestionRedacted, text(question)));
            set.push((ItemField::TitleRedacted, text(title)));
            set.push((ItemField::AnswerRedacted, text(answer)));
            set.push((ItemField::PublicSearchText, text(public_text)));
            set.push((ItemField::PublishedAt, Value::from(Some(now))));
            set.push((ItemField::PublicChangedAt, Value::from(Some(now))));
            notices.push(notice(
                "citizen_published",
                "submitter",
                item.receiving_agency_id,
                serde_json::json!({"tracking_code": item.tracking_code}),
            ));
        }
        Action::Withhold => {
            reason = required(&body.note, "note", 2000, true, &mut errors);
            set.push((ItemField::WithheldReason, text(reason.clone())));
        }
        Action::Unpublish => {
            reason = optional(&body.note, "note", 2000, &mut errors);
            set.push((ItemField::PublishedAt, Value::from(None::<DateTime<Utc>>)));
            set.push((ItemField::PublicSearchText, text(None)));
            set.push((ItemField::PublicChangedAt, Value::from(Some(now))));
        }
        Action::Close => {
            reason = optional(&body.note, "note", 2000, &mut errors);
        }
        Action::Merge => {
            let primary = match body
                .into
                .as_deref()
                .map(str::parse::<crate::domain::tracking::TrackingCode>)
            {
                None => {
                    errors.push(FieldError::new("into", "required"));
                    None
                }
                Some(Err(_)) => {
                    errors.push(FieldError::new("into", "unknown_code"));
                    None
                }
                Some(Ok(code)) => store.find_feedback_by_code(&code).await?,
            };
            match primary {
                None if errors.is_empty() => errors.push(FieldError::new("into", "unknown_code")),
                None => {}
                Some(p) if p.item.id == item.id => {
                    errors.push(FieldError::new("into", "invalid_choice"))
                }
                // A cluster has one primary: not a merged item, nor one
                // that was not accepted.
                Some(p) if matches!(p.item.state.as_str(), "merged" | "not_accepted") => {
                    errors.push(FieldError::new("into", "invalid_choice"));
                }
                Some(p) => {
                    set.push((ItemField::MergedIntoId, Value::from(Some(p.item.id))));
                    reason = optional(&body.note, "note", 2000, &mut errors);
                    details = serde_json::json!({"into": p.item.tracking_code});
                    effects.cancel_all = true;
                    coordination_write = Some(CoordinationWrite::WithdrawOpen);
                    touch = Some((FeedbackId::from_uuid(p.item.id), p.item.version));
                    repoint_members_to = Some(FeedbackId::from_uuid(p.item.id));
                    notices.push(notice(
                        "citizen_merged",
                        "submitter",
                        item.receiving_agency_id,
                        serde_json::json!({"tracking_code": item.tracking_code, "into": p.item.tracking_code}),
                    ));
                    // Joining a cluster whose answer already went out: the
                    // answer goes to this item's submitter (and its own
                    // members') now rather than never.
                    if p.item.answered_at.is_some() {
                        let mut members = store.merged_members(id).await?;
                        members.push((item.id, item.tracking_code.clone()));
                        for (member, member_code) in members {
                            notices.push(answered_via(&p.item, member, &member_code));
                        }
                    }
                }
            }
        }
        Action::RequestCoordination => {
            let code = body.agency_code.as_deref().unwrap_or_default();
            let note = required(&body.note, "note", 2000, true, &mut errors);
            let days = match body.days {
                None => None,
                Some(d) => match u32::try_from(d) {
                    Ok(d) if (1..=MAX_COORDINATION_DAYS).contains(&d) => Some(d),
                    _ => {
                        errors.push(FieldError::new("days", "out_of_range"));
                        None
                    }
                },
            };
            match directory.agencies.get(code) {
                None => errors.push(FieldError::new(
                    "agency_code",
                    if code.is_empty() {
                        "required"
                    } else {
                        "unknown_code"
                    },
                )),
                // Not the lead itself, nor the control office (it oversees
                // every item already).
                Some(target)
                    if Some(target.as_uuid()) == item.handling_agency_id
                        || target.as_uuid() == item.receiving_agency_id =>
                {
                    errors.push(FieldError::new("agency_code", "invalid_choice"));
                }
                Some(target) if !directory.agency_exists_on(*target, today) => {
                    errors.push(FieldError::new("agency_code", "dissolved_agency"));
                }
                Some(target) if active_agencies(&coordination).contains(target) => {
                    errors.push(FieldError::new("agency_code", "already_requested"));
                }
                Some(target) => {
                    let deadline = deadlines.deadline_from(
                        DeadlineKind::Coordinate,
                        now,
                        days,
                        Some(target.as_uuid()),
                    );
                    let due_at = deadline.due_at.map(to_vietnam_rfc3339);
                    let lead = item
                        .handling_agency_id
                        .and_then(|a| directory.agency_names.get(&AgencyId::from_uuid(a)))
                        .map(|(code, _)| code.clone());
                    if let Some(note) = &note {
                        coordination_write = Some(CoordinationWrite::Request {
                            agency: target.as_uuid(),
                            note: note.clone(),
                            requested_by: actor.username.clone(),
                            deadline_id: deadline.id,
                        });
                    }
                    details = serde_json::json!({"agency_code": code, "due_at": due_at});
                    reason = note.clone();
                    notices.push(notice(
                        "agency_coordination_requested",
                        "coordinating_agency",
                        target.as_uuid(),
                        serde_json::json!({"tracking_code": item.tracking_code, "lead_agency_code": lead, "due_at": due_at, "note": note}),
                    ));
                    new_deadlines.push(deadline);
                }
            }
        }
        Action::WithdrawCoordination => {
            let code = body.agency_code.as_deref().unwrap_or_default();
            reason = optional(&body.note, "note", 2000, &mut errors);
            let open = directory.agencies.get(code).and_then(|target| {
                coordination
                    .iter()
                    .find(|c| c.agency_id == target.as_uuid() && c.state == "requested")
            });
            match open {
                None => errors.push(FieldError::new(
                    "agency_code",
                    if code.is_empty() {
                        "required"
                    } else {
                        "not_requested"
                    },
                )),
                Some(c) => {
                    coordination_write = Some(CoordinationWrite::Withdraw {
                        agency: c.agency_id,
                    });
                    details = serde_json::json!({"agency_code": code});
                    notices.push(notice(
                        "agency_coordination_withdrawn",
                        "coordinating_agency",
                        c.agency_id,
                        serde_json::json!({"tracking_code": item.tracking_code, "note": reason}),
                    ));
                }
            }
        }
        Action::Contribute => {
            let text = required(&body.text, "text", 20000, true, &mut errors);
            let own = directory
                .agency_names
                .get(&actor.agency)
                .map(|(code, _)| code.clone());
            if let Some(text) = text {
                details =
                    serde_json::json!({"agency_code": own, "characters": text.chars().count()});
                coordination_write = Some(CoordinationWrite::Contribute {
                    agency: actor.agency.as_uuid(),
                    text,
                    by: actor.username.clone(),
                });
            }
            if let Some(lead) = item.handling_agency_id {
                notices.push(notice(
                    "agency_coordination_contributed",
                    "handling_agency",
                    lead,
                    serde_json::json!({"tracking_code": item.tracking_code, "agency_code": own}),
                ));
            }
        }
    }
    if !errors.is_empty() {
        return Err(WorkflowError::Invalid(errors));
    }
    let mut transition = Transition {
        item: id,
        expected_version: expected,
        state: to.as_str().to_string(),
        set,
        deadlines: effects,
        notices,
        audit: AuditEntry {
            actor_kind: "staff".into(),
            actor_id: Some(actor.username.clone()),
            action: format!("feedback.{}", action.as_str()),
            from_state: Some(item.state.clone()),
            to_state: Some(to.as_str().to_string()),
            reason: reason.clone(),
            details,
            request_id: request_id.clone(),
        },
        supplement,
        deadline_updates: Vec::new(),
        new_deadlines,
        extra_audit: Vec::new(),
        coordination: coordination_write,
        touch,
        repoint_members_to,
        new_attachments: Vec::new(),
        remove_attachments: Vec::new(),
        drop_answer_attachments,
    };
    // The clock: asking for information stops it, the answer restarts
    // it; written with the transition, retried on fresh deadline rows if
    // the scheduler touched one meanwhile.
    let clock = ClockChange {
        actor_kind: "staff".into(),
        actor_id: Some(actor.username.clone()),
        reason,
        request_id,
    };
    let clock = match action {
        Action::RequestInfo => Some(Clock::Pause(&clock)),
        Action::Supplement => Some(Clock::Resume(&clock)),
        _ => None,
    };
    let written = apply_with_clock(store, deadlines, &mut transition, clock, now).await?;
    if !written {
        let current = store
            .find_feedback_by_code(
                &item
                    .tracking_code
                    .parse()
                    .map_err(|_| StoreError::Integrity("bad code".into()))?,
            )
            .await?
            .ok_or(WorkflowError::NotFound)?;
        return Err(WorkflowError::VersionConflict {
            state: current.item.state,
            version: current.item.version,
            expected,
        });
    }
    Ok(())
}

/// A change to the files of the answer being drafted.
#[derive(Debug)]
pub enum AnswerFiles {
    Add(Vec<IncomingAttachment>),
    Remove(uuid::Uuid),
}

impl Workflow<'_> {
    /// Adds files to (or removes one from) the answer the holding agency
    /// is drafting: the same people, state and version rules as `answer`;
    /// the draft needs a fresh sign-off afterwards.
    pub async fn edit_answer_files(
        &self,
        actor: &Actor,
        row: &FeedbackRow,
        version: Option<i32>,
        change: AnswerFiles,
        request_id: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<(), WorkflowError> {
        let item = &row.item;
        // The answer's files follow the answer's own rules (who, when).
        let Allowed { expected, .. } =
            allowed(self.store, actor, row, Action::Answer, version).await?;
        let answer_files: Vec<_> = row
            .attachments
            .iter()
            .filter(|a| a.source == ANSWER_ATTACHMENT)
            .collect();
        let mut t = simple_transition(
            row,
            FeedbackState::InHandling,
            "staff",
            "",
            None,
            serde_json::json!({}),
        );
        t.audit.actor_id = Some(actor.username.clone());
        t.audit.request_id = request_id;
        t.set.push((
            ItemField::AnswerSignedOffBy,
            Value::from(None::<uuid::Uuid>),
        ));
        match change {
            AnswerFiles::Add(files) => {
                let files =
                    check_files(&files, self.settings, answer_files.len(), ANSWER_ATTACHMENT)
                        .map_err(WorkflowError::Invalid)?;
                if files.is_empty() {
                    return Err(WorkflowError::Invalid(vec![FieldError::new(
                        "attachments",
                        "required",
                    )]));
                }
                t.audit.action = "feedback.answer-files-added".into();
                t.audit.details = serde_json::json!({"files": files.iter().map(|f| serde_json::json!({"file_name": f.file_name, "kind": f.file_kind, "size_bytes": f.content.len()})).collect::<Vec<_>>()});
                t.new_attachments = files;
            }
            AnswerFiles::Remove(file) => {
                let Some(found) = answer_files.iter().find(|a| a.id == file) else {
                    return Err(WorkflowError::NotFound);
                };
                t.audit.action = "feedback.answer-file-removed".into();
                t.audit.details = serde_json::json!({"file_name": found.file_name});
                t.remove_attachments = vec![file];
            }
        }
        if !self.store.apply_transition(&t, now).await? {
            return Err(WorkflowError::VersionConflict {
                state: item.state.clone(),
                version: item.version,
                expected,
            });
        }
        Ok(())
    }
}

/// The answer of `primary` for the submitter of `member`, one of its
/// cluster.
fn answered_via(primary: &ItemRow, member: uuid::Uuid, member_code: &str) -> NewNotice {
    NewNotice {
        dedupe_key: format!("{member}:citizen_answered:via:{}", primary.id),
        kind: "citizen_answered".into(),
        audience: "submitter".into(),
        agency_id: primary.receiving_agency_id,
        feedback_item_id: Some(member),
        deadline_id: None,
        payload: serde_json::json!({"tracking_code": member_code, "answered_in": primary.tracking_code}),
    }
}

/// The primary was not accepted: so is the matter of each member.
fn not_accepted_via(
    primary: &ItemRow,
    member: uuid::Uuid,
    member_code: &str,
    reason: &crate::domain::rejection::RejectionReason,
) -> NewNotice {
    NewNotice {
        dedupe_key: format!("{member}:citizen_not_accepted:via:{}", primary.id),
        kind: "citizen_not_accepted".into(),
        audience: "submitter".into(),
        agency_id: primary.receiving_agency_id,
        feedback_item_id: Some(member),
        deadline_id: None,
        payload: serde_json::json!({"tracking_code": member_code, "reason_code": reason.code, "message": reason.citizen}),
    }
}

/// A transition on the submitter's or the system's behalf, at the item's
/// current version.
fn simple_transition(
    row: &FeedbackRow,
    to: FeedbackState,
    actor_kind: &str,
    action: &str,
    reason: Option<String>,
    details: serde_json::Value,
) -> Transition {
    let item = &row.item;
    Transition {
        item: FeedbackId::from_uuid(item.id),
        expected_version: item.version,
        state: to.as_str().to_string(),
        set: Vec::new(),
        deadlines: DeadlineEffects::default(),
        notices: Vec::new(),
        audit: AuditEntry {
            actor_kind: actor_kind.into(),
            actor_id: None,
            action: action.into(),
            from_state: Some(item.state.clone()),
            to_state: Some(to.as_str().to_string()),
            reason,
            details,
            request_id: None,
        },
        supplement: None,
        deadline_updates: Vec::new(),
        new_deadlines: Vec::new(),
        extra_audit: Vec::new(),
        coordination: None,
        touch: None,
        repoint_members_to: None,
        new_attachments: Vec::new(),
        remove_attachments: Vec::new(),
        drop_answer_attachments: false,
    }
}

impl Workflow<'_> {
    /// Writes `t` with its clock change, or reports that `item` changed
    /// since it was read (the caller acted on the version it saw).
    async fn apply_seen(
        &self,
        t: &mut Transition,
        clock: Clock<'_>,
        item: &ItemRow,
        now: DateTime<Utc>,
    ) -> Result<(), WorkflowError> {
        if apply_with_clock(self.store, self.deadlines, t, Some(clock), now).await? {
            return Ok(());
        }
        Err(WorkflowError::VersionConflict {
            state: item.state.clone(),
            version: item.version,
            expected: item.version,
        })
    }

    /// The service itself asks for what Decree 20 requires and the item
    /// lacks (an e-mail without a name or an address): the item waits for
    /// the submitter and the clock stops, exactly as when staff ask.
    pub async fn request_missing_information(
        &self,
        row: &FeedbackRow,
        message: &str,
        now: DateTime<Utc>,
    ) -> Result<(), WorkflowError> {
        let item = &row.item;
        if item.state != FeedbackState::Received.as_str() {
            return Err(WorkflowError::InvalidTransition {
                state: item.state.clone(),
                version: item.version,
            });
        }
        let mut t = simple_transition(
            row,
            FeedbackState::AwaitingInformation,
            "system",
            "feedback.request_info",
            Some(message.to_string()),
            serde_json::json!({"automatic": true}),
        );
        t.notices.push(NewNotice {
            dedupe_key: format!(
                "{}:citizen_request_info:{}:submitter",
                item.id, item.version
            ),
            kind: "citizen_request_info".into(),
            audience: "submitter".into(),
            agency_id: item.receiving_agency_id,
            feedback_item_id: Some(item.id),
            deadline_id: None,
            payload: serde_json::json!({
                "tracking_code": item.tracking_code,
                "message": message,
                "reply_by_mail": item.channel == "email",
            }),
        });
        let clock = ClockChange {
            actor_kind: "system".into(),
            actor_id: None,
            reason: Some(message.to_string()),
            request_id: None,
        };
        self.apply_seen(&mut t, Clock::Pause(&clock), item, now)
            .await
    }

    /// The submitter completes an item the office asked about: it goes
    /// back to the office (`received`) and the clock restarts.
    pub async fn citizen_supplement(
        &self,
        row: &FeedbackRow,
        text: &str,
        request_id: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<(), WorkflowError> {
        let item = &row.item;
        if item.state != FeedbackState::AwaitingInformation.as_str() {
            return Err(WorkflowError::InvalidTransition {
                state: item.state.clone(),
                version: item.version,
            });
        }
        let text = clean_multiline(text);
        if text.is_empty() || text.chars().count() > 5000 {
            return Err(WorkflowError::Invalid(vec![FieldError::new(
                "text",
                if text.is_empty() {
                    "required"
                } else {
                    "too_long"
                },
            )]));
        }
        let mut t = simple_transition(
            row,
            FeedbackState::Received,
            "submitter",
            "feedback.supplement",
            None,
            serde_json::json!({"characters": text.chars().count()}),
        );
        t.audit.request_id = request_id.clone();
        t.supplement = Some(text);
        t.notices.push(NewNotice {
            dedupe_key: format!("{}:control_office_supplemented:{}", item.id, item.version),
            kind: "control_office_supplemented".into(),
            audience: "control_office".into(),
            agency_id: item.receiving_agency_id,
            feedback_item_id: Some(item.id),
            deadline_id: None,
            payload: serde_json::json!({"tracking_code": item.tracking_code}),
        });
        let clock = ClockChange {
            actor_kind: "submitter".into(),
            actor_id: None,
            reason: None,
            request_id,
        };
        self.apply_seen(&mut t, Clock::Resume(&clock), item, now)
            .await
    }

    /// The submitter rates the answer, once, within the window; a low
    /// rating flags the item for the control office.
    pub async fn rate(
        &self,
        row: &FeedbackRow,
        score: i64,
        comment: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), WorkflowError> {
        let item = &row.item;
        // A merged item was answered with its primary: the submitter
        // rates that answer, on their own item.
        let primary = match item.merged_into_id {
            Some(p) => {
                self.store
                    .find_feedback_by_id(FeedbackId::from_uuid(p))
                    .await?
            }
            None => None,
        };
        let answered_item = primary.as_ref().map_or(item, |p| &p.item);
        let answered = matches!(
            FeedbackState::parse(&answered_item.state),
            Some(
                FeedbackState::Answered
                    | FeedbackState::Published
                    | FeedbackState::Withheld
                    | FeedbackState::Closed
            )
        );
        let window = chrono::Duration::days(i64::from(self.settings.workflow.rating_window_days));
        let open = answered_item.answered_at.is_some_and(|t| now <= t + window);
        if !answered || !open || item.rated_at.is_some() {
            return Err(WorkflowError::InvalidTransition {
                state: item.state.clone(),
                version: item.version,
            });
        }
        let mut errors = Vec::new();
        if !(1..=5).contains(&score) {
            errors.push(FieldError::new("score", "invalid_choice"));
        }
        let comment = optional(&comment.map(str::to_string), "comment", 1000, &mut errors);
        if !errors.is_empty() {
            return Err(WorkflowError::Invalid(errors));
        }
        let state = FeedbackState::parse(&item.state).unwrap_or(FeedbackState::Answered);
        let low = score <= 2;
        let mut t = simple_transition(
            row,
            state,
            "submitter",
            "feedback.rated",
            None,
            serde_json::json!({"score": score, "low": low}),
        );
        t.set.push((
            ItemField::RatingScore,
            Value::from(i32::try_from(score).unwrap_or(0)),
        ));
        t.set.push((ItemField::RatingComment, Value::from(comment)));
        t.set.push((ItemField::RatedAt, Value::from(Some(now))));
        if low {
            t.set.push((ItemField::NeedsAttention, Value::from(true)));
            t.notices.push(NewNotice {
                dedupe_key: format!("{}:control_office_low_rating", item.id),
                kind: "control_office_low_rating".into(),
                audience: "control_office".into(),
                agency_id: item.receiving_agency_id,
                feedback_item_id: Some(item.id),
                deadline_id: None,
                payload: serde_json::json!({"tracking_code": item.tracking_code, "score": score}),
            });
        }
        if !self.store.apply_transition(&t, now).await? {
            return Err(WorkflowError::VersionConflict {
                state: item.state.clone(),
                version: item.version,
                expected: item.version,
            });
        }
        Ok(())
    }

    /// Items whose submitter did not complete them in time are not
    /// accepted (R07), but only where the request reached the submitter:
    /// a request that was never delivered (no address, a bounce, not sent
    /// yet) cannot lapse on them. Those are flagged for the control office
    /// instead, whose staff decide (R07 by hand, or asking again). Returns
    /// how many were not accepted.
    pub async fn expire_clarifications(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        self.flag_undelivered_clarifications(now).await?;
        let mut expired = 0;
        for (id, _) in self.store.expired_clarifications(now, true).await? {
            let Some(row) = self
                .store
                .find_feedback_by_id(FeedbackId::from_uuid(id))
                .await?
            else {
                continue;
            };
            if row.item.state != FeedbackState::AwaitingInformation.as_str() {
                continue;
            }
            let Some(reason) = self.reasons.get(CLARIFICATION_TIMEOUT) else {
                continue;
            };
            let mut t = simple_transition(
                &row,
                FeedbackState::NotAccepted,
                "system",
                "feedback.reject",
                Some(format!("{} — {}", reason.code, reason.label)),
                serde_json::json!({"reason_code": reason.code, "basis": reason.basis}),
            );
            t.set.push((
                ItemField::RejectionCode,
                Value::from(Some(reason.code.clone())),
            ));
            t.deadlines.cancel_all = true;
            t.notices.push(NewNotice {
                dedupe_key: format!("{}:citizen_not_accepted:{}", row.item.id, row.item.version),
                kind: "citizen_not_accepted".into(),
                audience: "submitter".into(),
                agency_id: row.item.receiving_agency_id,
                feedback_item_id: Some(row.item.id),
                deadline_id: None,
                payload: serde_json::json!({"tracking_code": row.item.tracking_code, "reason_code": reason.code, "message": reason.citizen}),
            });
            for (member, member_code) in self
                .store
                .merged_members(FeedbackId::from_uuid(row.item.id))
                .await?
            {
                t.notices
                    .push(not_accepted_via(&row.item, member, &member_code, reason));
            }
            // Lost races (the citizen answered at the last moment) are
            // simply skipped.
            if self.store.apply_transition(&t, now).await? {
                expired += 1;
            }
        }
        Ok(expired)
    }

    /// Items whose clarification period is over without the request ever
    /// reaching the submitter: flagged for the control office, once.
    async fn flag_undelivered_clarifications(&self, now: DateTime<Utc>) -> Result<(), StoreError> {
        for (id, deadline) in self.store.expired_clarifications(now, false).await? {
            let Some(row) = self
                .store
                .find_feedback_by_id(FeedbackId::from_uuid(id))
                .await?
            else {
                continue;
            };
            let state = FeedbackState::AwaitingInformation;
            let mut t = simple_transition(
                &row,
                state,
                "system",
                "feedback.clarification_undelivered",
                Some("Hết thời hạn bổ sung nhưng đề nghị bổ sung chưa đến được người gửi; chờ cán bộ quyết định.".into()),
                serde_json::json!({"deadline": deadline}),
            );
            t.set.push((ItemField::NeedsAttention, Value::from(true)));
            t.notices.push(NewNotice {
                dedupe_key: format!("{id}:control_office_clarification_undelivered:{deadline}"),
                kind: "control_office_clarification_undelivered".into(),
                audience: "control_office".into(),
                agency_id: row.item.receiving_agency_id,
                feedback_item_id: Some(id),
                deadline_id: Some(deadline),
                payload: serde_json::json!({"tracking_code": row.item.tracking_code}),
            });
            // A lost race (the citizen answered meanwhile) is no loss.
            self.store.apply_transition(&t, now).await?;
        }
        Ok(())
    }
}
