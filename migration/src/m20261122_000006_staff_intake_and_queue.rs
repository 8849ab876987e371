//! Staff work on items: who keyed an item in and the channel's
//! intake details (caller number, postmark date…), internal notes, and
//! the indexes the staff queue's default sort and scopes use.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261122_000002_create_feedback::FeedbackItem;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite's ALTER TABLE adds one at a time.
        manager
            .alter_table(
                Table::alter()
                    .table(FeedbackItem::Table)
                    .add_column(uuid_null(Staff::EnteredByStaffId))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(FeedbackItem::Table)
                    .add_column(json_null(Staff::IntakeDetails))
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            (
                "idx_feedback_item_due",
                vec![FeedbackItem::DueAt, FeedbackItem::Id],
            ),
            (
                "idx_feedback_item_handling_due",
                vec![FeedbackItem::HandlingAgencyId, FeedbackItem::DueAt],
            ),
            (
                "idx_feedback_item_state_due",
                vec![FeedbackItem::State, FeedbackItem::DueAt],
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(FeedbackItem::Table);
            for col in cols {
                index.col(col);
            }
            manager.create_index(index.to_owned()).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(StaffNote::Table)
                    .col(uuid(StaffNote::Id).primary_key())
                    .col(uuid(StaffNote::FeedbackItemId))
                    .col(uuid(StaffNote::StaffId))
                    .col(text(StaffNote::Body))
                    .col(timestamp_with_time_zone(StaffNote::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_staff_note_item")
                            .from(StaffNote::Table, StaffNote::FeedbackItemId)
                            .to(FeedbackItem::Table, FeedbackItem::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_staff_note_item")
                    .table(StaffNote::Table)
                    .col(StaffNote::FeedbackItemId)
                    .col(StaffNote::CreatedAt)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(StaffNote::Table).to_owned())
            .await?;
        for name in [
            "idx_feedback_item_due",
            "idx_feedback_item_handling_due",
            "idx_feedback_item_state_due",
        ] {
            manager
                .drop_index(
                    Index::drop()
                        .name(name)
                        .table(FeedbackItem::Table)
                        .to_owned(),
                )
                .await?;
        }
        for col in [Staff::IntakeDetails, Staff::EnteredByStaffId] {
            manager
                .alter_table(
                    Table::alter()
                        .table(FeedbackItem::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Staff {
    EnteredByStaffId,
    IntakeDetails,
}

#[derive(DeriveIden)]
enum StaffNote {
    Table,
    Id,
    FeedbackItemId,
    StaffId,
    Body,
    CreatedAt,
}
