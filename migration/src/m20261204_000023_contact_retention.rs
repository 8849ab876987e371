//! When an item's contact data was removed under the retention policy
//! (the item, its answer and its statistics stay).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum FeedbackItem {
    Table,
    ContactErasedAt,
    State,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(FeedbackItem::Table)
                    .add_column(timestamp_with_time_zone_null(FeedbackItem::ContactErasedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_feedback_item_retention")
                    .table(FeedbackItem::Table)
                    .col(FeedbackItem::State)
                    .col(FeedbackItem::UpdatedAt)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_feedback_item_retention")
                    .table(FeedbackItem::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(FeedbackItem::Table)
                    .drop_column(FeedbackItem::ContactErasedAt)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
