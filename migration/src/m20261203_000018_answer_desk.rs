//! The agency's answer desk: the answer being written, saved on the
//! server as it is typed (one copy per item, with a revision that tells two
//! writers apart), and each agency's answer templates (greetings,
//! closings, the usual legal references).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AnswerDraftSave {
    Table,
    FeedbackItemId,
    Text,
    Revision,
    SavedBy,
    SavedAt,
}

#[derive(DeriveIden)]
enum AnswerTemplate {
    Table,
    Id,
    AgencyId,
    Name,
    Body,
    UpdatedBy,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AnswerDraftSave::Table)
                    .col(uuid(AnswerDraftSave::FeedbackItemId).primary_key())
                    .col(text(AnswerDraftSave::Text))
                    .col(integer(AnswerDraftSave::Revision))
                    .col(uuid(AnswerDraftSave::SavedBy))
                    .col(timestamp_with_time_zone(AnswerDraftSave::SavedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AnswerTemplate::Table)
                    .col(uuid(AnswerTemplate::Id).primary_key())
                    .col(uuid(AnswerTemplate::AgencyId))
                    .col(string(AnswerTemplate::Name))
                    .col(text(AnswerTemplate::Body))
                    .col(uuid(AnswerTemplate::UpdatedBy))
                    .col(timestamp_with_time_zone(AnswerTemplate::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_answer_template_agency_name")
                    .table(AnswerTemplate::Table)
                    .col(AnswerTemplate::AgencyId)
                    .col(AnswerTemplate::Name)
                    .unique()
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AnswerTemplate::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(AnswerDraftSave::Table).to_owned())
            .await
    }
}
