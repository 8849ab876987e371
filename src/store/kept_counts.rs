//! Figures kept as signed rows that database triggers append in the
//! transaction that changes an item (migrations 29, 31 and 32), folded by
//! the scheduler, checked against the items and rebuilt from them by
//! `pakn recount`. A figure is the sum of its rows: exact at every
//! moment, and no intake waits on a shared counter row.

use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait};
use uuid::Uuid;

use super::{Store, StoreError};

/// One kept figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeptCount {
    /// Items per handling agency and state: the queue's counts.
    States,
    /// Items with a due time, per state and hour of it: the overdue counts.
    DueHours,
    /// The province's statistics per Vietnam day: received, not accepted,
    /// answered (by agency and timeliness), answers' working days.
    Days,
}

impl KeptCount {
    pub const ALL: [KeptCount; 3] = [KeptCount::States, KeptCount::DueHours, KeptCount::Days];

    fn table(self) -> &'static str {
        match self {
            KeptCount::States => "item_state_delta",
            KeptCount::DueHours => "item_due_delta",
            KeptCount::Days => "stat_day_delta",
        }
    }

    fn keys(self) -> &'static [&'static str] {
        match self {
            KeptCount::States => &["handling_agency_id", "state"],
            KeptCount::DueHours => &["state", "due_hour"],
            KeptCount::Days => &["figure", "day", "k1", "k2", "k3"],
        }
    }

    /// The same figures counted from the items, under the kept rows'
    /// column names, the count as `delta`.
    fn counted(self, backend: DbBackend) -> String {
        match self {
            KeptCount::States => "SELECT handling_agency_id, state, COUNT(*) AS delta \
                 FROM feedback_item GROUP BY handling_agency_id, state"
                .into(),
            KeptCount::DueHours => {
                let hour = migration::due_hour_sql(backend, "due_at");
                format!(
                    "SELECT state, {hour} AS due_hour, COUNT(*) AS delta FROM feedback_item \
                     WHERE due_at IS NOT NULL GROUP BY state, {hour}"
                )
            }
            KeptCount::Days => migration::stat_day_counted_sql(backend),
        }
    }

    /// A row's key, as the recount report shows it.
    fn key_of(
        self,
        row: &sea_orm::QueryResult,
    ) -> Result<serde_json::Map<String, serde_json::Value>, StoreError> {
        let mut key = serde_json::Map::new();
        for column in self.keys() {
            let value = match *column {
                "handling_agency_id" => {
                    serde_json::json!(row.try_get::<Option<Uuid>>("", column)?)
                }
                "due_hour" | "day" => serde_json::json!(row.try_get::<i64>("", column)?),
                _ => serde_json::json!(row.try_get::<String>("", column)?),
            };
            key.insert((*column).to_string(), value);
        }
        Ok(key)
    }
}

/// A kept count that differs from the items.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CountDifference {
    /// What is counted: the kept figure's key columns (`handling_agency_id`
    /// and `state`; `state` and `due_hour`, hours since 1970 UTC; `figure`,
    /// `day`, days since 1970 in Vietnam, and its grouped values).
    #[serde(flatten)]
    pub key: serde_json::Map<String, serde_json::Value>,
    pub kept: i64,
    pub counted: i64,
}

impl Store {
    /// Folds every kept figure's rows into one row per key. Returns how
    /// many rows were folded.
    pub async fn compact_kept_counts(&self) -> Result<u64, StoreError> {
        let mut folded = 0;
        for kept in KeptCount::ALL {
            folded += self.compact(kept).await?;
        }
        Ok(folded)
    }

