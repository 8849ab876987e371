//! The e-mail channel: the inbound mail log with each raw
//! message kept as evidence, the outbox's delivery state (claims, retries,
//! Message-IDs for threading), addresses known to bounce, the IMAP
//! mailbox position, leases for work one instance at a time does, and
//! secrets the service generates for itself (the reply-address key).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum InboundMail {
    Table,
    Id,
    /// `mid:<Message-ID>` or `sha256:<digest>` for mail without one: the
    /// same message ingested twice (IMAP re-delivery, two instances, an
    /// MTA retry) is stored once.
    IngestKey,
    MessageId,
    Source,
    ReceivedAt,
    FromAddress,
    Subject,
    Outcome,
    MatchedBy,
    FeedbackItemId,
    Note,
    RawSha256,
    SizeBytes,
    Raw,
}

#[derive(DeriveIden, Clone, Copy)]
enum Notice {
    Table,
    Status,
    NextAttemptAt,
    ClaimedUntil,
    ClaimedBy,
    MessageId,
    Recipient,
}

#[derive(DeriveIden)]
enum MailAddressFailure {
    Table,
    Address,
    Permanent,
    FailedAt,
    NoticeId,
    Detail,
}

#[derive(DeriveIden)]
enum ImapMailbox {
    Table,
    Mailbox,
    UidValidity,
    LastUid,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ServiceLease {
    Table,
    Name,
    Holder,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum ServiceSecret {
    Table,
    Name,
    Value,
    CreatedAt,
}

fn notice_columns() -> Vec<ColumnDef> {
    vec![
        // queued | sent | failed (permanently) | skipped (no address, an
        // automatic address, or the acknowledgement window)
        string(Notice::Status).default("queued").to_owned(),
        timestamp_with_time_zone_null(Notice::NextAttemptAt),
        timestamp_with_time_zone_null(Notice::ClaimedUntil),
        string_null(Notice::ClaimedBy),
        string_null(Notice::MessageId),
        string_null(Notice::Recipient),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(InboundMail::Table)
                    .col(uuid(InboundMail::Id).primary_key())
                    .col(string(InboundMail::IngestKey).unique_key())
                    .col(text_null(InboundMail::MessageId))
                    // imap | pipe | api
                    .col(string(InboundMail::Source))
                    .col(timestamp_with_time_zone(InboundMail::ReceivedAt))
                    .col(string_null(InboundMail::FromAddress))
                    .col(text_null(InboundMail::Subject))
                    // new_item | reply | automatic | bounce | quarantined
                    .col(string(InboundMail::Outcome))
                    .col(string_null(InboundMail::MatchedBy))
                    .col(uuid_null(InboundMail::FeedbackItemId))
                    .col(text_null(InboundMail::Note))
                    .col(string(InboundMail::RawSha256))
                    .col(big_integer(InboundMail::SizeBytes))
                    .col(blob(InboundMail::Raw))
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("idx_inbound_mail_item", InboundMail::FeedbackItemId),
            ("idx_inbound_mail_received", InboundMail::ReceivedAt),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(InboundMail::Table)
                        .col(column)
                        .to_owned(),
                )
                .await?;
        }
        // One column per statement: SQLite's ALTER TABLE adds one at a time.
        for mut column in notice_columns() {
            manager
                .alter_table(
                    Table::alter()
                        .table(Notice::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .get_connection()
            .execute_unprepared("UPDATE notice SET status = 'sent' WHERE sent_at IS NOT NULL")
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_notice_status_next_attempt")
                    .table(Notice::Table)
                    .col(Notice::Status)
                    .col(Notice::NextAttemptAt)
                    .to_owned(),
            )
            .await?;
        // A reply's In-Reply-To finds the notice (and item) it answers.
        manager
            .create_index(
                Index::create()
                    .name("idx_notice_message_id")
                    .table(Notice::Table)
                    .col(Notice::MessageId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(MailAddressFailure::Table)
                    .col(string(MailAddressFailure::Address).primary_key())
                    .col(boolean(MailAddressFailure::Permanent))
                    .col(timestamp_with_time_zone(MailAddressFailure::FailedAt))
                    .col(uuid_null(MailAddressFailure::NoticeId))
                    .col(text_null(MailAddressFailure::Detail))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ImapMailbox::Table)
                    .col(string(ImapMailbox::Mailbox).primary_key())
                    .col(big_integer(ImapMailbox::UidValidity))
                    .col(big_integer(ImapMailbox::LastUid))
                    .col(timestamp_with_time_zone(ImapMailbox::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ServiceLease::Table)
                    .col(string(ServiceLease::Name).primary_key())
                    .col(string(ServiceLease::Holder))
                    .col(timestamp_with_time_zone(ServiceLease::ExpiresAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ServiceSecret::Table)
                    .col(string(ServiceSecret::Name).primary_key())
                    .col(blob(ServiceSecret::Value))
                    .col(timestamp_with_time_zone(ServiceSecret::CreatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ServiceSecret::Table.into_iden(),
            ServiceLease::Table.into_iden(),
            ImapMailbox::Table.into_iden(),
            MailAddressFailure::Table.into_iden(),
            InboundMail::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        for name in ["idx_notice_message_id", "idx_notice_status_next_attempt"] {
            manager
                .drop_index(Index::drop().name(name).table(Notice::Table).to_owned())
                .await?;
        }
        for column in [
            Notice::Recipient,
            Notice::MessageId,
            Notice::ClaimedBy,
            Notice::ClaimedUntil,
            Notice::NextAttemptAt,
            Notice::Status,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Notice::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
