//! A citizen who lost their lookup token asks for a new one: a one-time
//! link goes to the e-mail address on file for the item. Only the link
//! secret's digest is stored; the secret itself is recomputed (an HMAC of
//! the link's id) when the e-mail is sent.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum LookupRecovery {
    Table,
    Id,
    FeedbackItemId,
    TokenHash,
    CreatedAt,
    ExpiresAt,
    UsedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(LookupRecovery::Table)
                    .col(uuid(LookupRecovery::Id).primary_key())
                    .col(uuid(LookupRecovery::FeedbackItemId))
                    .col(string_uniq(LookupRecovery::TokenHash))
                    .col(timestamp_with_time_zone(LookupRecovery::CreatedAt))
                    .col(timestamp_with_time_zone(LookupRecovery::ExpiresAt))
                    .col(timestamp_with_time_zone_null(LookupRecovery::UsedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_lookup_recovery_item_time")
                    .table(LookupRecovery::Table)
                    .col(LookupRecovery::FeedbackItemId)
                    .col(LookupRecovery::CreatedAt)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(LookupRecovery::Table).to_owned())
            .await
    }
}
