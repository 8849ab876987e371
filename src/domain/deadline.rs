//! Deadlines: which periods apply to an item (the policy, as data), and
//! how a due date follows from the moment of receipt, the calendar, pauses
//! and extensions, with every day that was not counted and why.
//!
//! Counting follows Bộ luật Dân sự 2015 Điều 147–148 (see
//! [`crate::domain::calendar::working_days`]). The periods themselves are
//! partly unconfirmed in law (DOMAIN §7), so they come from
//! `config/deadlines.toml`, never from code.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, NaiveTime, Timelike, Utc};
use serde::{Deserialize, Serialize};

use super::calendar::working_days::{SkippedDay, WorkingCalendar};
use super::time::{vietnam_date, vietnam_instant, vietnam_offset};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodUnit {
    WorkingDays,
    CalendarDays,
}

impl PeriodUnit {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::WorkingDays => "working_days",
            Self::CalendarDays => "calendar_days",
        }
    }

    pub fn label_vi(self) -> &'static str {
        match self {
            Self::WorkingDays => "ngày làm việc",
            Self::CalendarDays => "ngày",
        }
    }
}

/// The deadlines an item can run against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineKind {
    /// The receiving office classifies the item (DOMAIN §7 D2, proposed).
    Classify,
    /// It forwards an item outside its authority (ND 20 as amended by
    /// ND 92/2017: 05 working days from receipt; D1).
    Forward,
    /// The competent agency answers (D3/D4; unit per province).
    Answer,
    /// The citizen completes an item asked to be supplemented (D16).
    ClarifyTimeout,
    /// A coordinating agency gives its contribution to the lead agency
    /// (DOMAIN §6.3 "request coordination"; no period found in the law,
    /// so the policy proposes one and the lead may set another).
    Coordinate,
}

impl DeadlineKind {
    pub const ALL: [DeadlineKind; 5] = [
        Self::Classify,
        Self::Forward,
        Self::Answer,
        Self::ClarifyTimeout,
        Self::Coordinate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Classify => "classify",
            Self::Forward => "forward",
            Self::Answer => "answer",
            Self::ClarifyTimeout => "clarify_timeout",
            Self::Coordinate => "coordinate",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn label_vi(self) -> &'static str {
        match self {
            Self::Classify => "Phân loại",
            Self::Forward => "Chuyển cơ quan có thẩm quyền",
            Self::Answer => "Trả lời",
            Self::ClarifyTimeout => "Chờ bổ sung thông tin",
            Self::Coordinate => "Cơ quan phối hợp cho ý kiến",
        }
    }
}

/// One period of the policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Period {
    pub days: u32,
    pub unit: PeriodUnit,
    /// The legal basis or why the value was chosen, shown in explanations.
    pub basis: String,
}

/// A province profile from `config/deadlines.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadlineProfile {
    pub description: String,
    /// "off", or "HH:MM": an item received at or after this time on a
    /// working day counts as received the next working day.
    #[serde(default = "off")]
    pub intake_cutoff: String,
    /// When the last day ends: "23:59:59" (Điều 148) or an office's
    /// closing time such as "17:00".
    #[serde(default = "end_of_day")]
    pub due_time: String,
    pub near_due_working_days: u32,
    pub overdue_update_every_days: u32,
    pub classify: Period,
    pub forward: Period,
    pub answer: Period,
    pub clarify_timeout: Period,
    /// A coordinating agency's contribution; older policy files without
    /// it get the proposed default.
    #[serde(default = "default_coordinate")]
    pub coordinate: Period,
}

fn default_coordinate() -> Period {
    Period {
        days: 5,
        unit: PeriodUnit::WorkingDays,
        basis: "Thời hạn cơ quan phối hợp cho ý kiến do cơ quan tự đặt (không có văn bản quy định)"
            .into(),
    }
}

fn off() -> String {
    "off".into()
}

fn end_of_day() -> String {
    "23:59:59".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    profiles: BTreeMap<String, DeadlineProfile>,
}

