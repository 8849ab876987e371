//! The figures the metrics endpoint shows about the work, each one grouped
//! count over a bounded set of values (channels, notice statuses, mail
//! outcomes): never a personal datum, never an unbounded label.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, ExprTrait, QueryFilter, QueryOrder, QuerySelect};

use super::entities::{feedback_item, inbound_mail, notice};
use super::{Store, StoreError};

/// Counts read for the metrics endpoint.
#[derive(Debug, Clone, Default)]
pub struct WorkFigures {
    /// Items received, per channel (all time).
    pub received_by_channel: Vec<(String, i64)>,
    /// Notices per status (queued, sent, skipped, failed).
    pub notices_by_status: Vec<(String, i64)>,
    /// When the oldest notice still queued was queued.
    pub oldest_queued_notice: Option<DateTime<Utc>>,
    /// Inbound e-mails per outcome.
    pub inbound_by_outcome: Vec<(String, i64)>,
}

impl Store {
    pub async fn work_figures(&self) -> Result<WorkFigures, StoreError> {
        let db = self.connection();
        let received_by_channel = feedback_item::Entity::find()
            .select_only()
            .column(feedback_item::Column::Channel)
            .column_as(Expr::col(feedback_item::Column::Id).count(), "n")
            .group_by(feedback_item::Column::Channel)
            .into_tuple::<(String, i64)>()
            .all(db)
            .await?;
        let notices_by_status = notice::Entity::find()
            .select_only()
            .column(notice::Column::Status)
            .column_as(Expr::col(notice::Column::Id).count(), "n")
            .group_by(notice::Column::Status)
            .into_tuple::<(String, i64)>()
            .all(db)
            .await?;
        let oldest_queued_notice = notice::Entity::find()
            .filter(notice::Column::Status.eq("queued"))
            .order_by_asc(notice::Column::CreatedAt)
            .select_only()
            .column(notice::Column::CreatedAt)
            .into_tuple::<DateTime<Utc>>()
            .one(db)
            .await?;
        let inbound_by_outcome = inbound_mail::Entity::find()
            .select_only()
            .column(inbound_mail::Column::Outcome)
            .column_as(Expr::col(inbound_mail::Column::Id).count(), "n")
            .group_by(inbound_mail::Column::Outcome)
            .into_tuple::<(String, i64)>()
            .all(db)
            .await?;
        Ok(WorkFigures {
            received_by_channel,
            notices_by_status,
            oldest_queued_notice,
            inbound_by_outcome,
        })
    }

    /// Connections of the pool: (open, idle, most allowed).
    pub fn pool_figures(&self) -> (u32, u32, u32) {
        let db = self.connection();
        match db.get_database_backend() {
            sea_orm::DatabaseBackend::Postgres => {
                let pool = db.get_postgres_connection_pool();
                (
                    pool.size(),
                    u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
                    pool.options().get_max_connections(),
                )
            }
            _ => {
                let pool = db.get_sqlite_connection_pool();
                (
                    pool.size(),
                    u32::try_from(pool.num_idle()).unwrap_or(u32::MAX),
                    pool.options().get_max_connections(),
                )
            }
        }
    }
}
