//! Storage: the only module that talks to the database. Everything above it
//! sees plain domain types and [`StoreError`].

pub mod answers;
pub mod audit_log;
pub mod calendar;
pub mod console;
pub mod coordination;
pub mod deadlines;
pub mod directory;
pub mod directory_cache;
pub mod entities;
pub mod feedback;
pub mod form_stamps;
mod group_commit;
pub mod journal;
pub mod kept_counts;
pub mod mail;
pub mod metrics;
pub mod national;
pub mod outreach;
pub mod public_qa;
pub mod queue;
pub mod recovery;
pub mod reports;
pub mod retention;
pub mod routing;
pub mod staff;
pub mod statistics;
pub mod subject;
pub mod succession;
pub mod webhooks;
pub mod workflow;

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx;
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr, RuntimeErr,
    SqlErr, Statement, TransactionTrait,
};
use secrecy::ExposeSecret;

use crate::config::DatabaseSettings;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or is overloaded; the client should
    /// retry (HTTP 503 with Retry-After, MTA exit code 75).
    #[error("database unavailable: {0}")]
    Unavailable(#[source] DbErr),
    /// A uniqueness rule was hit (for callers that retry or replay).
    #[error("unique constraint violated: {0}")]
    Conflict(String),
    #[error("database error: {0}")]
    Database(#[source] DbErr),
    /// Data in the database breaks an invariant of ours.
    #[error("data integrity: {0}")]
    Integrity(String),
}

impl From<DbErr> for StoreError {
    fn from(err: DbErr) -> Self {
        if let Some(SqlErr::UniqueConstraintViolation(m)) = err.sql_err() {
            return StoreError::Conflict(m);
        }
        if is_unavailable(&err) {
            StoreError::Unavailable(err)
        } else {
            StoreError::Database(err)
        }
    }
}

/// Errors that mean "try again later" rather than "this request is wrong".
fn is_unavailable(err: &DbErr) -> bool {
    let sqlx_err = match err {
        DbErr::ConnectionAcquire(_) => return true,
        DbErr::Conn(RuntimeErr::SqlxError(e))
        | DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e)) => e,
        DbErr::Conn(_) => return true,
        _ => return false,
    };
    match sqlx_err.as_ref() {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Tls(_) => true,
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            if let Ok(sqlite_code) = code.parse::<u32>() {
                // SQLite result codes: primary 5 = BUSY, 6 = LOCKED.
                return matches!(sqlite_code & 0xff, 5 | 6);
            }
            // PostgreSQL: class 08 connection exception, 57P0x shutdown,
            // 53xxx insufficient resources, 40001/40P01 serialization
            // failure and deadlock (all retryable).
            code.starts_with("08")
                || code.starts_with("57P")
                || code.starts_with("53")
                || code == "40001"
                || code == "40P01"
        }
        _ => false,
    }
}

/// The advisory lock key of start-up work ("pakn" in ASCII, then 1).
const STARTUP_LOCK_KEY: i64 = 0x7061_6b6e_0001;

/// See [`Store::startup_lock`].
pub struct StartupLock(Option<sea_orm::DatabaseTransaction>);

impl StartupLock {
    pub async fn release(self) -> Result<(), StoreError> {
        if let Some(txn) = self.0 {
            txn.commit().await?;
        }
        Ok(())
    }
}

/// The public search windows' bounds and when they were read.
type SearchWindows = Option<(std::time::Instant, Vec<chrono::DateTime<chrono::Utc>>)>;

/// A handle on the database, cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    db: DatabaseConnection,
    /// SQLite: connections that only read, beside the single writer (WAL
    /// lets readers see every commit without waiting for the writer), for
    /// the public pages; PostgreSQL pools every connection in `db`.
    reader: Option<DatabaseConnection>,
    directory: Arc<directory_cache::DirectoryCache>,
    /// PostgreSQL tracking sequences known to exist (created once a day).
    sequences: Arc<Mutex<HashSet<String>>>,
    /// Whether PostgreSQL has `fuzzystrmatch` (migration 13, best
    /// effort), asked once.
    fuzzy_match: Arc<tokio::sync::OnceCell<bool>>,
    /// When this instance last recorded each API key's use (written at
    /// most once a minute per key, not on every request).
    api_key_uses: Arc<Mutex<std::collections::HashMap<uuid::Uuid, std::time::Instant>>>,
    /// Bumped when this instance changes what the public sees, so its
    /// own public lists are read again at once (other instances notice
    /// within a second, from the public version).
    public_epoch: Arc<std::sync::atomic::AtomicU64>,
    /// PostgreSQL: where the public search's windows end, and when that
    /// was read (see `public_qa`).
    search_windows: Arc<Mutex<SearchWindows>>,
    /// Plain web submissions, many to a commit (see `group_commit`).
    intake_writer: group_commit::GroupCommit<
        feedback::NewFeedbackRecord,
        crate::domain::tracking::TrackingCode,
    >,
}

