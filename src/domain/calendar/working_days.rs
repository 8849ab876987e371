//! Working-day arithmetic for deadlines (Bộ luật Dân sự 2015, Điều 147–148):
//! the day of receipt is not counted; a period ends at the end of its last
//! day; a period in calendar days that ends on a non-working day ends at the
//! end of the next working day. Dates are Vietnamese civil dates (UTC+7).

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use chrono::{Datelike, NaiveDate, Weekday};

use super::holidays::{DayKind, HolidayRules, ScheduledDay, is_weekend, statutory_days};
use super::lunar::{FIRST_YEAR, LAST_YEAR};

/// Why a day was not counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedDay {
    pub date: NaiveDate,
    pub reason: String,
}

/// One year's exceptions to the Monday–Friday week, with a bitset of its
/// non-working days so that counting a deadline never searches a list.
#[derive(Debug)]
struct YearTable {
    year: i32,
    /// Sorted by date.
    entries: Vec<ScheduledDay>,
    /// Bit `ordinal0` is set when that day is not a working day.
    off: [u64; 6],
}

impl YearTable {
    fn new(year: i32, mut entries: Vec<ScheduledDay>) -> Self {
        entries.retain(|d| d.date.year() == year);
        entries.sort_by_key(|d| d.date);
        entries.dedup_by_key(|d| d.date);
        let mut off = [0u64; 6];
        let mut day = NaiveDate::from_ymd_opt(year, 1, 1);
        while let Some(date) = day.filter(|d| d.year() == year) {
            let entry = entries
                .binary_search_by_key(&date, |d| d.date)
                .ok()
                .map(|i| entries[i].kind);
            let working = match entry {
                Some(DayKind::WorkingDay) => true,
                Some(DayKind::Holiday | DayKind::DayOff) => false,
                None => !is_weekend(date),
            };
            if !working {
                let i = date.ordinal0() as usize;
                off[i / 64] |= 1 << (i % 64);
            }
            day = date.succ_opt();
        }
        Self { year, entries, off }
    }

    fn is_working(&self, date: NaiveDate) -> bool {
        let i = date.ordinal0() as usize;
        self.off[i / 64] & (1 << (i % 64)) == 0
    }

    fn entry(&self, date: NaiveDate) -> Option<&ScheduledDay> {
        self.entries
            .binary_search_by_key(&date, |d| d.date)
            .ok()
            .map(|i| &self.entries[i])
    }

    fn working_days(&self) -> u32 {
        let days_in_year = if NaiveDate::from_ymd_opt(self.year, 2, 29).is_some() {
            366
        } else {
            365
        };
        let off: u32 = self.off.iter().map(|w| w.count_ones()).sum();
        days_in_year - off
    }
}

/// Working days: Monday–Friday, less holidays and days off, plus swapped
/// working Saturdays. A year with an official schedule uses only that
/// schedule; other years use the statutory defaults, computed once per year
/// and shared by every clone.
#[derive(Debug, Clone, Default)]
pub struct WorkingCalendar {
    official: HashMap<i32, Arc<YearTable>>,
    rules: HolidayRules,
    computed: Arc<ComputedYears>,
}

#[derive(Debug)]
struct ComputedYears(Vec<OnceLock<Arc<YearTable>>>);

impl Default for ComputedYears {
    fn default() -> Self {
        Self((FIRST_YEAR..=LAST_YEAR).map(|_| OnceLock::new()).collect())
    }
}

/// The longest period the calendar counts, so that no input can make it
/// walk for ever (3,660 working days is about 14.5 years, far beyond any
/// legal deadline; callers keep start dates 15 years inside the range).
pub const MAX_PERIOD_DAYS: u32 = 3660;

impl WorkingCalendar {
    pub fn new(rules: HolidayRules) -> Self {
        Self {
            official: HashMap::new(),
            rules,
            computed: Default::default(),
        }
    }

    pub fn rules(&self) -> &HolidayRules {
        &self.rules
    }

    /// Installs the official schedule of `year`, replacing the defaults.
    pub fn set_official_year(&mut self, year: i32, days: Vec<ScheduledDay>) {
        self.official
            .insert(year, Arc::new(YearTable::new(year, days)));
    }

    /// Whether `year` follows an official schedule rather than the
    /// computed statutory defaults.
    pub fn has_official_year(&self, year: i32) -> bool {
        self.official.contains_key(&year)
    }