/// The profile in force, checked, with its times parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadlinePolicy {
    pub profile: String,
    pub settings: DeadlineProfile,
    pub intake_cutoff: Option<NaiveTime>,
    pub due_time: NaiveTime,
}

/// The longest period a policy may set, in days.
pub const MAX_POLICY_DAYS: u32 = 365;

impl DeadlinePolicy {
    /// Parses `config/deadlines.toml` and picks `profile`; every problem is
    /// reported at once.
    pub fn from_toml(text: &str, profile: &str) -> Result<Self, String> {
        let file: PolicyFile = toml::from_str(text).map_err(|e| e.to_string())?;
        let Some(settings) = file.profiles.get(profile).cloned() else {
            return Err(format!(
                "deadline profile {profile:?} not found (have: {})",
                file.profiles.keys().cloned().collect::<Vec<_>>().join(", ")
            ));
        };
        let mut errors = Vec::new();
        let intake_cutoff = match settings.intake_cutoff.as_str() {
            "off" | "" => None,
            t => match NaiveTime::parse_from_str(t, "%H:%M") {
                Ok(t) => Some(t),
                Err(_) => {
                    errors.push(format!("intake_cutoff {t:?} is neither \"off\" nor HH:MM"));
                    None
                }
            },
        };
        let due_time = NaiveTime::parse_from_str(&settings.due_time, "%H:%M:%S")
            .or_else(|_| NaiveTime::parse_from_str(&settings.due_time, "%H:%M"))
            .unwrap_or_else(|_| {
                errors.push(format!(
                    "due_time {:?} is not HH:MM[:SS]",
                    settings.due_time
                ));
                NaiveTime::MIN
            });
        for (name, period) in [
            ("classify", &settings.classify),
            ("forward", &settings.forward),
            ("answer", &settings.answer),
            ("clarify_timeout", &settings.clarify_timeout),
            ("coordinate", &settings.coordinate),
        ] {
            if !(1..=MAX_POLICY_DAYS).contains(&period.days) {
                errors.push(format!("{name}.days must be 1–{MAX_POLICY_DAYS}"));
            }
        }
        // DOMAIN §7 D2: classification must not outlast forwarding.
        if settings.classify.unit == settings.forward.unit
            && settings.classify.days > settings.forward.days
        {
            errors.push("classify.days must not exceed forward.days".into());
        }
        if settings.near_due_working_days > 30 {
            errors.push("near_due_working_days must be 0–30".into());
        }
        if !(1..=90).contains(&settings.overdue_update_every_days) {
            errors.push("overdue_update_every_days must be 1–90".into());
        }
        if errors.is_empty() {
            Ok(Self {
                profile: profile.to_string(),
                settings,
                intake_cutoff,
                due_time,
            })
        } else {
            Err(errors.join("; "))
        }
    }

    pub fn period(&self, kind: DeadlineKind) -> &Period {
        match kind {
            DeadlineKind::Classify => &self.settings.classify,
            DeadlineKind::Forward => &self.settings.forward,
            DeadlineKind::Answer => &self.settings.answer,
            DeadlineKind::ClarifyTimeout => &self.settings.clarify_timeout,
            DeadlineKind::Coordinate => &self.settings.coordinate,
        }
    }

    /// The rule for `kind`, as stored with each deadline so that a later
    /// policy change never moves an existing due date.
    pub fn rule(&self, kind: DeadlineKind) -> DeadlineRule {
        let period = self.period(kind);
        DeadlineRule {
            profile: self.profile.clone(),
            kind,
            days: period.days,
            unit: period.unit,
            basis: period.basis.clone(),
            intake_cutoff: self.intake_cutoff,
            due_time: self.due_time,
            near_due_working_days: self.settings.near_due_working_days,
        }
    }
}

/// The rule that produced a deadline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlineRule {
    pub profile: String,
    pub kind: DeadlineKind,
    pub days: u32,
    pub unit: PeriodUnit,
    pub basis: String,
    pub intake_cutoff: Option<NaiveTime>,
    pub due_time: NaiveTime,
    pub near_due_working_days: u32,
}

/// A span during which the clock stood still (waiting for the citizen to
/// complete the item). `until: None` while it still waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pause {
    pub from: DateTime<Utc>,
    pub until: Option<DateTime<Utc>>,
}

