//! The working-day calendar in force: loaded from the database into an
//! in-process snapshot (what every due-date computation reads), kept in
//! step with changes made by this or another instance, and changed only
//! through here so that every change is checked, audited and followed by
//! the recomputation of open deadlines.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Datelike, NaiveDate, Utc, Weekday};
use serde::Serialize;

use crate::config::ScheduleFile;
use crate::domain::calendar::holidays::{DayKind, HolidayRules, ScheduledDay, statutory_days};
use crate::domain::calendar::lunar::{FIRST_YEAR, LAST_YEAR};
use crate::domain::calendar::schedule_file::{YearSchedule, check_day, check_year};
use crate::domain::calendar::working_days::WorkingCalendar;
use crate::store::calendar::{CalendarChange, YearRecord};
use crate::store::{Store, StoreError};

/// The calendar as of one version.
#[derive(Debug, Clone)]
pub struct CalendarSnapshot {
    pub version: i64,
    pub changed_at: Option<DateTime<Utc>>,
    pub calendar: WorkingCalendar,
    pub years: HashMap<i32, YearRecord>,
}

#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    #[error("invalid calendar change: {}", .0.join("; "))]
    Invalid(Vec<String>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One day of a year's schedule, as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct DayView {
    pub date: String,
    pub weekday: &'static str,
    pub kind: DayKind,
    pub name: String,
    pub source: String,
    pub confirmed: bool,
}

/// A year's calendar, as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct YearView {
    pub year: i32,
    pub calendar_version: i64,
    /// "official" (an official schedule is loaded) or "computed" (the
    /// statutory defaults, to be confirmed).
    pub basis: &'static str,
    pub schedule_file: Option<String>,
    pub edited_by_admin: bool,
    pub weekly_rest_days: [&'static str; 2],
    pub working_days: u32,
    pub days: Vec<DayView>,
}

pub fn weekday_vi(date: NaiveDate) -> &'static str {
    match date.weekday() {
        Weekday::Mon => "Thứ Hai",
        Weekday::Tue => "Thứ Ba",
        Weekday::Wed => "Thứ Tư",
        Weekday::Thu => "Thứ Năm",
        Weekday::Fri => "Thứ Sáu",
        Weekday::Sat => "Thứ Bảy",
        Weekday::Sun => "Chủ nhật",
    }
}

pub struct CalendarService {
    store: Store,
    rules: HolidayRules,
    current: RwLock<Arc<CalendarSnapshot>>,
}

impl CalendarService {
    pub async fn load(store: Store, rules: HolidayRules) -> Result<Self, StoreError> {
        let snapshot = build_snapshot(&store, &rules).await?;
        Ok(Self {
            store,
            rules,
            current: RwLock::new(Arc::new(snapshot)),
        })
    }

