//! Deadlines of items: computed at receipt from the policy and the
//! calendar in force, kept true when the calendar changes (every moved due
//! date is audited), explained on request, and watched by the scheduler,
//! which queues reminders before and escalations after a due date.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use uuid::Uuid;

use crate::config::Settings;
use crate::domain::calendar::working_days::SkippedDay;
use crate::domain::deadline::{
    ComputedDeadline, DeadlineInput, DeadlineKind, DeadlinePolicy, DeadlineRule, Pause, compute,
};
use crate::domain::ids::FeedbackId;
use crate::domain::time::to_vietnam_rfc3339;
use crate::services::calendar::{CalendarService, weekday_vi};
use crate::store::deadlines::{
    DeadlineInputsUpdate, DeadlineRow, DeadlineWithItem, NewDeadline, Recomputed,
};
use crate::store::journal::{AuditEntry, NewNotice};
use crate::store::{Store, StoreError};

/// An open due date a calendar change would move.
#[derive(Debug, Clone)]
pub struct MovedDue {
    pub item: Uuid,
    pub kind: String,
    pub before: Option<DateTime<Utc>>,
    pub after: Option<DateTime<Utc>>,
}

/// The deadlines an item runs against from the moment it is received.
/// (The clarification timeout starts only when the office asks the
/// citizen to complete the item.)
const AT_RECEIPT: [DeadlineKind; 3] = [
    DeadlineKind::Classify,
    DeadlineKind::Forward,
    DeadlineKind::Answer,
];

/// How many rows one scheduler pass handles per kind of work.
const BATCH: u64 = 500;

pub struct DeadlineService {
    policy: DeadlinePolicy,
    calendar: Arc<CalendarService>,
}

/// What one scheduler pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SchedulerReport {
    /// Items not accepted (R07) because the submitter did not complete
    /// them in time.
    pub clarifications_expired: usize,
    pub recomputed: usize,
    pub moved: usize,
    pub near_due: usize,
    pub overdue: usize,
    pub notices_queued: usize,
}

/// One skipped day, as explained.
#[derive(Debug, Clone, Serialize)]
pub struct SkippedView {
    pub date: String,
    pub weekday: &'static str,
    pub reason: String,
}

/// How one due date was computed.
#[derive(Debug, Clone, Serialize)]
pub struct DeadlineExplanation {
    /// The deadline's row (not shown: it means nothing to readers).
    #[serde(skip)]
    pub id: Uuid,
    /// The agency answerable for it when not the handling agency.
    #[serde(skip)]
    pub agency_id: Option<Uuid>,
    pub kind: &'static str,
    pub label: &'static str,
    pub state: String,
    pub rule: RuleView,
    pub starts_at: String,
    pub received_on: String,
    pub cutoff_applied: bool,
    pub counts_from: String,
    pub paused_days: Vec<String>,
    pub paused_now: bool,
    pub extension_days: u32,
    pub original_due_at: Option<String>,
    pub due_at: Option<String>,
    /// From when the deadline counts as near due (reminders go out).
    pub remind_at: Option<String>,
    pub overdue: bool,
    pub near_due: bool,
    pub calendar_version: i64,
    pub skipped: Vec<SkippedView>,
    pub summary: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RuleView {
    pub profile: String,
    pub days: u32,
    pub unit: &'static str,
    pub unit_label: &'static str,
    pub basis: String,
}

impl DeadlineExplanation {
    /// The deadline's state in words (paused and overdue said too).
    pub fn state_label(&self) -> &'static str {
        match self.state.as_str() {
            "met" => "đã hoàn thành",
            "cancelled" => "không còn áp dụng",
            _ if self.paused_now => "đang tạm dừng",
            _ if self.overdue => "đang tính, đã quá hạn",
            _ if self.near_due => "đang tính, sắp đến hạn",
            _ => "đang tính",
        }
    }
}

impl DeadlineService {
    pub fn new(policy: DeadlinePolicy, calendar: Arc<CalendarService>) -> Self {
        Self { policy, calendar }
    }

    pub fn policy(&self) -> &DeadlinePolicy {
        &self.policy
    }

    pub fn calendar(&self) -> &Arc<CalendarService> {
        &self.calendar
    }