/// What a due date is computed from.
#[derive(Debug, Clone)]
pub struct DeadlineInput<'a> {
    pub rule: &'a DeadlineRule,
    /// When the item really reached the agency (the clock's start).
    pub starts_at: DateTime<Utc>,
    pub pauses: &'a [Pause],
    /// Extra days granted by an extension, in the rule's unit.
    pub extension_days: u32,
}

/// A due date and how it came about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComputedDeadline {
    /// The Vietnamese date of receipt.
    pub received_on: NaiveDate,
    /// Whether the receipt came after the cut-off and counts from the next
    /// working day.
    pub cutoff_applied: bool,
    /// Day zero: the day of receipt (after the cut-off rule), not counted.
    pub counts_from: NaiveDate,
    /// Days the clock stood still, not counted.
    pub paused_days: Vec<NaiveDate>,
    /// The clock is stopped now: no due date until it resumes.
    pub paused_now: bool,
    /// The due date without any extension (for on-time statistics).
    pub original_due_date: Option<NaiveDate>,
    pub original_due_at: Option<DateTime<Utc>>,
    pub due_date: Option<NaiveDate>,
    pub due_at: Option<DateTime<Utc>>,
    /// From when the item is near its due date.
    pub remind_at: Option<DateTime<Utc>>,
    /// Every day not counted towards the (extended) due date, and why.
    pub skipped: Vec<SkippedDay>,
}

pub const PAUSE_REASON: &str = "Tạm dừng tính thời hạn: chờ người gửi bổ sung thông tin";

/// Computes a due date.
pub fn compute(input: &DeadlineInput<'_>, calendar: &WorkingCalendar) -> ComputedDeadline {
    let rule = input.rule;
    let local = input.starts_at.with_timezone(&vietnam_offset());
    let received_on = local.date_naive();
    // An item received after the cut-off on a working day counts as
    // received the next working day; on a non-working day the first
    // counted day is the next working day anyway.
    let cutoff_applied = rule
        .intake_cutoff
        .is_some_and(|cutoff| local.time().with_nanosecond(0).unwrap_or(local.time()) >= cutoff)
        && calendar.is_working_day(received_on);
    let counts_from = if cutoff_applied {
        calendar.next_working_day(received_on)
    } else {
        received_on
    };
    // Paused days: from the day after the pause began through the day the
    // citizen answered (counting resumes the day after, as with receipt).
    let mut paused = BTreeSet::new();
    let mut open_from: Option<NaiveDate> = None;
    for pause in input.pauses {
        let from = vietnam_date(pause.from);
        match pause.until {
            Some(until) => {
                let until = vietnam_date(until);
                let mut day = from;
                while day < until && paused.len() < 3660 {
                    let Some(next) = day.succ_opt() else { break };
                    day = next;
                    paused.insert(day);
                }
            }
            None => {
                open_from = Some(open_from.map_or(from, |f: NaiveDate| f.min(from)));
            }
        }
    }
    let walk = |days: u32| walk(calendar, rule.unit, counts_from, days, &paused, open_from);
    let (original, _) = walk(rule.days);
    let (due, skipped) = walk(rule.days.saturating_add(input.extension_days));
    let end = |d: NaiveDate| vietnam_instant(d, rule.due_time);
    // A reminder comes after at least one counted day: for a period no
    // longer than the lead (classify: 2 WD, reminders 2 WD early) it comes
    // on the last working day before the due date, not at receipt.
    let lead = match rule.unit {
        PeriodUnit::WorkingDays => rule.near_due_working_days.min(rule.days.saturating_sub(1)),
        PeriodUnit::CalendarDays => rule.near_due_working_days,
    };
    let remind_at = due.map(|d| {
        let on = calendar.working_days_before(d, lead);
        let earliest = counts_from.succ_opt().unwrap_or(counts_from);
        vietnam_instant(on.max(earliest), NaiveTime::MIN)
    });
    let paused_days: Vec<NaiveDate> = paused
        .iter()
        .copied()
        .filter(|d| due.is_none_or(|due| *d <= due))
        .collect();
    ComputedDeadline {
        received_on,
        cutoff_applied,
        counts_from,
        paused_days,
        paused_now: due.is_none(),
        original_due_date: original,
        original_due_at: original.map(end),
        due_date: due,
        due_at: due.map(end),
        remind_at,
        skipped,
    }
}

