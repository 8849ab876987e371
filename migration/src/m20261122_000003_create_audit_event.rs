//! The append-only audit log. Every change to an item writes one event in
//! the same transaction as the change; the database itself refuses UPDATE
//! and DELETE on this table, so not even a bug in the service can rewrite
//! history (government records must be tamper-evident, DOMAIN §11).

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DbBackend};

use crate::m20261122_000002_create_feedback::FeedbackItem;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuditEvent::Table)
                    .col(uuid(AuditEvent::Id).primary_key())
                    .col(uuid_null(AuditEvent::FeedbackItemId))
                    .col(string(AuditEvent::ActorKind))
                    .col(string_null(AuditEvent::ActorId))
                    .col(string(AuditEvent::Action))
                    .col(string_null(AuditEvent::FromState))
                    .col(string_null(AuditEvent::ToState))
                    .col(text_null(AuditEvent::Reason))
                    .col(json(AuditEvent::Details))
                    .col(string_null(AuditEvent::RequestId))
                    .col(timestamp_with_time_zone(AuditEvent::OccurredAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_audit_event_feedback_item")
                            .from(AuditEvent::Table, AuditEvent::FeedbackItemId)
                            .to(FeedbackItem::Table, FeedbackItem::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_audit_event_item")
                    .table(AuditEvent::Table)
                    .col(AuditEvent::FeedbackItemId)
                    .col(AuditEvent::OccurredAt)
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Sqlite => {
                db.execute_unprepared(
                    "CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event \
                     BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event \
                     BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END",
                )
                .await?;
            }
            DbBackend::Postgres => {
                db.execute_unprepared(
                    "CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ \
                     BEGIN RAISE EXCEPTION 'audit_event is append-only'; END $$",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event \
                     FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()",
                )
                .await?;
            }
            other => {
                return Err(DbErr::Migration(format!(
                    "unsupported database backend {other:?}"
                )));
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if manager.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared("DROP TRIGGER IF EXISTS audit_event_append_only ON audit_event")
                .await?;
            db.execute_unprepared("DROP FUNCTION IF EXISTS audit_event_append_only()")
                .await?;
        }
        // Dropping the table drops SQLite's triggers with it.
        manager
            .drop_table(Table::drop().table(AuditEvent::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum AuditEvent {
    Table,
    Id,
    FeedbackItemId,
    ActorKind,
    ActorId,
    Action,
    FromState,
    ToState,
    Reason,
    Details,
    RequestId,
    OccurredAt,
}
