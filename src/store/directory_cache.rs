//! An in-process snapshot of the directory codes intake resolves on every
//! submission (fields, agencies, administrative units, receiving offices).
//! The directory changes a few times a year, a submission arrives many times
//! a second: a snapshot saves three database round trips per submission.
//! Every directory edit moves a version row in the same transaction; each
//! instance reads that one row at most every `RECHECK`, so an edit made on
//! any instance (or by the CLI) reaches every instance within seconds,
//! without a restart. `TTL` bounds a snapshot's age regardless.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use super::entities::{administrative_unit, agency, agency_succession, directory_version, field};
use super::{Store, StoreError};
use crate::domain::ids::{AgencyId, FieldId};

const TTL: Duration = Duration::from_secs(300);
/// How often an instance asks whether the directory changed.
const RECHECK: Duration = Duration::from_secs(2);

/// Codes → identifiers, as of `loaded_at`.
#[derive(Debug, Default)]
pub struct DirectorySnapshot {
    loaded_at: Option<Instant>,
    /// The directory version it was loaded at.
    version: i64,
    pub fields: HashMap<String, FieldId>,
    pub agencies: HashMap<String, AgencyId>,
    /// Unit code → (level, province code of a commune).
    pub units: HashMap<String, (String, Option<String>)>,
    /// Province code → its current receiving office.
    pub receiving_offices: HashMap<String, AgencyId>,
    /// Identifier → (code, name), for lists that show agencies.
    pub agency_names: HashMap<AgencyId, (String, String)>,
    /// Field identifier → code.
    pub field_codes: HashMap<FieldId, String>,
    /// Field identifier → its Vietnamese name.
    pub field_names: HashMap<FieldId, String>,
    /// Agency → the first day it no longer exists (dissolved or merged in
    /// a reorganisation); nothing new is sent to it from that day.
    pub valid_to: HashMap<AgencyId, chrono::NaiveDate>,
    /// Agency code → the code of today's agency that succeeded it as a
    /// whole (chains followed: A → B → C gives C).
    pub successor_codes: HashMap<String, String>,
    /// The keyword routing rules, in order (they change with the
    /// directory version, so an edit reaches every instance with it).
    pub routing_rules: Vec<crate::domain::routing::KeywordRule>,
}

impl DirectorySnapshot {
    /// Whether `agency` still exists on `day`.
    pub fn agency_exists_on(&self, agency: AgencyId, day: chrono::NaiveDate) -> bool {
        self.valid_to.get(&agency).is_none_or(|to| day < *to)
    }

    /// The code of the agency with identifier `id`, if any.
    pub fn agency_code(&self, id: Option<uuid::Uuid>) -> Option<&str> {
        self.agency_names
            .get(&AgencyId::from_uuid(id?))
            .map(|(code, _)| code.as_str())
    }

    /// The name of the agency with identifier `id`, if any.
    pub fn agency_name(&self, id: Option<uuid::Uuid>) -> Option<&str> {
        self.agency_names
            .get(&AgencyId::from_uuid(id?))
            .map(|(_, name)| name.as_str())
    }

    /// The code of the field with identifier `id`, if any.
    pub fn field_code(&self, id: Option<uuid::Uuid>) -> Option<&str> {
        self.field_codes
            .get(&FieldId::from_uuid(id?))
            .map(String::as_str)
    }

    /// The name of the field with identifier `id` (its code when it has
    /// none), if any.
    pub fn field_name(&self, id: Option<uuid::Uuid>) -> Option<&str> {
        let id = FieldId::from_uuid(id?);
        self.field_names
            .get(&id)
            .filter(|n| !n.trim().is_empty())
            .or_else(|| self.field_codes.get(&id))
            .map(String::as_str)
    }

    /// Today's agency for `code`: its successor when it was succeeded.
    pub fn current_code<'a>(&'a self, code: &'a str) -> &'a str {
        self.successor_codes.get(code).map_or(code, String::as_str)
    }

    /// The name of the agency with code `code`; the code when unknown.
    pub fn agency_name_by_code(&self, code: &str) -> String {
        self.agencies
            .get(code)
            .and_then(|id| self.agency_names.get(id))
            .map(|(_, name)| name.clone())
            .unwrap_or_else(|| code.to_string())
    }
}

#[derive(Debug, Default)]
pub(crate) struct DirectoryCache {
    current: RwLock<Option<Arc<DirectorySnapshot>>>,
    /// When the version was last confirmed unchanged.
    confirmed_at: RwLock<Option<Instant>>,
}

impl DirectoryCache {
    pub(crate) fn invalidate(&self) {
        if let Ok(mut guard) = self.current.write() {
            *guard = None;
        }
    }

