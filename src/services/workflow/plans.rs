//! What each staff action changes, one small function per action: it
//! checks the action's own fields and says what to write (the item's
//! fields, its deadlines, the notices, the audit reason and details).
//! Whether the actor may take the action at all was decided before (the
//! domain's machine and role table); writing happens after, in one
//! transaction.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::Value;

use super::inputs::*;
use super::{Workflow, WorkflowError, answered_via, not_accepted_via};
use crate::domain::deadline::DeadlineKind;
use crate::domain::feedback::{ContentCategory, FeedbackKind, FeedbackState, FieldError};
use crate::domain::ids::{AgencyId, FeedbackId};
use crate::domain::rejection::CLARIFICATION_TIMEOUT;
use crate::domain::staff::Actor;
use crate::domain::text::{clean_line, clean_multiline, fold_for_search};
use crate::domain::time::to_vietnam_rfc3339;
use crate::services::publication;
use crate::store::coordination::{CoordinationRow, CoordinationWrite, active_agencies};
use crate::store::deadlines::NewDeadline;
use crate::store::directory_cache::DirectorySnapshot;
use crate::store::feedback::ItemRow;
use crate::store::journal::NewNotice;
use crate::store::workflow::{DeadlineEffects, ItemField};

/// The longest sub-deadline a lead agency may give a coordinating one,
/// in the policy's unit.
const MAX_COORDINATION_DAYS: u32 = 60;

/// What one action changes, before it is written.
pub(super) struct Change {
    pub set: Vec<(ItemField, Value)>,
    pub effects: DeadlineEffects,
    pub notices: Vec<NewNotice>,
    pub reason: Option<String>,
    pub details: serde_json::Value,
    pub supplement: Option<String>,
    pub coordination: Option<CoordinationWrite>,
    pub touch: Option<(FeedbackId, i32)>,
    pub repoint_members_to: Option<FeedbackId>,
    pub drop_answer_attachments: bool,
    pub new_deadlines: Vec<NewDeadline>,
}

impl Default for Change {
    fn default() -> Self {
        Self {
            set: Vec::new(),
            effects: DeadlineEffects::default(),
            notices: Vec::new(),
            reason: None,
            details: serde_json::json!({}),
            supplement: None,
            coordination: None,
            touch: None,
            repoint_members_to: None,
            drop_answer_attachments: false,
            new_deadlines: Vec::new(),
        }
    }
}

/// What every plan reads, and the field errors it finds.
pub(super) struct Step<'a> {
    pub ctx: &'a Workflow<'a>,
    pub actor: &'a Actor,
    pub item: &'a ItemRow,
    pub state: FeedbackState,
    pub coordination: &'a [CoordinationRow],
    pub directory: Arc<DirectorySnapshot>,
    pub today: NaiveDate,
    pub now: DateTime<Utc>,
    pub errors: Vec<FieldError>,
}

impl Step<'_> {
    fn id(&self) -> FeedbackId {
        FeedbackId::from_uuid(self.item.id)
    }

    /// A notice about this item (once per item version, kind and audience).
    fn notice(
        &self,
        kind: &str,
        audience: &str,
        agency: uuid::Uuid,
        payload: serde_json::Value,
    ) -> NewNotice {
        NewNotice {
            dedupe_key: format!("{}:{kind}:{}:{audience}", self.item.id, self.item.version),
            kind: kind.into(),
            audience: audience.into(),
            agency_id: agency,
            feedback_item_id: Some(self.item.id),
            deadline_id: None,
            staff_account_id: None,
            payload,
        }
    }

    /// A notice to the submitter, sent by the receiving office.
    fn to_submitter(&self, kind: &str, payload: serde_json::Value) -> NewNotice {
        self.notice(kind, "submitter", self.item.receiving_agency_id, payload)
    }

    fn required(
        &mut self,
        value: &Option<String>,
        field: &str,
        max: usize,
        multiline: bool,
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
                self.errors.push(FieldError::new(field, "required"));
                None
            }
            Some(v) if v.chars().count() > max => {
                self.errors.push(FieldError::new(field, "too_long"));
                None
            }
            Some(v) => Some(v),
        }
    }

    fn optional(&mut self, value: &Option<String>, field: &str, max: usize) -> Option<String> {
        super::optional(value, field, max, &mut self.errors)
    }

    /// An agency named by code, or why it cannot be: unknown, or gone in
    /// a reorganisation.
    fn agency(&mut self, code: Option<&str>, field: &str) -> Option<AgencyId> {
        let code = code.unwrap_or_default();
        match self.directory.agencies.get(code) {
            None => {
                self.errors.push(FieldError::new(
                    field,
                    if code.is_empty() {
                        "required"
                    } else {
                        "unknown_code"
                    },
                ));
                None
            }
            Some(id) if !self.directory.agency_exists_on(*id, self.today) => {
                self.errors.push(FieldError::new(field, "dissolved_agency"));
                None
            }
            Some(id) => Some(*id),
        }
    }

    fn code(&self) -> &str {
        &self.item.tracking_code
    }
}

