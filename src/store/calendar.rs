//! The calendar as data: official year schedules, the revision counter
//! every change bumps, and the audit event each change writes, all in one
//! transaction.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait,
    QueryFilter, QueryOrder, Statement, TransactionTrait,
};

use super::entities::{calendar_day, calendar_revision, calendar_year};
use super::journal::{AuditEntry, write_audit};
use super::{Store, StoreError};
use crate::domain::calendar::holidays::{DayKind, ScheduledDay};

/// A year that follows an official schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YearRecord {
    pub year: i32,
    /// "file" (loaded from a schedule file) or "admin" (entered or
    /// edited by an administrator).
    pub origin: String,
    pub file_name: Option<String>,
    pub file_sha256: Option<String>,
    pub edited_by_admin: bool,
    pub revision: i64,
}

/// Everything the calendar holds, as of `version`.
#[derive(Debug, Clone, Default)]
pub struct CalendarData {
    pub version: i64,
    pub changed_at: Option<DateTime<Utc>>,
    pub years: HashMap<i32, (YearRecord, Vec<ScheduledDay>)>,
}

/// Who changes the calendar, and how.
#[derive(Debug, Clone)]
pub struct CalendarChange {
    pub actor_kind: String,
    pub actor: String,
    pub summary: String,
    pub request_id: Option<String>,
}

fn kind_str(kind: DayKind) -> &'static str {
    match kind {
        DayKind::Holiday => "holiday",
        DayKind::DayOff => "day_off",
        DayKind::WorkingDay => "working_day",
    }
}

fn parse_kind(s: &str) -> Result<DayKind, StoreError> {
    match s {
        "holiday" => Ok(DayKind::Holiday),
        "day_off" => Ok(DayKind::DayOff),
        "working_day" => Ok(DayKind::WorkingDay),
        other => Err(StoreError::Integrity(format!(
            "unknown calendar day kind {other}"
        ))),
    }
}

fn day_json(day: &ScheduledDay) -> serde_json::Value {
    serde_json::json!({
        "date": day.date.to_string(),
        "kind": kind_str(day.kind),
        "name": day.name,
        "source": day.source,
        "confirmed": day.confirmed,
    })
}

impl Store {
    /// The current calendar version: 0 until the first change.
    pub async fn calendar_version(&self) -> Result<i64, StoreError> {
        let backend = self.backend();
        let row = self
            .connection()
            .query_one_raw(Statement::from_string(
                backend,
                "SELECT COALESCE(MAX(revision), 0) AS v FROM calendar_revision",
            ))
            .await?;
        Ok(row
            .map(|r| r.try_get::<i64>("", "v"))
            .transpose()?
            .unwrap_or(0))
    }

    /// Reads every official year with its days.
    pub async fn load_calendar(&self) -> Result<CalendarData, StoreError> {
        // One snapshot of the three tables, so a concurrent change never
        // shows a day without its year.
        // SQLite reads one snapshot in any transaction (and supports no
        // access mode); PostgreSQL needs REPEATABLE READ for it.
        let (isolation, access) = match self.backend() {
            DbBackend::Postgres => (
                Some(sea_orm::IsolationLevel::RepeatableRead),
                Some(sea_orm::AccessMode::ReadOnly),
            ),
            _ => (None, None),
        };
        let txn = self
            .connection()
            .begin_with_config(isolation, access)
            .await?;
        let db = &txn;
        let last = calendar_revision::Entity::find()
            .order_by_desc(calendar_revision::Column::Revision)
            .one(db)
            .await?;
        let mut years: HashMap<i32, (YearRecord, Vec<ScheduledDay>)> = HashMap::new();
        for y in calendar_year::Entity::find().all(db).await? {
            years.insert(
                y.year,
                (
                    YearRecord {
                        year: y.year,
                        origin: y.origin,
                        file_name: y.file_name,
                        file_sha256: y.file_sha256,
                        edited_by_admin: y.edited_by_admin,
                        revision: y.revision,
                    },
                    Vec::new(),
                ),
            );
        }
        for d in calendar_day::Entity::find()
            .order_by_asc(calendar_day::Column::Date)
            .all(db)
            .await?
        {
            let day = ScheduledDay {
                date: d.date,
                kind: parse_kind(&d.kind)?,
                name: d.name,
                source: d.source,
                confirmed: d.confirmed,
            };
            match years.get_mut(&d.year) {
                Some((_, days)) => days.push(day),
                None => {
                    return Err(StoreError::Integrity(format!(
                        "calendar day {} without its year",
                        d.date
                    )));
                }
            }
        }
        txn.commit().await?;
        Ok(CalendarData {
            version: last.as_ref().map_or(0, |r| r.revision),
            changed_at: last.map(|r| r.changed_at),
            years,
        })
    }

