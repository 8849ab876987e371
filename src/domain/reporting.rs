//! Reporting periods. Decree 20 Art. 22 asks provinces and
//! ministries for a report every six months; the Government's reporting
//! regime (ND 09/2019/NĐ-CP Art. 12, DOMAIN §11, marked unconfirmed for
//! PAKN) closes the data before the period ends: a quarter runs from the
//! 15th of the month before it to the 14th of its last month, the half
//! year from 15/12 to 14/06 (and 15/06 to 14/12), the year from 15/12 to
//! 14/12. The cut-off day is configuration (`reporting.cutoff_day`), not
//! law hard-coded here; `1` gives calendar periods.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};

/// A period a report covers, as people name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportPeriod {
    Quarter {
        year: i32,
        quarter: u8,
    },
    Half {
        year: i32,
        half: u8,
    },
    Year {
        year: i32,
    },
    /// Any dates, both included.
    Range {
        from: NaiveDate,
        to: NaiveDate,
    },
}

/// The days a period covers, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateRange {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl DateRange {
    /// The range as instants: from the start of `from` to the start of the
    /// day after `to`, as Vietnam counts its days.
    pub fn instants(self) -> (DateTime<Utc>, DateTime<Utc>) {
        (
            crate::domain::time::vietnam_instant(self.from, chrono::NaiveTime::MIN),
            crate::domain::time::vietnam_instant(
                self.to.succ_opt().unwrap_or(self.to),
                chrono::NaiveTime::MIN,
            ),
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeriodError {
    /// Not `2026`, `2026-H1`, `2026-Q3` (or a range).
    Malformed,
    /// A range that ends before it starts, or spans more than ten years.
    BadRange,
}

impl ReportPeriod {
    /// `2026`, `2026-H1`/`2026-H2`, `2026-Q1`…`2026-Q4` (case-insensitive).
    pub fn parse(s: &str) -> Result<Self, PeriodError> {
        let s = s.trim().to_ascii_uppercase();
        let (year, rest) = match s.split_once('-') {
            Some((y, r)) => (y, Some(r)),
            None => (s.as_str(), None),
        };
        let year: i32 = year.parse().map_err(|_| PeriodError::Malformed)?;
        if !(2000..=2199).contains(&year) {
            return Err(PeriodError::Malformed);
        }
        match rest {
            None => Ok(Self::Year { year }),
            Some("H1") => Ok(Self::Half { year, half: 1 }),
            Some("H2") => Ok(Self::Half { year, half: 2 }),
            Some(q) => match q.strip_prefix('Q').and_then(|n| n.parse::<u8>().ok()) {
                Some(quarter @ 1..=4) => Ok(Self::Quarter { year, quarter }),
                _ => Err(PeriodError::Malformed),
            },
        }
    }

    pub fn range(from: NaiveDate, to: NaiveDate) -> Result<Self, PeriodError> {
        if to < from || (to - from).num_days() > 3660 {
            return Err(PeriodError::BadRange);
        }
        Ok(Self::Range { from, to })
    }

    /// The days covered with reports closing on `cutoff_day` (1–28): the
    /// period starts on that day of the month before its first month and
    /// ends the day before that day of its last month. With `1`, calendar
    /// months.
    pub fn dates(self, cutoff_day: u32) -> DateRange {
        let (year, first_month, months) = match self {
            Self::Range { from, to } => return DateRange { from, to },
            Self::Quarter { year, quarter } => (year, u32::from(quarter - 1) * 3 + 1, 3),
            Self::Half { year, half } => (year, u32::from(half - 1) * 6 + 1, 6),
            Self::Year { year } => (year, 1, 12),
        };
        let cutoff_day = cutoff_day.clamp(1, 28);
        // The first day of the period by the calendar; both days exist
        // (day ≤ 28) and the year is in range, so these cannot fail.
        let calendar_start = NaiveDate::from_ymd_opt(year, first_month, 1).unwrap_or_default();
        let calendar_end = calendar_start + Months::new(months);
        if cutoff_day == 1 {
            return DateRange {
                from: calendar_start,
                to: calendar_end.pred_opt().unwrap_or(calendar_end),
            };
        }
        let shift = |d: NaiveDate| {
            let before = d - Months::new(1);
            NaiveDate::from_ymd_opt(before.year(), before.month(), cutoff_day).unwrap_or(before)
        };
        let from = shift(calendar_start);
        let next = shift(calendar_end);
        DateRange {
            from,
            to: next.pred_opt().unwrap_or(next),
        }
    }

    /// The six months `day` falls in, with reports closing on
    /// `cutoff_day`: after the cut-off in December it is already the next
    /// year's first half.
    pub fn half_containing(day: NaiveDate, cutoff_day: u32) -> Self {
        let year = day.year();
        [
            Self::Half { year, half: 1 },
            Self::Half { year, half: 2 },
            Self::Half {
                year: year + 1,
                half: 1,
            },
        ]
        .into_iter()
        .find(|p| {
            let r = p.dates(cutoff_day);
            r.from <= day && day <= r.to
        })
        .unwrap_or(Self::Half { year, half: 2 })
    }

    /// The `period` parameter that names it (`2026-H1`); none for a range.
    pub fn code(self) -> Option<String> {
        match self {
            Self::Quarter { year, quarter } => Some(format!("{year}-Q{quarter}")),
            Self::Half { year, half } => Some(format!("{year}-H{half}")),
            Self::Year { year } => Some(year.to_string()),
            Self::Range { .. } => None,
        }
    }

    /// How the period is written in a report's title.
    pub fn label_vi(self) -> String {
        match self {
            Self::Quarter { year, quarter } => format!("Quý {} năm {year}", roman(quarter)),
            Self::Half { year, half: 1 } => format!("6 tháng đầu năm {year}"),
            Self::Half { year, .. } => format!("6 tháng cuối năm {year}"),
            Self::Year { year } => format!("Năm {year}"),
            Self::Range { from, to } => format!(
                "Từ ngày {} đến ngày {}",
                from.format("%d/%m/%Y"),
                to.format("%d/%m/%Y")
            ),
        }
    }
}

/// A median and a 90th percentile, and over how many values.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Distribution {
    pub count: u64,
    pub median: Option<f64>,
    pub p90: Option<f64>,
}

impl Distribution {
    /// Nearest-rank percentiles (a value that occurred, as a report can
    /// quote it), rounded to one decimal.
    pub fn of(mut values: Vec<f64>) -> Self {
        values.retain(|v| v.is_finite());
        if values.is_empty() {
            return Self::default();
        }
        values.sort_by(f64::total_cmp);
        let rank = |p: f64| {
            let i = nearest_rank(p, values.len() as u64) as usize - 1;
            (values[i] * 10.0).round() / 10.0
        };
        Self {
            count: values.len() as u64,
            median: Some(rank(0.5)),
            p90: Some(rank(0.9)),
        }
    }

    /// The same figures from whole-number values with how often each
    /// occurred (working days of many answers: a handful of distinct
    /// values however many answers), without listing every occurrence.
    pub fn of_counts(counts: impl IntoIterator<Item = (u32, u64)>) -> Self {
        let mut tally = std::collections::BTreeMap::<u32, u64>::new();
        for (value, n) in counts {
            *tally.entry(value).or_default() += n;
        }
        let n: u64 = tally.values().sum();
        if n == 0 {
            return Self::default();
        }
        // The value at 1-based rank `k` of the sorted occurrences.
        let at_rank = |k: u64| {
            let mut seen = 0;
            for (&value, &count) in &tally {
                seen += count;
                if seen >= k {
                    return Some(f64::from(value));
                }
            }
            None
        };
        Self {
            count: n,
            median: at_rank(nearest_rank(0.5, n)),
            p90: at_rank(nearest_rank(0.9, n)),
        }
    }
}

/// The 1-based nearest rank of percentile `p` among `n` sorted values
/// (`n` > 0): the rule both ways of computing a distribution share.
fn nearest_rank(p: f64, n: u64) -> u64 {
    ((p * n as f64).ceil() as u64).clamp(1, n)
}

/// Working days from `received` to `answered`: each working day after the
/// day of receipt up to and including the day of the answer (an answer on
/// the day of receipt took 0).
pub fn working_days_between(
    received: NaiveDate,
    answered: NaiveDate,
    is_working_day: impl Fn(NaiveDate) -> bool,
) -> u32 {
    let mut days = 0;
    let mut d = received;
    // Bounded: a report never spans more than ten years.
    for _ in 0..3700 {
        if d >= answered {
            break;
        }
        let Some(next) = d.succ_opt() else { break };
        d = next;
        if is_working_day(d) {
            days += 1;
        }
    }
    days
}

/// Working days an item received at `received` took to be answered at
/// `answered` (both instants; days in Vietnam time), by `calendar`.
pub fn handling_working_days(
    calendar: &crate::domain::calendar::working_days::WorkingCalendar,
    received: DateTime<Utc>,
    answered: DateTime<Utc>,
) -> u32 {
    working_days_between(
        crate::domain::time::vietnam_date(received),
        crate::domain::time::vietnam_date(answered),
        |d| calendar.is_working_day(d),
    )
}

fn roman(n: u8) -> &'static str {
    match n {
        1 => "I",
        2 => "II",
        3 => "III",
        _ => "IV",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn periods_close_on_the_fourteenth_as_nd_09_2019_sets_out() {
        let dates = |s: &str| ReportPeriod::parse(s).unwrap().dates(15);
        assert_eq!(
            dates("2026-H1"),
            DateRange {
                from: d(2025, 12, 15),
                to: d(2026, 6, 14)
            }
        );
        assert_eq!(
            dates("2026-h2"),
            DateRange {
                from: d(2026, 6, 15),
                to: d(2026, 12, 14)
            }
        );
        assert_eq!(
            dates("2026"),
            DateRange {
                from: d(2025, 12, 15),
                to: d(2026, 12, 14)
            }
        );
        assert_eq!(
            dates("2026-Q1"),
            DateRange {
                from: d(2025, 12, 15),
                to: d(2026, 3, 14)
            }
        );
        assert_eq!(
            dates("2026-Q2"),
            DateRange {
                from: d(2026, 3, 15),
                to: d(2026, 6, 14)
            }
        );
        assert_eq!(
            dates("2026-Q4"),
            DateRange {
                from: d(2026, 9, 15),
                to: d(2026, 12, 14)
            }
        );
    }

    #[test]
    fn consecutive_periods_leave_no_gap_and_no_overlap() {
        for cutoff in [1, 10, 15, 28] {
            for year in [2025, 2026, 2028] {
                let q: Vec<DateRange> = (1..=4)
                    .map(|quarter| ReportPeriod::Quarter { year, quarter }.dates(cutoff))
                    .collect();
                for w in q.windows(2) {
                    assert_eq!(w[0].to.succ_opt().unwrap(), w[1].from, "{cutoff} {year}");
                }
                let y = ReportPeriod::Year { year }.dates(cutoff);
                let h1 = ReportPeriod::Half { year, half: 1 }.dates(cutoff);
                let h2 = ReportPeriod::Half { year, half: 2 }.dates(cutoff);
                assert_eq!((y.from, y.to), (q[0].from, q[3].to));
                assert_eq!(
                    (h1.from, h1.to, h2.from, h2.to),
                    (q[0].from, q[1].to, q[2].from, q[3].to)
                );
                let next = ReportPeriod::Year { year: year + 1 }.dates(cutoff);
                assert_eq!(y.to.succ_opt().unwrap(), next.from);
            }
        }
    }

    #[test]
    fn a_cutoff_of_one_gives_calendar_periods() {
        let q1 = ReportPeriod::parse("2028-Q1").unwrap().dates(1);
        assert_eq!(
            q1,
            DateRange {
                from: d(2028, 1, 1),
                to: d(2028, 3, 31)
            }
        );
        let y = ReportPeriod::parse("2028").unwrap().dates(1);
        assert_eq!(
            y,
            DateRange {
                from: d(2028, 1, 1),
                to: d(2028, 12, 31)
            }
        );
    }

    #[test]
    fn malformed_periods_and_ranges_are_refused() {
        for bad in [
            "", "26", "2026-Q5", "2026-Q0", "2026-H3", "2026-X", "1999", "abcd-Q1",
        ] {
            assert_eq!(
                ReportPeriod::parse(bad),
                Err(PeriodError::Malformed),
                "{bad}"
            );
        }
        assert_eq!(
            ReportPeriod::range(d(2026, 2, 1), d(2026, 1, 1)),
            Err(PeriodError::BadRange)
        );
        assert_eq!(
            ReportPeriod::range(d(2000, 1, 1), d(2026, 1, 1)),
            Err(PeriodError::BadRange)
        );
        assert!(ReportPeriod::range(d(2026, 1, 1), d(2026, 1, 1)).is_ok());
    }

    #[test]
    fn percentiles_are_values_that_occurred() {
        let d = Distribution::of(vec![5.0, 1.0, 3.0, 2.0, 4.0, 10.0, 6.0, 7.0, 8.0, 9.0]);
        assert_eq!(d.count, 10);
        assert_eq!(d.median, Some(5.0));
        assert_eq!(d.p90, Some(9.0));
        assert_eq!(Distribution::of(vec![2.25]).median, Some(2.3));
        assert_eq!(Distribution::of(vec![]), Distribution::default());
        assert_eq!(Distribution::of(vec![f64::NAN]).count, 0);
    }

    /// Counted occurrences give exactly what listing them would, on
    /// every shape: one value, ties at the ranks, long tails, zeros.
    #[test]
    fn percentiles_from_counts_equal_those_of_the_listed_values() {
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move |bound: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % bound
        };
        let mut shapes: Vec<Vec<(u32, u64)>> = vec![
            vec![],
            vec![(3, 0)],
            vec![(7, 1)],
            vec![(0, 5), (1, 5)],
            vec![(2, 9), (2, 1), (40, 1)],
            vec![(15, 1), (1, 1), (8, 1), (3, 1)],
        ];
        for _ in 0..500 {
            let pairs = next(12) as usize;
            shapes.push((0..pairs).map(|_| (next(60) as u32, next(30))).collect());
        }
        for counts in shapes {
            let listed: Vec<f64> = counts
                .iter()
                .flat_map(|&(v, n)| std::iter::repeat_n(f64::from(v), n as usize))
                .collect();
            assert_eq!(
                Distribution::of_counts(counts.clone()),
                Distribution::of(listed),
                "{counts:?}"
            );
        }
    }

    #[test]
    fn handling_time_counts_working_days_after_receipt() {
        use chrono::Weekday;
        let weekdays = |d: NaiveDate| !matches!(d.weekday(), Weekday::Sat | Weekday::Sun);
        // Friday → Monday: one working day (Monday).
        assert_eq!(
            working_days_between(d(2026, 11, 20), d(2026, 11, 23), weekdays),
            1
        );
        assert_eq!(
            working_days_between(d(2026, 11, 20), d(2026, 11, 20), weekdays),
            0
        );
        assert_eq!(
            working_days_between(d(2026, 11, 16), d(2026, 11, 27), weekdays),
            9
        );
        // An answer dated before receipt (bad data) counts 0, not a panic.
        assert_eq!(
            working_days_between(d(2026, 11, 27), d(2026, 11, 16), weekdays),
            0
        );
    }

    #[test]
    fn titles_read_as_reports_name_them() {
        assert_eq!(
            ReportPeriod::parse("2026-H1").unwrap().label_vi(),
            "6 tháng đầu năm 2026"
        );
        assert_eq!(
            ReportPeriod::parse("2026-Q3").unwrap().label_vi(),
            "Quý III năm 2026"
        );
        assert_eq!(
            ReportPeriod::range(d(2026, 1, 5), d(2026, 2, 6))
                .unwrap()
                .label_vi(),
            "Từ ngày 05/01/2026 đến ngày 06/02/2026"
        );
    }
}

