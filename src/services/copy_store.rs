//! Growing out of SQLite: `pakn copy-store --to postgres://…` moves
//! everything an office has — items, attachments, mail, the audit log,
//! staff, the calendar, the directory, sequences — from the embedded
//! database into an empty PostgreSQL database, table by table through the
//! same entities the service uses (so every value keeps its type), parents
//! before children. Refuses a target that has any table; verifies the row
//! counts of every table and a sample of items field by field afterwards.

use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DbBackend, EntityTrait, IntoActiveModel, Iterable,
    PaginatorTrait, PrimaryKeyToColumn, QueryOrder, Statement,
};
use serde::Serialize;

use crate::store::Store;
use crate::store::entities::*;

#[derive(Debug, Serialize)]
pub struct CopyReport {
    pub tables: Vec<(String, u64)>,
    pub sample_checked: usize,
}

const PAGE: u64 = 200;

/// Copies every row of `E`, a page at a time, in primary-key order.
async fn copy_table<E>(from: &Store, to: &Store) -> anyhow::Result<(String, u64)>
where
    E: EntityTrait,
    E::Model: IntoActiveModel<E::ActiveModel> + Sync,
    E::ActiveModel: ActiveModelTrait<Entity = E> + Send,
{
    let mut query = E::find();
    for key in E::PrimaryKey::iter() {
        query = query.order_by_asc(key.into_column());
    }
    let mut pages = query.paginate(from.connection(), PAGE);
    let mut copied = 0u64;
    while let Some(rows) = pages.fetch_and_next().await? {
        if rows.is_empty() {
            break;
        }
        copied += rows.len() as u64;
        E::insert_many(rows.into_iter().map(IntoActiveModel::into_active_model))
            .exec_without_returning(to.connection())
            .await?;
    }
    let name = E::default().table_name().to_string();
    let there = E::find().count(to.connection()).await?;
    if there != copied {
        anyhow::bail!("{name}: copied {copied} rows but the target has {there}");
    }
    Ok((name, copied))
}

/// Agencies name their parent: parents go first.
async fn copy_agencies(from: &Store, to: &Store) -> anyhow::Result<(String, u64)> {
    let mut left = agency::Entity::find().all(from.connection()).await?;
    let mut done: Vec<uuid::Uuid> = Vec::new();
    while !left.is_empty() {
        let (ready, rest): (Vec<_>, Vec<_>) = left
            .into_iter()
            .partition(|a| a.parent_id.is_none_or(|p| done.contains(&p)));
        if ready.is_empty() {
            anyhow::bail!("agency: a parent is missing or the parents form a cycle");
        }
        done.extend(ready.iter().map(|a| a.id));
        agency::Entity::insert_many(ready.into_iter().map(IntoActiveModel::into_active_model))
            .exec_without_returning(to.connection())
            .await?;
        left = rest;
    }
    Ok(("agency".into(), done.len() as u64))
}

async fn target_is_empty(to: &Store) -> anyhow::Result<bool> {
    let db = to.connection();
    let n = db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = 'public'"
                .to_string(),
        ))
        .await?
        .map(|r| r.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0);
    Ok(n == 0)
}

/// What must survive the copy exactly (times to the microsecond, as
/// PostgreSQL keeps them).
fn same_item(m: &feedback_item::Model) -> String {
    let t = |d: Option<chrono::DateTime<chrono::Utc>>| d.map(|d| d.timestamp_micros());
    format!(
        "{:?}",
        (
            (
                &m.tracking_code,
                &m.lookup_token_hash,
                &m.kind,
                &m.channel,
                &m.state
            ),
            (
                &m.title,
                &m.content,
                &m.answer,
                &m.question_redacted,
                &m.title_redacted
            ),
            (
                &m.submitter_name,
                &m.address_detail,
                &m.phone,
                &m.email,
                m.consent_to_publish
            ),
            (
                m.receiving_agency_id,
                m.handling_agency_id,
                m.version,
                m.merged_into_id
            ),
            (
                t(Some(m.received_at)),
                t(m.due_at),
                t(m.answered_at),
                t(m.published_at)
            ),
        )
    )
}

