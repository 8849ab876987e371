//! Who saw whose contact data: one row when a staff member is shown an
//! item's submitter details (at most once per person, item and purpose in
//! a short window) or handles a data subject's request.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ContactAccess {
    Table,
    Id,
    StaffAccountId,
    StaffUsername,
    FeedbackItemId,
    Purpose,
    At,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ContactAccess::Table)
                    .col(uuid(ContactAccess::Id).primary_key())
                    .col(uuid(ContactAccess::StaffAccountId))
                    .col(string(ContactAccess::StaffUsername))
                    .col(uuid(ContactAccess::FeedbackItemId))
                    .col(string(ContactAccess::Purpose))
                    .col(timestamp_with_time_zone(ContactAccess::At))
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("idx_contact_access_item", ContactAccess::FeedbackItemId),
            ("idx_contact_access_staff", ContactAccess::StaffAccountId),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(ContactAccess::Table)
                        .col(column)
                        .col(ContactAccess::At)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ContactAccess::Table).to_owned())
            .await
    }
}
