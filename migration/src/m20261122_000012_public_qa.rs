//! The public Q&A: a published item shows a redacted title
//! beside its redacted question (the original title may name people too),
//! and is searched through a folded text built only from what is
//! published, so a search for a name that appears only in the private
//! original finds nothing. Published items are listed newest first.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261122_000002_create_feedback::FeedbackItem;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum PublicQa {
    TitleRedacted,
    PublicSearchText,
    PublishedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for mut column in [
            text_null(PublicQa::TitleRedacted),
            text_null(PublicQa::PublicSearchText),
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
        manager
            .create_index(
                Index::create()
                    .name("idx_feedback_item_published_at")
                    .table(FeedbackItem::Table)
                    .col(PublicQa::PublishedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_feedback_item_published_at")
                    .table(FeedbackItem::Table)
                    .to_owned(),
            )
            .await?;
        for column in [PublicQa::PublicSearchText, PublicQa::TitleRedacted] {
            manager
                .alter_table(
                    Table::alter()
                        .table(FeedbackItem::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
