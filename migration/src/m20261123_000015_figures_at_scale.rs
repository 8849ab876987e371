//! Indexes found by the million-item load profile
//! (benches/queue_load.rs), each for a read that scanned the whole table:
//!
//! - the statistics' received figures (channel × kind × category over a
//!   period): every grouped column in the index, so a half year reads the
//!   index alone;
//! - the not-accepted figures by reason: state, then period, then reason;
//! - the staff-entered items of a period (for the entry delay): a partial
//!   index over the few items staff keyed in;
//! - PostgreSQL: the staff queue's word search (`search_text LIKE
//!   '%word%'`) through a trigram index, when the `pg_trgm` extension can
//!   be created (best effort, as `fuzzystrmatch` in migration 13: without
//!   it the search reads every item, as before).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Both backends take these as written.
const INDEXES: [(&str, &str); 3] = [
    (
        "idx_feedback_item_received_figures",
        "CREATE INDEX idx_feedback_item_received_figures \
         ON feedback_item (received_at, channel, kind, content_category)",
    ),
    (
        "idx_feedback_item_state_received",
        "CREATE INDEX idx_feedback_item_state_received \
         ON feedback_item (state, received_at, rejection_code)",
    ),
    (
        "idx_feedback_item_staff_entered",
        // The query's `IS NOT NULL` is literal SQL, so the planners use
        // the partial index in a prepared statement too.
        "CREATE INDEX idx_feedback_item_staff_entered \
         ON feedback_item (received_at, created_at) WHERE entered_by_staff_id IS NOT NULL",
    ),
];

/// Only a missing or forbidden extension is tolerated; a failure to build
/// the index itself fails the migration.
const POSTGRES_SEARCH: [&str; 2] = [
    "DO $$ BEGIN \
         CREATE EXTENSION IF NOT EXISTS pg_trgm; \
     EXCEPTION WHEN OTHERS THEN \
         RAISE NOTICE 'pg_trgm is not available (%); queue search reads every item', SQLERRM; \
     END $$",
    "DO $$ BEGIN \
         IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN \
             CREATE INDEX idx_feedback_item_search_trgm ON feedback_item \
                 USING gin (search_text gin_trgm_ops); \
         END IF; \
     END $$",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (_, sql) in INDEXES {
            db.execute_unprepared(sql).await?;
        }
        if manager.get_database_backend() == DbBackend::Postgres {
            for sql in POSTGRES_SEARCH {
                db.execute_unprepared(sql).await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        // The extension may serve others in this database: it stays.
        db.execute_unprepared("DROP INDEX IF EXISTS idx_feedback_item_search_trgm")
            .await?;
        for (name, _) in INDEXES {
            db.execute_unprepared(&format!("DROP INDEX IF EXISTS {name}"))
                .await?;
        }
        Ok(())
    }
}