/// Counts `days` from `counts_from`; `None` when the count runs into a
/// pause that has not ended.
fn walk(
    calendar: &WorkingCalendar,
    unit: PeriodUnit,
    counts_from: NaiveDate,
    days: u32,
    paused: &BTreeSet<NaiveDate>,
    open_from: Option<NaiveDate>,
) -> (Option<NaiveDate>, Vec<SkippedDay>) {
    let days = days.min(super::calendar::working_days::MAX_PERIOD_DAYS);
    let mut date = counts_from;
    let mut counted = 0;
    let mut skipped = Vec::new();
    while counted < days {
        let Some(next) = date.succ_opt() else { break };
        date = next;
        if open_from.is_some_and(|from| date > from) {
            return (None, skipped);
        }
        if paused.contains(&date) {
            skipped.push(SkippedDay {
                date,
                reason: PAUSE_REASON.into(),
            });
            continue;
        }
        match unit {
            PeriodUnit::WorkingDays => match calendar.non_working_reason(date) {
                None => counted += 1,
                Some(reason) => skipped.push(SkippedDay { date, reason }),
            },
            PeriodUnit::CalendarDays => counted += 1,
        }
    }
    if unit == PeriodUnit::CalendarDays {
        // Điều 148: a period ending on a non-working day ends at the end
        // of the next working day.
        while let Some(reason) = calendar.non_working_reason(date) {
            skipped.push(SkippedDay { date, reason });
            let Some(next) = date.succ_opt() else { break };
            date = next;
        }
    }
    (Some(date), skipped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::calendar::holidays::HolidayRules;
    use crate::domain::calendar::schedule_file::parse_year_file;

    const POLICY: &str = include_str!("../../config/deadlines.toml");

    fn calendar() -> WorkingCalendar {
        let mut cal = WorkingCalendar::new(HolidayRules::default());
        for text in [
            include_str!("../../config/calendar/2025.toml"),
            include_str!("../../config/calendar/2026.toml"),
        ] {
            let year = parse_year_file(text).unwrap();
            cal.set_official_year(year.year, year.days);
        }
        cal
    }

    fn policy() -> DeadlinePolicy {
        DeadlinePolicy::from_toml(POLICY, "default").unwrap()
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn due(
        kind: DeadlineKind,
        starts_at: &str,
        pauses: &[Pause],
        extension_days: u32,
    ) -> ComputedDeadline {
        let rule = policy().rule(kind);
        compute(
            &DeadlineInput {
                rule: &rule,
                starts_at: at(starts_at),
                pauses,
                extension_days,
            },
            &calendar(),
        )
    }

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn shipped_policy_has_the_documented_defaults() {
        let p = policy();
        assert_eq!(
            (p.settings.classify.days, p.settings.classify.unit),
            (2, PeriodUnit::WorkingDays)
        );
        assert_eq!(
            (p.settings.forward.days, p.settings.forward.unit),
            (5, PeriodUnit::WorkingDays)
        );
        assert_eq!(p.settings.answer.days, 20);
        assert_eq!(p.settings.clarify_timeout.days, 5);
        assert_eq!(p.settings.overdue_update_every_days, 7);
        assert_eq!(p.intake_cutoff, None, "cut-off is off by default");
        assert!(DeadlinePolicy::from_toml(POLICY, "national").is_ok());
    }

    #[test]
    fn received_on_a_saturday_counts_from_monday() {
        // Sat 21/11/2026; Mon 23 is day 1, 24/11 is Ngày Văn hóa (off),
        // so 5 WD end Mon 30/11 at 23:59:59 (16:59:59Z).
        let c = due(DeadlineKind::Forward, "2026-11-21T10:00:00+07:00", &[], 0);
        assert_eq!(c.due_date, Some(d("2026-11-30")));
        assert_eq!(c.due_at, Some(at("2026-11-30T23:59:59+07:00")));
        assert!(
            c.skipped
                .iter()
                .any(|s| s.date == d("2026-11-24") && s.reason.contains("Văn hóa"))
        );
    }

    #[test]
    fn received_on_a_holiday_counts_from_the_next_working_day() {
        // Thu 30/04/2026 (holiday), Fri 01/05 holiday, weekend: day 1 is
        // Mon 04/05, day 2 Tue 05/05.
        let c = due(DeadlineKind::Classify, "2026-04-30T09:00:00+07:00", &[], 0);
        assert_eq!(c.due_date, Some(d("2026-05-05")));
    }

    #[test]
    fn just_before_tet_the_nine_days_are_skipped() {
        // Fri 13/02/2026, 2 WD: Tết 14–22/02 skipped → Tue 24/02.
        let c = due(DeadlineKind::Classify, "2026-02-13T15:00:00+07:00", &[], 0);
        assert_eq!(c.due_date, Some(d("2026-02-24")));
        assert_eq!(c.skipped.len(), 9);
    }

    #[test]
    fn a_swapped_saturday_counts_as_a_working_day() {
        // Thu 08/01/2026 + 1 WD = Fri 09/01; + 2 WD = Sat 10/01 (worked).
        let c = due(DeadlineKind::Classify, "2026-01-08T09:00:00+07:00", &[], 0);
        assert_eq!(c.due_date, Some(d("2026-01-10")));
        // And the swapped-out Friday 02/01 is skipped.
        let c = due(DeadlineKind::Classify, "2025-12-31T09:00:00+07:00", &[], 0);
        assert_eq!(c.due_date, Some(d("2026-01-06")));
    }

    #[test]
    fn the_cut_off_moves_receipt_to_the_next_working_day() {
        let mut p = policy();
        p.intake_cutoff = NaiveTime::from_hms_opt(16, 30, 0);
        let rule = p.rule(DeadlineKind::Classify);
        let cal = calendar();
        let run = |s: &str| {
            compute(
                &DeadlineInput {
                    rule: &rule,
                    starts_at: at(s),
                    pauses: &[],
                    extension_days: 0,
                },
                &cal,
            )
        };
        // Mon 16/11/2026 16:29 → Wed 18; at 16:30 → counts from Tue → Thu 19.
        assert_eq!(
            run("2026-11-16T16:29:59+07:00").due_date,
            Some(d("2026-11-18"))
        );
        let late = run("2026-11-16T16:30:00+07:00");
        assert!(late.cutoff_applied);
        assert_eq!(late.counts_from, d("2026-11-17"));
        assert_eq!(late.due_date, Some(d("2026-11-19")));
        // On a Saturday the cut-off changes nothing.
        let sat = run("2026-11-14T18:00:00+07:00");
        assert!(!sat.cutoff_applied);
        assert_eq!(sat.due_date, Some(d("2026-11-17")));
    }

    #[test]
    fn a_pause_stops_the_clock_and_resuming_restarts_it() {
        // Received Mon 02/11/2026, 5 WD → Mon 09/11 without a pause.
        assert_eq!(
            due(DeadlineKind::Forward, "2026-11-02T09:00:00+07:00", &[], 0).due_date,
            Some(d("2026-11-09"))
        );
        // Paused Tue 03/11 10:00 until Thu 05/11 15:00: Wed and Thu do not
        // count, so two more working days → Wed 11/11.
        let pause = Pause {
            from: at("2026-11-03T10:00:00+07:00"),
            until: Some(at("2026-11-05T15:00:00+07:00")),
        };
        let c = due(
            DeadlineKind::Forward,
            "2026-11-02T09:00:00+07:00",
            &[pause],
            0,
        );
        assert_eq!(c.due_date, Some(d("2026-11-11")));
        assert_eq!(c.paused_days, vec![d("2026-11-04"), d("2026-11-05")]);
        assert!(c.skipped.iter().any(|s| s.reason == PAUSE_REASON));
        // While still paused there is no due date.
        let open = Pause {
            from: at("2026-11-03T10:00:00+07:00"),
            until: None,
        };
        let c = due(
            DeadlineKind::Forward,
            "2026-11-02T09:00:00+07:00",
            &[open],
            0,
        );
        assert!(c.paused_now);
        assert_eq!(c.due_at, None);
        // A pause after the due date changes nothing.
        let late = Pause {
            from: at("2026-11-20T10:00:00+07:00"),
            until: Some(at("2026-11-26T10:00:00+07:00")),
        };
        assert_eq!(
            due(
                DeadlineKind::Forward,
                "2026-11-02T09:00:00+07:00",
                &[late],
                0
            )
            .due_date,
            Some(d("2026-11-09"))
        );
    }

    #[test]
    fn an_extension_keeps_the_original_due_date() {
        let c = due(DeadlineKind::Forward, "2026-11-02T09:00:00+07:00", &[], 3);
        assert_eq!(c.original_due_date, Some(d("2026-11-09")));
        assert_eq!(c.due_date, Some(d("2026-11-12")));
    }

    #[test]
    fn calendar_day_answers_roll_forward_and_reminders_come_two_working_days_early() {
        let p = DeadlinePolicy::from_toml(POLICY, "national").unwrap();
        let rule = p.rule(DeadlineKind::Answer);
        assert_eq!(rule.unit, PeriodUnit::CalendarDays);
        let c = compute(
            &DeadlineInput {
                rule: &rule,
                starts_at: at("2026-04-10T09:00:00+07:00"),
                pauses: &[],
                extension_days: 0,
            },
            &calendar(),
        );
        // 20 days → Thu 30/04 (holiday), 1/5, weekend → Mon 04/05.
        assert_eq!(c.due_date, Some(d("2026-05-04")));
        // Two working days before Mon 04/05 is Tue 28/04 (27/04 is off).
        assert_eq!(c.remind_at, Some(at("2026-04-28T00:00:00+07:00")));
    }

    #[test]
    fn a_short_period_is_not_near_due_on_the_day_of_receipt() {
        // Mon 16/11/2026, classify 2 WD → Wed 18; reminder on Tue 17.
        let c = due(DeadlineKind::Classify, "2026-11-16T09:00:00+07:00", &[], 0);
        assert_eq!(c.due_date, Some(d("2026-11-18")));
        assert_eq!(c.remind_at, Some(at("2026-11-17T00:00:00+07:00")));
        // Forward 5 WD → Mon 23; reminder two working days before, Thu 19.
        let c = due(DeadlineKind::Forward, "2026-11-16T09:00:00+07:00", &[], 0);
        assert_eq!(c.remind_at, Some(at("2026-11-19T00:00:00+07:00")));
    }

    #[test]
    fn a_calendar_change_moves_the_due_date() {
        // Thu 19/11/2026 + 5 WD skips Ngày Văn hóa (Tue 24/11) → Fri 27/11;
        // remove that day from the calendar and the due date is Thu 26/11.
        let rule = policy().rule(DeadlineKind::Forward);
        let input = DeadlineInput {
            rule: &rule,
            starts_at: at("2026-11-19T09:00:00+07:00"),
            pauses: &[],
            extension_days: 0,
        };
        let mut cal = calendar();
        assert_eq!(compute(&input, &cal).due_date, Some(d("2026-11-27")));
        let mut days = cal.schedule(2026);
        days.retain(|x| x.date != d("2026-11-24"));
        cal.set_official_year(2026, days);
        assert_eq!(compute(&input, &cal).due_date, Some(d("2026-11-26")));
    }

    #[test]
    fn bad_policies_are_refused_with_every_reason() {
        let bad = POLICY.replace("intake_cutoff = \"off\"", "intake_cutoff = \"25:00\"");
        let err = DeadlinePolicy::from_toml(&bad, "default").unwrap_err();
        assert!(err.contains("intake_cutoff"), "{err}");
        assert!(
            DeadlinePolicy::from_toml(POLICY, "nowhere")
                .unwrap_err()
                .contains("not found")
        );
    }
}
