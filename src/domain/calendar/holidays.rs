//! Statutory public holidays (Bộ luật Lao động 2019, Điều 112) as computed
//! defaults for any year, with compensatory days off (Điều 111.3: a holiday
//! on the weekly rest day is made up on the next working day).
//!
//! Each year the Government fixes the exact days off and may swap a
//! Saturday into a working day (DOMAIN §9.2). Those official schedules are
//! data and replace these defaults for their year; the defaults exist so
//! that a year nobody has entered yet is still roughly right.

use chrono::{Datelike, NaiveDate, Weekday};

use super::lunar::{gio_to_hung_vuong, tet};

/// What a day is in a schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayKind {
    /// A public holiday in law.
    Holiday,
    /// A day off that is not itself a holiday: compensatory, bridging.
    DayOff,
    /// A day that is worked although it would not be (a swapped Saturday).
    WorkingDay,
}

/// One day of a schedule, with the reason people read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduledDay {
    pub date: NaiveDate,
    pub kind: DayKind,
    pub name: String,
    /// The legal document the day comes from.
    pub source: String,
    /// False while the day is only proposed or reported and an
    /// administrator has yet to confirm it against the official notice.
    pub confirmed: bool,
}

/// Rules the law leaves to a yearly decision, as defaults.
#[derive(Debug, Clone)]
pub struct HolidayRules {
    /// Ngày Văn hóa Việt Nam (24/11) is a day off from this year on
    /// (reported from 2026; DOMAIN §9.1 marks it unconfirmed). `None`: not
    /// a holiday.
    pub culture_day_from: Option<i32>,
}

impl Default for HolidayRules {
    fn default() -> Self {
        Self {
            culture_day_from: Some(2026),
        }
    }
}

const BLLD: &str = "Bộ luật Lao động 2019, Điều 112";
const COMPENSATORY: &str = "Bộ luật Lao động 2019, Điều 111.3 (nghỉ bù)";

/// The statutory holidays of `year` and the compensatory days they give.
pub fn statutory_days(year: i32, rules: &HolidayRules) -> Vec<ScheduledDay> {
    let mut holidays: Vec<(NaiveDate, &str)> = Vec::new();
    let ymd = |m, d| NaiveDate::from_ymd_opt(year, m, d);
    if let Some(d) = ymd(1, 1) {
        holidays.push((d, "Tết Dương lịch"));
    }
    // Tết Âm lịch, 5 days: by default the last day of the old lunar year
    // and mùng 1–4 (the Prime Minister fixes the exact days each year).
    if let Some(first) = tet(year) {
        for offset in -1..=3 {
            let day = first + chrono::Duration::days(offset);
            let name = if offset < 0 {
                "Tết Âm lịch (cuối năm)"
            } else {
                "Tết Âm lịch"
            };
            holidays.push((day, name));
        }
    }
    if let Some(d) = gio_to_hung_vuong(year) {
        holidays.push((d, "Giỗ Tổ Hùng Vương (10/3 âm lịch)"));
    }
    if let Some(d) = ymd(4, 30) {
        holidays.push((d, "Ngày Chiến thắng"));
    }
    if let Some(d) = ymd(5, 1) {
        holidays.push((d, "Ngày Quốc tế Lao động"));
    }
    if let Some(national) = ymd(9, 2) {
        holidays.push((national, "Quốc khánh"));
        holidays.push((
            national_day_companion(national),
            "Quốc khánh (ngày liền kề)",
        ));
    }
    if rules.culture_day_from.is_some_and(|from| year >= from)
        && let Some(d) = ymd(11, 24)
    {
        holidays.push((d, "Ngày Văn hóa Việt Nam"));
    }
    holidays.sort_by_key(|(d, _)| *d);
    holidays.dedup_by_key(|(d, _)| *d);

    let mut days: Vec<ScheduledDay> = holidays
        .iter()
        .map(|(date, name)| ScheduledDay {
            date: *date,
            kind: DayKind::Holiday,
            name: (*name).to_string(),
            source: BLLD.to_string(),
            // Computed, not yet checked against the year's official notice.
            confirmed: false,
        })
        .collect();
    // Each holiday on a weekend gives a day off on the next day that is
    // neither a weekend nor a holiday nor already a compensatory day.
    let mut taken: Vec<NaiveDate> = holidays.iter().map(|(d, _)| *d).collect();
    for (date, name) in &holidays {
        if is_weekend(*date) {
            let mut next = *date + chrono::Duration::days(1);
            while is_weekend(next) || taken.contains(&next) {
                next += chrono::Duration::days(1);
            }
            taken.push(next);
            days.push(ScheduledDay {
                date: next,
                kind: DayKind::DayOff,
                name: format!("Nghỉ bù {name}"),
                source: COMPENSATORY.to_string(),
                confirmed: false,
            });
        }
    }
    days.sort_by_key(|d| d.date);
    days
}

/// The day next to 2/9 that joins the holiday to a weekend when it can
/// (BLLĐ 2019 Điều 112.1.đ: "02/9 và 01 ngày liền kề trước hoặc sau").
fn national_day_companion(national: NaiveDate) -> NaiveDate {
    let before = national - chrono::Duration::days(1);
    let after = national + chrono::Duration::days(1);
    match national.weekday() {
        Weekday::Tue | Weekday::Fri | Weekday::Sat => before,
        Weekday::Mon | Weekday::Wed | Weekday::Thu | Weekday::Sun => after,
    }
}

pub fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn off(year: i32) -> Vec<NaiveDate> {
        statutory_days(year, &HolidayRules::default())
            .into_iter()
            .map(|d| d.date)
            .collect()
    }

    #[test]
    fn tet_2026_matches_the_official_five_days() {
        // Thông báo 9441/TB-BNV: Mon 16/02 – Fri 20/02/2026 (29 Chạp – mùng 4).
        let days = off(2026);
        for day in [
            "2026-02-16",
            "2026-02-17",
            "2026-02-18",
            "2026-02-19",
            "2026-02-20",
        ] {
            assert!(days.contains(&d(day)), "{day}");
        }
        assert!(
            !days.contains(&d("2026-02-21")),
            "a weekend is no holiday of its own"
        );
    }

    #[test]
    fn a_holiday_on_a_weekend_gives_the_next_working_day_off() {
        // Giỗ Tổ 2026 is Sunday 26/04 → Monday 27/04 off (thanhnien.vn).
        let days = statutory_days(2026, &HolidayRules::default());
        let bu = days
            .iter()
            .find(|day| day.date == d("2026-04-27"))
            .expect("compensatory day");
        assert_eq!(bu.kind, DayKind::DayOff);
        assert!(bu.name.contains("Giỗ Tổ"));
        // 2022: 30/4 Saturday and 1/5 Sunday → Monday 2/5 and Tuesday 3/5.
        let days = off(2022);
        assert!(days.contains(&d("2022-05-02")) && days.contains(&d("2022-05-03")));
    }

    #[test]
    fn culture_day_only_from_its_first_year() {
        assert!(off(2026).contains(&d("2026-11-24")));
        assert!(!off(2025).contains(&d("2025-11-24")));
        let none = statutory_days(
            2026,
            &HolidayRules {
                culture_day_from: None,
            },
        );
        assert!(!none.iter().any(|day| day.date == d("2026-11-24")));
    }

    #[test]
    fn every_year_has_eleven_statutory_holidays_before_2026() {
        for year in 1990..2026 {
            let holidays = statutory_days(year, &HolidayRules::default())
                .into_iter()
                .filter(|d| d.kind == DayKind::Holiday)
                .count();
            assert_eq!(holidays, 11, "{year}");
        }
    }
}