    fn table(&self, year: i32) -> Arc<YearTable> {
        if let Some(table) = self.official.get(&year) {
            return table.clone();
        }
        let build = || Arc::new(YearTable::new(year, statutory_days(year, &self.rules)));
        match usize::try_from(year - FIRST_YEAR)
            .ok()
            .and_then(|i| self.computed.0.get(i))
        {
            Some(slot) => slot.get_or_init(build).clone(),
            None => build(),
        }
    }

    /// The non-default days of `year`: holidays, days off, swapped working
    /// days, sorted by date.
    pub fn schedule(&self, year: i32) -> Vec<ScheduledDay> {
        self.table(year).entries.clone()
    }

    /// How many working days `year` has.
    pub fn working_days_in(&self, year: i32) -> u32 {
        self.table(year).working_days()
    }

    /// The schedule entry for `date`, if any.
    pub fn entry(&self, date: NaiveDate) -> Option<ScheduledDay> {
        self.table(date.year()).entry(date).cloned()
    }

    /// Why `date` is not a working day, or `None` if it is one.
    pub fn non_working_reason(&self, date: NaiveDate) -> Option<String> {
        let table = self.table(date.year());
        if table.is_working(date) {
            return None;
        }
        Some(match table.entry(date) {
            Some(day) => day.name.clone(),
            None if date.weekday() == Weekday::Sat => "Thứ Bảy".into(),
            None => "Chủ nhật".into(),
        })
    }

    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        self.table(date.year()).is_working(date)
    }

    /// The due date `days` working days after `from` (the day of receipt,
    /// not counted), and every day skipped on the way with its reason.
    /// `days` above [`MAX_PERIOD_DAYS`] is treated as that many.
    pub fn add_working_days(&self, from: NaiveDate, days: u32) -> (NaiveDate, Vec<SkippedDay>) {
        let mut date = from;
        let mut counted = 0;
        let mut skipped = Vec::new();
        let mut table = self.table(date.year());
        while counted < days.min(MAX_PERIOD_DAYS) {
            let Some(next) = date.succ_opt() else { break };
            if next.year() != date.year() {
                table = self.table(next.year());
            }
            date = next;
            if table.is_working(date) {
                counted += 1;
            } else if let Some(reason) = self.non_working_reason(date) {
                skipped.push(SkippedDay { date, reason });
            }
        }
        (date, skipped)
    }

    /// The due date only, without the explanation (the hot path).
    pub fn due_after_working_days(&self, from: NaiveDate, days: u32) -> NaiveDate {
        let mut date = from;
        let mut counted = 0;
        let mut table = self.table(date.year());
        while counted < days.min(MAX_PERIOD_DAYS) {
            let Some(next) = date.succ_opt() else { break };
            if next.year() != date.year() {
                table = self.table(next.year());
            }
            date = next;
            if table.is_working(date) {
                counted += 1;
            }
        }
        date
    }

    /// The working day `days` working days before `date` (or the first
    /// working day after `floor` if that comes later); used for reminders.
    pub fn working_days_before(&self, date: NaiveDate, days: u32) -> NaiveDate {
        let mut day = date;
        let mut counted = 0;
        while counted < days.min(MAX_PERIOD_DAYS) {
            let Some(prev) = day.pred_opt() else { break };
            day = prev;
            if self.is_working_day(day) {
                counted += 1;
            }
        }
        day
    }

    /// The days in `(after, through]` that would have counted towards a
    /// period: working days, or every day for calendar-day periods.
    pub fn days_between(
        &self,
        after: NaiveDate,
        through: NaiveDate,
        working: bool,
    ) -> Vec<NaiveDate> {
        let mut out = Vec::new();
        let mut day = after;
        while day < through && out.len() < MAX_PERIOD_DAYS as usize {
            let Some(next) = day.succ_opt() else { break };
            day = next;
            if !working || self.is_working_day(day) {
                out.push(day);
            }
        }
        out
    }

    /// The first working day after `date`.
    pub fn next_working_day(&self, date: NaiveDate) -> NaiveDate {
        self.due_after_working_days(date, 1)
    }

    /// The due date `days` calendar days after `from`, moved to the next
    /// working day if it falls on a non-working day (Điều 148).
    pub fn add_calendar_days(&self, from: NaiveDate, days: u32) -> (NaiveDate, Vec<SkippedDay>) {
        let mut date = from + chrono::Duration::days(i64::from(days.min(MAX_PERIOD_DAYS)));
        let mut skipped = Vec::new();
        while let Some(reason) = self.non_working_reason(date) {
            skipped.push(SkippedDay { date, reason });
            date += chrono::Duration::days(1);
        }
        (date, skipped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn calendar() -> WorkingCalendar {
        WorkingCalendar::new(HolidayRules::default())
    }

    #[test]
    fn the_day_of_receipt_is_not_counted() {
        // Received Monday 2026-11-02; 5 working days → Monday 2026-11-09.
        let (due, skipped) = calendar().add_working_days(d("2026-11-02"), 5);
        assert_eq!(due, d("2026-11-09"));
        assert_eq!(skipped.len(), 2, "the weekend");
    }

    #[test]
    fn an_empty_year_counts_every_weekday_leap_or_not() {
        // 2028 is a leap year starting on a Saturday: 366 days, 260
        // weekdays. With no holidays at all every weekday works.
        let mut cal = calendar();
        cal.set_official_year(2028, Vec::new());
        assert_eq!(cal.working_days_in(2028), 260);
        cal.set_official_year(2027, Vec::new());
        assert_eq!(cal.working_days_in(2027), 261);
    }

    #[test]
    fn received_on_a_weekend_counts_from_monday() {
        let (due, _) = calendar().add_working_days(d("2026-11-07"), 1);
        assert_eq!(due, d("2026-11-09"));
    }

    #[test]
    fn tet_is_skipped_and_explained() {
        // Received Friday 13/02/2026; Tết 16–20/02 and two weekends follow.
        let (due, skipped) = calendar().add_working_days(d("2026-02-13"), 1);
        assert_eq!(due, d("2026-02-23"));
        assert_eq!(skipped.len(), 9, "two weekends and the five days of Tết");
        assert!(
            skipped
                .iter()
                .any(|s| s.date == d("2026-02-17") && s.reason.contains("Tết"))
        );
    }

    #[test]
    fn a_swapped_saturday_is_worked_and_a_bridge_day_is_not() {
        let mut cal = calendar();
        // 2025: Fri 02/05 off, Sat 26/04 worked (VietnamPlus).
        let mut days = statutory_days(2025, &HolidayRules::default());
        days.push(ScheduledDay {
            date: d("2025-05-02"),
            kind: DayKind::DayOff,
            name: "Nghỉ hoán đổi".into(),
            source: "test".into(),
            confirmed: true,
        });
        days.push(ScheduledDay {
            date: d("2025-04-26"),
            kind: DayKind::WorkingDay,
            name: "Làm bù".into(),
            source: "test".into(),
            confirmed: true,
        });
        cal.set_official_year(2025, days);
        assert!(cal.is_working_day(d("2025-04-26")));
        assert!(!cal.is_working_day(d("2025-05-02")));
        // Friday 25/04 + 1 working day → the swapped Saturday.
        assert_eq!(cal.add_working_days(d("2025-04-25"), 1).0, d("2025-04-26"));
    }

    #[test]
    fn calendar_day_periods_roll_forward_off_non_working_days() {
        // 20 days after 2026-04-10 is Thursday 30/04 (holiday), then 1/5,
        // then the weekend: due Monday 04/05.
        let (due, skipped) = calendar().add_calendar_days(d("2026-04-10"), 20);
        assert_eq!(due, d("2026-05-04"));
        assert_eq!(skipped.len(), 4);
    }

    proptest! {
        #[test]
        fn never_lands_on_a_non_working_day(offset in 0i64..3650, n in 1u32..60) {
            let from = d("2020-01-01") + chrono::Duration::days(offset);
            let cal = calendar();
            let (due, _) = cal.add_working_days(from, n);
            prop_assert!(cal.is_working_day(due));
            prop_assert!(due > from);
        }

        #[test]
        fn n_then_m_equals_n_plus_m(offset in 0i64..3650, n in 1u32..30, m in 1u32..30) {
            let from = d("2020-01-01") + chrono::Duration::days(offset);
            let cal = calendar();
            let (mid, _) = cal.add_working_days(from, n);
            prop_assert_eq!(cal.add_working_days(mid, m).0, cal.add_working_days(from, n + m).0);
        }

        #[test]
        fn a_later_start_never_gives_an_earlier_due_date(offset in 0i64..3650, n in 1u32..40) {
            let from = d("2020-01-01") + chrono::Duration::days(offset);
            let cal = calendar();
            prop_assert!(cal.add_working_days(from + chrono::Duration::days(1), n).0 >= cal.add_working_days(from, n).0);
        }
    }
}