    /// The deadlines of an item received at `starts_at`, and the answer's
    /// due date (copied onto the item).
    pub fn for_new_item(
        &self,
        starts_at: DateTime<Utc>,
    ) -> (Vec<NewDeadline>, Option<DateTime<Utc>>) {
        let snapshot = self.calendar.current();
        let mut answer_due = None;
        let deadlines = AT_RECEIPT
            .iter()
            .map(|kind| {
                let rule = self.policy.rule(*kind);
                let computed = compute(
                    &DeadlineInput {
                        rule: &rule,
                        starts_at,
                        pauses: &[],
                        extension_days: 0,
                    },
                    &snapshot.calendar,
                );
                if *kind == DeadlineKind::Answer {
                    answer_due = computed.due_at;
                }
                NewDeadline {
                    id: Uuid::now_v7(),
                    kind: kind.as_str().to_string(),
                    rule: serde_json::to_value(&rule).unwrap_or_default(),
                    starts_at,
                    original_due_at: computed.original_due_at,
                    due_at: computed.due_at,
                    remind_at: computed.remind_at,
                    calendar_version: snapshot.version,
                    agency_id: None,
                }
            })
            .collect();
        (deadlines, answer_due)
    }

    /// A deadline of `kind` counted from `at`: the policy's period, or
    /// `days` in the same unit when staff set one (a coordinating agency's
    /// sub-deadline), answerable by `agency` when not the handling agency.
    pub fn deadline_from(
        &self,
        kind: DeadlineKind,
        at: DateTime<Utc>,
        days: Option<u32>,
        agency: Option<Uuid>,
    ) -> NewDeadline {
        let mut rule = self.policy.rule(kind);
        if let Some(days) = days {
            rule.days = days;
            rule.basis = format!(
                "Cơ quan chủ trì đặt thời hạn {days} {}",
                rule.unit.label_vi()
            );
        }
        let snapshot = self.calendar.current();
        let c = compute(
            &DeadlineInput {
                rule: &rule,
                starts_at: at,
                pauses: &[],
                extension_days: 0,
            },
            &snapshot.calendar,
        );
        NewDeadline {
            id: Uuid::now_v7(),
            kind: kind.as_str().into(),
            rule: serde_json::to_value(&rule).unwrap_or_default(),
            starts_at: at,
            original_due_at: c.original_due_at,
            due_at: c.due_at,
            remind_at: c.remind_at,
            calendar_version: snapshot.version,
            agency_id: agency,
        }
    }

    /// Recomputes open deadlines computed with an older calendar than the
    /// one in force; a due date that moves is audited.
    pub async fn recompute_behind(
        &self,
        store: &Store,
        now: DateTime<Utc>,
    ) -> Result<(usize, usize), StoreError> {
        let snapshot = self.calendar.current();
        let (mut recomputed, mut moved) = (0, 0);
        let mut skipped = std::collections::HashSet::new();
        loop {
            let rows: Vec<DeadlineRow> = store
                .deadlines_behind_calendar(snapshot.version, BATCH + skipped.len() as u64)
                .await?
                .into_iter()
                .filter(|r| !skipped.contains(&r.id))
                .collect();
            if rows.is_empty() {
                break;
            }
            let mut progressed = false;
            for row in &rows {
                match self
                    .recompute_one(store, row, &snapshot.calendar, snapshot.version, now)
                    .await
                {
                    Ok((wrote, did_move)) => {
                        progressed |= wrote;
                        recomputed += usize::from(wrote);
                        moved += usize::from(wrote && did_move);
                    }
                    // One unreadable row must not stop every reminder on
                    // every instance: report it and go on.
                    Err(StoreError::Integrity(e)) => {
                        tracing::error!(deadline = %row.id, error = %e, "deadline cannot be recomputed; skipped");
                        skipped.insert(row.id);
                    }
                    Err(e) => return Err(e),
                }
            }
            // Rows another instance took are no longer behind; if none of
            // ours wrote, the rest are being handled elsewhere.
            if !progressed || rows.len() < BATCH as usize {
                break;
            }
        }
        if moved > 0 {
            tracing::info!(
                recomputed,
                moved,
                calendar_version = snapshot.version,
                "due dates recomputed after a calendar change"
            );
        }
        Ok((recomputed, moved))
    }