/// PostgreSQL intake's writing tasks (each a connection at a time): with
/// two, one batch gathers while the other is written. Measured on two
/// cores: one writer 2,466–2,771 items/s at sixteen clients, two
/// 2,915–3,188, three and four within the spread of two; pgbench of the
/// batch statement peaks at two clients too.
const POSTGRES_INTAKE_WRITERS: usize = 2;

impl Store {
    /// Connects with pool and SQLite settings suited to a service: WAL,
    /// a busy timeout, the file (and its directory) created if missing, and
    /// one writer connection on SQLite.
    pub async fn connect(settings: &DatabaseSettings) -> Result<Self, StoreError> {
        let url = settings.url.expose_secret().to_string();
        let sqlite = url.starts_with("sqlite:");
        if sqlite {
            create_sqlite_parent_dir(&url).map_err(|e| {
                StoreError::Integrity(format!("cannot create the database directory: {e}"))
            })?;
        }
        let mut options = ConnectOptions::new(url);
        options
            .connect_timeout(Duration::from_secs(settings.connect_timeout_seconds))
            .acquire_timeout(Duration::from_secs(settings.acquire_timeout_seconds))
            .sqlx_logging(false)
            // No ping before every checkout (a round trip each): a dead
            // connection fails its query, which answers 503, and the pool
            // replaces it.
            .test_before_acquire(false);
        if sqlite {
            let busy = Duration::from_millis(settings.sqlite_busy_timeout_ms);
            // SQLite has one writer at a time; a single pooled connection
            // turns lock contention into orderly queueing instead of
            // SQLITE_BUSY errors under load.
            options
                .max_connections(1)
                .min_connections(1)
                .map_sqlx_sqlite_opts(move |o| {
                    o.create_if_missing(true)
                        .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                        // FULL: a commit is on disk before the 201 goes out, so an
                        // acknowledged item survives power loss, not only a crash
                        // of the process (WAL + NORMAL would not).
                        .synchronous(sqlx::sqlite::SqliteSynchronous::Full)
                        .busy_timeout(busy)
                        .foreign_keys(true)
                });
        } else {
            options
                .max_connections(settings.max_connections)
                .min_connections(settings.min_connections);
        }
        let db = Database::connect(options).await?;
        let reader = if sqlite && !is_sqlite_memory(settings.url.expose_secret()) {
            Some(connect_sqlite_readers(settings).await?)
        } else {
            None
        };
        Ok(Self {
            db,
            reader,
            directory: Arc::default(),
            sequences: Arc::default(),
            fuzzy_match: Arc::default(),
            api_key_uses: Arc::default(),
            public_epoch: Arc::default(),
            search_windows: Arc::default(),
            intake_writer: group_commit::GroupCommit::new(
                feedback::write_intake_batch,
                if sqlite { 1 } else { POSTGRES_INTAKE_WRITERS },
            ),
        })
    }

    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Where a read that needs no transaction goes: SQLite's readers
    /// (which never queue behind the writer's commits), else the pool.
    pub(crate) fn reader(&self) -> &DatabaseConnection {
        self.reader.as_ref().unwrap_or(&self.db)
    }

    /// Whether this use of API key `id` should be written down (at most
    /// once a minute per key and instance).
    pub(crate) fn api_key_use_due(&self, id: uuid::Uuid) -> bool {
        let Ok(mut seen) = self.api_key_uses.lock() else {
            return true;
        };
        let now = std::time::Instant::now();
        match seen.get(&id) {
            Some(t) if now.duration_since(*t) < Duration::from_secs(60) => false,
            _ => {
                seen.insert(id, now);
                true
            }
        }
    }

    pub(crate) fn directory_cache(&self) -> &directory_cache::DirectoryCache {
        &self.directory
    }

    pub(crate) fn known_sequences(&self) -> &Mutex<HashSet<String>> {
        &self.sequences
    }

