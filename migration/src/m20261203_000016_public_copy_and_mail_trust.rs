//! What hostile testing found in publication and mail, in the schema:
//!
//! - The public answer is a redacted copy (`answer_redacted`), like the
//!   question and the title; what was published before keeps its answer
//!   as it was published.
//! - An item is public while it has public text, whatever later happens
//!   to the case (closing it no longer hides it): the partial indexes of
//!   the public list and search are rebuilt on `public_search_text IS NOT
//!   NULL` alone.
//! - `public_changed_at`: when what the public sees of an item last
//!   changed (publish, unpublish, an edit of the public text), the one
//!   source of the public pages' `Last-Modified` and the feed's `updated`
//!   (a citizen's rating moves `updated_at`, which is private).
//! - PostgreSQL's typo dictionary counts in how many published items each
//!   word occurs, so a word leaves it with the last item that had it.
//! - `form_stamp_use`: a form stamp is used once (its nonce is remembered
//!   until the stamp would expire anyway), shared by every instance.

use sea_orm_migration::sea_orm::DbBackend;
use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261122_000002_create_feedback::FeedbackItem;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum PublicCopy {
    AnswerRedacted,
    PublicChangedAt,
}

#[derive(DeriveIden)]
enum FormStampUse {
    Table,
    Nonce,
    KeyHash,
    ExpiresAt,
}

/// Items published before this migration: their public answer is the one
/// the public has been reading, and their public version starts at their
/// publication.
const BACKFILL: &str = "UPDATE feedback_item \
     SET answer_redacted = answer, public_changed_at = published_at \
     WHERE public_search_text IS NOT NULL";

const ORDER_INDEX: &str = "CREATE INDEX idx_feedback_item_public_order \
     ON feedback_item (published_at, tracking_code) \
     WHERE public_search_text IS NOT NULL";

const OLD_ORDER_INDEX: &str = "CREATE INDEX idx_feedback_item_public_order \
     ON feedback_item (published_at, tracking_code) \
     WHERE state = 'published' AND public_search_text IS NOT NULL";

/// PostgreSQL: the search index over every public copy, and the typo
/// dictionary counting, for each word (never one with digits: codes and
/// dates are not words to suggest), the public items that have it.
const POSTGRES_UP: [&str; 14] = [
    "DROP INDEX IF EXISTS idx_feedback_item_public_search_tsv",
    "CREATE INDEX idx_feedback_item_public_search_tsv ON feedback_item \
         USING gin (public_search_tsv) WHERE public_search_text IS NOT NULL",
    "ALTER TABLE public_search_word ADD COLUMN items integer NOT NULL DEFAULT 0",
    "DELETE FROM public_search_word",
    "INSERT INTO public_search_word (word, items) \
         SELECT w, count(*) FROM feedback_item, unnest(tsvector_to_array(public_search_tsv)) AS w \
         WHERE public_search_text IS NOT NULL AND w !~ '[0-9]' GROUP BY w",
    // Words no published item has any more are found by this index alone.
    "CREATE INDEX idx_public_search_word_gone ON public_search_word (word) WHERE items <= 0",
    "DROP TRIGGER IF EXISTS feedback_item_public_search_words ON feedback_item",
    "DROP FUNCTION IF EXISTS public_search_words()",
    // Each word counted once per item (a tsvector's lexemes are
    // distinct). The counts move once per statement, by the words of all
    // the rows it changed together: a row-level trigger would update the
    // same common words once per row, and within one transaction (a bulk
    // publication, a migration) each update walks every version before it.
    "CREATE FUNCTION public_search_words_added() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
         INSERT INTO public_search_word (word, items) \
             SELECT w, count(*) FROM new_rows, unnest(tsvector_to_array(public_search_tsv)) AS w \
             WHERE public_search_text IS NOT NULL AND w !~ '[0-9]' GROUP BY w \
         ON CONFLICT (word) DO UPDATE SET items = public_search_word.items + EXCLUDED.items; \
         RETURN NULL; END $$",
    "CREATE FUNCTION public_search_words_removed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
         UPDATE public_search_word p SET items = p.items - gone.n \
             FROM (SELECT w, count(*) AS n FROM old_rows, unnest(tsvector_to_array(public_search_tsv)) AS w \
                   WHERE public_search_text IS NOT NULL GROUP BY w) AS gone \
             WHERE p.word = gone.w; \
         DELETE FROM public_search_word WHERE items <= 0; \
         RETURN NULL; END $$",
    "CREATE FUNCTION public_search_words_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
         INSERT INTO public_search_word (word, items) \
             SELECT w, sum(d)::integer FROM ( \
                 SELECT w, -1 AS d FROM old_rows o JOIN new_rows n ON n.id = o.id, \
                     unnest(tsvector_to_array(o.public_search_tsv)) AS w \
                 WHERE o.public_search_text IS NOT NULL \
                   AND o.public_search_text IS DISTINCT FROM n.public_search_text \
                 UNION ALL \
                 SELECT w, 1 FROM old_rows o JOIN new_rows n ON n.id = o.id, \
                     unnest(tsvector_to_array(n.public_search_tsv)) AS w \
                 WHERE n.public_search_text IS NOT NULL \
                   AND o.public_search_text IS DISTINCT FROM n.public_search_text) AS delta \
             WHERE w !~ '[0-9]' GROUP BY w HAVING sum(d) <> 0 \
         ON CONFLICT (word) DO UPDATE SET items = public_search_word.items + EXCLUDED.items; \
         DELETE FROM public_search_word WHERE items <= 0; \
         RETURN NULL; END $$",
    "CREATE TRIGGER feedback_item_public_search_added AFTER INSERT ON feedback_item \
         REFERENCING NEW TABLE AS new_rows \
         FOR EACH STATEMENT EXECUTE FUNCTION public_search_words_added()",
    "CREATE TRIGGER feedback_item_public_search_removed AFTER DELETE ON feedback_item \
         REFERENCING OLD TABLE AS old_rows \
         FOR EACH STATEMENT EXECUTE FUNCTION public_search_words_removed()",
    "CREATE TRIGGER feedback_item_public_search_changed AFTER UPDATE ON feedback_item \
         REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows \
         FOR EACH STATEMENT EXECUTE FUNCTION public_search_words_changed()",
];

