//! The national PAKN system's record of an item: the code (mã PAKN) the
//! national system gave it when the office re-keyed it there, or the one
//! it came with from there; when and by whom it was recorded. One row per
//! item; a code belongs to one item.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum NationalRecord {
    Table,
    FeedbackItemId,
    NationalCode,
    Origin,
    RecordedAt,
    RecordedBy,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(NationalRecord::Table)
                    .col(uuid(NationalRecord::FeedbackItemId).primary_key())
                    .col(string(NationalRecord::NationalCode))
                    .col(string(NationalRecord::Origin))
                    .col(timestamp_with_time_zone(NationalRecord::RecordedAt))
                    .col(string(NationalRecord::RecordedBy))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_national_record_code")
                    .table(NationalRecord::Table)
                    .col(NationalRecord::NationalCode)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(NationalRecord::Table).to_owned())
            .await
    }
}