fn text(v: Option<String>) -> Value {
    Value::from(v)
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

pub(super) fn classify(s: &mut Step<'_>, i: &ClassifyInput, c: &mut Change) {
    if let Some(k) = i.kind.as_deref() {
        match FeedbackKind::parse(k) {
            Some(k) => c.set.push((ItemField::Kind, text(Some(k.as_str().into())))),
            None => s.errors.push(FieldError::new("kind", "invalid_choice")),
        }
    }
    if let Some(category) = i.content_category.as_deref() {
        match ContentCategory::parse(category) {
            Some(x) => c
                .set
                .push((ItemField::ContentCategory, text(Some(x.as_str().into())))),
            None => s
                .errors
                .push(FieldError::new("content_category", "invalid_choice")),
        }
    }
    if let Some(code) = i.field_code.as_deref() {
        match s.directory.fields.get(code) {
            Some(id) => c
                .set
                .push((ItemField::FieldId, Value::from(Some(id.as_uuid())))),
            None => s.errors.push(FieldError::new("field_code", "unknown_code")),
        }
    }
    if let Some(v) = s.optional(&i.procedure_text, "procedure_text", 500) {
        c.set.push((ItemField::ProcedureText, text(Some(v))));
    }
    if let Some(v) = s.optional(&i.procedure_code, "procedure_code", 50) {
        c.set.push((ItemField::ProcedureCode, text(Some(v))));
    }
    // Classifying means deciding the content category (DOMAIN §2.2); the
    // rest may follow.
    if i.content_category.is_none() && s.item.content_category.is_none() {
        s.errors
            .push(FieldError::new("content_category", "required"));
    }
    c.effects.meet.push("classify");
}

pub(super) fn request_info(s: &mut Step<'_>, i: &RequestInfoInput, c: &mut Change) {
    let message = s.required(&i.message, "message", 2000, true);
    c.reason = message.clone();
    c.notices.push(s.to_submitter(
        "citizen_request_info",
        serde_json::json!({
            "tracking_code": s.code(),
            "message": message,
            "reply_by_mail": s.item.channel == "email",
        }),
    ));
}

/// Staff record what the submitter said by phone or in person.
pub(super) fn supplement(s: &mut Step<'_>, i: &SupplementInput, c: &mut Change) {
    c.supplement = s.required(&i.text, "text", 5000, true);
    c.reason = s.optional(&i.note, "note", 2000);
}

pub(super) async fn reject(
    s: &mut Step<'_>,
    i: &RejectInput,
    c: &mut Change,
) -> Result<(), WorkflowError> {
    let code = i.reason_code.as_deref().unwrap_or_default();
    let clarification = code == CLARIFICATION_TIMEOUT;
    if clarification
        && !(s.state == FeedbackState::AwaitingInformation
            && super::clarification_over(s.ctx.store, s.id(), s.now).await?)
    {
        s.errors
            .push(FieldError::new("reason_code", "clarification_not_over"));
    }
    let note = s.optional(&i.note, "note", 2000);
    match s
        .ctx
        .reasons
        .get(code)
        .filter(|r| r.staff_may_use || clarification)
    {
        None => s.errors.push(FieldError::new(
            "reason_code",
            if code.is_empty() {
                "required"
            } else {
                "unknown_code"
            },
        )),
        Some(r) => {
            c.set
                .push((ItemField::RejectionCode, text(Some(r.code.clone()))));
            c.set.push((ItemField::RejectionNote, text(note.clone())));
            c.reason = Some(format!("{} — {}", r.code, r.label));
            c.details = serde_json::json!({"reason_code": r.code, "basis": r.basis, "note": note});
            c.notices.push(s.to_submitter(
                "citizen_not_accepted",
                serde_json::json!({"tracking_code": s.code(), "reason_code": r.code, "message": r.citizen}),
            ));
            // Items merged into this one share its fate.
            for (member, member_code) in s.ctx.store.merged_members(s.id()).await? {
                c.notices
                    .push(not_accepted_via(s.item, member, &member_code, r));
            }
        }
    }
    c.effects.cancel_all = true;
    Ok(())
}

pub(super) fn forward(s: &mut Step<'_>, i: &ForwardInput, c: &mut Change) {
    let code = i.agency_code.clone().unwrap_or_default();
    if let Some(target) = s.agency(i.agency_code.as_deref(), "agency_code") {
        if target.as_uuid() == s.item.receiving_agency_id {
            // The office handling an item itself "accepts" it.
            s.errors
                .push(FieldError::new("agency_code", "invalid_choice"));
        } else {
            c.set.push((
                ItemField::HandlingAgencyId,
                Value::from(Some(target.as_uuid())),
            ));
            // Past the bounce limit the item waits for the control office
            // instead of going round again: sending it on needs the
            // office's reasoned decision.
            let over_limit = u32::try_from(s.item.bounce_count).unwrap_or(u32::MAX)
                > s.ctx.settings.workflow.max_bounces;
            c.reason = if over_limit {
                s.required(&i.note, "note", 2000, true)
            } else {
                s.optional(&i.note, "note", 2000)
            };
            c.set.push((ItemField::NeedsAttention, Value::from(false)));
            c.details = serde_json::json!({"to": code, "over_bounce_limit": over_limit});
            c.notices.push(s.notice(
                "agency_forwarded",
                "handling_agency",
                target.as_uuid(),
                serde_json::json!({"tracking_code": s.code(), "note": c.reason}),
            ));
            c.notices.push(s.to_submitter(
                "citizen_forwarded",
                serde_json::json!({"tracking_code": s.code(), "agency_code": code}),
            ));
        }
    }
    // Classification is part of routing; forwarding meets both.
    c.effects.meet.extend(["classify", "forward"]);
}

pub(super) fn accept(s: &mut Step<'_>, _: &AcceptInput, c: &mut Change) {
    if s.state == FeedbackState::Classified {
        // The receiving office handles it itself: no forwarding.
        c.set.push((
            ItemField::HandlingAgencyId,
            Value::from(Some(s.actor.agency.as_uuid())),
        ));
        c.effects.meet.push("classify");
        c.effects.cancel.push("forward");
    }
}

/// The item leaves its agency: coordination, draft and answer files go,
/// and a fresh 05-working-day forwarding clock starts (ND 20 as amended
/// by ND 92/2017: re-routing is forwarding again).
fn leave_agency(s: &Step<'_>, c: &mut Change) {
    c.set
        .push((ItemField::HandlingAgencyId, Value::from(None::<uuid::Uuid>)));
    c.coordination = Some(CoordinationWrite::WithdrawOpen);
    c.effects.cancel.extend(["coordinate", "forward"]);
    clear_draft(&mut c.set);
    c.drop_answer_attachments = true;
    c.new_deadlines.push(
        s.ctx
            .deadlines
            .deadline_from(DeadlineKind::Forward, s.now, None, None),
    );
}

pub(super) fn return_item(s: &mut Step<'_>, i: &ReturnInput, c: &mut Change) {
    let note = s.required(&i.note, "note", 2000, true);
    let bounces = s.item.bounce_count + 1;
    leave_agency(s, c);
    c.set.push((ItemField::BounceCount, Value::from(bounces)));
    let attention =
        u32::try_from(bounces).unwrap_or(u32::MAX) > s.ctx.settings.workflow.max_bounces;
    if attention {
        c.set.push((ItemField::NeedsAttention, Value::from(true)));
    }
    // Which agency sent it back: the statistics count returns per agency.
    let from = s.directory.agency_code(s.item.handling_agency_id);
    c.details = serde_json::json!({"from": from, "bounces": bounces, "needs_attention": attention});
    c.reason = note.clone();
    c.notices.push(s.notice(
        "control_office_returned",
        "control_office",
        s.item.receiving_agency_id,
        serde_json::json!({"tracking_code": s.code(), "note": note, "bounces": bounces}),
    ));
}

pub(super) fn recall(s: &mut Step<'_>, i: &RecallInput, c: &mut Change) {
    c.reason = s.required(&i.note, "note", 2000, true);
    c.details = serde_json::json!({"from": s.directory.agency_code(s.item.handling_agency_id)});
    leave_agency(s, c);
    if let Some(agency) = s.item.handling_agency_id {
        c.notices.push(s.notice(
            "agency_recalled",
            "handling_agency",
            agency,
            serde_json::json!({"tracking_code": s.code(), "note": c.reason}),
        ));
    }
}

pub(super) fn answer(s: &mut Step<'_>, i: &AnswerInput, c: &mut Change) {
    let answer = s.required(&i.text, "text", 20000, true);
    c.set.push((ItemField::AnswerDraft, text(answer)));
    c.set.push((
        ItemField::AnswerDraftedBy,
        Value::from(Some(s.actor.staff_id)),
    ));
    // A redraft needs a fresh sign-off.
    c.set.push((
        ItemField::AnswerSignedOffBy,
        Value::from(None::<uuid::Uuid>),
    ));
}

pub(super) fn sign_off(s: &mut Step<'_>, _: &SignOffInput, c: &mut Change) {
    if s.item.answer_draft.as_deref().is_none_or(str::is_empty) {
        s.errors.push(FieldError::new("text", "answer_missing"));
    }
    c.set.push((
        ItemField::AnswerSignedOffBy,
        Value::from(Some(s.actor.staff_id)),
    ));
}

pub(super) async fn approve(
    s: &mut Step<'_>,
    _: &ApproveInput,
    c: &mut Change,
) -> Result<(), WorkflowError> {
    c.set
        .push((ItemField::Answer, text(s.item.answer_draft.clone())));
    c.set
        .push((ItemField::AnsweredAt, Value::from(Some(s.now))));
    // Kept with the answer for the statistics, by today's calendar.
    let calendar = s.ctx.deadlines.calendar().current();
    let days = crate::domain::reporting::handling_working_days(
        &calendar.calendar,
        s.item.received_at,
        s.now,
    );
    c.set.push((
        ItemField::HandlingWorkingDays,
        Value::from(Some(i32::try_from(days).unwrap_or(i32::MAX))),
    ));
    c.effects.meet.push("answer");
    // The answer is out: contributions still awaited are moot.
    c.coordination = Some(CoordinationWrite::WithdrawOpen);
    c.effects.cancel.push("coordinate");
    // The answer goes to every submitter of the cluster.
    for (member, member_code) in s.ctx.store.merged_members(s.id()).await? {
        c.notices.push(answered_via(s.item, member, &member_code));
    }
    c.notices.push(s.to_submitter(
        "citizen_answered",
        serde_json::json!({"tracking_code": s.code()}),
    ));
    Ok(())
}

pub(super) fn send_back(s: &mut Step<'_>, i: &SendBackInput, c: &mut Change) {
    c.reason = s.required(&i.note, "note", 2000, true);
    // The lead sends back a draft; there must be one.
    let within_agency = s.item.state == FeedbackState::InHandling.as_str();
    if within_agency && s.item.answer_draft.as_deref().is_none_or(str::is_empty) {
        s.errors.push(FieldError::new("note", "draft_missing"));
    }
    c.set.push((
        ItemField::AnswerSignedOffBy,
        Value::from(None::<uuid::Uuid>),
    ));
    if let Some(agency) = s.item.handling_agency_id {
        c.notices.push(s.notice(
            "agency_answer_sent_back",
            "handling_agency",
            agency,
            serde_json::json!({"tracking_code": s.code(), "note": c.reason}),
        ));
    }
}

pub(super) fn publish(s: &mut Step<'_>, i: &PublishInput, c: &mut Change) {
    let item = s.item;
    if !publication::basis_allows(s.ctx.settings.publication.basis, item) {
        s.errors
            .push(FieldError::new("consent_to_publish", "consent_missing"));
    }
    let question = s.required(&i.question_redacted, "question_redacted", 20000, true);
    if item
        .rejection_code
        .as_deref()
        .and_then(|code| s.ctx.reasons.get(code))
        .is_some_and(|r| !r.publishable)
    {
        s.errors
            .push(FieldError::new("question_redacted", "not_publishable"));
    }
    // The original title may name people as much as the text does (DOMAIN
    // §8 rule 2): the public sees only the redacted one.
    let title_max = usize::try_from(s.ctx.settings.intake.title_max_chars).unwrap_or(200);
    let title = s.required(&i.title_redacted, "title_redacted", title_max, false);
    // The answer is public text too: a redacted copy, the approved answer
    // itself when nothing was removed from it.
    let answer = s
        .optional(&i.answer_redacted, "answer_redacted", 20000)
        .or_else(|| item.answer.clone());
    let confirmed = s.optional(&i.confirm_personal_data, "confirm_personal_data", 500);
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
            None => s.errors.extend(publication::personal_data_errors(&left)),
            Some(why) => {
                c.details = serde_json::json!({
                    "personal_data_confirmed": {
                        "reason": why,
                        "fields": left.iter().map(|(f, kinds)| serde_json::json!({"field": f, "kinds": kinds})).collect::<Vec<_>>(),
                    }
                });
                c.reason = Some(why.clone());
            }
        }
    }
    // Search runs on what is published only: a name left in the private
    // original must not find the item.
    let public_text = match (&title, &question) {
        (Some(t), Some(q)) => Some(fold_for_search(&format!(
            "{t} {q} {}",
            answer.as_deref().unwrap_or_default()
        ))),
        _ => None,
    };
    c.set.push((ItemField::QuestionRedacted, text(question)));
    c.set.push((ItemField::TitleRedacted, text(title)));
    c.set.push((ItemField::AnswerRedacted, text(answer)));
    c.set.push((ItemField::PublicSearchText, text(public_text)));
    c.set
        .push((ItemField::PublishedAt, Value::from(Some(s.now))));
    c.set
        .push((ItemField::PublicChangedAt, Value::from(Some(s.now))));
    c.notices.push(s.to_submitter(
        "citizen_published",
        serde_json::json!({"tracking_code": s.code()}),
    ));
}

