//! Exact overdue counts without reading the overdue items.
//!
//! The queue summary's overdue figure per state counted the items whose
//! due time had passed: at a million items with a backlog, tens of
//! thousands of index entries on every uncached summary. `item_due_delta`
//! holds, per state and hour of the due time (hours since the epoch,
//! UTC), signed changes to the number of items due then, written by
//! triggers on `feedback_item` in the changing transaction, as
//! `item_state_delta` does for the counts per state, and folded with them
//! by the scheduler. The overdue count per state is then the sum over the
//! hours already over, plus the items due earlier in the current hour
//! (read from the `(state, due_at)` index: one hour's worth).
//!
//! Only the province-wide figure reads it: an agency's overdue items are
//! counted directly, as they are a share of the whole.
//!
//! The first rows are today's items.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const CREATE: &str = "CREATE TABLE item_due_delta (\
     state text NOT NULL, \
     due_hour bigint NOT NULL, \
     delta bigint NOT NULL)";

/// The hour of a due time, as both databases compute it (whole hours
/// since 1970-01-01 UTC); the service computes the same in Rust.
const POSTGRES_HOUR: &str = "floor(extract(epoch FROM {}) / 3600)::bigint";
const SQLITE_HOUR: &str = "CAST(strftime('%s', {}) AS INTEGER) / 3600";

/// The SQL giving the due hour of `column` on `backend`.
pub fn due_hour_sql(backend: DbBackend, column: &str) -> String {
    match backend {
        DbBackend::Postgres => POSTGRES_HOUR,
        _ => SQLITE_HOUR,
    }
    .replace("{}", column)
}

fn fill(backend: DbBackend) -> String {
    let hour = due_hour_sql(backend, "due_at");
    format!(
        "INSERT INTO item_due_delta (state, due_hour, delta) \
         SELECT state, {hour}, COUNT(*) FROM feedback_item WHERE due_at IS NOT NULL \
         GROUP BY state, {hour}"
    )
}

fn postgres_up() -> Vec<String> {
    let old = due_hour_sql(DbBackend::Postgres, "OLD.due_at");
    let new = due_hour_sql(DbBackend::Postgres, "NEW.due_at");
    vec![
        // Appended and folded away all day, like the state deltas.
        "ALTER TABLE item_due_delta SET (autovacuum_vacuum_scale_factor = 0, \
             autovacuum_vacuum_threshold = 1000, autovacuum_analyze_scale_factor = 0, \
             autovacuum_analyze_threshold = 1000)"
            .into(),
        format!(
            "CREATE FUNCTION item_due_delta_write() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
                 IF TG_OP <> 'INSERT' AND OLD.due_at IS NOT NULL THEN \
                     INSERT INTO item_due_delta VALUES (OLD.state, {old}, -1); \
                 END IF; \
                 IF TG_OP <> 'DELETE' AND NEW.due_at IS NOT NULL THEN \
                     INSERT INTO item_due_delta VALUES (NEW.state, {new}, 1); \
                 END IF; \
                 RETURN NULL; END $$"
        ),
        "CREATE TRIGGER feedback_item_due_delta_insert AFTER INSERT ON feedback_item \
             FOR EACH ROW WHEN (NEW.due_at IS NOT NULL) EXECUTE FUNCTION item_due_delta_write()"
            .into(),
        "CREATE TRIGGER feedback_item_due_delta_update \
             AFTER UPDATE OF state, due_at ON feedback_item FOR EACH ROW \
             WHEN (OLD.state IS DISTINCT FROM NEW.state \
                   OR OLD.due_at IS DISTINCT FROM NEW.due_at) \
             EXECUTE FUNCTION item_due_delta_write()"
            .into(),
        "CREATE TRIGGER feedback_item_due_delta_delete AFTER DELETE ON feedback_item \
             FOR EACH ROW WHEN (OLD.due_at IS NOT NULL) EXECUTE FUNCTION item_due_delta_write()"
            .into(),
        fill(DbBackend::Postgres),
    ]
}

fn sqlite_up() -> Vec<String> {
    let old = due_hour_sql(DbBackend::Sqlite, "old.due_at");
    let new = due_hour_sql(DbBackend::Sqlite, "new.due_at");
    vec![
        format!(
            "CREATE TRIGGER feedback_item_due_delta_insert AFTER INSERT ON feedback_item \
             WHEN new.due_at IS NOT NULL BEGIN \
             INSERT INTO item_due_delta VALUES (new.state, {new}, 1); END"
        ),
        format!(
            "CREATE TRIGGER feedback_item_due_delta_update_old \
             AFTER UPDATE OF state, due_at ON feedback_item \
             WHEN old.due_at IS NOT NULL \
              AND (old.state IS NOT new.state OR old.due_at IS NOT new.due_at) BEGIN \
             INSERT INTO item_due_delta VALUES (old.state, {old}, -1); END"
        ),
        format!(
            "CREATE TRIGGER feedback_item_due_delta_update_new \
             AFTER UPDATE OF state, due_at ON feedback_item \
             WHEN new.due_at IS NOT NULL \
              AND (old.state IS NOT new.state OR old.due_at IS NOT new.due_at) BEGIN \
             INSERT INTO item_due_delta VALUES (new.state, {new}, 1); END"
        ),
        format!(
            "CREATE TRIGGER feedback_item_due_delta_delete AFTER DELETE ON feedback_item \
             WHEN old.due_at IS NOT NULL BEGIN \
             INSERT INTO item_due_delta VALUES (old.state, {old}, -1); END"
        ),
        fill(DbBackend::Sqlite),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(CREATE).await?;
        let statements = match manager.get_database_backend() {
            DbBackend::Postgres => postgres_up(),
            _ => sqlite_up(),
        };
        for sql in statements {
            db.execute_unprepared(&sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let statements: &[&str] = match manager.get_database_backend() {
            DbBackend::Postgres => &[
                "DROP TRIGGER IF EXISTS feedback_item_due_delta_delete ON feedback_item",
                "DROP TRIGGER IF EXISTS feedback_item_due_delta_update ON feedback_item",
                "DROP TRIGGER IF EXISTS feedback_item_due_delta_insert ON feedback_item",
                "DROP FUNCTION IF EXISTS item_due_delta_write()",
                "DROP TABLE IF EXISTS item_due_delta",
            ],
            _ => &[
                "DROP TRIGGER IF EXISTS feedback_item_due_delta_delete",
                "DROP TRIGGER IF EXISTS feedback_item_due_delta_update_new",
                "DROP TRIGGER IF EXISTS feedback_item_due_delta_update_old",
                "DROP TRIGGER IF EXISTS feedback_item_due_delta_insert",
                "DROP TABLE IF EXISTS item_due_delta",
            ],
        };
        for sql in statements {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }
}
