//! A year's official schedule as data (`config/calendar/<year>.toml`): each
//! day that departs from the Monday–Friday week, with the document that
//! fixed it. The same checks apply to files and to an administrator's edits.

use chrono::{Datelike, NaiveDate};
use serde::Deserialize;

use super::holidays::{DayKind, ScheduledDay, is_weekend};
use super::lunar::{FIRST_YEAR, LAST_YEAR};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct YearFileToml {
    year: i32,
    #[serde(default, rename = "day")]
    days: Vec<DayToml>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DayToml {
    date: String,
    kind: DayKind,
    name: String,
    source: String,
    #[serde(default = "yes")]
    confirmed: bool,
}

fn yes() -> bool {
    true
}

/// A parsed and checked year schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YearSchedule {
    pub year: i32,
    pub days: Vec<ScheduledDay>,
}

/// Parses a year file; every problem found is reported, one per line.
pub fn parse_year_file(text: &str) -> Result<YearSchedule, String> {
    let file: YearFileToml = toml::from_str(text).map_err(|e| e.to_string())?;
    let mut errors = Vec::new();
    let mut days = Vec::new();
    for day in file.days {
        match NaiveDate::parse_from_str(&day.date, "%Y-%m-%d") {
            Ok(date) => days.push(ScheduledDay {
                date,
                kind: day.kind,
                name: day.name.trim().to_string(),
                source: day.source.trim().to_string(),
                confirmed: day.confirmed,
            }),
            Err(_) => errors.push(format!("{:?} is not a date (YYYY-MM-DD)", day.date)),
        }
    }
    if let Err(more) = check_year(file.year, &days) {
        errors.extend(more);
    }
    if errors.is_empty() {
        days.sort_by_key(|d| d.date);
        Ok(YearSchedule {
            year: file.year,
            days,
        })
    } else {
        Err(errors.join("\n"))
    }
}

/// The stable code of a [`check_day`] failure (API field errors).
pub fn rule_code(message: &str) -> &'static str {
    if message.contains("only years") {
        "year_unsupported"
    } else if message.contains("a name") {
        "name_required"
    } else if message.contains("source document") {
        "source_required"
    } else if message.contains("only a Saturday or Sunday") {
        "working_day_not_weekend"
    } else if message.contains("a day off must be a weekday") {
        "day_off_on_weekend"
    } else {
        "invalid"
    }
}

/// Checks one day as an administrator would enter it.
pub fn check_day(day: &ScheduledDay) -> Result<(), String> {
    if !(FIRST_YEAR..=LAST_YEAR).contains(&day.date.year()) {
        return Err(format!(
            "{}: only years {FIRST_YEAR}–{LAST_YEAR} are supported",
            day.date
        ));
    }
    if day.name.trim().is_empty() || day.name.chars().count() > 200 {
        return Err(format!(
            "{}: a name of 1–200 characters is required",
            day.date
        ));
    }
    if day.source.trim().is_empty() || day.source.chars().count() > 500 {
        return Err(format!(
            "{}: the source document (1–500 characters) is required",
            day.date
        ));
    }
    match day.kind {
        // A swapped working day is a weekend day worked in exchange.
        DayKind::WorkingDay if !is_weekend(day.date) => Err(format!(
            "{}: a weekday is already a working day; only a Saturday or Sunday can be swapped in",
            day.date
        )),
        // A holiday may fall on a weekend (that is what gives a
        // compensatory day); a plain day off on a weekend changes nothing.
        DayKind::DayOff if is_weekend(day.date) => Err(format!(
            "{}: a weekend day is already off; a day off must be a weekday",
            day.date
        )),
        _ => Ok(()),
    }
}

/// Checks a whole year: every day valid, in `year`, no date twice.
pub fn check_year(year: i32, days: &[ScheduledDay]) -> Result<(), Vec<String>> {
    let mut errors = Vec::new();
    if !(FIRST_YEAR..=LAST_YEAR).contains(&year) {
        errors.push(format!(
            "year {year}: only {FIRST_YEAR}–{LAST_YEAR} are supported"
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for day in days {
        if day.date.year() != year {
            errors.push(format!("{}: not in year {year}", day.date));
        }
        if !seen.insert(day.date) {
            errors.push(format!("{}: listed twice", day.date));
        }
        if let Err(e) = check_day(day) {
            errors.push(e);
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_schedules_parse_and_match_their_file_names() {
        for (name, text) in [
            ("2025", include_str!("../../../config/calendar/2025.toml")),
            ("2026", include_str!("../../../config/calendar/2026.toml")),
        ] {
            let schedule = parse_year_file(text).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(schedule.year.to_string(), name);
            assert!(schedule.days.len() >= 9, "{name}");
        }
    }

    #[test]
    fn shipped_schedules_agree_with_the_lunar_calendar() {
        use super::super::lunar::{gio_to_hung_vuong, tet};
        for text in [
            include_str!("../../../config/calendar/2025.toml"),
            include_str!("../../../config/calendar/2026.toml"),
        ] {
            let schedule = parse_year_file(text).unwrap();
            let listed = |d: NaiveDate| {
                schedule
                    .days
                    .iter()
                    .any(|x| x.date == d && x.kind == DayKind::Holiday)
            };
            let first = tet(schedule.year).unwrap();
            assert!(listed(first), "mùng 1 Tết {first}");
            assert!(listed(gio_to_hung_vuong(schedule.year).unwrap()));
            let holidays = schedule
                .days
                .iter()
                .filter(|x| x.kind == DayKind::Holiday)
                .count();
            assert!(holidays >= 11, "{}: {holidays} holidays", schedule.year);
        }
    }

    #[test]
    fn every_mistake_is_reported_at_once() {
        let text = r#"
            year = 2026
            [[day]]
            date = "2026-13-01"
            kind = "holiday"
            name = "x"
            source = "y"
            [[day]]
            date = "2026-03-03"
            kind = "working_day"
            name = "Làm bù"
            source = "y"
            [[day]]
            date = "2025-03-07"
            kind = "day_off"
            name = "Nghỉ"
            source = ""
        "#;
        let errors = parse_year_file(text).unwrap_err();
        assert!(errors.contains("not a date"), "{errors}");
        assert!(errors.contains("only a Saturday or Sunday"), "{errors}");
        assert!(errors.contains("not in year 2026"), "{errors}");
        assert!(errors.contains("source document"), "{errors}");
    }

    #[test]
    fn unknown_keys_and_kinds_are_refused() {
        assert!(parse_year_file("year = 2026\nyaer = 1").is_err());
        let text = "year = 2026\n[[day]]\ndate = \"2026-01-01\"\nkind = \"feast\"\nname = \"x\"\nsource = \"y\"";
        assert!(parse_year_file(text).is_err());
    }
}