pub(super) fn withhold(s: &mut Step<'_>, i: &WithholdInput, c: &mut Change) {
    use crate::domain::feedback::WITHHOLD_REASONS;
    // A reason from the list, with a note where the list does not say it
    // all ("other", or no reason chosen).
    let chosen = i.reason.as_deref().map(str::trim).filter(|r| !r.is_empty());
    let label = match chosen {
        None => None,
        Some(code) => match WITHHOLD_REASONS.iter().find(|(c, _)| *c == code) {
            Some((_, label)) => Some(*label),
            None => {
                s.errors.push(FieldError::new("reason", "invalid_choice"));
                return;
            }
        },
    };
    let note = if label.is_none() || chosen == Some("other") {
        s.required(&i.note, "note", 2000, true)
    } else {
        s.optional(&i.note, "note", 2000)
    };
    c.reason = match (label, note) {
        (Some(l), Some(n)) if chosen != Some("other") => Some(format!("{l}: {n}")),
        (Some(l), None) => Some(l.to_string()),
        (_, n) => n,
    };
    c.set
        .push((ItemField::WithheldReason, text(c.reason.clone())));
}

pub(super) fn unpublish(s: &mut Step<'_>, i: &UnpublishInput, c: &mut Change) {
    c.reason = s.optional(&i.note, "note", 2000);
    c.set
        .push((ItemField::PublishedAt, Value::from(None::<DateTime<Utc>>)));
    c.set.push((ItemField::PublicSearchText, text(None)));
    c.set
        .push((ItemField::PublicChangedAt, Value::from(Some(s.now))));
}

