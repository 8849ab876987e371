//! Coordinating agencies: the lead agency asks other agencies
//! for their contribution, each with its own sub-deadline (DOMAIN §6.3
//! "request coordination", §7 D11). A deadline now names the agency
//! responsible for it when that is not the item's handling agency, and a
//! duplicate cluster's members are found by index.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261122_000001_create_directory::Agency;
use crate::m20261122_000002_create_feedback::FeedbackItem;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Coordination {
    Table,
    Id,
    FeedbackItemId,
    AgencyId,
    State,
    RequestNote,
    RequestedBy,
    RequestedAt,
    DeadlineId,
    Contribution,
    ContributedBy,
    ContributedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Cluster {
    MergedIntoId,
}

#[derive(DeriveIden)]
enum FeedbackDeadline {
    Table,
    AgencyId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Coordination::Table)
                    .col(uuid(Coordination::Id).primary_key())
                    .col(uuid(Coordination::FeedbackItemId))
                    .col(uuid(Coordination::AgencyId))
                    // requested | contributed | withdrawn
                    .col(string(Coordination::State))
                    .col(text(Coordination::RequestNote))
                    .col(string(Coordination::RequestedBy))
                    .col(timestamp_with_time_zone(Coordination::RequestedAt))
                    .col(uuid_null(Coordination::DeadlineId))
                    .col(text_null(Coordination::Contribution))
                    .col(string_null(Coordination::ContributedBy))
                    .col(timestamp_with_time_zone_null(Coordination::ContributedAt))
                    .col(timestamp_with_time_zone(Coordination::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_coordination_item")
                            .from(Coordination::Table, Coordination::FeedbackItemId)
                            .to(FeedbackItem::Table, FeedbackItem::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_coordination_agency")
                            .from(Coordination::Table, Coordination::AgencyId)
                            .to(Agency::Table, Agency::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // One request per agency and item: asking again reopens it.
        manager
            .create_index(
                Index::create()
                    .name("idx_coordination_item_agency")
                    .table(Coordination::Table)
                    .col(Coordination::FeedbackItemId)
                    .col(Coordination::AgencyId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // The coordinating agency's queue.
        manager
            .create_index(
                Index::create()
                    .name("idx_coordination_agency_state")
                    .table(Coordination::Table)
                    .col(Coordination::AgencyId)
                    .col(Coordination::State)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(FeedbackDeadline::Table)
                    .add_column(uuid_null(FeedbackDeadline::AgencyId))
                    .to_owned(),
            )
            .await?;
        // Approving a primary finds its cluster's members.
        manager
            .create_index(
                Index::create()
                    .name("idx_feedback_item_merged_into")
                    .table(FeedbackItem::Table)
                    .col(Cluster::MergedIntoId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_feedback_item_merged_into")
                    .table(FeedbackItem::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(FeedbackDeadline::Table)
                    .drop_column(FeedbackDeadline::AgencyId)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(Coordination::Table).to_owned())
            .await
    }
}