    /// The snapshot in force (cheap: an `Arc` clone).
    pub fn current(&self) -> Arc<CalendarSnapshot> {
        match self.current.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Reloads the snapshot if the database holds a newer version (a
    /// change by another instance or the CLI). Returns whether it did.
    pub async fn refresh(&self) -> Result<bool, StoreError> {
        let version = self.store.calendar_version().await?;
        if version == self.current().version {
            return Ok(false);
        }
        let snapshot = Arc::new(build_snapshot(&self.store, &self.rules).await?);
        match self.current.write() {
            Ok(mut guard) => *guard = snapshot,
            Err(poisoned) => *poisoned.into_inner() = snapshot,
        }
        Ok(true)
    }

    /// Loads year files into the database: a year not there yet, or one
    /// whose file changed and that no administrator has edited since.
    /// Returns the years loaded.
    pub async fn seed_from_files(
        &self,
        files: &[ScheduleFile],
        now: DateTime<Utc>,
    ) -> Result<Vec<i32>, StoreError> {
        let mut loaded = Vec::new();
        for file in files {
            let year = file.schedule.year;
            let existing = self.current().years.get(&year).cloned();
            let load = match &existing {
                None => true,
                Some(record) if record.file_sha256.as_deref() == Some(file.sha256.as_str()) => {
                    false
                }
                Some(record) if record.edited_by_admin => {
                    tracing::warn!(year, file = %file.name, "calendar file changed but an administrator edited this year; keeping the database (use `pakn calendar import` to replace it)");
                    false
                }
                Some(_) => true,
            };
            if !load {
                continue;
            }
            let change = CalendarChange {
                actor_kind: "system".into(),
                actor: "pakn".into(),
                summary: format!("Nạp lịch năm {year} từ tệp {}", file.name),
                request_id: None,
            };
            if self
                .store
                .replace_calendar_year(
                    year,
                    &file.schedule.days,
                    "file",
                    Some((&file.name, &file.sha256)),
                    &change,
                    now,
                )
                .await?
                .is_none()
            {
                continue;
            }
            tracing::info!(year, file = %file.name, "official calendar loaded");
            loaded.push(year);
        }
        if !loaded.is_empty() {
            self.refresh().await?;
        }
        Ok(loaded)
    }

    /// Replaces a year with an administrator's schedule.
    pub async fn import_year(
        &self,
        schedule: &YearSchedule,
        change: &CalendarChange,
        now: DateTime<Utc>,
    ) -> Result<i64, CalendarError> {
        check_year(schedule.year, &schedule.days).map_err(CalendarError::Invalid)?;
        let version = self
            .store
            .replace_calendar_year(schedule.year, &schedule.days, "admin", None, change, now)
            .await?
            .ok_or_else(|| StoreError::Integrity("an import without a file was skipped".into()))?;
        self.refresh().await?;
        Ok(version)
    }

    /// Adds or corrects one day.
    pub async fn set_day(
        &self,
        day: &ScheduledDay,
        change: &CalendarChange,
        now: DateTime<Utc>,
    ) -> Result<i64, CalendarError> {
        check_day(day).map_err(|e| CalendarError::Invalid(vec![e]))?;
        let defaults = statutory_days(day.date.year(), &self.rules);
        let version = self
            .store
            .set_calendar_day(day, &defaults, change, now)
            .await?;
        self.refresh().await?;
        Ok(version)
    }

    /// Removes one day's entry; `None` if it had none.
    pub async fn remove_day(
        &self,
        date: NaiveDate,
        change: &CalendarChange,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>, CalendarError> {
        if !(FIRST_YEAR..=LAST_YEAR).contains(&date.year()) {
            return Err(CalendarError::Invalid(vec![format!(
                "{date}: only years {FIRST_YEAR}–{LAST_YEAR} are supported"
            )]));
        }
        let defaults = statutory_days(date.year(), &self.rules);
        let version = self
            .store
            .remove_calendar_day(date, &defaults, change, now)
            .await?;
        self.refresh().await?;
        Ok(version)
    }

    /// The year as the API shows it; `None` outside the supported years.
    /// From October on, a warning when next year has no official schedule
    /// of days off loaded: its deadlines then follow the computed
    /// statutory holidays only (Tết's days off and swapped working days
    /// are announced each year by the Bộ Nội vụ).
    pub fn next_year_warning(&self, now: DateTime<Utc>) -> Option<String> {
        next_year_warning(&self.current(), crate::domain::time::vietnam_date(now))
    }

    pub fn year_view(&self, year: i32) -> Option<YearView> {
        if !(FIRST_YEAR..=LAST_YEAR).contains(&year) {
            return None;
        }
        let snapshot = self.current();
        let record = snapshot.years.get(&year);
        let days = snapshot
            .calendar
            .schedule(year)
            .into_iter()
            .map(|d| DayView {
                date: d.date.to_string(),
                weekday: weekday_vi(d.date),
                kind: d.kind,
                name: d.name,
                source: d.source,
                confirmed: d.confirmed,
            })
            .collect();
        Some(YearView {
            year,
            calendar_version: snapshot.version,
            basis: if record.is_some() {
                "official"
            } else {
                "computed"
            },
            schedule_file: record.and_then(|r| r.file_name.clone()),
            edited_by_admin: record.is_some_and(|r| r.edited_by_admin),
            weekly_rest_days: ["saturday", "sunday"],
            working_days: snapshot.calendar.working_days_in(year),
            days,
        })
    }
}

async fn build_snapshot(
    store: &Store,
    rules: &HolidayRules,
) -> Result<CalendarSnapshot, StoreError> {
    let data = store.load_calendar().await?;
    let mut calendar = WorkingCalendar::new(rules.clone());
    let mut years = HashMap::new();
    for (year, (record, days)) in data.years {
        calendar.set_official_year(year, days);
        years.insert(year, record);
    }
    Ok(CalendarSnapshot {
        version: data.version,
        changed_at: data.changed_at,
        calendar,
        years,
    })
}

fn next_year_warning(snapshot: &CalendarSnapshot, today: NaiveDate) -> Option<String> {
    let next = today.year() + 1;
    (today.month() >= 10 && !snapshot.years.contains_key(&next)).then(|| {
        format!(
            "Chưa có lịch nghỉ chính thức năm {next}: thời hạn rơi vào năm {next} đang tính theo các ngày lễ, Tết theo luật (chưa gồm ngày nghỉ bù, hoán đổi do Bộ Nội vụ công bố). Quản trị viên nạp lịch tại trang Lịch làm việc khi có thông báo."
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(years: &[i32]) -> CalendarSnapshot {
        CalendarSnapshot {
            version: 1,
            changed_at: None,
            calendar: WorkingCalendar::new(HolidayRules::default()),
            years: years
                .iter()
                .map(|y| {
                    (
                        *y,
                        YearRecord {
                            year: *y,
                            origin: "file".into(),
                            file_name: None,
                            file_sha256: None,
                            edited_by_admin: false,
                            revision: 1,
                        },
                    )
                })
                .collect(),
        }
    }

    #[test]
    fn from_october_a_missing_official_schedule_for_next_year_is_pointed_out() {
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        let without = snapshot(&[2026]);
        assert!(next_year_warning(&without, day(2026, 9, 30)).is_none());
        let warning = next_year_warning(&without, day(2026, 10, 1)).unwrap();
        assert!(warning.contains("năm 2027"), "{warning}");
        assert!(next_year_warning(&without, day(2026, 12, 31)).is_some());
        let with = snapshot(&[2026, 2027]);
        assert!(next_year_warning(&with, day(2026, 11, 15)).is_none());
    }
}
