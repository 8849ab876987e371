//! Indexes for the statistics and the six-monthly report: each
//! figure is a range over one time column, so a request reads the period's
//! rows, never the whole table, however many millions the province keeps.
//! Forwarding and returns are counted from the audit trail by action and
//! time.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum FeedbackItem {
    Table,
    AnsweredAt,
    RatedAt,
    HandlingAgencyId,
    ReceivedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum AuditEvent {
    Table,
    Action,
    OccurredAt,
}

const ITEM_INDEXES: [(&str, &[FeedbackItem]); 3] = [
    ("idx_feedback_item_answered_at", &[FeedbackItem::AnsweredAt]),
    ("idx_feedback_item_rated_at", &[FeedbackItem::RatedAt]),
    (
        "idx_feedback_item_handling_received",
        &[FeedbackItem::HandlingAgencyId, FeedbackItem::ReceivedAt],
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, cols) in ITEM_INDEXES {
            let mut index = Index::create();
            index.name(name).table(FeedbackItem::Table);
            for col in cols {
                index.col(*col);
            }
            manager.create_index(index.to_owned()).await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("idx_audit_event_action_time")
                    .table(AuditEvent::Table)
                    .col(AuditEvent::Action)
                    .col(AuditEvent::OccurredAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_audit_event_action_time")
                    .table(AuditEvent::Table)
                    .to_owned(),
            )
            .await?;
        for (name, _) in ITEM_INDEXES {
            manager
                .drop_index(
                    Index::drop()
                        .name(name)
                        .table(FeedbackItem::Table)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
