//! Exact queue counts without counting the items.
//!
//! The queue summary (items per state, for the province and for each
//! handling agency) counted every item: an index-only scan of a million
//! entries, about 50 ms. `item_state_delta` holds, per handling agency
//! and state, signed changes to those counts, written by triggers on
//! `feedback_item` in the transaction that makes the change: +1 for a new
//! item, −1/+1 when its state or handling agency changes, −1 when it is
//! deleted. Rows are only ever appended — no intake waits for a lock on a
//! shared counter row — and the scheduler folds them into one row per
//! (agency, state) now and then (`Store::compact_state_counts`). The
//! counts are the sums: exact at every moment, from a table the size of
//! the directory times the states plus what changed since the last fold.
//!
//! The first rows are the current counts.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const CREATE: &str = "CREATE TABLE item_state_delta (\
     handling_agency_id uuid, \
     state text NOT NULL, \
     delta bigint NOT NULL)";

const FILL: &str = "INSERT INTO item_state_delta (handling_agency_id, state, delta) \
     SELECT handling_agency_id, state, COUNT(*) FROM feedback_item \
     GROUP BY handling_agency_id, state";

const POSTGRES_UP: [&str; 6] = [
    // Rows are appended and folded away all day: vacuumed after every
    // thousand dead rows, not after a fifth of the table (a table this
    // small would otherwise grow with dead rows every read must skip).
    "ALTER TABLE item_state_delta SET (autovacuum_vacuum_scale_factor = 0, \
         autovacuum_vacuum_threshold = 1000, autovacuum_analyze_scale_factor = 0, \
         autovacuum_analyze_threshold = 1000)",
    "CREATE FUNCTION item_state_delta_write() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
         IF TG_OP <> 'INSERT' THEN \
             INSERT INTO item_state_delta VALUES (OLD.handling_agency_id, OLD.state, -1); \
         END IF; \
         IF TG_OP <> 'DELETE' THEN \
             INSERT INTO item_state_delta VALUES (NEW.handling_agency_id, NEW.state, 1); \
         END IF; \
         RETURN NULL; END $$",
    "CREATE TRIGGER feedback_item_state_delta_insert AFTER INSERT ON feedback_item \
         FOR EACH ROW EXECUTE FUNCTION item_state_delta_write()",
    "CREATE TRIGGER feedback_item_state_delta_update \
         AFTER UPDATE OF state, handling_agency_id ON feedback_item FOR EACH ROW \
         WHEN (OLD.state IS DISTINCT FROM NEW.state \
               OR OLD.handling_agency_id IS DISTINCT FROM NEW.handling_agency_id) \
         EXECUTE FUNCTION item_state_delta_write()",
    "CREATE TRIGGER feedback_item_state_delta_delete AFTER DELETE ON feedback_item \
         FOR EACH ROW EXECUTE FUNCTION item_state_delta_write()",
    FILL,
];

const SQLITE_UP: [&str; 4] = [
    "CREATE TRIGGER feedback_item_state_delta_insert AFTER INSERT ON feedback_item BEGIN \
         INSERT INTO item_state_delta VALUES (new.handling_agency_id, new.state, 1); END",
    "CREATE TRIGGER feedback_item_state_delta_update \
         AFTER UPDATE OF state, handling_agency_id ON feedback_item \
         WHEN old.state IS NOT new.state OR old.handling_agency_id IS NOT new.handling_agency_id \
         BEGIN \
         INSERT INTO item_state_delta VALUES (old.handling_agency_id, old.state, -1); \
         INSERT INTO item_state_delta VALUES (new.handling_agency_id, new.state, 1); END",
    "CREATE TRIGGER feedback_item_state_delta_delete AFTER DELETE ON feedback_item BEGIN \
         INSERT INTO item_state_delta VALUES (old.handling_agency_id, old.state, -1); END",
    FILL,
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(CREATE).await?;
        let statements: &[&str] = match manager.get_database_backend() {
            DbBackend::Postgres => &POSTGRES_UP,
            _ => &SQLITE_UP,
        };
        for sql in statements {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let statements: &[&str] = match manager.get_database_backend() {
            DbBackend::Postgres => &[
                "DROP TRIGGER IF EXISTS feedback_item_state_delta_delete ON feedback_item",
                "DROP TRIGGER IF EXISTS feedback_item_state_delta_update ON feedback_item",
                "DROP TRIGGER IF EXISTS feedback_item_state_delta_insert ON feedback_item",
                "DROP FUNCTION IF EXISTS item_state_delta_write()",
                "DROP TABLE IF EXISTS item_state_delta",
            ],
            _ => &[
                "DROP TRIGGER IF EXISTS feedback_item_state_delta_delete",
                "DROP TRIGGER IF EXISTS feedback_item_state_delta_update",
                "DROP TRIGGER IF EXISTS feedback_item_state_delta_insert",
                "DROP TABLE IF EXISTS item_state_delta",
            ],
        };
        for sql in statements {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }
}