    /// Replaces the whole schedule of `year` (loading a file, or an
    /// administrator's import). Returns the new calendar version.
    pub async fn replace_calendar_year(
        &self,
        year: i32,
        days: &[ScheduledDay],
        origin: &str,
        file: Option<(&str, &str)>,
        change: &CalendarChange,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>, StoreError> {
        let txn = self.begin_calendar_change().await?;
        // Instances starting together all see a file as new; the first to
        // take the lock loads it, the others find it loaded.
        if let Some((_, sha)) = file
            && calendar_year::Entity::find_by_id(year)
                .one(&txn)
                .await?
                .is_some_and(|y| y.file_sha256.as_deref() == Some(sha) || y.edited_by_admin)
        {
            txn.rollback().await?;
            return Ok(None);
        }
        let before = year_days(&txn, year).await?;
        let revision = next_revision(&txn, change, now).await?;
        calendar_day::Entity::delete_many()
            .filter(calendar_day::Column::Year.eq(year))
            .exec(&txn)
            .await?;
        upsert_year(&txn, year, origin, file, origin == "admin", revision, now).await?;
        for day in days {
            insert_day(&txn, day, revision).await?;
        }
        let audit = AuditEntry {
            actor_kind: change.actor_kind.clone(),
            actor_id: Some(change.actor.clone()),
            action: "calendar.year_replaced".into(),
            from_state: None,
            to_state: None,
            reason: Some(change.summary.clone()),
            details: serde_json::json!({
                "year": year,
                "calendar_version": revision,
                "origin": origin,
                "file": file.map(|(name, sha)| serde_json::json!({"name": name, "sha256": sha})),
                "before": before.iter().map(day_json).collect::<Vec<_>>(),
                "after": days.iter().map(day_json).collect::<Vec<_>>(),
            }),
            request_id: change.request_id.clone(),
        };
        write_audit(&txn, None, &audit, now).await?;
        txn.commit().await?;
        Ok(Some(revision))
    }

    /// Adds or corrects one day. A year without an official schedule
    /// starts from `defaults` (its computed statutory days), so editing
    /// one day never drops the others. Returns the new calendar version.
    pub async fn set_calendar_day(
        &self,
        day: &ScheduledDay,
        defaults: &[ScheduledDay],
        change: &CalendarChange,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let year = day.date.year();
        let txn = self.begin_calendar_change().await?;
        let revision = next_revision(&txn, change, now).await?;
        let before = ensure_year(&txn, year, defaults, revision, now).await?;
        let previous = before.iter().find(|d| d.date == day.date).cloned();
        calendar_day::Entity::delete_by_id(day.date)
            .exec(&txn)
            .await?;
        insert_day(&txn, day, revision).await?;
        mark_year_edited(&txn, year, revision, now).await?;
        let audit = AuditEntry {
            actor_kind: change.actor_kind.clone(),
            actor_id: Some(change.actor.clone()),
            action: "calendar.day_set".into(),
            from_state: None,
            to_state: None,
            reason: Some(change.summary.clone()),
            details: serde_json::json!({
                "date": day.date.to_string(),
                "calendar_version": revision,
                "before": previous.as_ref().map(day_json),
                "after": day_json(day),
            }),
            request_id: change.request_id.clone(),
        };
        write_audit(&txn, None, &audit, now).await?;
        txn.commit().await?;
        Ok(revision)
    }

    /// Removes one day's entry (it becomes an ordinary weekday or weekend
    /// day). `Ok(None)` when there was nothing to remove.
    pub async fn remove_calendar_day(
        &self,
        date: NaiveDate,
        defaults: &[ScheduledDay],
        change: &CalendarChange,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>, StoreError> {
        let year = date.year();
        let txn = self.begin_calendar_change().await?;
        let existing = calendar_year::Entity::find_by_id(year).one(&txn).await?;
        let current: Vec<ScheduledDay> = if existing.is_some() {
            year_days(&txn, year).await?
        } else {
            defaults.to_vec()
        };
        let Some(previous) = current.iter().find(|d| d.date == date).cloned() else {
            txn.rollback().await?;
            return Ok(None);
        };
        let revision = next_revision(&txn, change, now).await?;
        ensure_year(&txn, year, defaults, revision, now).await?;
        calendar_day::Entity::delete_by_id(date).exec(&txn).await?;
        mark_year_edited(&txn, year, revision, now).await?;
        let audit = AuditEntry {
            actor_kind: change.actor_kind.clone(),
            actor_id: Some(change.actor.clone()),
            action: "calendar.day_removed".into(),
            from_state: None,
            to_state: None,
            reason: Some(change.summary.clone()),
            details: serde_json::json!({
                "date": date.to_string(),
                "calendar_version": revision,
                "before": day_json(&previous),
            }),
            request_id: change.request_id.clone(),
        };
        write_audit(&txn, None, &audit, now).await?;
        txn.commit().await?;
        Ok(Some(revision))
    }

    /// The calendar's audit trail, oldest first.
    pub async fn calendar_audit_events(
        &self,
    ) -> Result<Vec<super::feedback::AuditEventRow>, StoreError> {
        use super::entities::audit_event;
        Ok(audit_event::Entity::find()
            .filter(audit_event::Column::Action.starts_with("calendar."))
            .order_by_asc(audit_event::Column::OccurredAt)
            .order_by_asc(audit_event::Column::Id)
            .all(self.connection())
            .await?)
    }

    /// A transaction in which calendar changes are serialised: on
    /// PostgreSQL a table lock, so two instances never draw the same
    /// revision; SQLite has one writer anyway.
    async fn begin_calendar_change(&self) -> Result<DatabaseTransaction, StoreError> {
        let txn = self.connection().begin().await?;
        if self.backend() == DbBackend::Postgres {
            txn.execute_unprepared("LOCK TABLE calendar_revision IN SHARE ROW EXCLUSIVE MODE")
                .await?;
        }
        Ok(txn)
    }
}

async fn next_revision(
    txn: &DatabaseTransaction,
    change: &CalendarChange,
    now: DateTime<Utc>,
) -> Result<i64, StoreError> {
    let backend = txn.get_database_backend();
    let row = txn
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT COALESCE(MAX(revision), 0) + 1 AS v FROM calendar_revision",
        ))
        .await?
        .ok_or_else(|| StoreError::Integrity("no revision row".into()))?;
    let revision: i64 = row.try_get("", "v")?;
    calendar_revision::Entity::insert(calendar_revision::ActiveModel {
        revision: Set(revision),
        actor: Set(change.actor.clone()),
        summary: Set(change.summary.clone()),
        changed_at: Set(now),
    })
    .exec_without_returning(txn)
    .await?;
    Ok(revision)
}