    /// Claims rows of an outbox-like table for `holder` until `until`
    /// and returns the column `key` of those claimed. `due` is the
    /// subquery choosing them, with `$3` for now and `$4` for the limit;
    /// on PostgreSQL its rows are locked with `SKIP LOCKED`, so instances
    /// claiming at once never take the same row (SQLite has one writer).
    pub(crate) async fn claim_rows<T: sea_orm::TryGetable>(
        &self,
        table: &str,
        key: &str,
        due: &str,
        (holder, limit): (&str, u64),
        until: chrono::DateTime<chrono::Utc>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<T>, StoreError> {
        let backend = self.backend();
        let lock = if backend == DbBackend::Postgres {
            " FOR UPDATE SKIP LOCKED"
        } else {
            ""
        };
        let statement = format!(
            "UPDATE {table} SET claimed_by = $1, claimed_until = $2, attempts = attempts + 1 \
             WHERE {key} IN ({due}{lock}) RETURNING {key}"
        );
        let rows = self
            .connection()
            .query_all_raw(sea_orm::Statement::from_sql_and_values(
                backend,
                sql(backend, &statement),
                [
                    holder.into(),
                    until.into(),
                    now.into(),
                    i64::try_from(limit).unwrap_or(100).into(),
                ],
            ))
            .await?;
        Ok(rows
            .iter()
            .map(|r| r.try_get::<T>("", key))
            .collect::<Result<_, _>>()?)
    }

    /// How many times this instance changed what the public sees.
    pub fn public_epoch(&self) -> u64 {
        self.public_epoch.load(std::sync::atomic::Ordering::Acquire)
    }

    pub(crate) fn public_changed(&self) {
        self.public_epoch
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    pub fn backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }

    /// Applies pending migrations, one instance at a time: instances
    /// started together on an empty PostgreSQL database would otherwise
    /// race to create the same tables (seen with three `pakn serve` at
    /// once: a duplicate `pg_type` row and two of them exiting).
    pub async fn migrate_up(&self) -> Result<(), StoreError> {
        let lock = self.startup_lock().await?;
        Migrator::up(&self.db, None).await?;
        lock.release().await
    }

    /// Holds PostgreSQL's transaction-level advisory lock for start-up
    /// work that writes shared rows (migrations; the demo directory, the
    /// calendar and generated secrets). Other instances wait at this point
    /// until it is released; a process that dies releases it with its
    /// connection. SQLite serves one process, so there it is a no-op
    /// (and its single pooled connection must stay free).
    pub async fn startup_lock(&self) -> Result<StartupLock, StoreError> {
        if self.backend() != DbBackend::Postgres {
            return Ok(StartupLock(None));
        }
        let txn = self.db.begin().await?;
        txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({STARTUP_LOCK_KEY})"))
            .await?;
        Ok(StartupLock(Some(txn)))
    }

    /// Rolls back `steps` migrations (all when `None`).
    pub async fn migrate_down(&self, steps: Option<u32>) -> Result<(), StoreError> {
        Migrator::down(&self.db, steps)
            .await
            .map_err(StoreError::from)
    }

    /// Applied and pending migrations, by name.
    pub async fn migration_status(&self) -> Result<Vec<(String, bool)>, StoreError> {
        let applied: Vec<String> = Migrator::get_applied_migrations(&self.db)
            .await?
            .iter()
            .map(|m| m.name().to_string())
            .collect();
        Ok(Migrator::migrations()
            .iter()
            .map(|m| (m.name().to_string(), applied.iter().any(|a| a == m.name())))
            .collect())
    }

    /// Readiness: one round trip to the database.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.db
            .execute_raw(Statement::from_string(self.backend(), "SELECT 1"))
            .await?;
        Ok(())
    }

    pub async fn close(self) {
        let _ = self.db.close().await;
    }
}

/// Whether a SQLite URL names a database in memory rather than a file
/// (one per connection: a second pool would see another, empty one).
fn is_sqlite_memory(url: &str) -> bool {
    sqlite_file(url).is_none() || url.contains("mode=memory")
}

/// SQLite's read-only pool: a connection for each core but the writer's
/// (at least one, at most four), each refusing writes (`query_only`),
/// waiting out a checkpoint like the writer does. More readers than
/// cores was measured slower: on two cores, two readers served sixteen
/// concurrent first searches at 86–89 a second where one served 100.
async fn connect_sqlite_readers(
    settings: &DatabaseSettings,
) -> Result<DatabaseConnection, StoreError> {
    let readers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .saturating_sub(1)
        .clamp(1, 4) as u32;
    let busy = Duration::from_millis(settings.sqlite_busy_timeout_ms);
    let mut options = ConnectOptions::new(settings.url.expose_secret().to_string());
    options
        .connect_timeout(Duration::from_secs(settings.connect_timeout_seconds))
        .acquire_timeout(Duration::from_secs(settings.acquire_timeout_seconds))
        .sqlx_logging(false)
        .test_before_acquire(false)
        .max_connections(readers)
        .min_connections(1)
        .map_sqlx_sqlite_opts(move |o| {
            o.busy_timeout(busy)
                .foreign_keys(true)
                .pragma("query_only", "ON")
        });
    Ok(Database::connect(options).await?)
}

fn create_sqlite_parent_dir(url: &str) -> std::io::Result<()> {
    match sqlite_file(url).as_deref().and_then(Path::parent) {
        Some(parent) if !parent.as_os_str().is_empty() => std::fs::create_dir_all(parent),
        _ => Ok(()),
    }
}

/// The file a SQLite URL names, none for a database in memory.
pub(crate) fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = path.split('?').next().unwrap_or_default();
    (!path.is_empty() && !path.starts_with(":memory:")).then(|| std::path::PathBuf::from(path))
}

/// Rewrites `$1, $2…` placeholders for the backend (SQLite wants `?1`).
pub(crate) fn sql(backend: DbBackend, postgres_sql: &str) -> String {
    match backend {
        DbBackend::Sqlite => postgres_sql.replace('$', "?"),
        _ => postgres_sql.to_string(),
    }
}
