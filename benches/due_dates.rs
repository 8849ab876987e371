//! Working-day arithmetic: due dates per second.
//!
//! Compares, in one run and on the same inputs:
//! - `baseline`: the straightforward implementation this crate had before
//!   (and most systems have): for every day counted, look the date up in
//!   the year's list of holidays (a cached `Vec`, cloned per lookup);
//! - `due_date`: `WorkingCalendar::due_after_working_days` (per-year
//!   bitsets), the answer alone;
//! - `explained`: `add_working_days`, the answer with every skipped day
//!   and its reason (what the API returns);
//! - `intake_deadlines`: `deadline::compute` for the three deadlines an
//!   item gets at receipt (classify 2, forward 5, answer 20 WD).
//!
//! Inputs: start dates spread over 2025–2027 (the official 2025 and 2026
//! schedules loaded, 2027 computed), periods of 20 working days.
//! Run: `cargo bench --bench due_dates` (PAKN_BENCH_SECONDS, default 2).

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use pakn::domain::calendar::holidays::{
    DayKind, HolidayRules, ScheduledDay, is_weekend, statutory_days,
};
use pakn::domain::calendar::schedule_file::parse_year_file;
use pakn::domain::calendar::working_days::WorkingCalendar;
use pakn::domain::deadline::{DeadlineInput, DeadlineKind, DeadlinePolicy, compute};

/// The list-lookup calendar the bitsets replaced.
struct Baseline {
    official: HashMap<i32, Vec<ScheduledDay>>,
    computed: Mutex<HashMap<i32, Vec<ScheduledDay>>>,
}

impl Baseline {
    fn schedule(&self, year: i32) -> Vec<ScheduledDay> {
        if let Some(days) = self.official.get(&year) {
            return days.clone();
        }
        let mut cache = self.computed.lock().expect("lock");
        cache
            .entry(year)
            .or_insert_with(|| statutory_days(year, &HolidayRules::default()))
            .clone()
    }

    fn is_working_day(&self, date: NaiveDate) -> bool {
        match self
            .schedule(date.year())
            .into_iter()
            .find(|d| d.date == date)
        {
            Some(d) => d.kind == DayKind::WorkingDay,
            None => !is_weekend(date),
        }
    }

    fn due(&self, from: NaiveDate, days: u32) -> NaiveDate {
        let mut date = from;
        let mut counted = 0;
        while counted < days {
            date = date.succ_opt().expect("date");
            if self.is_working_day(date) {
                counted += 1;
            }
        }
        date
    }
}

fn measure(name: &str, seconds: f64, mut one: impl FnMut(usize) -> usize) -> f64 {
    // Warm-up (caches, branch predictors), not recorded.
    let warm = Instant::now();
    let mut i = 0;
    while warm.elapsed() < Duration::from_millis(200) {
        black_box(one(i));
        i += 1;
    }
    let start = Instant::now();
    let mut done = 0usize;
    let mut i = 0;
    while start.elapsed().as_secs_f64() < seconds {
        for _ in 0..64 {
            done += black_box(one(i));
            i += 1;
        }
    }
    let rate = done as f64 / start.elapsed().as_secs_f64();
    println!("| {name} | {rate:>12.0} |");
    rate
}

fn main() {
    let seconds: f64 = std::env::var("PAKN_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2.0);
    let mut calendar = WorkingCalendar::new(HolidayRules::default());
    let mut official = HashMap::new();
    for text in [
        include_str!("../config/calendar/2025.toml"),
        include_str!("../config/calendar/2026.toml"),
    ] {
        let year = parse_year_file(text).expect("schedule");
        official.insert(year.year, year.days.clone());
        calendar.set_official_year(year.year, year.days);
    }
    let baseline = Baseline {
        official,
        computed: Mutex::default(),
    };
    let policy = DeadlinePolicy::from_toml(include_str!("../config/deadlines.toml"), "default")
        .expect("policy");
    let rules: Vec<_> = [
        DeadlineKind::Classify,
        DeadlineKind::Forward,
        DeadlineKind::Answer,
    ]
    .into_iter()
    .map(|k| policy.rule(k))
    .collect();
    let first = NaiveDate::from_ymd_opt(2025, 1, 1).expect("date");
    let starts: Vec<NaiveDate> = (0..1000)
        .map(|i| first + chrono::Duration::days((i * 7919) % 1090))
        .collect();
    let instants: Vec<DateTime<Utc>> = starts
        .iter()
        .map(|d| d.and_hms_opt(3, 0, 0).expect("time").and_utc())
        .collect();
    // Every variant must agree before any is timed.
    for &d in &starts {
        assert_eq!(baseline.due(d, 20), calendar.due_after_working_days(d, 20));
        assert_eq!(
            calendar.add_working_days(d, 20).0,
            calendar.due_after_working_days(d, 20)
        );
    }

    println!("Due dates per second, 20 working days, {seconds} s each, one thread.\n");
    println!("| variant | due dates/s |");
    println!("|---|---:|");
    let n = starts.len();
    let base = measure("baseline (list lookup per day)", seconds, |i| {
        black_box(baseline.due(starts[i % n], 20));
        1
    });
    let fast = measure("due_date (bitsets)", seconds, |i| {
        black_box(calendar.due_after_working_days(starts[i % n], 20));
        1
    });
    measure("explained (with skipped days)", seconds, |i| {
        black_box(calendar.add_working_days(starts[i % n], 20));
        1
    });
    measure("intake_deadlines (3 per item, full)", seconds, |i| {
        for rule in &rules {
            black_box(compute(
                &DeadlineInput {
                    rule,
                    starts_at: instants[i % n],
                    pauses: &[],
                    extension_days: 0,
                },
                &calendar,
            ));
        }
        3
    });
    println!("\nbitsets vs baseline: {:.1}×", fast / base);
}