/// `pakn copy-store --to URL`: from the configured SQLite database.
pub async fn copy(from: &Store, to: &Store) -> anyhow::Result<CopyReport> {
    if from.connection().get_database_backend() != DbBackend::Sqlite {
        anyhow::bail!(
            "copy-store moves the embedded SQLite database to PostgreSQL; the configured database is not SQLite"
        );
    }
    if to.connection().get_database_backend() != DbBackend::Postgres {
        anyhow::bail!("the target must be a postgres:// database");
    }
    if !target_is_empty(to).await? {
        anyhow::bail!("the target database is not empty; copy only into a new, empty database");
    }
    from.migrate_up().await?;
    to.migrate_up().await?;
    // The target's migrations seed a directory version and may seed other
    // bookkeeping rows; the copy brings the source's instead.
    for table in ["directory_version", "calendar_revision", "service_secret"] {
        to.connection()
            .execute_unprepared(&format!("DELETE FROM {table}"))
            .await?;
    }
    let mut tables = Vec::new();
    tables.push(copy_table::<administrative_unit::Entity>(from, to).await?);
    tables.push(copy_table::<field::Entity>(from, to).await?);
    tables.push(copy_agencies(from, to).await?);
    tables.push(copy_table::<agency_field::Entity>(from, to).await?);
    tables.push(copy_table::<agency_succession::Entity>(from, to).await?);
    tables.push(copy_table::<directory_version::Entity>(from, to).await?);
    tables.push(copy_table::<routing_rule::Entity>(from, to).await?);
    tables.push(copy_table::<staff_account::Entity>(from, to).await?);
    tables.push(copy_table::<staff_session::Entity>(from, to).await?);
    tables.push(copy_table::<staff_password_link::Entity>(from, to).await?);
    tables.push(copy_table::<api_key::Entity>(from, to).await?);
    tables.push(copy_table::<saved_view::Entity>(from, to).await?);
    tables.push(copy_table::<answer_template::Entity>(from, to).await?);
    tables.push(copy_table::<calendar_revision::Entity>(from, to).await?);
    tables.push(copy_table::<calendar_year::Entity>(from, to).await?);
    tables.push(copy_table::<calendar_day::Entity>(from, to).await?);
    tables.push(copy_table::<feedback_item::Entity>(from, to).await?);
    tables.push(copy_table::<attachment_blob::Entity>(from, to).await?);
    tables.push(copy_table::<attachment::Entity>(from, to).await?);
    tables.push(copy_table::<feedback_deadline::Entity>(from, to).await?);
    tables.push(copy_table::<supplement::Entity>(from, to).await?);
    tables.push(copy_table::<coordination::Entity>(from, to).await?);
    tables.push(copy_table::<staff_note::Entity>(from, to).await?);
    tables.push(copy_table::<answer_draft_save::Entity>(from, to).await?);
    tables.push(copy_table::<item_presence::Entity>(from, to).await?);
    tables.push(copy_table::<idempotency_record::Entity>(from, to).await?);
    tables.push(copy_table::<lookup_recovery::Entity>(from, to).await?);
    tables.push(copy_table::<contact_access::Entity>(from, to).await?);
    tables.push(copy_table::<national_record::Entity>(from, to).await?);
    tables.push(copy_table::<outreach_source::Entity>(from, to).await?);
    tables.push(copy_table::<webhook_subscription::Entity>(from, to).await?);
    tables.push(copy_table::<webhook_delivery::Entity>(from, to).await?);
    // Deliveries were copied with their sequence numbers: the next one
    // written on PostgreSQL follows them.
    to.connection()
        .execute_unprepared(
            "SELECT setval(pg_get_serial_sequence('webhook_delivery', 'seq'), \
             COALESCE((SELECT MAX(seq) FROM webhook_delivery), 0) + 1, false)",
        )
        .await?;
    tables.push(copy_table::<inbound_mail::Entity>(from, to).await?);
    tables.push(copy_table::<notice::Entity>(from, to).await?);
    tables.push(copy_table::<mail_address_failure::Entity>(from, to).await?);
    tables.push(copy_table::<imap_mailbox::Entity>(from, to).await?);
    tables.push(copy_table::<audit_event::Entity>(from, to).await?);
    tables.push(copy_table::<form_stamp_use::Entity>(from, to).await?);
    tables.push(copy_table::<service_secret::Entity>(from, to).await?);
    tables.push(copy_table::<tracking_sequence::Entity>(from, to).await?);
    // Leases belong to the processes that hold them: not copied; the
    // kept counts (state and due-hour deltas) are written again by the
    // target's triggers as its items arrive. Every
    // other table of the source must have been: a table added later
    // without a line above stops the copy instead of being left behind.
    let listed = from
        .connection()
        .query_all_raw(Statement::from_string(
            DbBackend::Sqlite,
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
             AND name NOT LIKE 'public_search%' \
             AND name NOT IN ('seaql_migrations', 'service_lease', 'item_state_delta', 'item_due_delta', \
                           'stat_day_delta')"
                .to_string(),
        ))
        .await?;
    for row in listed {
        let name: String = row.try_get_by_index(0)?;
        if !tables.iter().any(|(t, _)| *t == name) {
            anyhow::bail!("table {name} is not copied by this version of copy-store");
        }
    }
    // A sample of items, field by field.
    let sample: Vec<feedback_item::Model> = feedback_item::Entity::find()
        .order_by_asc(feedback_item::Column::ReceivedAt)
        .paginate(from.connection(), 50)
        .fetch_page(0)
        .await?;
    for item in &sample {
        let there = feedback_item::Entity::find_by_id(item.id)
            .one(to.connection())
            .await?;
        if there.as_ref().map(same_item) != Some(same_item(item)) {
            anyhow::bail!("item {} differs after the copy", item.tracking_code);
        }
    }
    Ok(CopyReport {
        tables,
        sample_checked: sample.len(),
    })
}
