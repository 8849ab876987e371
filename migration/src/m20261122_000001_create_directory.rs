//! The directory: administrative units (QĐ 19/2025/QĐ-TTg codes), agencies
//! (DOMAIN §10.2) and the fields (lĩnh vực) they handle.

use sea_orm_migration::{prelude::*, schema::*};

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
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
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