    /// Which open due dates a change to one day would move (`None`:
    /// removing the day's entry), without changing anything: each open
    /// deadline due on or after the day, computed on the calendar in force
    /// and on the calendar as it would be. At most `limit` deadlines are
    /// looked at; the answer says whether there were more.
    pub async fn preview_day_change(
        &self,
        store: &Store,
        date: chrono::NaiveDate,
        day: Option<&crate::domain::calendar::holidays::ScheduledDay>,
        limit: u64,
    ) -> Result<(Vec<MovedDue>, bool), StoreError> {
        use chrono::Datelike;
        let snapshot = self.calendar.current();
        let mut changed = snapshot.calendar.clone();
        let mut days = changed.schedule(date.year());
        days.retain(|d| d.date != date);
        if let Some(d) = day {
            days.push(d.clone());
        }
        days.sort_by_key(|d| d.date);
        changed.set_official_year(date.year(), days);
        let from = crate::domain::time::vietnam_instant(date, chrono::NaiveTime::MIN);
        let rows = store.open_deadlines_due_from(from, limit + 1).await?;
        let more = rows.len() as u64 > limit;
        let mut moved = Vec::new();
        for row in rows.iter().take(limit as usize) {
            let Ok((rule, pauses)) = row_inputs(row) else {
                continue;
            };
            let input = DeadlineInput {
                rule: &rule,
                starts_at: row.starts_at,
                pauses: &pauses,
                extension_days: u32::try_from(row.extension_days).unwrap_or(0),
            };
            let now_due = compute(&input, &snapshot.calendar).due_at;
            let then_due = compute(&input, &changed).due_at;
            if now_due != then_due {
                moved.push(MovedDue {
                    item: row.feedback_item_id,
                    kind: row.kind.clone(),
                    before: now_due,
                    after: then_due,
                });
            }
        }
        Ok((moved, more))
    }

    async fn recompute_one(
        &self,
        store: &Store,
        row: &DeadlineRow,
        calendar: &crate::domain::calendar::working_days::WorkingCalendar,
        version: i64,
        now: DateTime<Utc>,
    ) -> Result<(bool, bool), StoreError> {
        let (rule, pauses) = row_inputs(row)?;
        let computed = compute(
            &DeadlineInput {
                rule: &rule,
                starts_at: row.starts_at,
                pauses: &pauses,
                extension_days: u32::try_from(row.extension_days).unwrap_or(0),
            },
            calendar,
        );
        let moved =
            computed.due_at != row.due_at || computed.original_due_at != row.original_due_at;
        let audit = moved.then(|| AuditEntry {
            actor_kind: "system".into(),
            actor_id: Some("scheduler".into()),
            action: "deadline.recomputed".into(),
            from_state: None,
            to_state: None,
            reason: Some(format!(
                "Lịch làm việc thay đổi (phiên bản {} → {version})",
                row.calendar_version
            )),
            details: serde_json::json!({
                "deadline": row.kind,
                "old_due_at": row.due_at.map(to_vietnam_rfc3339),
                "new_due_at": computed.due_at.map(to_vietnam_rfc3339),
                "old_original_due_at": row.original_due_at.map(to_vietnam_rfc3339),
                "new_original_due_at": computed.original_due_at.map(to_vietnam_rfc3339),
                "old_calendar_version": row.calendar_version,
                "new_calendar_version": version,
            }),
            request_id: None,
        });
        let wrote = store
            .store_recomputed_deadline(
                row,
                &Recomputed {
                    original_due_at: computed.original_due_at,
                    due_at: computed.due_at,
                    remind_at: computed.remind_at,
                    calendar_version: version,
                },
                audit.as_ref(),
                now,
            )
            .await?;
        Ok((wrote, moved))
    }