async fn year_days(txn: &DatabaseTransaction, year: i32) -> Result<Vec<ScheduledDay>, StoreError> {
    calendar_day::Entity::find()
        .filter(calendar_day::Column::Year.eq(year))
        .order_by_asc(calendar_day::Column::Date)
        .all(txn)
        .await?
        .into_iter()
        .map(|d| {
            Ok(ScheduledDay {
                date: d.date,
                kind: parse_kind(&d.kind)?,
                name: d.name,
                source: d.source,
                confirmed: d.confirmed,
            })
        })
        .collect()
}

/// Makes `year` official, seeded with `defaults`, if it is not yet.
/// Returns its days before the change.
async fn ensure_year(
    txn: &DatabaseTransaction,
    year: i32,
    defaults: &[ScheduledDay],
    revision: i64,
    now: DateTime<Utc>,
) -> Result<Vec<ScheduledDay>, StoreError> {
    if calendar_year::Entity::find_by_id(year)
        .one(txn)
        .await?
        .is_some()
    {
        return year_days(txn, year).await;
    }
    upsert_year(txn, year, "admin", None, true, revision, now).await?;
    for day in defaults {
        insert_day(txn, day, revision).await?;
    }
    Ok(defaults.to_vec())
}

async fn upsert_year(
    txn: &DatabaseTransaction,
    year: i32,
    origin: &str,
    file: Option<(&str, &str)>,
    edited_by_admin: bool,
    revision: i64,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    calendar_year::Entity::delete_by_id(year).exec(txn).await?;
    calendar_year::Entity::insert(calendar_year::ActiveModel {
        year: Set(year),
        origin: Set(origin.to_string()),
        file_name: Set(file.map(|(n, _)| n.to_string())),
        file_sha256: Set(file.map(|(_, s)| s.to_string())),
        edited_by_admin: Set(edited_by_admin),
        revision: Set(revision),
        updated_at: Set(now),
    })
    .exec_without_returning(txn)
    .await?;
    Ok(())
}

async fn mark_year_edited(
    txn: &DatabaseTransaction,
    year: i32,
    revision: i64,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    calendar_year::Entity::update_many()
        .col_expr(calendar_year::Column::EditedByAdmin, true.into())
        .col_expr(calendar_year::Column::Revision, revision.into())
        .col_expr(calendar_year::Column::UpdatedAt, now.into())
        .filter(calendar_year::Column::Year.eq(year))
        .exec(txn)
        .await?;
    Ok(())
}

async fn insert_day(
    txn: &DatabaseTransaction,
    day: &ScheduledDay,
    revision: i64,
) -> Result<(), StoreError> {
    calendar_day::Entity::insert(calendar_day::ActiveModel {
        date: Set(day.date),
        year: Set(day.date.year()),
        kind: Set(kind_str(day.kind).to_string()),
        name: Set(day.name.clone()),
        source: Set(day.source.clone()),
        confirmed: Set(day.confirmed),
        revision: Set(revision),
    })
    .exec_without_returning(txn)
    .await?;
    Ok(())
}
