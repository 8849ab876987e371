//! Keyword routing rules as data an administrator edits in the browser
//! (`config/routing.toml` remains the seed and the export format).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum RoutingRule {
    Table,
    Id,
    Position,
    Words,
    AgencyCode,
    Basis,
    UpdatedBy,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(RoutingRule::Table)
                    .col(uuid(RoutingRule::Id).primary_key())
                    .col(integer(RoutingRule::Position))
                    .col(text(RoutingRule::Words))
                    .col(string(RoutingRule::AgencyCode))
                    .col(text(RoutingRule::Basis))
                    .col(string(RoutingRule::UpdatedBy))
                    .col(timestamp_with_time_zone(RoutingRule::UpdatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(RoutingRule::Table).to_owned())
            .await
    }
}