    /// How each of an item's due dates was computed. Deadlines behind the
    /// calendar in force are brought up to date first, so the explanation
    /// and the stored due date always agree.
    pub async fn explain(
        &self,
        store: &Store,
        item: FeedbackId,
        now: DateTime<Utc>,
    ) -> Result<Vec<DeadlineExplanation>, StoreError> {
        // Another instance may have changed the calendar since our last
        // pass: explain with the newest, as the stored dates will be.
        self.calendar.refresh().await?;
        let snapshot = self.calendar.current();
        let mut rows = store.deadlines_for_item(item).await?;
        if rows
            .iter()
            .any(|r| r.state == "open" && r.calendar_version < snapshot.version)
        {
            for row in rows
                .iter()
                .filter(|r| r.state == "open" && r.calendar_version < snapshot.version)
            {
                self.recompute_one(store, row, &snapshot.calendar, snapshot.version, now)
                    .await?;
            }
            rows = store.deadlines_for_item(item).await?;
        }
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let (rule, pauses) = row_inputs(&row)?;
            let extension_days = u32::try_from(row.extension_days).unwrap_or(0);
            let computed = compute(
                &DeadlineInput {
                    rule: &rule,
                    starts_at: row.starts_at,
                    pauses: &pauses,
                    extension_days,
                },
                &snapshot.calendar,
            );
            out.push(explanation(&row, &rule, &computed, extension_days, now));
        }
        Ok(out)
    }

    /// One pass of the scheduler: bring due dates up to date with the
    /// calendar, then queue near-due reminders and overdue escalations.
    /// Safe to run from several instances at once.
    pub async fn run_scheduler_once(
        &self,
        store: &Store,
        now: DateTime<Utc>,
    ) -> Result<SchedulerReport, StoreError> {
        self.calendar.refresh().await?;
        let (recomputed, moved) = self.recompute_behind(store, now).await?;
        let mut report = SchedulerReport {
            recomputed,
            moved,
            ..Default::default()
        };
        for d in store.deadlines_to_remind(now, BATCH).await? {
            let notices = self.notices(&d, NoticeKind::NearDue, 0);
            let queued = store.mark_near_due(d.deadline.id, &notices, now).await?;
            if queued > 0 {
                report.near_due += 1;
                report.notices_queued += queued;
            }
        }
        let every = Duration::days(i64::from(self.policy.settings.overdue_update_every_days));
        for d in store.deadlines_to_escalate(now, BATCH).await? {
            let sent = d.deadline.overdue_notices;
            let kind = if sent == 0 {
                NoticeKind::Overdue
            } else {
                NoticeKind::OverdueUpdate
            };
            // The next notice: every `every` after the due date, skipping
            // any that fell while no scheduler ran.
            let mut next = d
                .deadline
                .next_overdue_notice_at
                .or(d.deadline.due_at)
                .unwrap_or(now)
                + every;
            while next <= now {
                next += every;
            }
            let notices = self.notices(&d, kind, sent);
            let queued = store
                .mark_overdue(d.deadline.id, sent, next, &notices, now)
                .await?;
            if queued > 0 {
                report.overdue += 1;
                report.notices_queued += queued;
            }
        }
        if report.notices_queued > 0 || report.moved > 0 {
            tracing::info!(?report, "deadline scheduler pass");
        }
        Ok(report)
    }

    fn notices(&self, d: &DeadlineWithItem, kind: NoticeKind, sequence: i32) -> Vec<NewNotice> {
        let deadline_kind = DeadlineKind::parse(&d.deadline.kind);
        // Classifying and forwarding are the receiving office's own work;
        // answering is the handling agency's once there is one; a
        // contribution is the coordinating agency's, and its lead agency
        // (not the province) hears when it is late.
        let (responsible, audience, escalate_to) = match (deadline_kind, d.deadline.agency_id) {
            (Some(DeadlineKind::Coordinate), Some(agency)) => (
                agency,
                "coordinating_agency",
                d.handling_agency_id
                    .map(|a| (a, "handling_agency"))
                    .filter(|(a, _)| *a != agency),
            ),
            (Some(DeadlineKind::Answer), _) => match d.handling_agency_id {
                Some(a) if a != d.receiving_agency_id => (
                    a,
                    "handling_agency",
                    Some((d.receiving_agency_id, "control_office")),
                ),
                _ => (d.receiving_agency_id, "control_office", None),
            },
            _ => (d.receiving_agency_id, "control_office", None),
        };
        let payload = serde_json::json!({
            "tracking_code": d.tracking_code,
            "deadline": d.deadline.kind,
            "deadline_label": deadline_kind.map(DeadlineKind::label_vi),
            "due_at": d.deadline.due_at.map(to_vietnam_rfc3339),
            "overdue_notice_number": matches!(kind, NoticeKind::NearDue).then_some(0).unwrap_or(sequence + 1),
        });
        let key = |audience: &str| match kind {
            // A reminder per due date: a moved date gets its own.
            NoticeKind::NearDue => format!(
                "{}:near_due:{}:{audience}",
                d.deadline.id,
                d.deadline.due_at.map_or(0, |t| t.timestamp())
            ),
            _ => format!("{}:overdue:{sequence}:{audience}", d.deadline.id),
        };
        let mut out = vec![NewNotice {
            dedupe_key: key("responsible"),
            kind: kind.as_str().into(),
            audience: audience.into(),
            agency_id: responsible,
            feedback_item_id: Some(d.deadline.feedback_item_id),
            deadline_id: Some(d.deadline.id),
            staff_account_id: None,
            payload: payload.clone(),
        }];
        // After the deadline someone above hears of it too (DOMAIN §7:
        // escalation to VP UBND tỉnh at T and every 7 days after).
        if let Some((agency, audience)) = escalate_to.filter(|_| kind != NoticeKind::NearDue) {
            out.push(NewNotice {
                dedupe_key: key(audience),
                kind: format!("{}_escalation", kind.as_str()),
                audience: audience.into(),
                agency_id: agency,
                feedback_item_id: Some(d.deadline.feedback_item_id),
                deadline_id: Some(d.deadline.id),
                staff_account_id: None,
                payload,
            });
        }
        out
    }
}

