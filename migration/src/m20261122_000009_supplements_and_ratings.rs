//! What the submitter adds with their lookup token: information
//! asked for ("supplements") and their rating of the answer.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261122_000002_create_feedback::FeedbackItem;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum ItemRating {
    RatingScore,
    RatingComment,
    RatedAt,
}

#[derive(DeriveIden)]
enum Supplement {
    Table,
    Id,
    FeedbackItemId,
    Text,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Supplement::Table)
                    .col(uuid(Supplement::Id).primary_key())
                    .col(uuid(Supplement::FeedbackItemId))
                    .col(text(Supplement::Text))
                    .col(timestamp_with_time_zone(Supplement::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_supplement_item")
                            .from(Supplement::Table, Supplement::FeedbackItemId)
                            .to(FeedbackItem::Table, FeedbackItem::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_supplement_item")
                    .table(Supplement::Table)
                    .col(Supplement::FeedbackItemId)
                    .to_owned(),
            )
            .await?;
        for mut column in [
            integer_null(ItemRating::RatingScore),
            text_null(ItemRating::RatingComment),
            timestamp_with_time_zone_null(ItemRating::RatedAt),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(FeedbackItem::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            ItemRating::RatedAt,
            ItemRating::RatingComment,
            ItemRating::RatingScore,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(FeedbackItem::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .drop_table(Table::drop().table(Supplement::Table).to_owned())
            .await
    }
}