pub(super) fn close(s: &mut Step<'_>, i: &CloseInput, c: &mut Change) {
    c.reason = s.optional(&i.note, "note", 2000);
}

pub(super) async fn merge(
    s: &mut Step<'_>,
    i: &MergeInput,
    c: &mut Change,
) -> Result<(), WorkflowError> {
    let primary = match i
        .into
        .as_deref()
        .map(str::parse::<crate::domain::tracking::TrackingCode>)
    {
        None => {
            s.errors.push(FieldError::new("into", "required"));
            return Ok(());
        }
        Some(Err(_)) => None,
        Some(Ok(code)) => s.ctx.store.find_feedback_by_code(&code).await?,
    };
    let Some(p) = primary else {
        s.errors.push(FieldError::new("into", "unknown_code"));
        return Ok(());
    };
    // A cluster has one primary: not this item, not a merged item, nor one
    // that was not accepted.
    if p.item.id == s.item.id || matches!(p.item.state.as_str(), "merged" | "not_accepted") {
        s.errors.push(FieldError::new("into", "invalid_choice"));
        return Ok(());
    }
    c.set
        .push((ItemField::MergedIntoId, Value::from(Some(p.item.id))));
    c.reason = s.optional(&i.note, "note", 2000);
    c.details = serde_json::json!({"into": p.item.tracking_code});
    c.effects.cancel_all = true;
    c.coordination = Some(CoordinationWrite::WithdrawOpen);
    c.touch = Some((FeedbackId::from_uuid(p.item.id), p.item.version));
    c.repoint_members_to = Some(FeedbackId::from_uuid(p.item.id));
    c.notices.push(s.to_submitter(
        "citizen_merged",
        serde_json::json!({"tracking_code": s.code(), "into": p.item.tracking_code}),
    ));
    // Joining a cluster whose answer already went out: the answer goes to
    // this item's submitter (and its own members') now rather than never.
    if p.item.answered_at.is_some() {
        let mut members = s.ctx.store.merged_members(s.id()).await?;
        members.push((s.item.id, s.item.tracking_code.clone()));
        for (member, member_code) in members {
            c.notices.push(answered_via(&p.item, member, &member_code));
        }
    }
    Ok(())
}

