//! Making the channel known: the named sources the office publicises it
//! through (a counter's poster, a commune centre, a leaflet print run, a
//! newspaper notice, a portal banner), each with its own short link and QR
//! code, and on each item the source it came through: a known source's
//! code, `unknown` for a link whose code was not recognised, nothing for
//! an item that came another way. No personal data, no cookie.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum OutreachSource {
    Table,
    Code,
    Name,
    Kind,
    Place,
    CreatedBy,
    CreatedAt,
    RetiredAt,
}

#[derive(DeriveIden)]
enum FeedbackItem {
    Table,
    SourceCode,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OutreachSource::Table)
                    .col(string(OutreachSource::Code).primary_key())
                    .col(string(OutreachSource::Name))
                    .col(string(OutreachSource::Kind))
                    .col(string_null(OutreachSource::Place))
                    .col(string(OutreachSource::CreatedBy))
                    .col(timestamp_with_time_zone(OutreachSource::CreatedAt))
                    .col(timestamp_with_time_zone_null(OutreachSource::RetiredAt))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(FeedbackItem::Table)
                    .add_column(string_null(FeedbackItem::SourceCode))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_feedback_item_source")
                    .table(FeedbackItem::Table)
                    .col(FeedbackItem::SourceCode)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_feedback_item_source")
                    .table(FeedbackItem::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(FeedbackItem::Table)
                    .drop_column(FeedbackItem::SourceCode)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(OutreachSource::Table).to_owned())
            .await
    }
}
