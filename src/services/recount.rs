//! The figures kept as things happen — the queue's counts per agency and
//! state, the due times per state and hour behind the overdue counts,
//! the province's statistics per day, each answer's timeliness and
//! working days — checked against
//! the items they come from, and rebuilt from them (`pakn recount`).

use serde::Serialize;

use crate::domain::reporting::handling_working_days;
use crate::services::calendar::CalendarSnapshot;
use crate::store::kept_counts::{CountDifference, KeptCount};
use crate::store::statistics::AnswerFiguresCheck;
use crate::store::{Store, StoreError};

/// What a check found (and, with a repair, what is left after it).
#[derive(Debug, Clone, Serialize)]
pub struct RecountReport {
    /// Items per handling agency and state.
    pub queue_counts: KeptCounts,
    /// Items with a due time per state and hour: the overdue counts.
    pub due_counts: KeptCounts,
    /// The province's statistics per day.
    pub statistics_by_day: KeptCounts,
    pub answers: Answers,
}

#[derive(Debug, Clone, Serialize)]
pub struct KeptCounts {
    /// Keys compared: (agency, state), (state, hour) or (figure, day,
    /// grouped values).
    pub compared: u64,
    pub differing: usize,
    /// What still differs (after the repair, when there was one).
    pub differences: Vec<CountDifference>,
    pub repaired: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Answers {
    #[serde(flatten)]
    pub found: AnswerFiguresCheck,
    pub after_repair: Option<AnswerFiguresCheck>,
}

impl RecountReport {
    /// Kept figures that still differ from the items.
    pub fn left(&self) -> u64 {
        let now = self.answers.after_repair.unwrap_or(self.answers.found);
        self.queue_counts.differences.len() as u64
            + self.due_counts.differences.len() as u64
            + self.statistics_by_day.differences.len() as u64
            + now.timeliness_differing
            + now.working_days_missing
    }
}

/// Compares; with `repair` (and the calendar, for answers whose working
/// days were never counted) rebuilds what differs and compares again.
pub async fn run(
    store: &Store,
    repair: Option<&CalendarSnapshot>,
) -> Result<RecountReport, StoreError> {
    let queue_counts = kept_counts(store, KeptCount::States, repair.is_some()).await?;
    let due_counts = kept_counts(store, KeptCount::DueHours, repair.is_some()).await?;
    let statistics_by_day = kept_counts(store, KeptCount::Days, repair.is_some()).await?;
    let found = store.check_answer_figures().await?;
    let mut after_repair = None;
    if let Some(calendar) = repair {
        if found.timeliness_differing > 0 {
            store.repair_answer_timeliness().await?;
        }
        if found.working_days_missing > 0 {
            count_working_days(store, calendar).await?;
        }
        after_repair = Some(store.check_answer_figures().await?);
    }
    Ok(RecountReport {
        queue_counts,
        due_counts,
        statistics_by_day,
        answers: Answers {
            found,
            after_repair,
        },
    })
}

/// One kept count compared with the items; with `repair`, rebuilt when
/// it differs and compared again.
async fn kept_counts(
    store: &Store,
    kept: KeptCount,
    repair: bool,
) -> Result<KeptCounts, StoreError> {
    let (compared, mut differences) = store.check_kept_counts(kept).await?;
    let differing = differences.len();
    let repaired = repair && differing > 0;
    if repaired {
        store.rebuild_kept_counts(kept).await?;
        differences = store.check_kept_counts(kept).await?.1;
    }
    Ok(KeptCounts {
        compared,
        differing,
        differences,
        repaired,
    })
}

/// Counts and keeps the working days of answers sent before they were
/// kept, a thousand at a time, by `calendar`. Returns how many.
pub async fn count_working_days(
    store: &Store,
    calendar: &CalendarSnapshot,
) -> Result<u64, StoreError> {
    let mut counted = 0;
    loop {
        let batch = store.answers_without_working_days(1000).await?;
        if batch.is_empty() {
            return Ok(counted);
        }
        let days: Vec<(uuid::Uuid, i32)> = batch
            .into_iter()
            .map(|(id, received, answered)| {
                let n = handling_working_days(&calendar.calendar, received, answered);
                (id, i32::try_from(n).unwrap_or(i32::MAX))
            })
            .collect();
        counted += days.len() as u64;
        store.keep_working_days(&days).await?;
    }
}