    /// Folds one figure in one transaction: the rows deleted are those
    /// read, so rows written meanwhile by other transactions stay, and
    /// the sums never change. Only keys with several rows (or a zero) are
    /// rewritten: a year of days is many keys, few of them touched
    /// between two passes.
    async fn compact(&self, kept: KeptCount) -> Result<u64, StoreError> {
        let backend = self.backend();
        let table = kept.table();
        let keys = kept.keys().join(", ");
        if backend == DbBackend::Postgres {
            // In the database, in one statement: the rows never travel.
            let same_key: Vec<String> = kept
                .keys()
                .iter()
                .map(|k| match *k {
                    // The only key that may be NULL (an item not yet
                    // routed); the others compare with `=`, which joins
                    // by hash.
                    "handling_agency_id" => format!("{table}.{k} IS NOT DISTINCT FROM several.{k}"),
                    _ => format!("{table}.{k} = several.{k}"),
                })
                .collect();
            let returned: Vec<String> =
                kept.keys().iter().map(|k| format!("{table}.{k}")).collect();
            let row = self
                .connection()
                .query_one_raw(Statement::from_string(
                    backend,
                    format!(
                        "WITH several AS (SELECT {keys} FROM {table} GROUP BY {keys} \
                                          HAVING COUNT(*) > 1 OR SUM(delta) = 0), \
                              gone AS (DELETE FROM {table} USING several WHERE {same} \
                                       RETURNING {returned}, {table}.delta), \
                              folded AS (INSERT INTO {table} ({keys}, delta) \
                                         SELECT {keys}, SUM(delta) FROM gone \
                                         GROUP BY {keys} HAVING SUM(delta) <> 0) \
                         SELECT COUNT(*) AS n FROM gone",
                        same = same_key.join(" AND "),
                        returned = returned.join(", "),
                    ),
                ))
                .await?;
            let n: i64 = match row {
                Some(row) => row.try_get("", "n")?,
                None => 0,
            };
            return Ok(u64::try_from(n).unwrap_or(0));
        }
        // SQLite: one writer, so nothing is appended between these
        // statements. The keys with several rows up to the last one read
        // get their sum after it, then their rows up to it go.
        let txn = self.connection().begin().await?;
        let last: Option<i64> = txn
            .query_one_raw(Statement::from_string(
                backend,
                format!("SELECT MAX(rowid) AS last FROM {table}"),
            ))
            .await?
            .map(|row| row.try_get("", "last"))
            .transpose()?
            .flatten();
        let Some(last) = last else {
            return Ok(0);
        };
        txn.execute_unprepared(
            "CREATE TEMP TABLE IF NOT EXISTS kept_fold_keys (k TEXT PRIMARY KEY); \
             DELETE FROM kept_fold_keys",
        )
        .await?;
        // The key as one text value (NULLs included), so the rows to fold
        // are found by one index probe each.
        let key_text = kept
            .keys()
            .iter()
            .map(|k| format!("quote({k})"))
            .collect::<Vec<_>>()
            .join(" || '|' || ");
        txn.execute_raw(Statement::from_sql_and_values(
            backend,
            format!(
                "INSERT INTO kept_fold_keys (k) SELECT {key_text} FROM {table} WHERE rowid <= ?1 \
                 GROUP BY {keys} HAVING COUNT(*) > 1 OR SUM(delta) = 0"
            ),
            [last.into()],
        ))
        .await?;
        txn.execute_raw(Statement::from_sql_and_values(
            backend,
            format!(
                "INSERT INTO {table} ({keys}, delta) SELECT {keys}, SUM(delta) FROM {table} \
                 WHERE rowid <= ?1 AND {key_text} IN (SELECT k FROM kept_fold_keys) \
                 GROUP BY {keys} HAVING SUM(delta) <> 0"
            ),
            [last.into()],
        ))
        .await?;
        let gone = txn
            .execute_raw(Statement::from_sql_and_values(
                backend,
                format!(
                    "DELETE FROM {table} WHERE rowid <= ?1 \
                     AND {key_text} IN (SELECT k FROM kept_fold_keys)"
                ),
                [last.into()],
            ))
            .await?;
        txn.execute_unprepared("DELETE FROM kept_fold_keys").await?;
        txn.commit().await?;
        Ok(gone.rows_affected())
    }

    /// A kept count against a count of the items, per key: what differs,
    /// and how many keys were compared. Both are read in one statement, so
    /// a change committed meanwhile is in both or in neither.
    pub async fn check_kept_counts(
        &self,
        kept: KeptCount,
    ) -> Result<(u64, Vec<CountDifference>), StoreError> {
        let backend = self.backend();
        let table = kept.table();
        let keys = kept.keys().join(", ");
        let counted = kept.counted(backend);
        let rows = self
            .connection()
            .query_all_raw(Statement::from_string(
                backend,
                format!(
                    "SELECT {keys}, CAST(SUM(kept) AS BIGINT) AS kept, \
                            CAST(SUM(counted) AS BIGINT) AS counted FROM ( \
                       SELECT {keys}, delta AS kept, 0 AS counted FROM {table} \
                       UNION ALL \
                       SELECT {keys}, 0, delta FROM ({counted}) AS items) AS both_sides \
                     GROUP BY {keys} ORDER BY {keys}"
                ),
            ))
            .await?;
        let mut compared = 0;
        let mut differences = Vec::new();
        for row in rows {
            let kept_n: i64 = row.try_get("", "kept")?;
            let counted: i64 = row.try_get("", "counted")?;
            if kept_n == 0 && counted == 0 {
                continue;
            }
            compared += 1;
            if kept_n != counted {
                differences.push(CountDifference {
                    key: kept.key_of(&row)?,
                    kept: kept_n,
                    counted,
                });
            }
        }
        Ok((compared, differences))
    }

    /// Replaces a kept count with a count of the items. On PostgreSQL one
    /// statement (one snapshot: a change committed meanwhile is either
    /// counted and its row removed, or neither); on SQLite the delete
    /// takes the single writer's lock first.
    pub async fn rebuild_kept_counts(&self, kept: KeptCount) -> Result<(), StoreError> {
        let backend = self.backend();
        let table = kept.table();
        let keys = kept.keys().join(", ");
        let count = format!(
            "INSERT INTO {table} ({keys}, delta) {}",
            kept.counted(backend)
        );
        match backend {
            DbBackend::Postgres => {
                self.connection()
                    .execute_raw(Statement::from_string(
                        backend,
                        format!("WITH gone AS (DELETE FROM {table}) {count}"),
                    ))
                    .await?;
            }
            _ => {
                let txn = self.connection().begin().await?;
                txn.execute_raw(Statement::from_string(
                    backend,
                    format!("DELETE FROM {table}"),
                ))
                .await?;
                txn.execute_raw(Statement::from_string(backend, count))
                    .await?;
                txn.commit().await?;
            }
        }
        Ok(())
    }
}