pub(super) fn request_coordination(s: &mut Step<'_>, i: &RequestCoordinationInput, c: &mut Change) {
    let note = s.required(&i.note, "note", 2000, true);
    let days = match i.days {
        None => None,
        Some(d) => match u32::try_from(d) {
            Ok(d) if (1..=MAX_COORDINATION_DAYS).contains(&d) => Some(d),
            _ => {
                s.errors.push(FieldError::new("days", "out_of_range"));
                None
            }
        },
    };
    let Some(target) = s.agency(i.agency_code.as_deref(), "agency_code") else {
        return;
    };
    // Not the lead itself, nor the control office (it oversees every item
    // already); not twice.
    if Some(target.as_uuid()) == s.item.handling_agency_id
        || target.as_uuid() == s.item.receiving_agency_id
    {
        s.errors
            .push(FieldError::new("agency_code", "invalid_choice"));
        return;
    }
    if active_agencies(s.coordination).contains(&target) {
        s.errors
            .push(FieldError::new("agency_code", "already_requested"));
        return;
    }
    let deadline = s.ctx.deadlines.deadline_from(
        DeadlineKind::Coordinate,
        s.now,
        days,
        Some(target.as_uuid()),
    );
    let due_at = deadline.due_at.map(to_vietnam_rfc3339);
    let lead = s.directory.agency_code(s.item.handling_agency_id);
    if let Some(note) = &note {
        c.coordination = Some(CoordinationWrite::Request {
            agency: target.as_uuid(),
            note: note.clone(),
            requested_by: s.actor.username.clone(),
            deadline_id: deadline.id,
        });
    }
    c.details = serde_json::json!({"agency_code": i.agency_code, "due_at": due_at});
    c.reason = note.clone();
    c.notices.push(s.notice(
        "agency_coordination_requested",
        "coordinating_agency",
        target.as_uuid(),
        serde_json::json!({"tracking_code": s.code(), "lead_agency_code": lead, "due_at": due_at, "note": note}),
    ));
    c.new_deadlines.push(deadline);
}

