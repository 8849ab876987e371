//! Directory reads and the idempotent demo-data load.

use std::collections::HashMap;

use chrono::{NaiveDate, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, TransactionTrait,
};
use uuid::Uuid;

use super::entities::{administrative_unit, agency, agency_field, field};
use super::{Store, StoreError};
use crate::domain::directory::{AdministrativeUnit, Agency, AgencyFilter, DirectoryFile, Field};
use crate::domain::ids::{AgencyId, FieldId};

impl Store {
    pub async fn list_agencies(
        &self,
        filter: &AgencyFilter,
        today: NaiveDate,
    ) -> Result<Vec<Agency>, StoreError> {
        let mut query = agency::Entity::find()
            .order_by_asc(agency::Column::Level)
            .order_by_asc(agency::Column::Code);
        if let Some(level) = &filter.level {
            query = query.filter(agency::Column::Level.eq(level.as_str()));
        }
        if let Some(kind) = &filter.kind {
            query = query.filter(agency::Column::Kind.eq(kind.as_str()));
        }
        if let Some(p) = &filter.province_code {
            query = query.filter(agency::Column::ProvinceCode.eq(p.as_str()));
        }
        let rows = query.all(self.connection()).await?;
        let all = self.assemble_agencies(rows).await?;
        Ok(all
            .into_iter()
            .filter(|a| {
                filter.include_inactive
                    || (a.valid_from <= today && a.valid_to.is_none_or(|to| to > today))
            })
            .filter(|a| {
                filter
                    .field_code
                    .as_ref()
                    .is_none_or(|f| a.field_codes.contains(f))
            })
            .collect())
    }

    pub async fn find_agency_by_code(&self, code: &str) -> Result<Option<Agency>, StoreError> {
        let Some(row) = agency::Entity::find()
            .filter(agency::Column::Code.eq(code))
            .one(self.connection())
            .await?
        else {
            return Ok(None);
        };
        Ok(self.assemble_agencies(vec![row]).await?.into_iter().next())
    }

    pub async fn find_agency_by_id(&self, id: AgencyId) -> Result<Option<Agency>, StoreError> {
        let Some(row) = agency::Entity::find_by_id(id.as_uuid())
            .one(self.connection())
            .await?
        else {
            return Ok(None);
        };
        Ok(self.assemble_agencies(vec![row]).await?.into_iter().next())
    }

