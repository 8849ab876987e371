//! Indexed, ranked search of the public Q&A, so that a search
//! over 100,000 published answers costs an index lookup rather than a scan
//! of every text. Both backends index the folded public text (diacritics
//! removed in Rust before it is stored) word by word; Vietnamese is written
//! in syllables, so a word is a syllable and needs no stemmer.
//!
//! - SQLite: an FTS5 table of the folded public text and the item's id,
//!   kept in step by triggers, ranked by `bm25`.
//! - PostgreSQL: a stored `tsvector` (config `simple`) with a GIN index,
//!   ranked by `ts_rank`; and, for typos, the distinct words of published
//!   text in `public_search_word` (kept by a trigger), matched with
//!   `fuzzystrmatch`'s `levenshtein` when the extension can be created
//!   (best effort: without it search stays exact).
//!
//! The list itself (newest first) gets a partial index over published rows.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The rows the public sees (the service's filter, word for word, so the
/// planners use these partial indexes).
const ORDER_INDEX: &str = "CREATE INDEX idx_feedback_item_public_order \
     ON feedback_item (published_at, tracking_code) \
     WHERE state = 'published' AND public_search_text IS NOT NULL";

/// The FTS5 table keeps its own copy of the folded text and the item's
/// id: `feedback_item` has a UUID key, so its implicit rowid may change on
/// `VACUUM` and must not be what the index points at. Publishing and
/// unpublishing (the only writes) delete by id, a scan of the search table
/// that is rare and cheap beside the write itself.
const SQLITE_UP: [&str; 5] = [
    "CREATE VIRTUAL TABLE public_search USING fts5(\
         item_id UNINDEXED, public_search_text, tokenize='unicode61 remove_diacritics 0')",
    "INSERT INTO public_search(item_id, public_search_text) \
         SELECT id, public_search_text FROM feedback_item WHERE public_search_text IS NOT NULL",
    "CREATE TRIGGER feedback_item_public_search_insert AFTER INSERT ON feedback_item \
         WHEN new.public_search_text IS NOT NULL BEGIN \
         INSERT INTO public_search(item_id, public_search_text) VALUES (new.id, new.public_search_text); END",
    "CREATE TRIGGER feedback_item_public_search_update AFTER UPDATE OF public_search_text ON feedback_item BEGIN \
         DELETE FROM public_search WHERE item_id = old.id; \
         INSERT INTO public_search(item_id, public_search_text) \
             SELECT new.id, new.public_search_text WHERE new.public_search_text IS NOT NULL; END",
    "CREATE TRIGGER feedback_item_public_search_delete AFTER DELETE ON feedback_item BEGIN \
         DELETE FROM public_search WHERE item_id = old.id; END",
];

const POSTGRES_UP: [&str; 8] = [
    "ALTER TABLE feedback_item ADD COLUMN public_search_tsv tsvector \
         GENERATED ALWAYS AS (to_tsvector('simple', coalesce(public_search_text, ''))) STORED",
    "CREATE INDEX idx_feedback_item_public_search_tsv ON feedback_item \
         USING gin (public_search_tsv) WHERE state = 'published' AND public_search_text IS NOT NULL",
    "CREATE TABLE public_search_word (word text PRIMARY KEY)",
    // Numbers (dates, document numbers) are not words to correct towards.
    "INSERT INTO public_search_word (word) \
         SELECT DISTINCT w FROM feedback_item, unnest(tsvector_to_array(public_search_tsv)) AS w \
         WHERE public_search_text IS NOT NULL AND w !~ '[0-9]' ON CONFLICT DO NOTHING",
    "CREATE FUNCTION public_search_words() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
         IF NEW.public_search_text IS NOT NULL THEN \
             INSERT INTO public_search_word (word) \
                 SELECT w FROM unnest(tsvector_to_array(NEW.public_search_tsv)) AS w \
                 WHERE w !~ '[0-9]' ON CONFLICT DO NOTHING; \
         END IF; RETURN NULL; END $$",
    "CREATE TRIGGER feedback_item_public_search_words \
         AFTER INSERT OR UPDATE OF public_search_text ON feedback_item \
         FOR EACH ROW EXECUTE FUNCTION public_search_words()",
    "DO $$ BEGIN \
         CREATE EXTENSION IF NOT EXISTS fuzzystrmatch; \
     EXCEPTION WHEN OTHERS THEN \
         RAISE NOTICE 'fuzzystrmatch is not available (%); public search will not correct typos', SQLERRM; \
     END $$",
    ORDER_INDEX,
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let statements: &[&str] = match manager.get_database_backend() {
            DbBackend::Sqlite => &SQLITE_UP,
            DbBackend::Postgres => &POSTGRES_UP,
            other => {
                return Err(DbErr::Migration(format!(
                    "unsupported database backend {other:?}"
                )));
            }
        };
        for sql in statements {
            db.execute_unprepared(sql).await?;
        }
        if manager.get_database_backend() == DbBackend::Sqlite {
            db.execute_unprepared(ORDER_INDEX).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let statements: &[&str] = match manager.get_database_backend() {
            DbBackend::Sqlite => &[
                "DROP TRIGGER IF EXISTS feedback_item_public_search_delete",
                "DROP TRIGGER IF EXISTS feedback_item_public_search_update",
                "DROP TRIGGER IF EXISTS feedback_item_public_search_insert",
                "DROP TABLE IF EXISTS public_search",
                "DROP INDEX IF EXISTS idx_feedback_item_public_order",
            ],
            // The extension may serve others in this database: it stays.
            _ => &[
                "DROP TRIGGER IF EXISTS feedback_item_public_search_words ON feedback_item",
                "DROP FUNCTION IF EXISTS public_search_words()",
                "DROP TABLE IF EXISTS public_search_word",
                "DROP INDEX IF EXISTS idx_feedback_item_public_search_tsv",
                "ALTER TABLE feedback_item DROP COLUMN IF EXISTS public_search_tsv",
                "DROP INDEX IF EXISTS idx_feedback_item_public_order",
            ],
        };
        for sql in statements {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }
}