const POSTGRES_DOWN: [&str; 12] = [
    "DROP TRIGGER IF EXISTS feedback_item_public_search_added ON feedback_item",
    "DROP TRIGGER IF EXISTS feedback_item_public_search_removed ON feedback_item",
    "DROP TRIGGER IF EXISTS feedback_item_public_search_changed ON feedback_item",
    "DROP FUNCTION IF EXISTS public_search_words_added()",
    "DROP FUNCTION IF EXISTS public_search_words_removed()",
    "DROP FUNCTION IF EXISTS public_search_words_changed()",
    "CREATE OR REPLACE FUNCTION public_search_words() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
         IF NEW.public_search_text IS NOT NULL THEN \
             INSERT INTO public_search_word (word) \
                 SELECT w FROM unnest(tsvector_to_array(NEW.public_search_tsv)) AS w \
                 WHERE w !~ '[0-9]' ON CONFLICT DO NOTHING; \
         END IF; RETURN NULL; END $$",
    "CREATE TRIGGER feedback_item_public_search_words \
         AFTER INSERT OR UPDATE OF public_search_text ON feedback_item \
         FOR EACH ROW EXECUTE FUNCTION public_search_words()",
    "DROP INDEX IF EXISTS idx_public_search_word_gone",
    "ALTER TABLE public_search_word DROP COLUMN items",
    "DROP INDEX IF EXISTS idx_feedback_item_public_search_tsv",
    "CREATE INDEX idx_feedback_item_public_search_tsv ON feedback_item \
         USING gin (public_search_tsv) WHERE state = 'published' AND public_search_text IS NOT NULL",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for mut column in [
            text_null(PublicCopy::AnswerRedacted),
            timestamp_with_time_zone_null(PublicCopy::PublicChangedAt),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(FeedbackItem::Table)
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        db.execute_unprepared(BACKFILL).await?;
        // The newest public change is read on every public request.
        manager
            .create_index(
                Index::create()
                    .name("idx_feedback_item_public_changed")
                    .table(FeedbackItem::Table)
                    .col(PublicCopy::PublicChangedAt)
                    .to_owned(),
            )
            .await?;
        db.execute_unprepared("DROP INDEX IF EXISTS idx_feedback_item_public_order")
            .await?;
        db.execute_unprepared(ORDER_INDEX).await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            for sql in POSTGRES_UP {
                db.execute_unprepared(sql).await?;
            }
        }
        manager
            .create_table(
                Table::create()
                    .table(FormStampUse::Table)
                    .col(string(FormStampUse::Nonce).primary_key())
                    .col(string(FormStampUse::KeyHash))
                    .col(timestamp_with_time_zone(FormStampUse::ExpiresAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_form_stamp_use_expires")
                    .table(FormStampUse::Table)
                    .col(FormStampUse::ExpiresAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        manager
            .drop_table(Table::drop().table(FormStampUse::Table).to_owned())
            .await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            for sql in POSTGRES_DOWN {
                db.execute_unprepared(sql).await?;
            }
        }
        db.execute_unprepared("DROP INDEX IF EXISTS idx_feedback_item_public_order")
            .await?;
        db.execute_unprepared(OLD_ORDER_INDEX).await?;
        db.execute_unprepared("DROP INDEX IF EXISTS idx_feedback_item_public_changed")
            .await?;
        for column in [PublicCopy::PublicChangedAt, PublicCopy::AnswerRedacted] {
            manager
                .alter_table(
                    Table::alter()
                        .table(FeedbackItem::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
