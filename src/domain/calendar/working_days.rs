//! Working-day arithmetic for deadlines (Bộ luật Dân sự 2015, Điều 147–148):
//! the day of receipt is not counted; a period ends at the end of its last
//! day; a period in calendar days that ends on a non-working day ends at the
//! end of the next working day. Dates are Vietnamese civil dates (UTC+7).

use std::collections::HashMap;

use chrono::NaiveDate;

use super::holidays::{DayKind, HolidayRules, ScheduledDay, is_weekend, statutory_days};

/// Why a day was not counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedDay {
    pub date: NaiveDate,
    pub reason: String,
}

/// Working days: Monday–Friday, less holidays and days off, plus swapped
/// working Saturdays. A year with an official schedule uses only that
/// schedule; other years use the statutory defaults.
#[derive(Debug, Clone, Default)]
pub struct WorkingCalendar {
    official: HashMap<i32, Vec<ScheduledDay>>,
    rules: HolidayRules,
    computed: std::sync::Arc<std::sync::Mutex<HashMap<i32, Vec<ScheduledDay>>>>,
}

impl WorkingCalendar {
    pub fn new(rules: HolidayRules) -> Self {
        Self {
            official: HashMap::new(),
            rules,
            computed: Default::default(),
        }
    }

    /// Installs the official schedule of `year`, replacing the defaults.
    pub fn set_official_year(&mut self, year: i32, days: Vec<ScheduledDay>) {
        self.official.insert(year, days);
    }

    /// The non-default days of `year`: holidays, days off, swapped working
    /// days.
    pub fn schedule(&self, year: i32) -> Vec<ScheduledDay> {
        if let Some(days) = self.official.get(&year) {
            return days.clone();
        }
        if let Ok(mut cache) = self.computed.lock() {
            return cache
                .entry(year)
                .or_insert_with(|| statutory_days(year, &self.rules))
                .clone();
        }
        statutory_days(year, &self.rules)
    }

    /// The schedule entry for `date`, if any.
    pub fn entry(&self, date: NaiveDate) -> Option<ScheduledDay> {
        use chrono::Datelike;
        self.schedule(date.year())
            .into_iter()
            .find(|d| d.date == date)
    }

    /// Why `date` is not a working day, or `None` if it is one.
    pub fn non_working_reason(&self, date: NaiveDate) -> Option<String> {
        match self.entry(date) {
            Some(ScheduledDay {
                kind: DayKind::WorkingDay,
                ..
            }) => None,
            Some(day) => Some(day.name),
            None if is_weekend(date) => Some(
                if chrono::Datelike::weekday(&date) == chrono::Weekday::Sat {
                    "Thứ Bảy".into()
                } else {
                    "Chủ nhật".into()
                },
            ),
            None => None,
        }
    }

    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        self.non_working_reason(date).is_none()
    }

    /// The due date `days` working days after `from` (the day of receipt,
    /// not counted), and every day skipped on the way with its reason.
    pub fn add_working_days(&self, from: NaiveDate, days: u32) -> (NaiveDate, Vec<SkippedDay>) {
        let mut date = from;
        let mut counted = 0;
        let mut skipped = Vec::new();
        while counted < days {
            date += chrono::Duration::days(1);
            match self.non_working_reason(date) {
                None => counted += 1,
                Some(reason) => skipped.push(SkippedDay { date, reason }),
            }
        }
        (date, skipped)
    }

    /// The due date `days` calendar days after `from`, moved to the next
    /// working day if it falls on a non-working day (Điều 148).
    pub fn add_calendar_days(&self, from: NaiveDate, days: u32) -> (NaiveDate, Vec<SkippedDay>) {
        let mut date = from + chrono::Duration::days(i64::from(days));
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
        });
        days.push(ScheduledDay {
            date: d("2025-04-26"),
            kind: DayKind::WorkingDay,
            name: "Làm bù".into(),
            source: "test".into(),
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
