//! What the handling workflow records on an item: the
//! procedure concerned, the rejection reason, the answer's draft and
//! sign-off, the redacted question and publication, bounces between
//! agencies, and the duplicate cluster.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261122_000002_create_feedback::FeedbackItem;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Workflow {
    ProcedureText,
    ProcedureCode,
    RejectionCode,
    RejectionNote,
    AnswerDraft,
    AnswerDraftedBy,
    AnswerSignedOffBy,
    QuestionRedacted,
    PublishedAt,
    WithheldReason,
    BounceCount,
    NeedsAttention,
    MergedIntoId,
}

fn columns() -> Vec<ColumnDef> {
    vec![
        string_null(Workflow::ProcedureText),
        string_null(Workflow::ProcedureCode),
        string_null(Workflow::RejectionCode),
        text_null(Workflow::RejectionNote),
        text_null(Workflow::AnswerDraft),
        uuid_null(Workflow::AnswerDraftedBy),
        uuid_null(Workflow::AnswerSignedOffBy),
        text_null(Workflow::QuestionRedacted),
        timestamp_with_time_zone_null(Workflow::PublishedAt),
        text_null(Workflow::WithheldReason),
        integer(Workflow::BounceCount).default(0).to_owned(),
        boolean(Workflow::NeedsAttention).default(false).to_owned(),
        uuid_null(Workflow::MergedIntoId),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite's ALTER TABLE adds one at a time.
        for mut column in columns() {
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
            Workflow::MergedIntoId,
            Workflow::NeedsAttention,
            Workflow::BounceCount,
            Workflow::WithheldReason,
            Workflow::PublishedAt,
            Workflow::QuestionRedacted,
            Workflow::AnswerSignedOffBy,
            Workflow::AnswerDraftedBy,
            Workflow::AnswerDraft,
            Workflow::RejectionNote,
            Workflow::RejectionCode,
            Workflow::ProcedureCode,
            Workflow::ProcedureText,
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
        Ok(())
    }
}
