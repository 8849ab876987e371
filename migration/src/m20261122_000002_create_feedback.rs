//! Feedback items, their attachments, the per-day tracking sequence and the
//! idempotency records that make retried submissions safe.
//!
//! `feedback_item`'s references to `agency` and `field` are deliberately not
//! foreign keys: every submission refers to the same receiving office and a
//! handful of fields, and PostgreSQL's foreign-key check takes a share lock
//! on the parent row, so all concurrent submissions would contend on a few
//! rows (measured: −20% intake throughput). Agencies and fields are never
//! deleted instead (they end with `valid_to`; triggers refuse DELETE), so a
//! reference cannot dangle.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(FeedbackItem::Table)
                    .col(uuid(FeedbackItem::Id).primary_key())
                    .col(string_uniq(FeedbackItem::TrackingCode))
                    .col(blob(FeedbackItem::LookupTokenHash))
                    .col(string(FeedbackItem::Kind))
                    .col(string_null(FeedbackItem::ContentCategory))
                    .col(string(FeedbackItem::Channel))
                    .col(string(FeedbackItem::Title))
                    .col(text(FeedbackItem::Content))
                    .col(text(FeedbackItem::SearchText))
                    .col(boolean(FeedbackItem::LanguageFlagged))
                    .col(uuid_null(FeedbackItem::FieldId))
                    .col(uuid_null(FeedbackItem::AgencyHintId))
                    .col(string(FeedbackItem::SubmitterType))
                    .col(string(FeedbackItem::SubmitterName))
                    .col(string_null(FeedbackItem::OrganizationName))
                    .col(string(FeedbackItem::AddressDetail))
                    .col(string_null(FeedbackItem::AddressProvinceCode))
                    .col(string_null(FeedbackItem::AddressCommuneCode))
                    .col(string_null(FeedbackItem::Phone))
                    .col(string_null(FeedbackItem::Email))
                    .col(boolean(FeedbackItem::ConsentToPublish))
                    .col(string(FeedbackItem::State))
                    .col(uuid(FeedbackItem::ReceivingAgencyId))
                    .col(uuid_null(FeedbackItem::HandlingAgencyId))
                    .col(timestamp_with_time_zone(FeedbackItem::ReceivedAt))
                    .col(timestamp_with_time_zone_null(FeedbackItem::DueAt))
                    .col(text_null(FeedbackItem::Answer))
                    .col(timestamp_with_time_zone_null(FeedbackItem::AnsweredAt))
                    .col(timestamp_with_time_zone(FeedbackItem::CreatedAt))
                    .col(timestamp_with_time_zone(FeedbackItem::UpdatedAt))
                    .col(integer(FeedbackItem::Version))
                    .to_owned(),
            )
            .await?;
        // Only the indexes today's queries use. The staff queue
        // adds its own, shaped by its queries.
        manager
            .create_index(
                Index::create()
                    .name("idx_feedback_item_received")
                    .table(FeedbackItem::Table)
                    .col(FeedbackItem::ReceivedAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AttachmentBlob::Table)
                    .col(string(AttachmentBlob::Sha256).primary_key())
                    .col(big_integer(AttachmentBlob::SizeBytes))
                    .col(blob(AttachmentBlob::Content))
                    .col(timestamp_with_time_zone(AttachmentBlob::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Attachment::Table)
                    .col(uuid(Attachment::Id).primary_key())
                    .col(uuid(Attachment::FeedbackItemId))
                    .col(string(Attachment::FileName))
                    .col(string(Attachment::FileKind))
                    .col(string(Attachment::MediaType))
                    .col(big_integer(Attachment::SizeBytes))
                    .col(string(Attachment::Sha256))
                    .col(string(Attachment::Source))
                    .col(timestamp_with_time_zone(Attachment::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_attachment_feedback_item")
                            .from(Attachment::Table, Attachment::FeedbackItemId)
                            .to(FeedbackItem::Table, FeedbackItem::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_attachment_blob")
                            .from(Attachment::Table, Attachment::Sha256)
                            .to(AttachmentBlob::Table, AttachmentBlob::Sha256),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_attachment_item")
                    .table(Attachment::Table)
                    .col(Attachment::FeedbackItemId)
                    .to_owned(),
            )
            .await?;

        // One row per province and Vietnamese calendar day; the row is the
        // counter behind the tracking code's sequence.
        manager
            .create_table(
                Table::create()
                    .table(TrackingSequence::Table)
                    .col(string(TrackingSequence::ProvinceCode))
                    .col(date(TrackingSequence::Day))
                    .col(big_integer(TrackingSequence::LastValue))
                    .primary_key(
                        Index::create()
                            .col(TrackingSequence::ProvinceCode)
                            .col(TrackingSequence::Day),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(IdempotencyRecord::Table)
                    .col(string(IdempotencyRecord::KeyHash).primary_key())
                    .col(string(IdempotencyRecord::RequestHash))
                    .col(uuid(IdempotencyRecord::FeedbackItemId))
                    .col(json(IdempotencyRecord::ResponseBody))
                    .col(blob(IdempotencyRecord::SealedToken))
                    .col(timestamp_with_time_zone(IdempotencyRecord::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_idempotency_feedback_item")
                            .from(IdempotencyRecord::Table, IdempotencyRecord::FeedbackItemId)
                            .to(FeedbackItem::Table, FeedbackItem::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_idempotency_created")
                    .table(IdempotencyRecord::Table)
                    .col(IdempotencyRecord::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(IdempotencyRecord::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(TrackingSequence::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Attachment::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(AttachmentBlob::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(FeedbackItem::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
pub enum FeedbackItem {
    Table,
    Id,
    TrackingCode,
    LookupTokenHash,
    Kind,
    ContentCategory,
    Channel,
    Title,
    Content,
    SearchText,
    LanguageFlagged,
    FieldId,
    AgencyHintId,
    SubmitterType,
    SubmitterName,
    OrganizationName,
    AddressDetail,
    AddressProvinceCode,
    AddressCommuneCode,
    Phone,
    Email,
    ConsentToPublish,
    State,
    ReceivingAgencyId,
    HandlingAgencyId,
    ReceivedAt,
    DueAt,
    Answer,
    AnsweredAt,
    CreatedAt,
    UpdatedAt,
    Version,
}

#[derive(DeriveIden)]
enum AttachmentBlob {
    Table,
    Sha256,
    SizeBytes,
    Content,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Attachment {
    Table,
    Id,
    FeedbackItemId,
    FileName,
    FileKind,
    MediaType,
    SizeBytes,
    Sha256,
    Source,
    CreatedAt,
}

#[derive(DeriveIden)]
enum TrackingSequence {
    Table,
    ProvinceCode,
    Day,
    LastValue,
}

#[derive(DeriveIden)]
enum IdempotencyRecord {
    Table,
    KeyHash,
    RequestHash,
    FeedbackItemId,
    ResponseBody,
    SealedToken,
    CreatedAt,
}