pub(super) fn withdraw_coordination(
    s: &mut Step<'_>,
    i: &WithdrawCoordinationInput,
    c: &mut Change,
) {
    let code = i.agency_code.as_deref().unwrap_or_default();
    c.reason = s.optional(&i.note, "note", 2000);
    let open = s.directory.agencies.get(code).and_then(|target| {
        s.coordination
            .iter()
            .find(|x| x.agency_id == target.as_uuid() && x.state == "requested")
    });
    match open {
        None => s.errors.push(FieldError::new(
            "agency_code",
            if code.is_empty() {
                "required"
            } else {
                "not_requested"
            },
        )),
        Some(x) => {
            c.coordination = Some(CoordinationWrite::Withdraw {
                agency: x.agency_id,
            });
            c.details = serde_json::json!({"agency_code": code});
            c.notices.push(s.notice(
                "agency_coordination_withdrawn",
                "coordinating_agency",
                x.agency_id,
                serde_json::json!({"tracking_code": s.code(), "note": c.reason}),
            ));
        }
    }
}

pub(super) fn contribute(s: &mut Step<'_>, i: &ContributeInput, c: &mut Change) {
    let text = s.required(&i.text, "text", 20000, true);
    let own = s
        .directory
        .agency_names
        .get(&s.actor.agency)
        .map(|(code, _)| code.clone());
    if let Some(text) = text {
        c.details = serde_json::json!({"agency_code": own, "characters": text.chars().count()});
        c.coordination = Some(CoordinationWrite::Contribute {
            agency: s.actor.agency.as_uuid(),
            text,
            by: s.actor.username.clone(),
        });
    }
    if let Some(lead) = s.item.handling_agency_id {
        c.notices.push(s.notice(
            "agency_coordination_contributed",
            "handling_agency",
            lead,
            serde_json::json!({"tracking_code": s.code(), "agency_code": own}),
        ));
    }
}

