//! The figures kept as things happen — the queue's counts per agency and
//! state, each answer's timeliness and working days — checked against
//! the items they come from, and rebuilt from them (`pakn recount`).

use serde::Serialize;

use crate::domain::reporting::handling_working_days;
use crate::services::calendar::CalendarSnapshot;
use crate::store::queue::CountDifference;
use crate::store::statistics::AnswerFiguresCheck;
use crate::store::{Store, StoreError};

/// What a check found (and, with a repair, what is left after it).
#[derive(Debug, Clone, Serialize)]
pub struct RecountReport {
    pub queue_counts: QueueCounts,
    pub answers: Answers,
}

#[derive(Debug, Clone, Serialize)]
pub struct QueueCounts {
    /// (agency, state) pairs compared.
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
    let (compared, mut differences) = store.check_state_counts().await?;
    let differing = differences.len();
    let found = store.check_answer_figures().await?;
    let mut after_repair = None;
    if let Some(calendar) = repair {
        if differing > 0 {
            store.rebuild_state_counts().await?;
            differences = store.check_state_counts().await?.1;
        }
        if found.timeliness_differing > 0 {
            store.repair_answer_timeliness().await?;
        }
        if found.working_days_missing > 0 {
            count_working_days(store, calendar).await?;
        }
        after_repair = Some(store.check_answer_figures().await?);
    }
    Ok(RecountReport {
        queue_counts: QueueCounts {
            compared,
            differing,
            differences,
            repaired: repair.is_some() && differing > 0,
        },
        answers: Answers {
            found,
            after_repair,
        },
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
