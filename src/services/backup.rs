//! Backups an office can trust: a consistent copy taken while the service
//! runs, verified after it is written, and a restore that only ever goes
//! into an empty database. SQLite copies itself (`VACUUM INTO`, a
//! transactionally consistent snapshot that readers and the writer keep
//! working through); PostgreSQL is dumped by its own `pg_dump` in the
//! custom format and restored by `pg_restore` — not reinvented here.
//! Attachments, raw e-mails and the audit log live in the database, so the
//! one file is the whole service's data.

use std::path::Path;
use std::process::Command;

use sea_orm::{ConnectionTrait, DbBackend, Statement};
use secrecy::ExposeSecret;
use serde::Serialize;

use crate::config::DatabaseSettings;
use crate::store::Store;

/// The tables whose counts a backup reports and a restore checks.
pub const COUNTED: [&str; 8] = [
    "feedback_item",
    "attachment",
    "audit_event",
    "notice",
    "inbound_mail",
    "staff_account",
    "agency",
    "calendar_day",
];

#[derive(Debug, Serialize)]
pub struct BackupReport {
    pub database: &'static str,
    pub method: &'static str,
    pub file: String,
    pub bytes: u64,
    /// Rows per table in what was written.
    pub rows: Vec<(String, i64)>,
    pub verified: String,
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

async fn counts(store: &Store) -> anyhow::Result<Vec<(String, i64)>> {
    let db = store.connection();
    let mut out = Vec::new();
    for table in COUNTED {
        let row = db
            .query_one_raw(Statement::from_string(
                db.get_database_backend(),
                format!("SELECT COUNT(*) AS n FROM {table}"),
            ))
            .await?
            .ok_or_else(|| anyhow::anyhow!("no count for {table}"))?;
        out.push((table.to_string(), row.try_get::<i64>("", "n")?));
    }
    Ok(out)
}

pub(crate) async fn open(url: &str) -> anyhow::Result<Store> {
    let settings = DatabaseSettings {
        url: url.to_string().into(),
        max_connections: 2,
        min_connections: 1,
        connect_timeout_seconds: 10,
        acquire_timeout_seconds: 10,
        sqlite_busy_timeout_ms: 5000,
        demo_data: crate::config::DemoData::Never,
    };
    Ok(Store::connect(&settings).await?)
}

fn run(command: &mut Command, what: &str) -> anyhow::Result<String> {
    let out = command.output().map_err(|e| {
        anyhow::anyhow!("{what} could not start ({e}); is the PostgreSQL client installed?")
    })?;
    if !out.status.success() {
        anyhow::bail!(
            "{what} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `pakn backup --to FILE`.
pub async fn backup(
    store: &Store,
    database: &DatabaseSettings,
    to: &Path,
) -> anyhow::Result<BackupReport> {
    if to.exists() {
        anyhow::bail!("{} exists; a backup never overwrites a file", to.display());
    }
    let url = database.url.expose_secret();
    match store.connection().get_database_backend() {
        DbBackend::Sqlite => {
            let target = to.display().to_string().replace('\'', "''");
            store
                .connection()
                .execute_unprepared(&format!("VACUUM INTO '{target}'"))
                .await?;
            let copy = open(&sqlite_url(to)).await?;
            let check = copy
                .connection()
                .query_one_raw(Statement::from_string(
                    DbBackend::Sqlite,
                    "PRAGMA integrity_check".to_string(),
                ))
                .await?
                .map(|r| r.try_get_by_index::<String>(0))
                .transpose()?
                .unwrap_or_default();
            if check != "ok" {
                anyhow::bail!("the copy failed its integrity check: {check}");
            }
            let rows = counts(&copy).await?;
            copy.close().await;
            Ok(BackupReport {
                database: "sqlite",
                method: "VACUUM INTO (SQLite's consistent online copy)",
                file: to.display().to_string(),
                bytes: std::fs::metadata(to)?.len(),
                rows,
                verified: "PRAGMA integrity_check = ok; rows counted in the copy".into(),
            })
        }
        _ => {
            // pg_dump reads one snapshot: consistent while the service runs.
            run(
                Command::new("pg_dump")
                    .args(["--format=custom", "--no-owner", "--no-privileges", "--file"])
                    .arg(to)
                    .arg(url),
                "pg_dump",
            )?;
            let listing = run(
                Command::new("pg_restore").arg("--list").arg(to),
                "pg_restore --list",
            )?;
            let missing: Vec<&str> = COUNTED
                .iter()
                .filter(|t| !listing.contains(&format!("TABLE DATA public {t} ")))
                .copied()
                .collect();
            if !missing.is_empty() {
                anyhow::bail!("the dump lacks the data of {missing:?}");
            }
            Ok(BackupReport {
                database: "postgres",
                method: "pg_dump --format=custom (PostgreSQL's own consistent dump)",
                file: to.display().to_string(),
                bytes: std::fs::metadata(to)?.len(),
                rows: Vec::new(),
                verified: "pg_restore --list reads it and lists the data of every table".into(),
            })
        }
    }
}

/// Whether the database has anything in it (any of our tables).
async fn is_empty(store: &Store) -> anyhow::Result<bool> {
    let db = store.connection();
    let sql = match db.get_database_backend() {
        DbBackend::Sqlite => {
            "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        }
        _ => "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = 'public'",
    };
    let n = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            sql.to_string(),
        ))
        .await?
        .map(|r| r.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0);
    Ok(n == 0)
}

/// `pakn restore --from FILE`: into an empty database only; then the
/// migrations this version adds, and the counts of what is there.
pub async fn restore(database: &DatabaseSettings, from: &Path) -> anyhow::Result<BackupReport> {
    let url = database.url.expose_secret().to_string();
    let mut head = [0u8; 16];
    {
        use std::io::Read;
        std::fs::File::open(from)
            .map_err(|e| anyhow::anyhow!("{}: {e}", from.display()))?
            .read_exact(&mut head)
            .map_err(|_| anyhow::anyhow!("{} is not a pakn backup", from.display()))?;
    }
    let sqlite_file = head.starts_with(b"SQLite format 3\0");
    let pg_dump_file = head.starts_with(b"PGDMP");
    let target = open(&url).await?;
    if !is_empty(&target).await? {
        target.close().await;
        anyhow::bail!("the target database is not empty; restore only into a new, empty database");
    }
    let method = match (url.starts_with("sqlite:"), sqlite_file, pg_dump_file) {
        (true, true, _) => {
            target.close().await;
            let path = crate::store::sqlite_file(&url)
                .ok_or_else(|| anyhow::anyhow!("database.url names no SQLite file"))?;
            // The empty file the check created goes; the backup takes its place.
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
            std::fs::copy(from, &path)?;
            "copied (SQLite backup into SQLite)"
        }
        (false, _, true) => {
            target.close().await;
            run(
                Command::new("pg_restore")
                    .args([
                        "--no-owner",
                        "--no-privileges",
                        "--exit-on-error",
                        "--single-transaction",
                        "--dbname",
                    ])
                    .arg(&url)
                    .arg(from),
                "pg_restore",
            )?;
            "pg_restore (PostgreSQL dump into PostgreSQL)"
        }
        (true, false, true) | (false, true, false) => {
            target.close().await;
            anyhow::bail!(
                "a backup restores into the same kind of database it was taken from (SQLite or PostgreSQL)"
            );
        }
        _ => {
            target.close().await;
            anyhow::bail!("{} is not a pakn backup", from.display());
        }
    };
    let restored = open(&url).await?;
    restored.migrate_up().await?;
    let rows = counts(&restored).await?;
    restored.close().await;
    Ok(BackupReport {
        database: if url.starts_with("sqlite:") {
            "sqlite"
        } else {
            "postgres"
        },
        method,
        file: from.display().to_string(),
        bytes: std::fs::metadata(from)?.len(),
        rows,
        verified: "migrations brought up to date; rows counted in the restored database".into(),
    })
}