/// Builds what `input` changes.
pub(super) async fn plan(s: &mut Step<'_>, input: &ActionInput) -> Result<Change, WorkflowError> {
    let mut c = Change::default();
    match input {
        ActionInput::Classify(i) => classify(s, i, &mut c),
        ActionInput::RequestInfo(i) => request_info(s, i, &mut c),
        ActionInput::Supplement(i) => supplement(s, i, &mut c),
        ActionInput::Reject(i) => reject(s, i, &mut c).await?,
        ActionInput::Forward(i) => forward(s, i, &mut c),
        ActionInput::Accept(i) => accept(s, i, &mut c),
        ActionInput::Return(i) => return_item(s, i, &mut c),
        ActionInput::Answer(i) => answer(s, i, &mut c),
        ActionInput::SignOff(i) => sign_off(s, i, &mut c),
        ActionInput::Approve(i) => approve(s, i, &mut c).await?,
        ActionInput::SendBack(i) => send_back(s, i, &mut c),
        ActionInput::Publish(i) => publish(s, i, &mut c),
        ActionInput::Withhold(i) => withhold(s, i, &mut c),
        ActionInput::Unpublish(i) => unpublish(s, i, &mut c),
        ActionInput::Close(i) => close(s, i, &mut c),
        ActionInput::Merge(i) => merge(s, i, &mut c).await?,
        ActionInput::RequestCoordination(i) => request_coordination(s, i, &mut c),
        ActionInput::WithdrawCoordination(i) => withdraw_coordination(s, i, &mut c),
        ActionInput::Contribute(i) => contribute(s, i, &mut c),
        ActionInput::Recall(i) => recall(s, i, &mut c),
    }
    Ok(c)
}
