//! The rows behind the report's exports and the dashboard's charts.
//! Each query is a range over one indexed time column; the
//! exports are bounded (the caller asks for at most a limit and is told
//! when there were more).

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, JoinType};
use sea_orm::{
    ColumnTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
};
use uuid::Uuid;

use super::entities::{feedback_deadline, feedback_item};
use super::statistics::{OPEN_STATES, StatsScope, answer_deadline, scoped};
use super::{Store, StoreError};

/// One item as the exports list it: what it is and how it was handled,
/// never who sent it (a spreadsheet travels further than the service).
#[derive(Debug, Clone, FromQueryResult)]
pub struct ExportRow {
    pub tracking_code: String,
    pub received_at: DateTime<Utc>,
    pub channel: String,
    pub kind: String,
    pub content_category: Option<String>,
    pub field_id: Option<Uuid>,
    pub handling_agency_id: Option<Uuid>,
    pub state: String,
    pub title: String,
    pub rejection_code: Option<String>,
    pub answered_at: Option<DateTime<Utc>>,
    pub published_at: Option<DateTime<Utc>>,
    pub rating_score: Option<i32>,
    pub entered_by_staff_id: Option<Uuid>,
    pub original_due_at: Option<DateTime<Utc>>,
    pub due_at: Option<DateTime<Utc>>,
}

/// What the dashboard draws.
#[derive(Debug, Clone, Default)]
pub struct DashboardSeries {
    /// (received, channel) of items received since the first week drawn.
    pub received: Vec<(DateTime<Utc>, String)>,
    /// When answers were published, since the first month drawn.
    pub published: Vec<DateTime<Utc>>,
    /// The answer deadlines open items have passed.
    pub overdue_since: Vec<DateTime<Utc>>,
}

impl Store {
    /// Items received in `[from, to)` in `scope`, oldest first, at most
    /// `limit`; the flag says whether more were left out.
    pub async fn export_rows(
        &self,
        scope: StatsScope,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: u64,
    ) -> Result<(Vec<ExportRow>, bool), StoreError> {
        use feedback_item::Column as C;
        let mut query = feedback_item::Entity::find()
            .select_only()
            .columns([
                C::TrackingCode,
                C::ReceivedAt,
                C::Channel,
                C::Kind,
                C::ContentCategory,
                C::FieldId,
                C::HandlingAgencyId,
                C::State,
                C::Title,
                C::RejectionCode,
                C::AnsweredAt,
                C::PublishedAt,
                C::RatingScore,
                C::EnteredByStaffId,
            ])
            .expr_as(
                Expr::col((
                    feedback_deadline::Entity,
                    feedback_deadline::Column::OriginalDueAt,
                )),
                "original_due_at",
            )
            .expr_as(
                Expr::col((feedback_deadline::Entity, feedback_deadline::Column::DueAt)),
                "due_at",
            )
            .filter(scoped(&scope))
            .filter(C::ReceivedAt.gte(from))
            .filter(C::ReceivedAt.lt(to))
            .order_by_asc(C::ReceivedAt)
            .order_by_asc(C::Id)
            .limit(limit + 1);
        QueryTrait::query(&mut query).join(
            JoinType::LeftJoin,
            feedback_deadline::Entity,
            answer_deadline(),
        );
        let mut rows = query
            .into_model::<ExportRow>()
            .all(self.connection())
            .await?;
        let more = rows.len() as u64 > limit;
        rows.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok((rows, more))
    }

    /// The dashboard's series: received since `received_since`, published
    /// since `published_since`, and the deadlines open items have passed
    /// by `now`.
    pub async fn dashboard_series(
        &self,
        scope: StatsScope,
        received_since: DateTime<Utc>,
        published_since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<DashboardSeries, StoreError> {
        use feedback_item::Column as C;
        let db = self.connection();
        let received: Vec<(DateTime<Utc>, String)> = feedback_item::Entity::find()
            .select_only()
            .column(C::ReceivedAt)
            .column(C::Channel)
            .filter(scoped(&scope))
            .filter(C::ReceivedAt.gte(received_since))
            .filter(C::ReceivedAt.lt(now))
            .into_tuple()
            .all(db)
            .await?;
        let published: Vec<DateTime<Utc>> = feedback_item::Entity::find()
            .select_only()
            .column(C::PublishedAt)
            .filter(scoped(&scope))
            .filter(C::PublishedAt.gte(published_since))
            .filter(C::PublishedAt.lt(now))
            .filter(C::PublicSearchText.is_not_null())
            .into_tuple::<Option<DateTime<Utc>>>()
            .all(db)
            .await?
            .into_iter()
            .flatten()
            .collect();
        let due = Expr::col((feedback_deadline::Entity, feedback_deadline::Column::DueAt));
        let mut overdue = feedback_item::Entity::find()
            .select_only()
            .expr(due.clone())
            .filter(scoped(&scope))
            .filter(C::State.is_in(OPEN_STATES))
            .filter(due.lt(now));
        QueryTrait::query(&mut overdue).join(
            JoinType::InnerJoin,
            feedback_deadline::Entity,
            answer_deadline(),
        );
        let overdue_since: Vec<DateTime<Utc>> = overdue.into_tuple().all(db).await?;
        Ok(DashboardSeries {
            received,
            published,
            overdue_since,
        })
    }
}
