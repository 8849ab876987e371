//! The working-day calendar as data, the deadlines computed from it, and
//! the queue of notices the scheduler raises.
//!
//! - `calendar_revision`: one row per change to the calendar; the highest
//!   revision is the calendar version every deadline records.
//! - `calendar_year`: years that follow an official schedule instead of the
//!   computed statutory defaults, and where that schedule came from.
//! - `calendar_day`: the schedule's days (holiday, day off, working day).
//! - `feedback_deadline`: each period an item runs against, stored with the
//!   rule and calendar version that produced its due date (DOMAIN §9.3).
//! - `notice`: reminders and escalations queued for delivery (the
//!   outbox sends them); `dedupe_key` makes raising one twice impossible, even
//!   from several instances at once.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261122_000002_create_feedback::FeedbackItem;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CalendarRevision::Table)
                    .col(big_integer(CalendarRevision::Revision).primary_key())
                    .col(string(CalendarRevision::Actor))
                    .col(text(CalendarRevision::Summary))
                    .col(timestamp_with_time_zone(CalendarRevision::ChangedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CalendarYear::Table)
                    .col(integer(CalendarYear::Year).primary_key())
                    .col(string(CalendarYear::Origin))
                    .col(string_null(CalendarYear::FileName))
                    .col(string_null(CalendarYear::FileSha256))
                    .col(boolean(CalendarYear::EditedByAdmin))
                    .col(big_integer(CalendarYear::Revision))
                    .col(timestamp_with_time_zone(CalendarYear::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CalendarDay::Table)
                    .col(date(CalendarDay::Date).primary_key())
                    .col(integer(CalendarDay::Year))
                    .col(string(CalendarDay::Kind))
                    .col(string(CalendarDay::Name))
                    .col(text(CalendarDay::Source))
                    .col(boolean(CalendarDay::Confirmed))
                    .col(big_integer(CalendarDay::Revision))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_calendar_day_year")
                            .from(CalendarDay::Table, CalendarDay::Year)
                            .to(CalendarYear::Table, CalendarYear::Year),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_calendar_day_year")
                    .table(CalendarDay::Table)
                    .col(CalendarDay::Year)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(FeedbackDeadline::Table)
                    .col(uuid(FeedbackDeadline::Id).primary_key())
                    .col(uuid(FeedbackDeadline::FeedbackItemId))
                    .col(string(FeedbackDeadline::Kind))
                    // "open", "met", "cancelled".
                    .col(string(FeedbackDeadline::State))
                    .col(json(FeedbackDeadline::Rule))
                    .col(timestamp_with_time_zone(FeedbackDeadline::StartsAt))
                    .col(json(FeedbackDeadline::Pauses))
                    .col(integer(FeedbackDeadline::ExtensionDays))
                    .col(text_null(FeedbackDeadline::ExtensionReason))
                    .col(timestamp_with_time_zone_null(
                        FeedbackDeadline::OriginalDueAt,
                    ))
                    .col(timestamp_with_time_zone_null(FeedbackDeadline::DueAt))
                    .col(timestamp_with_time_zone_null(FeedbackDeadline::RemindAt))
                    .col(big_integer(FeedbackDeadline::CalendarVersion))
                    .col(timestamp_with_time_zone(FeedbackDeadline::ComputedAt))
                    .col(timestamp_with_time_zone_null(FeedbackDeadline::MetAt))
                    .col(timestamp_with_time_zone_null(
                        FeedbackDeadline::NearDueNotifiedAt,
                    ))
                    .col(integer(FeedbackDeadline::OverdueNotices))
                    .col(timestamp_with_time_zone_null(
                        FeedbackDeadline::NextOverdueNoticeAt,
                    ))
                    // Bumped by every write: the compare-and-set token
                    // that keeps concurrent writers from undoing each other.
                    .col(integer(FeedbackDeadline::RowVersion))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_feedback_deadline_item")
                            .from(FeedbackDeadline::Table, FeedbackDeadline::FeedbackItemId)
                            .to(FeedbackItem::Table, FeedbackItem::Id),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            (
                "idx_feedback_deadline_item",
                vec![FeedbackDeadline::FeedbackItemId, FeedbackDeadline::Kind],
            ),
            (
                "idx_feedback_deadline_remind",
                vec![FeedbackDeadline::State, FeedbackDeadline::RemindAt],
            ),
            (
                "idx_feedback_deadline_overdue",
                vec![
                    FeedbackDeadline::State,
                    FeedbackDeadline::NextOverdueNoticeAt,
                ],
            ),
            (
                "idx_feedback_deadline_calendar",
                vec![FeedbackDeadline::State, FeedbackDeadline::CalendarVersion],
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(FeedbackDeadline::Table);
            for col in cols {
                index.col(col);
            }
            manager.create_index(index.to_owned()).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(Notice::Table)
                    .col(uuid(Notice::Id).primary_key())
                    .col(string(Notice::DedupeKey).unique_key())
                    .col(string(Notice::Kind))
                    // "handling_agency" or "control_office".
                    .col(string(Notice::Audience))
                    .col(uuid(Notice::AgencyId))
                    .col(uuid_null(Notice::FeedbackItemId))
                    .col(uuid_null(Notice::DeadlineId))
                    .col(json(Notice::Payload))
                    .col(timestamp_with_time_zone(Notice::CreatedAt))
                    .col(timestamp_with_time_zone_null(Notice::SentAt))
                    .col(integer(Notice::Attempts))
                    .col(text_null(Notice::LastError))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_notice_item")
                            .from(Notice::Table, Notice::FeedbackItemId)
                            .to(FeedbackItem::Table, FeedbackItem::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_notice_unsent")
                    .table(Notice::Table)
                    .col(Notice::SentAt)
                    .col(Notice::CreatedAt)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Notice::Table.into_iden(),
            FeedbackDeadline::Table.into_iden(),
            CalendarDay::Table.into_iden(),
            CalendarYear::Table.into_iden(),
            CalendarRevision::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum CalendarRevision {
    Table,
    Revision,
    Actor,
    Summary,
    ChangedAt,
}

#[derive(DeriveIden)]
enum CalendarYear {
    Table,
    Year,
    Origin,
    FileName,
    FileSha256,
    EditedByAdmin,
    Revision,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum CalendarDay {
    Table,
    Date,
    Year,
    Kind,
    Name,
    Source,
    Confirmed,
    Revision,
}

#[derive(DeriveIden)]
enum FeedbackDeadline {
    Table,
    Id,
    FeedbackItemId,
    Kind,
    State,
    Rule,
    StartsAt,
    Pauses,
    ExtensionDays,
    ExtensionReason,
    OriginalDueAt,
    DueAt,
    RemindAt,
    CalendarVersion,
    ComputedAt,
    MetAt,
    NearDueNotifiedAt,
    OverdueNotices,
    NextOverdueNoticeAt,
    RowVersion,
}

#[derive(DeriveIden)]
enum Notice {
    Table,
    Id,
    DedupeKey,
    Kind,
    Audience,
    AgencyId,
    FeedbackItemId,
    DeadlineId,
    Payload,
    CreatedAt,
    SentAt,
    Attempts,
    LastError,
}