/// The figures of one period. Maps are keyed by wire codes.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Statistics {
    pub received_total: u64,
    pub received_by_channel: BTreeMap<String, u64>,
    pub received_by_kind: BTreeMap<String, u64>,
    /// `unclassified` for items whose content category is not decided.
    pub received_by_content_category: BTreeMap<String, u64>,
    pub not_accepted_total: u64,
    pub not_accepted_by_reason: BTreeMap<String, u64>,
    /// Items forwarded to a handling agency in the period (to this
    /// agency, when the scope is one agency).
    pub forwarded_in: u64,
    /// Items an agency sent back as not its competence, or the control
    /// office took back, in the period (from this agency, in its scope).
    pub forwarded_out: u64,
    /// Agency code → forwarded to it (`in`) and sent back from it (`out`).
    pub forwarded_by_agency: BTreeMap<String, ForwardCounts>,
    pub answered_total: u64,
    /// By the original due date.
    pub answered_on_time: u64,
    /// After the original due date but within an extension.
    pub answered_within_extension: u64,
    pub answered_late: u64,
    /// Handling agency code → its answers, by the same rule
    /// (`unrouted` for answers of items the office handled itself before
    /// an agency was recorded).
    pub answered_by_agency: BTreeMap<String, AnswerCounts>,
    pub published: u64,
    pub rated: u64,
    /// Score (1–5) → count.
    pub rating_by_score: BTreeMap<String, u64>,
    /// Open now (at the time asked), by their answer deadline.
    pub open_within_deadline: u64,
    pub open_past_deadline: u64,
    /// Working days from receipt to answer, of the answers counted above
    /// (filled in by the caller, which has the calendar).
    pub handling_working_days: Distribution,
    /// Hours between a letter's or call's arrival and its entry by staff,
    /// for staff-entered items received in the period.
    pub entry_delay_hours: Distribution,
    /// Working days kept with the answers counted above when each was
    /// sent: (days, how many answers took them).
    #[serde(skip)]
    pub answered_working_days_kept: Vec<(u32, u64)>,
    /// (received, answered) of the answers counted above that were sent
    /// before their working days were kept.
    #[serde(skip)]
    pub answered_spans: Vec<(DateTime<Utc>, DateTime<Utc>)>,
}