/// Extra days for one deadline, and why.
#[derive(Debug, Clone)]
pub struct Extension {
    pub kind: DeadlineKind,
    pub days: u32,
    pub reason: String,
}

/// The deadline writes of one clock change, with its audit event.
#[derive(Debug, Clone)]
pub struct ClockPlan {
    pub updates: Vec<DeadlineInputsUpdate>,
    pub new: Vec<NewDeadline>,
    pub audit: AuditEntry,
}

/// Writes a clock change on its own (not with a workflow transition).
async fn write_plan(
    store: &Store,
    item: FeedbackId,
    plan: &ClockPlan,
    at: DateTime<Utc>,
) -> Result<(), ClockError> {
    store
        .update_deadline_inputs(item, &plan.updates, &plan.new, &plan.audit, at)
        .await?;
    Ok(())
}

/// Who changes an item's clock, and why (for the audit log).
#[derive(Debug, Clone)]
pub struct ClockChange {
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub reason: Option<String>,
    pub request_id: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ClockError {
    #[error("the clock is already paused")]
    AlreadyPaused,
    #[error("the clock is not paused")]
    NotPaused,
    #[error("no open {0} deadline")]
    NoSuchDeadline(&'static str),
    #[error("an extension must add 1–{0} days")]
    BadExtension(u32),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl DeadlineService {
    /// Stops the clock of every open deadline while the office waits for
    /// the citizen to complete the item, and starts the clarification
    /// timeout (DOMAIN §6.3 CHO_BO_SUNG, §7 D16).
    pub async fn pause(
        &self,
        store: &Store,
        item: FeedbackId,
        at: DateTime<Utc>,
        change: &ClockChange,
    ) -> Result<(), ClockError> {
        self.retrying(|| self.try_pause(store, item, at, change))
            .await
    }

    /// Re-runs a clock change that lost a race with another writer, on
    /// fresh rows and the latest calendar.
    async fn retrying<F, Fut>(&self, mut attempt: F) -> Result<(), ClockError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<(), ClockError>>,
    {
        let mut tries = 0;
        loop {
            self.calendar.refresh().await?;
            match attempt().await {
                Err(ClockError::Store(StoreError::Conflict(m)))
                    if tries < 3 && m.contains("feedback_deadline") =>
                {
                    tries += 1;
                }
                other => return other,
            }
        }
    }

    async fn try_pause(
        &self,
        store: &Store,
        item: FeedbackId,
        at: DateTime<Utc>,
        change: &ClockChange,
    ) -> Result<(), ClockError> {
        let plan = self.plan_pause(store, item, at, change).await?;
        write_plan(store, item, &plan, at).await
    }

    /// What pausing the clock writes, for a caller that writes it with
    /// its own change (a workflow transition).
    pub async fn plan_pause(
        &self,
        store: &Store,
        item: FeedbackId,
        at: DateTime<Utc>,
        change: &ClockChange,
    ) -> Result<ClockPlan, ClockError> {
        let rows = store.deadlines_for_item(item).await?;
        let open: Vec<&DeadlineRow> = rows
            .iter()
            .filter(|r| r.state == "open" && r.kind != "clarify_timeout")
            .collect();
        let mut updates = Vec::new();
        for row in &open {
            let (_, mut pauses) = row_inputs(row)?;
            if pauses.iter().any(|p| p.until.is_none()) {
                return Err(ClockError::AlreadyPaused);
            }
            pauses.push(Pause {
                from: at,
                until: None,
            });
            updates.push(self.update_for(
                row,
                pauses,
                row.extension_days,
                row.extension_reason.clone(),
                None,
            )?);
        }
        let rule = self.policy.rule(DeadlineKind::ClarifyTimeout);
        let snapshot = self.calendar.current();
        let c = compute(
            &DeadlineInput {
                rule: &rule,
                starts_at: at,
                pauses: &[],
                extension_days: 0,
            },
            &snapshot.calendar,
        );
        let timeout = NewDeadline {
            id: Uuid::now_v7(),
            kind: DeadlineKind::ClarifyTimeout.as_str().into(),
            rule: serde_json::to_value(&rule).unwrap_or_default(),
            starts_at: at,
            original_due_at: c.original_due_at,
            due_at: c.due_at,
            remind_at: c.remind_at,
            calendar_version: snapshot.version,
            agency_id: None,
        };
        let audit = clock_audit(
            change,
            "deadline.paused",
            serde_json::json!({"clarify_due_at": c.due_at.map(to_vietnam_rfc3339)}),
        );
        Ok(ClockPlan {
            updates,
            new: vec![timeout],
            audit,
        })
    }

    /// Restarts the clock when the citizen has completed the item; the
    /// paused days are not counted and the clarification timeout is met.
    pub async fn resume(
        &self,
        store: &Store,
        item: FeedbackId,
        at: DateTime<Utc>,
        change: &ClockChange,
    ) -> Result<(), ClockError> {
        self.retrying(|| self.try_resume(store, item, at, change))
            .await
    }

    async fn try_resume(
        &self,
        store: &Store,
        item: FeedbackId,
        at: DateTime<Utc>,
        change: &ClockChange,
    ) -> Result<(), ClockError> {
        let plan = self.plan_resume(store, item, at, change).await?;
        write_plan(store, item, &plan, at).await
    }

    /// What restarting the clock writes (see [`Self::plan_pause`]).
    pub async fn plan_resume(
        &self,
        store: &Store,
        item: FeedbackId,
        at: DateTime<Utc>,
        change: &ClockChange,
    ) -> Result<ClockPlan, ClockError> {
        let rows = store.deadlines_for_item(item).await?;
        let mut updates = Vec::new();
        let mut resumed = false;
        for row in rows.iter().filter(|r| r.state == "open") {
            if row.kind == "clarify_timeout" {
                let mut u = self.update_for(row, Vec::new(), 0, None, Some(at))?;
                u.state = "met".into();
                updates.push(u);
                continue;
            }
            let (_, mut pauses) = row_inputs(row)?;
            for p in pauses.iter_mut().filter(|p| p.until.is_none()) {
                p.until = Some(at.max(p.from));
                resumed = true;
            }
            updates.push(self.update_for(
                row,
                pauses,
                row.extension_days,
                row.extension_reason.clone(),
                None,
            )?);
        }
        if !resumed {
            return Err(ClockError::NotPaused);
        }
        let audit = clock_audit(change, "deadline.resumed", serde_json::json!({}));
        Ok(ClockPlan {
            updates,
            new: Vec::new(),
            audit,
        })
    }

    /// Extends one deadline by `days` in its own unit; the original due
    /// date is kept for on-time statistics (DOMAIN §7 D17).
    pub async fn extend(
        &self,
        store: &Store,
        item: FeedbackId,
        extension: &Extension,
        at: DateTime<Utc>,
        change: &ClockChange,
    ) -> Result<(), ClockError> {
        self.retrying(|| self.try_extend(store, item, extension, at, change))
            .await
    }

    async fn try_extend(
        &self,
        store: &Store,
        item: FeedbackId,
        extension: &Extension,
        at: DateTime<Utc>,
        change: &ClockChange,
    ) -> Result<(), ClockError> {
        let Extension { kind, days, reason } = extension;
        let (kind, days, reason) = (*kind, *days, reason.as_str());
        const MAX: u32 = crate::domain::deadline::MAX_POLICY_DAYS;
        let rows = store.deadlines_for_item(item).await?;
        let row = rows
            .iter()
            .find(|r| r.state == "open" && r.kind == kind.as_str())
            .ok_or(ClockError::NoSuchDeadline(kind.as_str()))?;
        let total = u32::try_from(row.extension_days)
            .unwrap_or(0)
            .saturating_add(days);
        if days == 0 || total > MAX {
            return Err(ClockError::BadExtension(MAX));
        }
        let (_, pauses) = row_inputs(row)?;
        let update = self.update_for(
            row,
            pauses,
            i32::try_from(total).unwrap_or(i32::MAX),
            Some(reason.to_string()),
            None,
        )?;
        let audit = clock_audit(
            change,
            "deadline.extended",
            serde_json::json!({
                "deadline": kind.as_str(),
                "days": days,
                "extension_reason": reason,
                "original_due_at": update.recomputed.original_due_at.map(to_vietnam_rfc3339),
                "old_due_at": row.due_at.map(to_vietnam_rfc3339),
                "new_due_at": update.recomputed.due_at.map(to_vietnam_rfc3339),
            }),
        );
        store
            .update_deadline_inputs(item, &[update], &[], &audit, at)
            .await?;
        Ok(())
    }

    fn update_for(
        &self,
        row: &DeadlineRow,
        pauses: Vec<Pause>,
        extension_days: i32,
        extension_reason: Option<String>,
        met_at: Option<DateTime<Utc>>,
    ) -> Result<DeadlineInputsUpdate, StoreError> {
        let (rule, _) = row_inputs(row)?;
        let snapshot = self.calendar.current();
        let c = compute(
            &DeadlineInput {
                rule: &rule,
                starts_at: row.starts_at,
                pauses: &pauses,
                extension_days: u32::try_from(extension_days).unwrap_or(0),
            },
            &snapshot.calendar,
        );
        Ok(DeadlineInputsUpdate {
            id: row.id,
            pauses: serde_json::to_value(&pauses).unwrap_or_default(),
            extension_days,
            extension_reason,
            recomputed: Recomputed {
                original_due_at: c.original_due_at,
                due_at: c.due_at,
                remind_at: c.remind_at,
                calendar_version: snapshot.version,
            },
            state: row.state.clone(),
            met_at,
            expected_row_version: row.row_version,
        })
    }
}

fn clock_audit(change: &ClockChange, action: &str, details: serde_json::Value) -> AuditEntry {
    AuditEntry {
        actor_kind: change.actor_kind.clone(),
        actor_id: change.actor_id.clone(),
        action: action.into(),
        from_state: None,
        to_state: None,
        reason: change.reason.clone(),
        details,
        request_id: change.request_id.clone(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NoticeKind {
    NearDue,
    Overdue,
    OverdueUpdate,
}

impl NoticeKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::NearDue => "deadline_near_due",
            Self::Overdue => "deadline_overdue",
            Self::OverdueUpdate => "deadline_overdue_update",
        }
    }
}

fn row_inputs(row: &DeadlineRow) -> Result<(DeadlineRule, Vec<Pause>), StoreError> {
    let rule: DeadlineRule = serde_json::from_value(row.rule.clone())
        .map_err(|e| StoreError::Integrity(format!("deadline {} has a bad rule: {e}", row.id)))?;
    let pauses: Vec<Pause> = serde_json::from_value(row.pauses.clone())
        .map_err(|e| StoreError::Integrity(format!("deadline {} has bad pauses: {e}", row.id)))?;
    Ok((rule, pauses))
}

fn explanation(
    row: &DeadlineRow,
    rule: &DeadlineRule,
    c: &ComputedDeadline,
    extension_days: u32,
    now: DateTime<Utc>,
) -> DeadlineExplanation {
    let kind = DeadlineKind::parse(&row.kind);
    let open = row.state == "open";
    let overdue = open && row.due_at.is_some_and(|due| due < now);
    let near_due = open && !overdue && row.remind_at.is_some_and(|r| r <= now);
    let date_vi = |d: chrono::NaiveDate| d.format("%d/%m/%Y").to_string();
    let non_working = c.skipped.len();
    let summary = match (
        c.due_date,
        row.due_at.map(crate::domain::time::vietnam_date),
    ) {
        (Some(_), Some(due)) => format!(
            "Tiếp nhận {}{}; không tính ngày tiếp nhận; tính {} {}{}{}, bỏ qua {} ngày không tính → hạn {} ngày {}.",
            date_vi(c.received_on),
            if c.cutoff_applied {
                format!(
                    " sau giờ chốt, tính như tiếp nhận ngày {}",
                    date_vi(c.counts_from)
                )
            } else {
                String::new()
            },
            rule.days,
            rule.unit.label_vi(),
            if extension_days > 0 {
                format!(" (gia hạn thêm {extension_days})")
            } else {
                String::new()
            },
            if c.paused_days.is_empty() {
                String::new()
            } else {
                format!(", tạm dừng {} ngày chờ bổ sung", c.paused_days.len())
            },
            non_working,
            rule.due_time.format("%H:%M:%S"),
            date_vi(due),
        ),
        _ => "Đang tạm dừng tính thời hạn để chờ người gửi bổ sung thông tin.".to_string(),
    };
    DeadlineExplanation {
        id: row.id,
        agency_id: row.agency_id,
        kind: kind.map_or("unknown", DeadlineKind::as_str),
        label: kind.map_or("", DeadlineKind::label_vi),
        state: row.state.clone(),
        rule: RuleView {
            profile: rule.profile.clone(),
            days: rule.days,
            unit: rule.unit.as_str(),
            unit_label: rule.unit.label_vi(),
            basis: rule.basis.clone(),
        },
        starts_at: to_vietnam_rfc3339(row.starts_at),
        received_on: c.received_on.to_string(),
        cutoff_applied: c.cutoff_applied,
        counts_from: c.counts_from.to_string(),
        paused_days: c.paused_days.iter().map(ToString::to_string).collect(),
        paused_now: c.paused_now,
        extension_days,
        original_due_at: row.original_due_at.map(to_vietnam_rfc3339),
        due_at: row.due_at.map(to_vietnam_rfc3339),
        remind_at: row.remind_at.map(to_vietnam_rfc3339),
        overdue,
        near_due,
        calendar_version: row.calendar_version,
        skipped: c.skipped.iter().map(skipped_view).collect(),
        summary,
    }
}

fn skipped_view(s: &SkippedDay) -> SkippedView {
    SkippedView {
        date: s.date.to_string(),
        weekday: weekday_vi(s.date),
        reason: s.reason.clone(),
    }
}

/// Loads the calendar (seeding official years from their files), the
/// deadline policy, and brings open deadlines up to date with both.
pub async fn start(store: &Store, settings: &Settings) -> anyhow::Result<DeadlineService> {
    let calendar = Arc::new(CalendarService::load(store.clone(), settings.holiday_rules()).await?);
    let files = settings.year_schedules().map_err(anyhow::Error::msg)?;
    calendar.seed_from_files(&files, Utc::now()).await?;
    let policy = settings.deadline_policy().map_err(anyhow::Error::msg)?;
    let deadlines = DeadlineService::new(policy, calendar);
    deadlines.recompute_behind(store, Utc::now()).await?;
    Ok(deadlines)
}
