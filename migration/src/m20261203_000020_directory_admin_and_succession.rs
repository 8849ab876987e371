//! The directory run from the browser: a version every instance checks
//! (an edit reaches every instance's directory cache within seconds, no
//! restart), agencies succeeded by others in a reorganisation (merged, or
//! split by field) with the date and who applied it, when each API key was
//! last used, and the audit log searchable by who acted.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum DirectoryVersion {
    Table,
    Id,
    Version,
    ChangedAt,
}

#[derive(DeriveIden)]
enum AgencySuccession {
    Table,
    Id,
    PredecessorId,
    SuccessorId,
    FieldId,
    EffectiveOn,
    AppliedAt,
    AppliedBy,
}

#[derive(DeriveIden)]
enum AuditEvent {
    Table,
    ActorId,
    OccurredAt,
}

#[derive(DeriveIden)]
enum ApiKey {
    Table,
    LastUsedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(DirectoryVersion::Table)
                    .col(integer(DirectoryVersion::Id).primary_key())
                    .col(big_integer(DirectoryVersion::Version))
                    .col(timestamp_with_time_zone(DirectoryVersion::ChangedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "INSERT INTO directory_version (id, version, changed_at) VALUES (1, 0, CURRENT_TIMESTAMP)",
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AgencySuccession::Table)
                    .col(uuid(AgencySuccession::Id).primary_key())
                    .col(uuid(AgencySuccession::PredecessorId))
                    .col(uuid(AgencySuccession::SuccessorId))
                    .col(uuid_null(AgencySuccession::FieldId))
                    .col(date(AgencySuccession::EffectiveOn))
                    .col(timestamp_with_time_zone(AgencySuccession::AppliedAt))
                    .col(uuid_null(AgencySuccession::AppliedBy))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_agency_succession_predecessor")
                    .table(AgencySuccession::Table)
                    .col(AgencySuccession::PredecessorId)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(ApiKey::Table)
                    .add_column(timestamp_with_time_zone_null(ApiKey::LastUsedAt))
                    .to_owned(),
            )
            .await?;
        // The audit log searched by who acted, newest first.
        manager
            .create_index(
                Index::create()
                    .name("idx_audit_event_actor_time")
                    .table(AuditEvent::Table)
                    .col(AuditEvent::ActorId)
                    .col(AuditEvent::OccurredAt)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_audit_event_actor_time")
                    .table(AuditEvent::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(ApiKey::Table)
                    .drop_column(ApiKey::LastUsedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(AgencySuccession::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(DirectoryVersion::Table).to_owned())
            .await
    }
}
