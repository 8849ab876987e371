//! An answer's figures kept on the item when it is sent.
//!
//! The statistics judged every answer of a period against its answer
//! deadline at report time: a join of the items to their deadlines, one
//! row per answer returned (about a second for a half year at a million
//! items). Once the answer is sent its deadline no longer moves, so the
//! judgement is made then and kept: `answer_timeliness` (`on_time`,
//! `within_extension`, `late`, by `Timeliness::of_answer`'s rule) and
//! `handling_working_days` (working days from receipt to the answer, by
//! the calendar of that day). The figures then come from one index over
//! the answers, grouped in the database.
//!
//! Items answered before this migration get their timeliness here, by the
//! same rule in SQL; their working days are counted by the service
//! (`pakn recount --repair`), and until then the statistics count them
//! as before.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// `Timeliness::of_answer` for the item being updated, from its answer
/// deadline (none: on time, as no rule makes it late).
pub const TIMELINESS_SQL: &str = "COALESCE((SELECT CASE \
         WHEN COALESCE(d.original_due_at, d.due_at) IS NULL THEN 'on_time' \
         WHEN feedback_item.answered_at <= COALESCE(d.original_due_at, d.due_at) THEN 'on_time' \
         WHEN feedback_item.answered_at <= d.due_at THEN 'within_extension' \
         ELSE 'late' END \
     FROM feedback_deadline d \
     WHERE d.feedback_item_id = feedback_item.id AND d.kind = 'answer'), 'on_time')";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("ALTER TABLE feedback_item ADD COLUMN answer_timeliness text")
            .await?;
        db.execute_unprepared("ALTER TABLE feedback_item ADD COLUMN handling_working_days integer")
            .await?;
        db.execute_unprepared(&format!(
            "UPDATE feedback_item SET answer_timeliness = {TIMELINESS_SQL} \
             WHERE answered_at IS NOT NULL"
        ))
        .await?;
        // The answers of a period, with what their figures group by:
        // read from the index alone.
        let figures = match manager.get_database_backend() {
            DbBackend::Postgres => {
                "CREATE INDEX idx_feedback_item_answer_figures ON feedback_item (answered_at) \
                 INCLUDE (handling_agency_id, field_id, answer_timeliness, handling_working_days) \
                 WHERE answered_at IS NOT NULL"
            }
            _ => {
                "CREATE INDEX idx_feedback_item_answer_figures ON feedback_item \
                 (answered_at, handling_agency_id, field_id, answer_timeliness, handling_working_days) \
                 WHERE answered_at IS NOT NULL"
            }
        };
        db.execute_unprepared(figures).await?;
        // Answers whose figures are not kept yet (the statistics' and
        // `pakn recount`'s condition, word for word, so that the planners
        // see it implies this index's).
        db.execute_unprepared(
            "CREATE INDEX idx_feedback_item_answer_uncounted ON feedback_item (answered_at) \
             WHERE answered_at IS NOT NULL \
               AND (answer_timeliness IS NULL OR handling_working_days IS NULL)",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for sql in [
            "DROP INDEX IF EXISTS idx_feedback_item_answer_uncounted",
            "DROP INDEX IF EXISTS idx_feedback_item_answer_figures",
            "ALTER TABLE feedback_item DROP COLUMN handling_working_days",
            "ALTER TABLE feedback_item DROP COLUMN answer_timeliness",
        ] {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }
}
