//! Staff accounts and their sessions. Passwords are Argon2id
//! PHC strings; session tokens are stored as SHA-256 digests only, so a
//! copy of the database opens no session.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(StaffAccount::Table)
                    .col(uuid(StaffAccount::Id).primary_key())
                    .col(string(StaffAccount::Username).unique_key())
                    .col(string(StaffAccount::DisplayName))
                    .col(string(StaffAccount::PasswordHash))
                    .col(string(StaffAccount::Role))
                    .col(uuid(StaffAccount::AgencyId))
                    .col(boolean(StaffAccount::IsActive))
                    .col(boolean(StaffAccount::IsDemo))
                    .col(integer(StaffAccount::FailedLogins))
                    .col(timestamp_with_time_zone_null(StaffAccount::LockedUntil))
                    .col(timestamp_with_time_zone(StaffAccount::CreatedAt))
                    .col(timestamp_with_time_zone(StaffAccount::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(StaffSession::Table)
                    .col(string(StaffSession::TokenHash).primary_key())
                    .col(uuid(StaffSession::StaffId))
                    .col(timestamp_with_time_zone(StaffSession::CreatedAt))
                    .col(timestamp_with_time_zone(StaffSession::ExpiresAt))
                    .col(timestamp_with_time_zone_null(StaffSession::RevokedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_staff_session_account")
                            .from(StaffSession::Table, StaffSession::StaffId)
                            .to(StaffAccount::Table, StaffAccount::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_staff_session_staff")
                    .table(StaffSession::Table)
                    .col(StaffSession::StaffId)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(StaffSession::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(StaffAccount::Table).to_owned())
            .await?;
        Ok(())
    }
}

#[derive(DeriveIden)]
enum StaffAccount {
    Table,
    Id,
    Username,
    DisplayName,
    PasswordHash,
    Role,
    AgencyId,
    IsActive,
    IsDemo,
    FailedLogins,
    LockedUntil,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum StaffSession {
    Table,
    TokenHash,
    StaffId,
    CreatedAt,
    ExpiresAt,
    RevokedAt,
}
