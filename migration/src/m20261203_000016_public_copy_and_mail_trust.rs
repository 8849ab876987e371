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

const POSTGRES_UP: [&str; 8] = [
    "DROP INDEX IF EXISTS idx_feedback_item_public_search_tsv",
    "CREATE INDEX idx_feedback_item_public_search_tsv ON feedback_item \
         USING gin (public_search_tsv) WHERE public_search_text IS NOT NULL",
    "ALTER TABLE public_search_word ADD COLUMN items integer NOT NULL DEFAULT 0",
    "DELETE FROM public_search_word",
    "INSERT INTO public_search_word (word, items) \
         SELECT w, count(*) FROM feedback_item, unnest(tsvector_to_array(public_search_tsv)) AS w \
         WHERE public_search_text IS NOT NULL AND w !~ '[0-9]' GROUP BY w",
    // Each word counted once per item (a tsvector's lexemes are
    // distinct); a word no published item has any more is removed.
    "CREATE OR REPLACE FUNCTION public_search_words() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
         IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.public_search_text IS NOT NULL THEN \
             UPDATE public_search_word SET items = items - 1 \
                 WHERE word IN (SELECT w FROM unnest(tsvector_to_array(OLD.public_search_tsv)) AS w); \
             DELETE FROM public_search_word WHERE items <= 0; \
         END IF; \
         IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.public_search_text IS NOT NULL THEN \
             INSERT INTO public_search_word (word, items) \
                 SELECT w, 1 FROM unnest(tsvector_to_array(NEW.public_search_tsv)) AS w \
                 WHERE w !~ '[0-9]' \
             ON CONFLICT (word) DO UPDATE SET items = public_search_word.items + 1; \
         END IF; \
         RETURN NULL; END $$",
    "DROP TRIGGER IF EXISTS feedback_item_public_search_words ON feedback_item",
    "CREATE TRIGGER feedback_item_public_search_words \
         AFTER INSERT OR DELETE OR UPDATE OF public_search_text ON feedback_item \
         FOR EACH ROW EXECUTE FUNCTION public_search_words()",
];

const POSTGRES_DOWN: [&str; 6] = [
    "DROP TRIGGER IF EXISTS feedback_item_public_search_words ON feedback_item",
    "CREATE OR REPLACE FUNCTION public_search_words() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
         IF NEW.public_search_text IS NOT NULL THEN \
             INSERT INTO public_search_word (word) \
                 SELECT w FROM unnest(tsvector_to_array(NEW.public_search_tsv)) AS w \
                 WHERE w !~ '[0-9]' ON CONFLICT DO NOTHING; \
         END IF; RETURN NULL; END $$",
    "CREATE TRIGGER feedback_item_public_search_words \
         AFTER INSERT OR UPDATE OF public_search_text ON feedback_item \
         FOR EACH ROW EXECUTE FUNCTION public_search_words()",
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
