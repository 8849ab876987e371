//! How urgent an item is, as a queue shows it: the working days left to
//! its answer deadline (or past it), or that its clock is stopped. Told in
//! words and a class for colour, never colour alone.

use chrono::NaiveDate;
use serde::Serialize;

/// The state of an item's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "working_days", rename_all = "snake_case")]
pub enum Urgency {
    /// Working days left before the due date (1 or more).
    Left(u32),
    /// Due by the end of today.
    DueToday,
    /// Working days past the due date (1 or more; 0 shows as due today).
    Overdue(u32),
    /// Waiting for the citizen: the clock is stopped.
    Paused,
    /// No open answer deadline (closed, answered, not accepted).
    None,
}

/// Near enough to a deadline to be shown as such.
pub const NEAR_WORKING_DAYS: u32 = 3;

impl Urgency {
    /// From the item's due date (`None` when it has none) and whether it
    /// waits for the citizen; `working_days(a, b)` counts the working
    /// days after `a` up to and including `b`.
    pub fn of(
        today: NaiveDate,
        due: Option<NaiveDate>,
        paused: bool,
        working_days: impl Fn(NaiveDate, NaiveDate) -> u32,
    ) -> Self {
        if paused {
            return Urgency::Paused;
        }
        match due {
            None => Urgency::None,
            Some(due) if due == today => Urgency::DueToday,
            Some(due) if due > today => match working_days(today, due) {
                0 => Urgency::DueToday,
                n => Urgency::Left(n),
            },
            Some(due) => match working_days(due, today) {
                0 => Urgency::DueToday,
                n => Urgency::Overdue(n),
            },
        }
    }

    /// What the queue says, in Vietnamese.
    pub fn label_vi(self) -> String {
        match self {
            Urgency::Left(n) => format!("Còn {n} ngày làm việc"),
            Urgency::DueToday => "Hết hạn hôm nay".into(),
            Urgency::Overdue(n) => format!("Quá hạn {n} ngày làm việc"),
            Urgency::Paused => "Tạm dừng (chờ bổ sung)".into(),
            Urgency::None => "—".into(),
        }
    }

    /// A class for the colour beside the words.
    pub fn css(self) -> &'static str {
        match self {
            Urgency::Left(n) if n > NEAR_WORKING_DAYS => "han-con",
            Urgency::Left(_) => "han-gan",
            Urgency::DueToday => "han-hom-nay",
            Urgency::Overdue(_) => "han-qua",
            Urgency::Paused => "han-dung",
            Urgency::None => "han-khong",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, day).unwrap_or_default()
    }

    /// Weekdays only (Mon 30/11 … ): enough for the arithmetic.
    fn weekdays(a: NaiveDate, b: NaiveDate) -> u32 {
        use chrono::Datelike;
        a.iter_days()
            .skip(1)
            .take_while(|x| *x <= b)
            .filter(|x| x.weekday().number_from_monday() <= 5)
            .count() as u32
    }

    #[test]
    fn working_days_left_or_past_and_a_stopped_clock() {
        // Thursday 3 December 2026.
        assert_eq!(
            Urgency::of(d(3), Some(d(8)), false, weekdays),
            Urgency::Left(3)
        );
        assert_eq!(
            Urgency::of(d(3), Some(d(3)), false, weekdays),
            Urgency::DueToday
        );
        assert_eq!(
            Urgency::of(d(3), Some(d(1)), false, weekdays),
            Urgency::Overdue(2)
        );
        // Due on a Saturday, asked on Friday: no working day left.
        assert_eq!(
            Urgency::of(d(4), Some(d(5)), false, weekdays),
            Urgency::DueToday
        );
        assert_eq!(
            Urgency::of(d(3), Some(d(8)), true, weekdays),
            Urgency::Paused
        );
        assert_eq!(Urgency::of(d(3), None, false, weekdays), Urgency::None);
        assert_eq!(Urgency::Left(3).css(), "han-gan");
        assert_eq!(Urgency::Left(4).css(), "han-con");
        assert_eq!(Urgency::Overdue(2).label_vi(), "Quá hạn 2 ngày làm việc");
        assert_eq!(
            serde_json::to_value(Urgency::Left(3)).ok(),
            Some(serde_json::json!({"kind": "left", "working_days": 3}))
        );
        assert_eq!(
            serde_json::to_value(Urgency::Paused).ok(),
            Some(serde_json::json!({"kind": "paused"}))
        );
    }
}
