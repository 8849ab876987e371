//! The working-day calendar kept by an administrator in the browser: the
//! year's days off, holidays and swapped working days with their legal
//! source, and an edit to one day previewed first (which open due dates it
//! would move, and to when) before it is saved through the same calendar
//! service the admin API uses.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::Serialize;

use super::Services;
use super::calendar::{CalendarError, YearView};
use super::staff_items::StaffError;
use crate::domain::calendar::holidays::{DayKind, ScheduledDay};
use crate::domain::calendar::schedule_file::check_day;
use crate::domain::deadline::DeadlineKind;
use crate::domain::feedback::FieldError;
use crate::domain::staff::{Actor, Permission};
use crate::domain::text::clean_line;
use crate::domain::time::VnTime;
use crate::store::calendar::CalendarChange;

/// How many open deadlines a preview looks at.
pub const PREVIEW_LIMIT: u64 = 20_000;
/// How many moved due dates a preview lists.
pub const PREVIEW_SHOWN: usize = 50;

/// An edit to one day as typed: a kind (`holiday`, `day_off`,
/// `working_day`) or `remove` (back to the default).
#[derive(Debug, Clone, Default)]
pub struct DayInput {
    pub date: String,
    pub kind: String,
    pub name: String,
    pub source: String,
    pub confirmed: bool,
}

/// One due date an edit would move.
#[derive(Debug, Clone, Serialize)]
pub struct MovedView {
    pub tracking_code: String,
    pub deadline: &'static str,
    pub before: Option<VnTime>,
    pub after: Option<VnTime>,
}

/// What an edit would do.
#[derive(Debug, Clone, Serialize)]
pub struct DayPreview {
    pub date: NaiveDate,
    pub moved_count: usize,
    /// More open deadlines than a preview looks at: the count is a floor.
    pub more: bool,
    pub moved: Vec<MovedView>,
}

impl DayPreview {
    pub fn date_vi(&self) -> String {
        self.date.format("%d/%m/%Y").to_string()
    }
}

fn require(actor: &Actor) -> Result<(), StaffError> {
    super::staff_items::require(actor, Permission::EditCalendar)
}

/// The year as the calendar API shows it.
pub fn year(s: &Services, actor: &Actor, year: i32) -> Result<YearView, StaffError> {
    require(actor)?;
    s.calendar.year_view(year).ok_or(StaffError::NotFound)
}

/// Reads an edit: the date, and the day (none: removing the entry).
fn parse(input: &DayInput) -> Result<(NaiveDate, Option<ScheduledDay>), StaffError> {
    let Ok(date) = NaiveDate::parse_from_str(input.date.trim(), "%Y-%m-%d") else {
        return Err(StaffError::Invalid(vec![FieldError::new(
            "date",
            "date_invalid",
        )]));
    };
    if !(1900..=2199).contains(&date.year()) {
        return Err(StaffError::Invalid(vec![FieldError::new(
            "date",
            "year_unsupported",
        )]));
    }
    let kind = match input.kind.trim() {
        "remove" => return Ok((date, None)),
        "holiday" => DayKind::Holiday,
        "day_off" => DayKind::DayOff,
        "working_day" => DayKind::WorkingDay,
        _ => {
            return Err(StaffError::Invalid(vec![FieldError::new(
                "kind",
                "invalid_choice",
            )]));
        }
    };
    let day = ScheduledDay {
        date,
        kind,
        name: clean_line(&input.name),
        source: clean_line(&input.source),
        confirmed: input.confirmed,
    };
    if let Err(message) = check_day(&day) {
        let code = crate::domain::calendar::schedule_file::rule_code(&message);
        let field = match code {
            "name_required" => "name",
            "source_required" => "source",
            _ => "kind",
        };
        return Err(StaffError::Invalid(vec![FieldError::new(field, code)]));
    }
    Ok((date, Some(day)))
}

/// Which open due dates an edit would move (nothing changes).
pub async fn preview(
    s: &Services,
    actor: &Actor,
    input: &DayInput,
) -> Result<DayPreview, StaffError> {
    require(actor)?;
    let (date, day) = parse(input)?;
    let (moved, more) = s
        .deadlines
        .preview_day_change(&s.store, date, day.as_ref(), PREVIEW_LIMIT)
        .await?;
    let codes: std::collections::HashMap<_, _> = s
        .store
        .tracking_codes_of(moved.iter().take(PREVIEW_SHOWN).map(|m| m.item).collect())
        .await?
        .into_iter()
        .collect();
    Ok(DayPreview {
        date,
        moved_count: moved.len(),
        more,
        moved: moved
            .iter()
            .take(PREVIEW_SHOWN)
            .map(|m| MovedView {
                tracking_code: codes.get(&m.item).cloned().unwrap_or_default(),
                deadline: DeadlineKind::parse(&m.kind).map_or("Thời hạn", DeadlineKind::label_vi),
                before: m.before.map(VnTime),
                after: m.after.map(VnTime),
            })
            .collect(),
    })
}

/// Saves an edit (audited by the calendar service) and moves the open due
/// dates behind it; answers how many moved.
pub async fn save(
    s: &Services,
    actor: &Actor,
    input: &DayInput,
    request_id: Option<String>,
    now: DateTime<Utc>,
) -> Result<usize, StaffError> {
    require(actor)?;
    let (date, day) = parse(input)?;
    let change = CalendarChange {
        actor_kind: "staff".into(),
        actor: actor.username.clone(),
        summary: format!(
            "Cập nhật ngày {} từ trang quản trị",
            date.format("%d/%m/%Y")
        ),
        request_id,
    };
    let result = match &day {
        Some(d) => s.calendar.set_day(d, &change, now).await.map(Some),
        None => s.calendar.remove_day(date, &change, now).await,
    };
    match result {
        Ok(_) => {}
        Err(CalendarError::Invalid(_)) => {
            return Err(StaffError::Invalid(vec![FieldError::new(
                "kind", "invalid",
            )]));
        }
        Err(CalendarError::Store(e)) => return Err(e.into()),
    }
    let (_, moved) = s.deadlines.recompute_behind(&s.store, now).await?;
    Ok(moved)
}
