//! Staff accounts run from the browser: each person's e-mail address and
//! whether they want the daily digest of what waits for them; notices
//! addressed to one staff member (the digest); and one-time links to set a
//! password (a new account, a reset), stored as digests only.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum StaffAccount {
    Table,
    Email,
    DailyDigest,
}

#[derive(DeriveIden)]
enum Notice {
    Table,
    StaffAccountId,
}

#[derive(DeriveIden)]
enum StaffPasswordLink {
    Table,
    Id,
    StaffAccountId,
    TokenHash,
    CreatedBy,
    CreatedAt,
    ExpiresAt,
    UsedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for mut column in [
            string_null(StaffAccount::Email),
            boolean(StaffAccount::DailyDigest).default(true).to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(StaffAccount::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(Notice::Table)
                    .add_column(uuid_null(Notice::StaffAccountId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(StaffPasswordLink::Table)
                    .col(uuid(StaffPasswordLink::Id).primary_key())
                    .col(uuid(StaffPasswordLink::StaffAccountId))
                    .col(string_uniq(StaffPasswordLink::TokenHash))
                    .col(uuid_null(StaffPasswordLink::CreatedBy))
                    .col(timestamp_with_time_zone(StaffPasswordLink::CreatedAt))
                    .col(timestamp_with_time_zone(StaffPasswordLink::ExpiresAt))
                    .col(timestamp_with_time_zone_null(StaffPasswordLink::UsedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_staff_password_link_account")
                    .table(StaffPasswordLink::Table)
                    .col(StaffPasswordLink::StaffAccountId)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(StaffPasswordLink::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Notice::Table)
                    .drop_column(Notice::StaffAccountId)
                    .to_owned(),
            )
            .await?;
        for column in [StaffAccount::DailyDigest, StaffAccount::Email] {
            manager
                .alter_table(
                    Table::alter()
                        .table(StaffAccount::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
