//! Webhooks: partners' subscriptions (where to, which events, whose items,
//! the signing secret) and one delivery row per event per subscription,
//! written in the same transaction as the change that raised it (the
//! outbox pattern), claimed by one instance at a time and kept as the
//! record of what was sent, retried or given up.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum WebhookSubscription {
    Table,
    Id,
    Name,
    Url,
    Events,
    Scope,
    AgencyId,
    ApiKeyId,
    Secret,
    CreatedBy,
    CreatedAt,
    DisabledAt,
}

#[derive(DeriveIden)]
enum WebhookDelivery {
    Table,
    /// The order events were written in; per item it is the order they
    /// happened in (an item's changes are serialised by its row lock).
    Seq,
    Id,
    SubscriptionId,
    EventId,
    Event,
    FeedbackItemId,
    FromState,
    ToState,
    OccurredAt,
    // queued | delivered | dead | skipped
    Status,
    Attempts,
    NextAttemptAt,
    ClaimedBy,
    ClaimedUntil,
    LastStatus,
    LastError,
    DeliveredAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(WebhookSubscription::Table)
                    .col(uuid(WebhookSubscription::Id).primary_key())
                    .col(string(WebhookSubscription::Name).unique_key())
                    .col(text(WebhookSubscription::Url))
                    .col(json(WebhookSubscription::Events))
                    .col(string(WebhookSubscription::Scope))
                    .col(uuid_null(WebhookSubscription::AgencyId))
                    .col(uuid_null(WebhookSubscription::ApiKeyId))
                    .col(string(WebhookSubscription::Secret))
                    .col(string(WebhookSubscription::CreatedBy))
                    .col(timestamp_with_time_zone(WebhookSubscription::CreatedAt))
                    .col(timestamp_with_time_zone_null(
                        WebhookSubscription::DisabledAt,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookDelivery::Table)
                    .col(big_pk_auto(WebhookDelivery::Seq))
                    .col(uuid(WebhookDelivery::Id).unique_key())
                    .col(uuid(WebhookDelivery::SubscriptionId))
                    .col(uuid(WebhookDelivery::EventId))
                    .col(string(WebhookDelivery::Event))
                    .col(uuid(WebhookDelivery::FeedbackItemId))
                    .col(string_null(WebhookDelivery::FromState))
                    .col(string_null(WebhookDelivery::ToState))
                    .col(timestamp_with_time_zone(WebhookDelivery::OccurredAt))
                    .col(string(WebhookDelivery::Status).default("queued"))
                    .col(integer(WebhookDelivery::Attempts).default(0))
                    .col(timestamp_with_time_zone_null(
                        WebhookDelivery::NextAttemptAt,
                    ))
                    .col(string_null(WebhookDelivery::ClaimedBy))
                    .col(timestamp_with_time_zone_null(WebhookDelivery::ClaimedUntil))
                    .col(integer_null(WebhookDelivery::LastStatus))
                    .col(text_null(WebhookDelivery::LastError))
                    .col(timestamp_with_time_zone_null(WebhookDelivery::DeliveredAt))
                    .to_owned(),
            )
            .await?;
        // One delivery per event per subscription.
        manager
            .create_index(
                Index::create()
                    .name("idx_webhook_delivery_event")
                    .table(WebhookDelivery::Table)
                    .col(WebhookDelivery::SubscriptionId)
                    .col(WebhookDelivery::EventId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // What is due, oldest first.
        manager
            .create_index(
                Index::create()
                    .name("idx_webhook_delivery_due")
                    .table(WebhookDelivery::Table)
                    .col(WebhookDelivery::Status)
                    .col(WebhookDelivery::Seq)
                    .to_owned(),
            )
            .await?;
        // An item's earlier deliveries to the same subscription go first.
        manager
            .create_index(
                Index::create()
                    .name("idx_webhook_delivery_item")
                    .table(WebhookDelivery::Table)
                    .col(WebhookDelivery::SubscriptionId)
                    .col(WebhookDelivery::FeedbackItemId)
                    .col(WebhookDelivery::Seq)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(WebhookDelivery::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(WebhookSubscription::Table).to_owned())
            .await
    }
}
