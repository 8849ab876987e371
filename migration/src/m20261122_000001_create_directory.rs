//! The directory: administrative units (QĐ 19/2025/QĐ-TTg codes), agencies
//! (DOMAIN §10.2) and the fields (lĩnh vực) they handle.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AdministrativeUnit::Table)
                    .col(string(AdministrativeUnit::Code).primary_key())
                    .col(string(AdministrativeUnit::Name))
                    .col(string(AdministrativeUnit::Level))
                    .col(string(AdministrativeUnit::Kind))
                    .col(string_null(AdministrativeUnit::ProvinceCode))
                    .col(date(AdministrativeUnit::ValidFrom))
                    .col(date_null(AdministrativeUnit::ValidTo))
                    .col(string_null(AdministrativeUnit::Source))
                    .col(boolean(AdministrativeUnit::IsDemo))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_administrative_unit_province")
                    .table(AdministrativeUnit::Table)
                    .col(AdministrativeUnit::ProvinceCode)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Agency::Table)
                    .col(uuid(Agency::Id).primary_key())
                    .col(string_uniq(Agency::Code))
                    .col(string(Agency::Name))
                    .col(string_null(Agency::ShortName))
                    .col(string(Agency::Kind))
                    .col(string(Agency::Level))
                    .col(uuid_null(Agency::ParentId))
                    .col(string_null(Agency::ProvinceCode))
                    .col(string_null(Agency::CommuneCode))
                    .col(boolean(Agency::IsReceivingOffice))
                    .col(string_null(Agency::Address))
                    .col(string_null(Agency::Phone))
                    .col(string_null(Agency::Email))
                    .col(string_null(Agency::Website))
                    .col(date(Agency::ValidFrom))
                    .col(date_null(Agency::ValidTo))
                    .col(boolean(Agency::IsDemo))
                    .col(timestamp_with_time_zone(Agency::CreatedAt))
                    .col(timestamp_with_time_zone(Agency::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_agency_parent")
                            .from(Agency::Table, Agency::ParentId)
                            .to(Agency::Table, Agency::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_agency_province")
                    .table(Agency::Table)
                    .col(Agency::ProvinceCode)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Field::Table)
                    .col(uuid(Field::Id).primary_key())
                    .col(string_uniq(Field::Code))
                    .col(string(Field::Name))
                    .col(text_null(Field::Description))
                    .col(integer(Field::SortOrder))
                    .col(boolean(Field::IsDemo))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AgencyField::Table)
                    .col(uuid(AgencyField::AgencyId))
                    .col(uuid(AgencyField::FieldId))
                    .primary_key(
                        Index::create()
                            .col(AgencyField::AgencyId)
                            .col(AgencyField::FieldId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_agency_field_agency")
                            .from(AgencyField::Table, AgencyField::AgencyId)
                            .to(Agency::Table, Agency::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_agency_field_field")
                            .from(AgencyField::Table, AgencyField::FieldId)
                            .to(Field::Table, Field::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        refuse_deletes(manager, "agency").await?;
        refuse_deletes(manager, "field").await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            let db = manager.get_connection();
            for table in ["agency", "field"] {
                db.execute_unprepared(&format!(
                    "DROP TRIGGER IF EXISTS {table}_no_delete ON {table}"
                ))
                .await?;
            }
            db.execute_unprepared("DROP FUNCTION IF EXISTS directory_no_delete()")
                .await?;
        }
        manager
            .drop_table(Table::drop().table(AgencyField::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Field::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Agency::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(AdministrativeUnit::Table).to_owned())
            .await
    }
}

/// Agencies and fields are never deleted: they end (`valid_to`), so every
/// item that ever referred to one still resolves. Items refer to them
/// without foreign keys (see the feedback migration), so the database
/// itself refuses the delete.
async fn refuse_deletes(manager: &SchemaManager<'_>, table: &str) -> Result<(), DbErr> {
    let db = manager.get_connection();
    match manager.get_database_backend() {
        DbBackend::Sqlite => {
            db.execute_unprepared(&format!(
                "CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} \
                 BEGIN SELECT RAISE(ABORT, '{table} rows are never deleted; set valid_to'); END"
            ))
            .await?;
        }
        DbBackend::Postgres => {
            db.execute_unprepared(
                "CREATE OR REPLACE FUNCTION directory_no_delete() RETURNS trigger LANGUAGE plpgsql AS $$ \
                 BEGIN RAISE EXCEPTION '% rows are never deleted; set valid_to', TG_TABLE_NAME; END $$",
            )
            .await?;
            db.execute_unprepared(&format!(
                "CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} FOR EACH ROW EXECUTE FUNCTION directory_no_delete()"
            ))
            .await?;
        }
        other => {
            return Err(DbErr::Migration(format!(
                "unsupported database backend {other:?}"
            )));
        }
    }
    Ok(())
}

#[derive(DeriveIden)]
pub enum AdministrativeUnit {
    Table,
    Code,
    Name,
    Level,
    Kind,
    ProvinceCode,
    ValidFrom,
    ValidTo,
    Source,
    IsDemo,
}

#[derive(DeriveIden)]
pub enum Agency {
    Table,
    Id,
    Code,
    Name,
    ShortName,
    Kind,
    Level,
    ParentId,
    ProvinceCode,
    CommuneCode,
    IsReceivingOffice,
    Address,
    Phone,
    Email,
    Website,
    ValidFrom,
    ValidTo,
    IsDemo,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
pub enum Field {
    Table,
    Id,
    Code,
    Name,
    Description,
    SortOrder,
    IsDemo,
}

#[derive(DeriveIden)]
pub enum AgencyField {
    Table,
    AgencyId,
    FieldId,
}
