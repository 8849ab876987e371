//! The province's statistics from figures kept per day.
//!
//! A half year's statistics grouped every item received and every answer
//! sent in the period: at a million items, two index-only scans of about
//! 250,000 and 190,000 entries (59 and 65 ms) sharing two cores.
//! `stat_day_delta` holds, per figure, day and grouped value, signed
//! changes written by triggers on `feedback_item` in the changing
//! transaction (as `item_state_delta` does for the queue counts), folded
//! by the scheduler; a period's figures are sums over its days, a few
//! hundred rows a day at most.
//!
//! Days are Vietnam's (UTC+7, no daylight saving): whole days since
//! 1970-01-01 there, which is what a report period's bounds are. The
//! figures and their grouped values (`k1`, `k2`, `k3`, never NULL):
//! - `received`: by the day received; channel, kind, content category;
//! - `not_accepted`: items not accepted, by the day received; reason;
//! - `answered`: answers whose timeliness and working days are kept, by
//!   the day sent; handling agency (32 hex digits), timeliness;
//! - `answer_days`: the same answers; working days.
//!
//! Only the province-wide statistics read them: an agency's or a field's
//! figures are a share of the items and are grouped from them.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const CREATE: [&str; 2] = [
    "CREATE TABLE stat_day_delta (\
         figure text NOT NULL, \
         day bigint NOT NULL, \
         k1 text NOT NULL, \
         k2 text NOT NULL, \
         k3 text NOT NULL, \
         delta bigint NOT NULL)",
    "CREATE INDEX idx_stat_day_delta ON stat_day_delta (figure, day)",
];

/// One figure: the row it writes for an item (`{r}` is the item: `OLD`,
/// `NEW` or the table), when the item counts in it, and the columns whose
/// change moves the item between its rows.
struct Figure {
    name: &'static str,
    day_of: &'static str,
    k1: &'static str,
    k2: &'static str,
    k3: &'static str,
    counts_when: &'static str,
    moved_by: &'static [&'static str],
}

const ANSWER_KEPT: &str = "{r}.answered_at IS NOT NULL AND {r}.answer_timeliness IS NOT NULL \
     AND {r}.handling_working_days IS NOT NULL";

const FIGURES: [Figure; 4] = [
    Figure {
        name: "received",
        day_of: "received_at",
        k1: "{r}.channel",
        k2: "{r}.kind",
        k3: "COALESCE({r}.content_category, '')",
        counts_when: "1 = 1",
        moved_by: &["received_at", "channel", "kind", "content_category"],
    },
    Figure {
        name: "not_accepted",
        day_of: "received_at",
        k1: "COALESCE({r}.rejection_code, '')",
        k2: "''",
        k3: "''",
        counts_when: "{r}.state = 'not_accepted'",
        moved_by: &["received_at", "state", "rejection_code"],
    },
    Figure {
        name: "answered",
        day_of: "answered_at",
        k1: "{agency}",
        k2: "{r}.answer_timeliness",
        k3: "''",
        counts_when: ANSWER_KEPT,
        moved_by: &[
            "answered_at",
            "answer_timeliness",
            "handling_working_days",
            "handling_agency_id",
        ],
    },
    Figure {
        name: "answer_days",
        day_of: "answered_at",
        k1: "CAST({r}.handling_working_days AS TEXT)",
        k2: "''",
        k3: "''",
        counts_when: ANSWER_KEPT,
        moved_by: &["answered_at", "answer_timeliness", "handling_working_days"],
    },
];

/// Vietnam's day of `column` on `backend`: whole days since 1970-01-01
/// at UTC+7 (the service computes the same for a period's bounds).
fn vietnam_day_sql(backend: DbBackend, column: &str) -> String {
    match backend {
        DbBackend::Postgres => {
            format!("floor((extract(epoch FROM {column}) + 25200) / 86400)::bigint")
        }
        _ => format!("((CAST(strftime('%s', {column}) AS INTEGER) + 25200) / 86400)"),
    }
}

/// An agency's id as 32 lower-case hex digits ('' for none) on both
/// databases (SQLite keeps UUIDs as 16-byte blobs).
fn agency_hex(backend: DbBackend, row: &str) -> String {
    match backend {
        DbBackend::Postgres => {
            format!("COALESCE(replace(CAST({row}.handling_agency_id AS TEXT), '-', ''), '')")
        }
        _ => format!("COALESCE(lower(hex({row}.handling_agency_id)), '')"),
    }
}

/// The figure's values for item `row`: day, k1, k2, k3.
fn columns(backend: DbBackend, f: &Figure, row: &str) -> [String; 4] {
    let fill = |s: &str| {
        s.replace("{agency}", &agency_hex(backend, row))
            .replace("{r}", row)
    };
    [
        vietnam_day_sql(backend, &format!("{row}.{}", f.day_of)),
        fill(f.k1),
        fill(f.k2),
        fill(f.k3),
    ]
}

