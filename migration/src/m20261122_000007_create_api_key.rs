//! API keys for integrations: a portal pushing form
//! submissions, a reporting tool reading statistics. Scoped, revocable,
//! stored as SHA-256 digests only.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ApiKey::Table)
                    .col(uuid(ApiKey::Id).primary_key())
                    .col(string(ApiKey::Name).unique_key())
                    .col(string(ApiKey::KeyHash).unique_key())
                    .col(json(ApiKey::Scopes))
                    .col(string(ApiKey::CreatedBy))
                    .col(timestamp_with_time_zone(ApiKey::CreatedAt))
                    .col(timestamp_with_time_zone_null(ApiKey::RevokedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ApiKey::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum ApiKey {
    Table,
    Id,
    Name,
    KeyHash,
    Scopes,
    CreatedBy,
    CreatedAt,
    RevokedAt,
}
