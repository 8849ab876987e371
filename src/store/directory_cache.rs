//! An in-process snapshot of the directory codes intake resolves on every
//! submission (fields, agencies, administrative units, receiving offices).
//! The directory changes a few times a year, a submission arrives many times
//! a second: a snapshot at most `TTL` old saves three database round trips
//! per submission. Loading the directory through this process refreshes the
//! snapshot at once; other instances see the change within `TTL`.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use super::entities::{administrative_unit, agency, field};
use super::{Store, StoreError};
use crate::domain::ids::{AgencyId, FieldId};

const TTL: Duration = Duration::from_secs(60);

/// Codes → identifiers, as of `loaded_at`.
#[derive(Debug, Default)]
pub struct DirectorySnapshot {
    loaded_at: Option<Instant>,
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
    /// Agency → the first day it no longer exists (dissolved or merged in
    /// a reorganisation); nothing new is sent to it from that day.
    pub valid_to: HashMap<AgencyId, chrono::NaiveDate>,
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
}

impl DirectoryCache {
    pub(crate) fn invalidate(&self) {
        if let Ok(mut guard) = self.current.write() {
            *guard = None;
        }
    }

    fn fresh(&self) -> Option<Arc<DirectorySnapshot>> {
        let guard = self.current.read().ok()?;
        guard
            .as_ref()
            .filter(|s| s.loaded_at.is_some_and(|t| t.elapsed() < TTL))
            .cloned()
    }

    fn store(&self, snapshot: Arc<DirectorySnapshot>) {
        if let Ok(mut guard) = self.current.write() {
            *guard = Some(snapshot);
        }
    }
}

impl Store {
    /// The directory codes, from the snapshot or freshly loaded.
    pub async fn directory_snapshot(&self) -> Result<Arc<DirectorySnapshot>, StoreError> {
        if let Some(snapshot) = self.directory_cache().fresh() {
            return Ok(snapshot);
        }
        let db = self.connection();
        let mut snapshot = DirectorySnapshot {
            loaded_at: Some(Instant::now()),
            ..DirectorySnapshot::default()
        };
        for f in field::Entity::find().all(db).await? {
            snapshot
                .field_codes
                .insert(FieldId::from_uuid(f.id), f.code.clone());
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
}
