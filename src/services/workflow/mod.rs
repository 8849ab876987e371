//! Taking a workflow action on an item: the domain decides whether the
//! transition exists and whether this actor may take it; this service
//! checks the action's fields, builds the change (item fields, deadlines,
//! queued notices, audit event) and writes it only if nobody changed the
//! item meanwhile.

use chrono::{DateTime, Utc};
use sea_orm::Value;

mod inputs;
mod plans;

pub use inputs::{ActionInput, Choices, FieldKind, FieldSpec, fields};

use crate::config::Settings;
use crate::domain::deadline::DeadlineKind;
use crate::domain::feedback::{FeedbackState, FieldError};
use crate::domain::ids::{AgencyId, FeedbackId};
use crate::domain::rejection::{CLARIFICATION_TIMEOUT, RejectionReasons};
use crate::domain::staff::Actor;
use crate::domain::text::clean_multiline;
use crate::domain::workflow::{
    Action, ItemFacts, may_take, possible, role_may_ever, separation_refuses,
};
use crate::services::deadlines::{ClockChange, ClockError, DeadlineService};
use crate::services::intake::{IncomingAttachment, check_files};
use crate::store::coordination::active_agencies;
use crate::store::feedback::{FeedbackRow, ItemRow};
use crate::store::journal::{AuditEntry, NewNotice};
use crate::store::workflow::{ANSWER_ATTACHMENT, DeadlineEffects, ItemField, Transition};
use crate::store::{Store, StoreError};

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
    #[error("the four-eyes rule: the drafter may not approve")]
    SeparationOfDuties,
    #[error("invalid action fields")]
    Invalid(Vec<FieldError>),
    #[error(transparent)]
    Store(#[from] StoreError),
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

/// Whether the item's clarification period (while it waits for the
/// submitter) is over.
pub(crate) async fn clarification_over(
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
/// The machine and the role table are the domain's (`possible`,
/// `may_take`): the console offers exactly what passes here.
async fn allowed(
    store: &Store,
    four_eyes: bool,
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
    let facts = item_facts(item);
    let to = possible(state, action, facts);
    if !role_may_ever(action, actor.role)
        || (to.is_some() && !may_take(action, state, actor.role, involvement))
    {
        return Err(WorkflowError::Forbidden);
    }
    if separation_refuses(action, four_eyes, actor.staff_id, item.answer_drafted_by) {
        return Err(WorkflowError::SeparationOfDuties);
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
    let Some(to) = to else {
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

/// What the domain needs to know of an item besides its state.
pub(crate) fn item_facts(item: &ItemRow) -> ItemFacts {
    ItemFacts {
        public: item.public_search_text.is_some(),
    }
}

impl Workflow<'_> {
    fn four_eyes(&self) -> bool {
        self.settings.workflow.four_eyes
    }

    /// Whether `actor` may take `action` on the item at all, before its
    /// fields are read: 404 for an item it may not see, 403 for a role or
    /// an agency that may not act (whatever the fields say).
    pub async fn authorize(
        &self,
        actor: &Actor,
        row: &FeedbackRow,
        action: Action,
    ) -> Result<(), WorkflowError> {
        match allowed(self.store, self.four_eyes(), actor, row, action, None).await {
            Err(WorkflowError::NotFound) => Err(WorkflowError::NotFound),
            Err(WorkflowError::Forbidden) => Err(WorkflowError::Forbidden),
            Err(WorkflowError::SeparationOfDuties) => Err(WorkflowError::SeparationOfDuties),
            Err(WorkflowError::Store(e)) => Err(WorkflowError::Store(e)),
            // The version and the transition are judged with the fields.
            _ => Ok(()),
        }
    }

    /// Takes the action `input` on the item `row` as `actor`; returns once
    /// written.
    pub async fn take(
        &self,
        actor: &Actor,
        row: &FeedbackRow,
        input: &ActionInput,
        request_id: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<(), WorkflowError> {
        let action = input.action();
        let item = &row.item;
        let id = FeedbackId::from_uuid(item.id);
        let Allowed {
            state,
            to,
            expected,
            coordination,
        } = allowed(
            self.store,
            self.four_eyes(),
            actor,
            row,
            action,
            input.version(),
        )
        .await?;
        let mut step = plans::Step {
            ctx: self,
            actor,
            item,
            state,
            coordination: &coordination,
            directory: self.store.directory_snapshot().await?,
            today: crate::domain::time::vietnam_date(now),
            now,
            errors: Vec::new(),
        };
        let change = plans::plan(&mut step, input).await?;
        if !step.errors.is_empty() {
            return Err(WorkflowError::Invalid(step.errors));
        }
        let plans::Change {
            set,
            effects,
            notices,
            reason,
            details,
            supplement,
            coordination: coordination_write,
            touch,
            repoint_members_to,
            drop_answer_attachments,
            new_deadlines,
        } = change;
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
        // it; written with the transition, retried on fresh deadline rows
        // if the scheduler touched one meanwhile.
        let clock = ClockChange {
            actor_kind: "staff".into(),
            actor_id: Some(actor.username.clone()),
            reason,
            request_id,
        };
        let clock = match action {
            Action::RequestInfo => Some(Clock::Pause(&clock)),
            Action::Supplement if state == FeedbackState::AwaitingInformation => {
                Some(Clock::Resume(&clock))
            }
            _ => None,
        };
        let written =
            apply_with_clock(self.store, self.deadlines, &mut transition, clock, now).await?;
        if !written {
            let current = self
                .store
                .find_feedback_by_id(id)
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
        let Allowed { expected, .. } = allowed(
            self.store,
            self.four_eyes(),
            actor,
            row,
            Action::Answer,
            version,
        )
        .await?;
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
        staff_account_id: None,
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
        staff_account_id: None,
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
            staff_account_id: None,
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
            staff_account_id: None,
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
                staff_account_id: None,
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
                staff_account_id: None,
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
                staff_account_id: None,
                payload: serde_json::json!({"tracking_code": row.item.tracking_code}),
            });
            // A lost race (the citizen answered meanwhile) is no loss.
            self.store.apply_transition(&t, now).await?;
        }
        Ok(())
    }
}
