//! The staff console: views of the queue a staff member saves by name,
//! who has an item open (advisory presence, shared by every instance), and
//! the indexes its reads need — the newest audit event (what the live
//! counts watch for) and an item's submitter by phone or e-mail (the
//! intake desk's "items from the same person", the queue's possible
//! duplicates).

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261122_000002_create_feedback::FeedbackItem;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SavedView {
    Table,
    Id,
    StaffId,
    Name,
    Query,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ItemPresence {
    Table,
    FeedbackItemId,
    StaffId,
    SeenAt,
}

#[derive(DeriveIden)]
enum AuditEvent {
    Table,
    OccurredAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Contact {
    Phone,
    Email,
    State,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SavedView::Table)
                    .col(uuid(SavedView::Id).primary_key())
                    .col(uuid(SavedView::StaffId))
                    .col(string(SavedView::Name))
                    .col(text(SavedView::Query))
                    .col(timestamp_with_time_zone(SavedView::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_saved_view_staff_name")
                    .table(SavedView::Table)
                    .col(SavedView::StaffId)
                    .col(SavedView::Name)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ItemPresence::Table)
                    .col(uuid(ItemPresence::FeedbackItemId))
                    .col(uuid(ItemPresence::StaffId))
                    .col(timestamp_with_time_zone(ItemPresence::SeenAt))
                    .primary_key(
                        Index::create()
                            .col(ItemPresence::FeedbackItemId)
                            .col(ItemPresence::StaffId),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_item_presence_seen")
                    .table(ItemPresence::Table)
                    .col(ItemPresence::SeenAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_audit_event_occurred")
                    .table(AuditEvent::Table)
                    .col(AuditEvent::OccurredAt)
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("idx_feedback_item_phone", Contact::Phone),
            ("idx_feedback_item_email", Contact::Email),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(FeedbackItem::Table)
                        .col(column)
                        .to_owned(),
                )
                .await?;
        }
        // The newest arrivals the live counts list: items waiting in one
        // state, most recently changed first.
        manager
            .create_index(
                Index::create()
                    .name("idx_feedback_item_state_updated")
                    .table(FeedbackItem::Table)
                    .col(Contact::State)
                    .col(Contact::UpdatedAt)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, table) in [
            ("idx_feedback_item_state_updated", "feedback_item"),
            ("idx_feedback_item_email", "feedback_item"),
            ("idx_feedback_item_phone", "feedback_item"),
            ("idx_audit_event_occurred", "audit_event"),
        ] {
            manager
                .drop_index(Index::drop().name(name).table(Alias::new(table)).to_owned())
                .await?;
        }
        manager
            .drop_table(Table::drop().table(ItemPresence::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(SavedView::Table).to_owned())
            .await
    }
}
