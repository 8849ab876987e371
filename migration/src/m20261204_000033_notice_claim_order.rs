//! The outbox's queued notices in the order they are claimed.
//!
//! The sender claims the oldest queued notices (`Store::claim_notices`:
//! `status = 'queued'`, due, not claimed by a live instance, oldest
//! first, twenty at a time). The only index began with the status and
//! then the next attempt's time, so each claim read every queued notice
//! and sorted them: about 7 ms a claim once a burst of intake had queued
//! some thousands of acknowledgements, growing with the queue, and a
//! sixth of the database's time under sustained intake. This index holds
//! only the queued notices, oldest first: a claim reads from its start
//! and stops at its twentieth due notice, whatever the queue's length.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX idx_notice_queued_oldest ON notice (created_at) \
                 WHERE status = 'queued'",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX IF EXISTS idx_notice_queued_oldest")
            .await?;
        Ok(())
    }
}