    /// The snapshot if it is young enough to use, and whether its version
    /// must be confirmed first.
    fn fresh(&self) -> Option<(Arc<DirectorySnapshot>, bool)> {
        let guard = self.current.read().ok()?;
        let snapshot = guard
            .as_ref()
            .filter(|s| s.loaded_at.is_some_and(|t| t.elapsed() < TTL))
            .cloned()?;
        let confirmed = self
            .confirmed_at
            .read()
            .ok()
            .and_then(|c| *c)
            .is_some_and(|t| t.elapsed() < RECHECK);
        Some((snapshot, !confirmed))
    }

    fn confirm(&self) {
        if let Ok(mut guard) = self.confirmed_at.write() {
            *guard = Some(Instant::now());
        }
    }

    fn store(&self, snapshot: Arc<DirectorySnapshot>) {
        if let Ok(mut guard) = self.current.write() {
            *guard = Some(snapshot);
        }
        self.confirm();
    }
}

impl Store {
    /// The directory codes, from the snapshot or freshly loaded.
    pub async fn directory_snapshot(&self) -> Result<Arc<DirectorySnapshot>, StoreError> {
        let cached = self.directory_cache().fresh();
        if let Some((snapshot, false)) = &cached {
            return Ok(snapshot.clone());
        }
        let version = self.directory_version().await?;
        if let Some((snapshot, true)) = cached
            && snapshot.version == version
        {
            self.directory_cache().confirm();
            return Ok(snapshot);
        }
        let db = self.connection();
        let mut snapshot = DirectorySnapshot {
            loaded_at: Some(Instant::now()),
            version,
            ..DirectorySnapshot::default()
        };
        for f in field::Entity::find().all(db).await? {
            snapshot
                .field_codes
                .insert(FieldId::from_uuid(f.id), f.code.clone());
            snapshot
                .field_names
                .insert(FieldId::from_uuid(f.id), f.name.clone());
            snapshot.fields.insert(f.code, FieldId::from_uuid(f.id));
        }
        for a in agency::Entity::find()
            .order_by_asc(agency::Column::Code)
            .all(db)
            .await?
        {
            if a.is_receiving_office
                && a.valid_to.is_none()
                && let Some(province) = &a.province_code
            {
                snapshot
                    .receiving_offices
                    .entry(province.clone())
                    .or_insert(AgencyId::from_uuid(a.id));
            }
            if let Some(to) = a.valid_to {
                snapshot.valid_to.insert(AgencyId::from_uuid(a.id), to);
            }
            snapshot
                .agency_names
                .insert(AgencyId::from_uuid(a.id), (a.code.clone(), a.name.clone()));
            snapshot.agencies.insert(a.code, AgencyId::from_uuid(a.id));
        }
        let mut direct: HashMap<uuid::Uuid, uuid::Uuid> = HashMap::new();
        for r in agency_succession::Entity::find()
            .filter(agency_succession::Column::FieldId.is_null())
            .all(db)
            .await?
        {
            direct.insert(r.predecessor_id, r.successor_id);
        }
        for start in direct.keys() {
            let mut at = *start;
            for _ in 0..16 {
                match direct.get(&at) {
                    Some(next) => at = *next,
                    None => break,
                }
            }
            if let (Some((from, _)), Some((to, _))) = (
                snapshot.agency_names.get(&AgencyId::from_uuid(*start)),
                snapshot.agency_names.get(&AgencyId::from_uuid(at)),
            ) {
                snapshot.successor_codes.insert(from.clone(), to.clone());
            }
        }
        snapshot.routing_rules = super::routing::load_rules(db)
            .await?
            .into_iter()
            .map(|r| r.rule)
            .collect();
        for u in administrative_unit::Entity::find()
            .filter(administrative_unit::Column::ValidTo.is_null())
            .all(db)
            .await?
        {
            snapshot.units.insert(u.code, (u.level, u.province_code));
        }
        let snapshot = Arc::new(snapshot);
        self.directory_cache().store(snapshot.clone());
        Ok(snapshot)
    }

    /// The directory's version (moved by every edit, on any instance).
    pub async fn directory_version(&self) -> Result<i64, StoreError> {
        Ok(directory_version::Entity::find_by_id(1)
            .one(self.connection())
            .await?
            .map_or(0, |r| r.version))
    }
}

/// Moves the directory version, inside the edit's own transaction.
pub(crate) async fn bump_directory_version<C: sea_orm::ConnectionTrait>(
    conn: &C,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), StoreError> {
    use sea_orm::ExprTrait;
    directory_version::Entity::update_many()
        .col_expr(
            directory_version::Column::Version,
            sea_orm::sea_query::Expr::col(directory_version::Column::Version).add(1),
        )
        .col_expr(
            directory_version::Column::ChangedAt,
            sea_orm::sea_query::Expr::value(now),
        )
        .filter(directory_version::Column::Id.eq(1))
        .exec(conn)
        .await?;
    Ok(())
}