/// The kept figures counted from the items, under the table's column
/// names (what the migration fills in and `pakn recount` compares with).
pub fn stat_day_counted_sql(backend: DbBackend) -> String {
    FIGURES
        .iter()
        .map(|f| {
            let [day, k1, k2, k3] = columns(backend, f, "feedback_item");
            format!(
                "SELECT '{}' AS figure, {day} AS day, {k1} AS k1, {k2} AS k2, {k3} AS k3, \
                 COUNT(*) AS delta FROM feedback_item WHERE {} GROUP BY 2, 3, 4, 5",
                f.name,
                f.counts_when.replace("{r}", "feedback_item"),
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ")
}

/// The trigger's inserts for item `row` (`OLD` or `NEW`), `sign` ±1, each
/// when the item counts in the figure and, on an update, only when one of
/// the columns that move it changed (`changed` writes that test).
fn inserts(
    backend: DbBackend,
    row: &str,
    sign: i32,
    changed: Option<&dyn Fn(&str) -> String>,
) -> String {
    FIGURES
        .iter()
        .map(|f| {
            let mut when = f.counts_when.replace("{r}", row);
            if let Some(changed) = changed {
                let moved: Vec<String> = f.moved_by.iter().map(|c| changed(c)).collect();
                when = format!("({when}) AND ({})", moved.join(" OR "));
            }
            format!(
                "INSERT INTO stat_day_delta (figure, day, k1, k2, k3, delta) \
                 SELECT '{}', {}, {sign} WHERE {when};",
                f.name,
                columns(backend, f, row).join(", ")
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Every column any figure reads (the update trigger's `OF` list).
fn watched() -> Vec<&'static str> {
    let mut all: Vec<&'static str> = FIGURES
        .iter()
        .flat_map(|f| f.moved_by.iter().copied())
        .collect();
    all.sort_unstable();
    all.dedup();
    all
}

fn postgres_up() -> Vec<String> {
    let pg = DbBackend::Postgres;
    let changed = |c: &str| format!("OLD.{c} IS DISTINCT FROM NEW.{c}");
    let watched = watched();
    let any_changed: Vec<String> = watched.iter().map(|c| changed(c)).collect();
    vec![
        // Appended all day and folded by key: vacuumed after every
        // thousand dead rows.
        "ALTER TABLE stat_day_delta SET (autovacuum_vacuum_scale_factor = 0, \
             autovacuum_vacuum_threshold = 1000, autovacuum_analyze_scale_factor = 0, \
             autovacuum_analyze_threshold = 1000)"
            .into(),
        format!(
            "CREATE FUNCTION stat_day_delta_write() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
                 IF TG_OP = 'INSERT' THEN {insert} \
                 ELSIF TG_OP = 'DELETE' THEN {delete} \
                 ELSE {update_old} {update_new} END IF; \
                 RETURN NULL; END $$",
            insert = inserts(pg, "NEW", 1, None),
            delete = inserts(pg, "OLD", -1, None),
            update_old = inserts(pg, "OLD", -1, Some(&changed)),
            update_new = inserts(pg, "NEW", 1, Some(&changed)),
        ),
        "CREATE TRIGGER feedback_item_stat_day_insert AFTER INSERT ON feedback_item \
             FOR EACH ROW EXECUTE FUNCTION stat_day_delta_write()"
            .into(),
        format!(
            "CREATE TRIGGER feedback_item_stat_day_update AFTER UPDATE OF {} ON feedback_item \
             FOR EACH ROW WHEN ({}) EXECUTE FUNCTION stat_day_delta_write()",
            watched.join(", "),
            any_changed.join(" OR ")
        ),
        "CREATE TRIGGER feedback_item_stat_day_delete AFTER DELETE ON feedback_item \
             FOR EACH ROW EXECUTE FUNCTION stat_day_delta_write()"
            .into(),
        fill(pg),
    ]
}

fn sqlite_up() -> Vec<String> {
    let lite = DbBackend::Sqlite;
    let changed = |c: &str| format!("old.{c} IS NOT new.{c}");
    let watched = watched();
    let any_changed: Vec<String> = watched.iter().map(|c| changed(c)).collect();
    vec![
        format!(
            "CREATE TRIGGER feedback_item_stat_day_insert AFTER INSERT ON feedback_item BEGIN {} END",
            inserts(lite, "new", 1, None)
        ),
        format!(
            "CREATE TRIGGER feedback_item_stat_day_update AFTER UPDATE OF {} ON feedback_item \
             WHEN {} BEGIN {} {} END",
            watched.join(", "),
            any_changed.join(" OR "),
            inserts(lite, "old", -1, Some(&changed)),
            inserts(lite, "new", 1, Some(&changed)),
        ),
        format!(
            "CREATE TRIGGER feedback_item_stat_day_delete AFTER DELETE ON feedback_item BEGIN {} END",
            inserts(lite, "old", -1, None)
        ),
        fill(lite),
    ]
}

fn fill(backend: DbBackend) -> String {
    format!(
        "INSERT INTO stat_day_delta (figure, day, k1, k2, k3, delta) {}",
        stat_day_counted_sql(backend)
    )
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for sql in CREATE {
            db.execute_unprepared(sql).await?;
        }
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
                "DROP TRIGGER IF EXISTS feedback_item_stat_day_delete ON feedback_item",
                "DROP TRIGGER IF EXISTS feedback_item_stat_day_update ON feedback_item",
                "DROP TRIGGER IF EXISTS feedback_item_stat_day_insert ON feedback_item",
                "DROP FUNCTION IF EXISTS stat_day_delta_write()",
                "DROP TABLE IF EXISTS stat_day_delta",
            ],
            _ => &[
                "DROP TRIGGER IF EXISTS feedback_item_stat_day_delete",
                "DROP TRIGGER IF EXISTS feedback_item_stat_day_update",
                "DROP TRIGGER IF EXISTS feedback_item_stat_day_insert",
                "DROP TABLE IF EXISTS stat_day_delta",
            ],
        };
        for sql in statements {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }
}