/// Items moved to and from one agency.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ForwardCounts {
    #[serde(rename = "in")]
    pub forwarded_in: u64,
    #[serde(rename = "out")]
    pub forwarded_out: u64,
}

/// The `answered_by_agency` key of answers no agency was recorded for
/// (the office answered before routing).
pub const UNROUTED: &str = "unrouted";

/// Answers of one agency, by timeliness.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct AnswerCounts {
    pub total: u64,
    pub on_time: u64,
    pub within_extension: u64,
    pub late: u64,
}

impl AnswerCounts {
    pub fn add(&mut self, t: Timeliness) {
        self.add_many(t, 1);
    }

    /// `n` answers that stood as `t`.
    pub fn add_many(&mut self, t: Timeliness, n: u64) {
        self.total += n;
        match t {
            Timeliness::OnTime => self.on_time += n,
            Timeliness::WithinExtension => self.within_extension += n,
            _ => self.late += n,
        }
    }

    /// Share answered by the original due date, in per cent (one decimal).
    pub fn on_time_percent(&self) -> Option<f64> {
        percent(self.on_time, self.total)
    }
}

/// Where an item stands against its answer deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timeliness {
    /// Answered by the original due date (or no deadline applies).
    OnTime,
    /// Answered after the original due date but within an extension.
    WithinExtension,
    Late,
    /// Not answered; the deadline has not passed.
    Open,
    /// Not answered; the deadline has passed.
    Overdue,
    /// Not answered and never will be (not accepted, merged).
    NotApplicable,
}