    async fn assemble_agencies(&self, rows: Vec<agency::Model>) -> Result<Vec<Agency>, StoreError> {
        let db = self.connection();
        let ids: Vec<Uuid> = rows.iter().map(|a| a.id).collect();
        let parent_ids: Vec<Uuid> = rows.iter().filter_map(|a| a.parent_id).collect();
        let links = agency_field::Entity::find()
            .filter(agency_field::Column::AgencyId.is_in(ids))
            .all(db)
            .await?;
        let field_ids: Vec<Uuid> = links.iter().map(|l| l.field_id).collect();
        let fields: HashMap<Uuid, String> = field::Entity::find()
            .filter(field::Column::Id.is_in(field_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|f| (f.id, f.code))
            .collect();
        let parents: HashMap<Uuid, String> = agency::Entity::find()
            .filter(agency::Column::Id.is_in(parent_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|a| (a.id, a.code))
            .collect();
        Ok(rows
            .into_iter()
            .map(|a| {
                let mut field_codes: Vec<String> = links
                    .iter()
                    .filter(|l| l.agency_id == a.id)
                    .filter_map(|l| fields.get(&l.field_id).cloned())
                    .collect();
                field_codes.sort();
                Agency {
                    id: AgencyId::from_uuid(a.id),
                    parent_code: a.parent_id.and_then(|p| parents.get(&p).cloned()),
                    code: a.code,
                    name: a.name,
                    short_name: a.short_name,
                    kind: a.kind,
                    level: a.level,
                    province_code: a.province_code,
                    commune_code: a.commune_code,
                    is_receiving_office: a.is_receiving_office,
                    address: a.address,
                    phone: a.phone,
                    email: a.email,
                    website: a.website,
                    field_codes,
                    valid_from: a.valid_from,
                    valid_to: a.valid_to,
                    is_demo: a.is_demo,
                }
            })
            .collect())
    }

    pub async fn list_fields(&self) -> Result<Vec<Field>, StoreError> {
        Ok(field::Entity::find()
            .order_by_asc(field::Column::SortOrder)
            .order_by_asc(field::Column::Code)
            .all(self.connection())
            .await?
            .into_iter()
            .map(field_from_row)
            .collect())
    }

    pub async fn list_administrative_units(
        &self,
        province_code: Option<&str>,
    ) -> Result<Vec<AdministrativeUnit>, StoreError> {
        let mut query =
            administrative_unit::Entity::find().order_by_asc(administrative_unit::Column::Code);
        query = match province_code {
            Some(p) => query.filter(administrative_unit::Column::ProvinceCode.eq(p)),
            None => query.filter(administrative_unit::Column::Level.eq("province")),
        };
        Ok(query
            .all(self.connection())
            .await?
            .into_iter()
            .map(unit_from_row)
            .collect())
    }

    pub async fn directory_is_empty(&self) -> Result<bool, StoreError> {
        Ok(agency::Entity::find()
            .one(self.connection())
            .await?
            .is_none())
    }

    /// Loads a directory file; safe to run again (rows are matched by code
    /// and updated in place). Returns the number of agencies written.
    pub async fn load_directory(
        &self,
        file: &DirectoryFile,
        is_demo: bool,
    ) -> Result<usize, StoreError> {
        let now = Utc::now();
        let txn = self.connection().begin().await?;
        let units = file.province.iter().map(|p| (p, "province", None)).chain(
            file.commune
                .iter()
                .map(|c| (c, "commune", c.province_code.clone())),
        );
        for (unit, level, province_code) in units {
            administrative_unit::Entity::insert(administrative_unit::ActiveModel {
                code: Set(unit.code.clone()),
                name: Set(unit.name.clone()),
                level: Set(level.to_string()),
                kind: Set(unit.kind.clone()),
                province_code: Set(province_code),
                valid_from: Set(file.valid_from),
                valid_to: Set(None),
                source: Set(Some(file.source.clone())),
                is_demo: Set(is_demo),
            })
            .on_conflict(
                OnConflict::column(administrative_unit::Column::Code)
                    .update_columns([
                        administrative_unit::Column::Name,
                        administrative_unit::Column::Level,
                        administrative_unit::Column::Kind,
                        administrative_unit::Column::ProvinceCode,
                        administrative_unit::Column::Source,
                        administrative_unit::Column::IsDemo,
                    ])
                    .to_owned(),
            )
            .exec(&txn)
            .await?;
        }
        let mut field_ids = HashMap::new();
        for f in &file.field {
            let existing = field::Entity::find()
                .filter(field::Column::Code.eq(f.code.as_str()))
                .one(&txn)
                .await?;
            let id = existing.as_ref().map_or_else(Uuid::now_v7, |e| e.id);
            let model = field::ActiveModel {
                id: Set(id),
                code: Set(f.code.clone()),
                name: Set(f.name.clone()),
                description: Set(f.description.clone()),
                sort_order: Set(f.sort_order),
                is_demo: Set(is_demo),
            };
            if existing.is_some() {
                field::Entity::update(model).exec(&txn).await?;
            } else {
                field::Entity::insert(model).exec(&txn).await?;
            }
            field_ids.insert(f.code.clone(), id);
        }
        let mut agency_ids: HashMap<String, Uuid> = agency::Entity::find()
            .all(&txn)
            .await?
            .into_iter()
            .map(|a| (a.code, a.id))
            .collect();
        // Write parents before children, whatever order the file uses.
        let mut pending: Vec<_> = file.agency.iter().collect();
        while !pending.is_empty() {
            let mut waiting = Vec::new();
            for a in &pending {
                let parent_id = match &a.parent {
                    Some(p) => match agency_ids.get(p) {
                        Some(id) => Some(*id),
                        None => {
                            waiting.push(*a);
                            continue;
                        }
                    },
                    None => None,
                };
                let existing = agency_ids.get(&a.code).copied();
                let id = existing.unwrap_or_else(Uuid::now_v7);
                let mut model = agency::ActiveModel {
                    id: Set(id),
                    code: Set(a.code.clone()),
                    name: Set(a.name.clone()),
                    short_name: Set(a.short_name.clone()),
                    kind: Set(a.kind.clone()),
                    level: Set(a.level.clone()),
                    parent_id: Set(parent_id),
                    province_code: Set(a.province_code.clone()),
                    commune_code: Set(a.commune_code.clone()),
                    is_receiving_office: Set(a.is_receiving_office),
                    address: Set(a.address.clone()),
                    phone: Set(a.phone.clone()),
                    email: Set(a.email.clone()),
                    website: Set(a.website.clone()),
                    valid_from: Set(file.valid_from),
                    valid_to: Set(a.valid_to),
                    is_demo: Set(is_demo),
                    created_at: Set(now),
                    updated_at: Set(now),
                };
                if existing.is_some() {
                    model.created_at = sea_orm::ActiveValue::NotSet;
                    agency::Entity::update(model).exec(&txn).await?;
                } else {
                    agency::Entity::insert(model).exec(&txn).await?;
                }
                agency_ids.insert(a.code.clone(), id);
            }
            if waiting.len() == pending.len() {
                let codes: Vec<_> = waiting.iter().map(|a| a.code.as_str()).collect();
                return Err(StoreError::Integrity(format!(
                    "agencies with unknown parents: {codes:?}"
                )));
            }
            pending = waiting;
        }
        for a in &file.agency {
            let agency_id = agency_ids
                .get(&a.code)
                .copied()
                .ok_or_else(|| StoreError::Integrity(format!("agency {} not written", a.code)))?;
            for f in &a.fields {
                let field_id = *field_ids.get(f).ok_or_else(|| {
                    StoreError::Integrity(format!("agency {} names unknown field {f}", a.code))
                })?;
                agency_field::Entity::insert(agency_field::ActiveModel {
                    agency_id: Set(agency_id),
                    field_id: Set(field_id),
                })
                .on_conflict_do_nothing_on([
                    agency_field::Column::AgencyId,
                    agency_field::Column::FieldId,
                ])
                .exec_without_returning(&txn)
                .await?;
            }
        }
        super::directory_cache::bump_directory_version(&txn, now).await?;
        txn.commit().await?;
        self.directory_cache().invalidate();
        Ok(file.agency.len())
    }
}

fn field_from_row(f: field::Model) -> Field {
    Field {
        id: FieldId::from_uuid(f.id),
        code: f.code,
        name: f.name,
        description: f.description,
        is_demo: f.is_demo,
    }
}

fn unit_from_row(u: administrative_unit::Model) -> AdministrativeUnit {
    AdministrativeUnit {
        code: u.code,
        name: u.name,
        level: u.level,
        kind: u.kind,
        province_code: u.province_code,
        valid_from: u.valid_from,
        valid_to: u.valid_to,
        is_demo: u.is_demo,
    }
}

impl Store {
    /// The id of the province's receiving office, if the directory has one.
    pub async fn receiving_office_id(
        &self,
        province_code: &str,
    ) -> Result<Option<AgencyId>, StoreError> {
        Ok(agency::Entity::find()
            .filter(agency::Column::ProvinceCode.eq(province_code))
            .filter(agency::Column::IsReceivingOffice.eq(true))
            .filter(agency::Column::ValidTo.is_null())
            .order_by_asc(agency::Column::Code)
            .one(self.connection())
            .await?
            .map(|a| AgencyId::from_uuid(a.id)))
    }
}

/// What an administrator sets on an agency (its code never changes).
#[derive(Debug, Clone)]
pub struct AgencyEdit {
    pub name: String,
    pub short_name: Option<String>,
    pub kind: String,
    pub level: String,
    pub parent_id: Option<Uuid>,
    pub province_code: Option<String>,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub website: Option<String>,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
    pub field_ids: Vec<Uuid>,
}

async fn set_fields<C: sea_orm::ConnectionTrait>(
    conn: &C,
    agency_id: Uuid,
    field_ids: &[Uuid],
) -> Result<(), StoreError> {
    agency_field::Entity::delete_many()
        .filter(agency_field::Column::AgencyId.eq(agency_id))
        .exec(conn)
        .await?;
    for f in field_ids {
        agency_field::Entity::insert(agency_field::ActiveModel {
            agency_id: Set(agency_id),
            field_id: Set(*f),
        })
        .on_conflict_do_nothing_on([
            agency_field::Column::AgencyId,
            agency_field::Column::FieldId,
        ])
        .exec_without_returning(conn)
        .await?;
    }
    Ok(())
}

impl Store {
    /// A new agency, audited; its code must be new (`Conflict` otherwise).
    pub async fn insert_agency(
        &self,
        code: &str,
        e: &AgencyEdit,
        audit: &super::journal::AuditEntry,
        now: chrono::DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let txn = self.connection().begin().await?;
        let id = Uuid::now_v7();
        agency::Entity::insert(agency::ActiveModel {
            id: Set(id),
            code: Set(code.to_string()),
            name: Set(e.name.clone()),
            short_name: Set(e.short_name.clone()),
            kind: Set(e.kind.clone()),
            level: Set(e.level.clone()),
            parent_id: Set(e.parent_id),
            province_code: Set(e.province_code.clone()),
            commune_code: Set(None),
            is_receiving_office: Set(false),
            address: Set(e.address.clone()),
            phone: Set(e.phone.clone()),
            email: Set(e.email.clone()),
            website: Set(e.website.clone()),
            valid_from: Set(e.valid_from),
            valid_to: Set(e.valid_to),
            is_demo: Set(false),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .exec_without_returning(&txn)
        .await?;
        set_fields(&txn, id, &e.field_ids).await?;
        super::journal::write_audit(&txn, None, audit, now).await?;
        super::directory_cache::bump_directory_version(&txn, now).await?;
        txn.commit().await?;
        self.directory_cache().invalidate();
        Ok(())
    }

    /// Changes an agency, audited with what it was and is now.
    pub async fn change_agency(
        &self,
        id: AgencyId,
        e: &AgencyEdit,
        audit: &super::journal::AuditEntry,
        now: chrono::DateTime<Utc>,
    ) -> Result<(), StoreError> {
        use sea_orm::sea_query::Expr;
        let txn = self.connection().begin().await?;
        agency::Entity::update_many()
            .col_expr(agency::Column::Name, Expr::value(e.name.clone()))
            .col_expr(agency::Column::ShortName, Expr::value(e.short_name.clone()))
            .col_expr(agency::Column::Kind, Expr::value(e.kind.clone()))
            .col_expr(agency::Column::Level, Expr::value(e.level.clone()))
            .col_expr(agency::Column::ParentId, Expr::value(e.parent_id))
            .col_expr(
                agency::Column::ProvinceCode,
                Expr::value(e.province_code.clone()),
            )
            .col_expr(agency::Column::Address, Expr::value(e.address.clone()))
            .col_expr(agency::Column::Phone, Expr::value(e.phone.clone()))
            .col_expr(agency::Column::Email, Expr::value(e.email.clone()))
            .col_expr(agency::Column::Website, Expr::value(e.website.clone()))
            .col_expr(agency::Column::ValidFrom, Expr::value(e.valid_from))
            .col_expr(agency::Column::ValidTo, Expr::value(e.valid_to))
            .col_expr(agency::Column::UpdatedAt, Expr::value(now))
            .filter(agency::Column::Id.eq(id.as_uuid()))
            .exec(&txn)
            .await?;
        set_fields(&txn, id.as_uuid(), &e.field_ids).await?;
        super::journal::write_audit(&txn, None, audit, now).await?;
        super::directory_cache::bump_directory_version(&txn, now).await?;
        txn.commit().await?;
        self.directory_cache().invalidate();
        Ok(())
    }

    /// The directory's audit records about one agency, newest first.
    pub async fn agency_history(
        &self,
        code: &str,
    ) -> Result<Vec<super::feedback::AuditEventRow>, StoreError> {
        use super::entities::audit_event;
        let rows = audit_event::Entity::find()
            .filter(audit_event::Column::Action.starts_with("directory.agency_"))
            .order_by_desc(audit_event::Column::OccurredAt)
            .all(self.connection())
            .await?;
        Ok(rows
            .into_iter()
            .filter(|r| r.details.get("code").and_then(|c| c.as_str()) == Some(code))
            .collect())
    }
}

/// A field as an administrator sets it (its code never changes).
#[derive(Debug, Clone)]
pub struct FieldEdit {
    pub code: String,
    pub name: String,
    pub description: Option<String>,
    pub sort_order: i32,
}

/// A commune (or ward, special zone) as an administrator sets it.
#[derive(Debug, Clone)]
pub struct UnitEdit {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub province_code: String,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
    pub source: Option<String>,
}

impl Store {
    /// Adds or changes a field, audited; `true` when it is new.
    pub async fn save_field(
        &self,
        f: &FieldEdit,
        audit: &super::journal::AuditEntry,
        now: chrono::DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        use sea_orm::sea_query::Expr;
        let txn = self.connection().begin().await?;
        let existing = field::Entity::find()
            .filter(field::Column::Code.eq(f.code.as_str()))
            .one(&txn)
            .await?;
        let created = existing.is_none();
        if created {
            field::Entity::insert(field::ActiveModel {
                id: Set(Uuid::now_v7()),
                code: Set(f.code.clone()),
                name: Set(f.name.clone()),
                description: Set(f.description.clone()),
                sort_order: Set(f.sort_order),
                is_demo: Set(false),
            })
            .exec_without_returning(&txn)
            .await?;
        } else {
            field::Entity::update_many()
                .col_expr(field::Column::Name, Expr::value(f.name.clone()))
                .col_expr(
                    field::Column::Description,
                    Expr::value(f.description.clone()),
                )
                .col_expr(field::Column::SortOrder, Expr::value(f.sort_order))
                .filter(field::Column::Code.eq(f.code.as_str()))
                .exec(&txn)
                .await?;
        }
        super::journal::write_audit(&txn, None, audit, now).await?;
        super::directory_cache::bump_directory_version(&txn, now).await?;
        txn.commit().await?;
        self.directory_cache().invalidate();
        Ok(created)
    }

    /// Adds or changes a commune, audited; `true` when it is new.
    pub async fn save_unit(
        &self,
        u: &UnitEdit,
        audit: &super::journal::AuditEntry,
        now: chrono::DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        use sea_orm::sea_query::Expr;
        let txn = self.connection().begin().await?;
        let created = administrative_unit::Entity::find_by_id(u.code.clone())
            .one(&txn)
            .await?
            .is_none();
        if created {
            administrative_unit::Entity::insert(administrative_unit::ActiveModel {
                code: Set(u.code.clone()),
                name: Set(u.name.clone()),
                level: Set("commune".into()),
                kind: Set(u.kind.clone()),
                province_code: Set(Some(u.province_code.clone())),
                valid_from: Set(u.valid_from),
                valid_to: Set(u.valid_to),
                source: Set(u.source.clone()),
                is_demo: Set(false),
            })
            .exec_without_returning(&txn)
            .await?;
        } else {
            administrative_unit::Entity::update_many()
                .col_expr(
                    administrative_unit::Column::Name,
                    Expr::value(u.name.clone()),
                )
                .col_expr(
                    administrative_unit::Column::Kind,
                    Expr::value(u.kind.clone()),
                )
                .col_expr(
                    administrative_unit::Column::ValidFrom,
                    Expr::value(u.valid_from),
                )
                .col_expr(
                    administrative_unit::Column::ValidTo,
                    Expr::value(u.valid_to),
                )
                .col_expr(
                    administrative_unit::Column::Source,
                    Expr::value(u.source.clone()),
                )
                .filter(administrative_unit::Column::Code.eq(u.code.as_str()))
                .exec(&txn)
                .await?;
        }
        super::journal::write_audit(&txn, None, audit, now).await?;
        super::directory_cache::bump_directory_version(&txn, now).await?;
        txn.commit().await?;
        self.directory_cache().invalidate();
        Ok(created)
    }

    /// One administrative unit by code, whatever its province.
    pub async fn find_unit(
        &self,
        code: &str,
    ) -> Result<Option<administrative_unit::Model>, StoreError> {
        Ok(administrative_unit::Entity::find_by_id(code.to_string())
            .one(self.connection())
            .await?)
    }

    /// The communes of a province, ended ones too, by code.
    pub async fn province_units(
        &self,
        province: &str,
    ) -> Result<Vec<administrative_unit::Model>, StoreError> {
        Ok(administrative_unit::Entity::find()
            .filter(administrative_unit::Column::ProvinceCode.eq(province))
            .order_by_asc(administrative_unit::Column::Code)
            .all(self.connection())
            .await?)
    }
}
