//! PostgreSQL's public search reads a table that holds only what is
//! public, as SQLite's FTS table already does.
//!
//! The search used to filter `feedback_item` by its public text and a
//! `tsvector` match at once. PostgreSQL multiplies the selectivities of
//! those conditions as if they were independent (the match only ever
//! holds for public rows), so among a million items it expected a few
//! dozen matches where there were 100,000 and read every one of them to
//! find the newest. `public_search_doc` has one narrow row per public
//! item — its id, what the public list filters and sorts by, and its
//! `tsvector` — so its statistics are the public search's own, a match
//! reads narrow rows, and the newest matches come from one index walk.
//!
//! It is kept by a trigger on `feedback_item`, in the same transaction as
//! the change that publishes, edits or withdraws an item (the intake's
//! insert of an unpublished item does not call it). The GIN index over
//! `feedback_item` is no longer read and is dropped.
//!
//! SQLite's FTS table is walked newest first by its rowid, which grows as
//! public text is written, and every publication (an edit of the public
//! text is one) sets `published_at` to its time: so its rowid order is
//! the publication order. Its first filling (migration 13) followed no
//! order; it is filled again here in publication order.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const POSTGRES_UP: [&str; 9] = [
    "CREATE TABLE public_search_doc (\
         item_id uuid PRIMARY KEY, \
         published_at timestamptz NOT NULL, \
         tracking_code text NOT NULL, \
         handling_agency_id uuid, \
         field_id uuid, \
         kind text NOT NULL, \
         tsv tsvector NOT NULL)",
    "INSERT INTO public_search_doc \
         SELECT id, coalesce(published_at, public_changed_at, received_at), tracking_code, \
                handling_agency_id, field_id, kind, public_search_tsv \
         FROM feedback_item WHERE public_search_text IS NOT NULL",
    "CREATE INDEX idx_public_search_doc_tsv ON public_search_doc USING gin (tsv)",
    "CREATE INDEX idx_public_search_doc_newest ON public_search_doc (published_at, tracking_code)",
    "CREATE FUNCTION public_search_doc_sync() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
         IF TG_OP <> 'INSERT' THEN \
             DELETE FROM public_search_doc WHERE item_id = OLD.id; \
         END IF; \
         IF TG_OP <> 'DELETE' AND NEW.public_search_text IS NOT NULL THEN \
             INSERT INTO public_search_doc \
                 VALUES (NEW.id, coalesce(NEW.published_at, NEW.public_changed_at, NEW.received_at), \
                         NEW.tracking_code, NEW.handling_agency_id, NEW.field_id, NEW.kind, \
                         NEW.public_search_tsv); \
         END IF; \
         RETURN NULL; END $$",
    "CREATE TRIGGER feedback_item_public_search_doc_insert AFTER INSERT ON feedback_item \
         FOR EACH ROW WHEN (NEW.public_search_text IS NOT NULL) \
         EXECUTE FUNCTION public_search_doc_sync()",
    "CREATE TRIGGER feedback_item_public_search_doc_update \
         AFTER UPDATE OF public_search_text, published_at, tracking_code, handling_agency_id, \
             field_id, kind ON feedback_item \
         FOR EACH ROW WHEN (OLD.public_search_text IS NOT NULL OR NEW.public_search_text IS NOT NULL) \
         EXECUTE FUNCTION public_search_doc_sync()",
    "CREATE TRIGGER feedback_item_public_search_doc_delete AFTER DELETE ON feedback_item \
         FOR EACH ROW WHEN (OLD.public_search_text IS NOT NULL) \
         EXECUTE FUNCTION public_search_doc_sync()",
    "DROP INDEX IF EXISTS idx_feedback_item_public_search_tsv",
];

const SQLITE_UP: [&str; 2] = [
    "DELETE FROM public_search",
    "INSERT INTO public_search(item_id, public_search_text) \
         SELECT id, public_search_text FROM feedback_item WHERE public_search_text IS NOT NULL \
         ORDER BY published_at, tracking_code",
];

const POSTGRES_DOWN: [&str; 6] = [
    "CREATE INDEX IF NOT EXISTS idx_feedback_item_public_search_tsv ON feedback_item \
         USING gin (public_search_tsv) WHERE public_search_text IS NOT NULL",
    "DROP TRIGGER IF EXISTS feedback_item_public_search_doc_delete ON feedback_item",
    "DROP TRIGGER IF EXISTS feedback_item_public_search_doc_update ON feedback_item",
    "DROP TRIGGER IF EXISTS feedback_item_public_search_doc_insert ON feedback_item",
    "DROP FUNCTION IF EXISTS public_search_doc_sync()",
    "DROP TABLE IF EXISTS public_search_doc",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let statements: &[&str] = match manager.get_database_backend() {
            DbBackend::Postgres => &POSTGRES_UP,
            _ => &SQLITE_UP,
        };
        for sql in statements {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        for sql in POSTGRES_DOWN {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }
}