impl Timeliness {
    /// How an answer stood, as kept on the item when it was sent
    /// (`answer_timeliness`).
    pub fn from_kept(kept: &str) -> Self {
        match kept {
            "on_time" => Self::OnTime,
            "within_extension" => Self::WithinExtension,
            _ => Self::Late,
        }
    }

    /// An answer sent `at` against its deadline's original and current due.
    pub fn of_answer(
        at: DateTime<Utc>,
        original_due: Option<DateTime<Utc>>,
        due: Option<DateTime<Utc>>,
    ) -> Self {
        match (original_due.or(due), due) {
            (Some(original), _) if at <= original => Self::OnTime,
            (_, Some(extended)) if at <= extended => Self::WithinExtension,
            // No deadline (not computed): not late by any rule we know.
            (None, None) => Self::OnTime,
            _ => Self::Late,
        }
    }

    /// Where an item in `state` stands `now`: by its answer if it has
    /// one, else by its current due date.
    pub fn of_item(
        state: Option<crate::domain::feedback::FeedbackState>,
        answered_at: Option<DateTime<Utc>>,
        original_due: Option<DateTime<Utc>>,
        due: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Self {
        use crate::domain::feedback::FeedbackState as S;
        match (answered_at, state) {
            (Some(at), _) => Self::of_answer(at, original_due, due),
            (None, Some(S::NotAccepted | S::Merged)) => Self::NotApplicable,
            (None, _) if due.is_some_and(|d| d < now) => Self::Overdue,
            (None, _) => Self::Open,
        }
    }

    pub fn label_vi(self) -> &'static str {
        match self {
            Self::OnTime => "Đúng hạn",
            Self::WithinExtension => "Trong thời hạn gia hạn",
            Self::Late => "Trễ hạn",
            Self::Open => "Đang xử lý, trong hạn",
            Self::Overdue => "Đang xử lý, quá hạn",
            Self::NotApplicable => "",
        }
    }
}

/// `part` of `whole` in per cent, one decimal; none of nothing.
pub fn percent(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| (part as f64 * 1000.0 / whole as f64).round() / 10.0)
}

/// `12,5` — Vietnamese writes a decimal comma.
pub fn decimal_vi(v: f64) -> String {
    let s = format!("{v:.1}");
    s.strip_suffix(".0")
        .map(str::to_string)
        .unwrap_or(s)
        .replace('.', ",")
}

/// The report's assessment, written from the figures: what a reader
/// would otherwise work out with a calculator. Plain sentences, no
/// judgement the figures do not support.
pub fn narrative(s: &Statistics) -> Vec<String> {
    let mut out = Vec::new();
    if s.received_total == 0 {
        out.push("Trong kỳ báo cáo không tiếp nhận phản ánh, kiến nghị nào.".into());
    } else {
        let kinds = format!(
            "{} phản ánh, {} kiến nghị",
            s.received_by_kind.get("phan_anh").copied().unwrap_or(0),
            s.received_by_kind.get("kien_nghi").copied().unwrap_or(0)
        );
        let top_channel = s
            .received_by_channel
            .iter()
            .max_by_key(|(code, n)| (**n, std::cmp::Reverse(code.as_str())))
            .map(|(code, n)| {
                let label = crate::domain::feedback::Channel::parse(code)
                    .map(|c| c.label_vi())
                    .unwrap_or("khác");
                format!(
                    "; nhiều nhất qua {} ({} lượt, {}%)",
                    label.to_lowercase(),
                    n,
                    decimal_vi(percent(*n, s.received_total).unwrap_or(0.0))
                )
            })
            .unwrap_or_default();
        out.push(format!(
            "Trong kỳ, tiếp nhận {} phản ánh, kiến nghị ({kinds}){top_channel}. Không tiếp nhận {} trường hợp do không thuộc phạm vi hoặc không đủ điều kiện theo quy định.",
            s.received_total, s.not_accepted_total
        ));
    }
    if s.answered_total > 0 {
        let on_time = percent(s.answered_on_time, s.answered_total).unwrap_or(0.0);
        let mut text = format!(
            "Đã trả lời {} phản ánh, kiến nghị, trong đó {} đúng hạn ({}%), {} trong thời hạn gia hạn và {} trễ hạn.",
            s.answered_total,
            s.answered_on_time,
            decimal_vi(on_time),
            s.answered_within_extension,
            s.answered_late
        );
        if let Some(median) = s.handling_working_days.median {
            text.push_str(&format!(
                " Thời gian xử lý trung vị là {} ngày làm việc; 90% được trả lời trong {} ngày làm việc.",
                decimal_vi(median),
                decimal_vi(s.handling_working_days.p90.unwrap_or(median))
            ));
        }
        out.push(text);
    } else {
        out.push("Trong kỳ chưa có phản ánh, kiến nghị nào được trả lời.".into());
    }
    if s.open_past_deadline > 0 {
        out.push(format!(
            "Tại thời điểm lập báo cáo còn {} phản ánh, kiến nghị đang xử lý, trong đó {} đã quá hạn, cần được đôn đốc.",
            s.open_within_deadline + s.open_past_deadline,
            s.open_past_deadline
        ));
    } else {
        out.push(format!(
            "Tại thời điểm lập báo cáo còn {} phản ánh, kiến nghị đang xử lý, không có trường hợp quá hạn.",
            s.open_within_deadline
        ));
    }
    let slowest = s
        .answered_by_agency
        .iter()
        .filter(|(_, a)| a.late > 0)
        .max_by_key(|(code, a)| (a.late, std::cmp::Reverse(code.as_str())));
    if let Some((code, a)) = slowest {
        out.push(format!(
            "Cơ quan có nhiều trường hợp trả lời trễ hạn nhất: {code} ({} trường hợp).",
            a.late
        ));
    }
    if s.rated > 0 {
        let satisfied: u64 = s
            .rating_by_score
            .iter()
            .filter(|(score, _)| score.as_str() >= "4")
            .map(|(_, n)| n)
            .sum();
        out.push(format!(
            "Có {} lượt đánh giá kết quả trả lời, {} lượt hài lòng (4–5 điểm, {}%). Đã công khai {} câu trả lời trên trang Hỏi – đáp.",
            s.rated,
            satisfied,
            decimal_vi(percent(satisfied, s.rated).unwrap_or(0.0)),
            s.published
        ));
    } else {
        out.push(format!(
            "Chưa có lượt đánh giá kết quả trả lời nào. Đã công khai {} câu trả lời trên trang Hỏi – đáp.",
            s.published
        ));
    }
    out
}
