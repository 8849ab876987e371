//! The public Q&A's reads (issue #7): only published items, only what was
//! published of them. Nothing here selects a name, a contact, a token or
//! the private original text, so nothing above can leak it.

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::entities::feedback_item;
use super::{Store, StoreError};

/// One published item as the public sees it.
#[derive(Debug, Clone, PartialEq, Eq, sea_orm::FromQueryResult)]
pub struct PublicItem {
    pub tracking_code: String,
    pub title_redacted: Option<String>,
    pub question_redacted: Option<String>,
    pub answer: Option<String>,
    pub kind: String,
    pub field_id: Option<Uuid>,
    pub handling_agency_id: Option<Uuid>,
    pub submitter_type: String,
    pub received_at: DateTime<Utc>,
    pub answered_at: Option<DateTime<Utc>>,
    pub published_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

/// Filters of the public list; `terms` are folded (see
/// `domain::text::fold_for_search`) and must all occur.
#[derive(Debug, Clone, Default)]
pub struct PublicQuery {
    pub terms: Vec<String>,
    pub agency_id: Option<Uuid>,
    pub field_id: Option<Uuid>,
    pub kind: Option<String>,
    /// Published in `[from, to)`.
    pub published_from: Option<DateTime<Utc>>,
    pub published_to: Option<DateTime<Utc>>,
    pub limit: u64,
    pub offset: u64,
}

fn published() -> Condition {
    Condition::all()
        .add(feedback_item::Column::State.eq("published"))
        .add(feedback_item::Column::PublishedAt.is_not_null())
        .add(feedback_item::Column::TitleRedacted.is_not_null())
        .add(feedback_item::Column::QuestionRedacted.is_not_null())
}

fn public_columns<E: QuerySelect>(query: E) -> E {
    use feedback_item::Column as C;
    query.select_only().columns([
        C::TrackingCode,
        C::TitleRedacted,
        C::QuestionRedacted,
        C::Answer,
        C::Kind,
        C::FieldId,
        C::HandlingAgencyId,
        C::SubmitterType,
        C::ReceivedAt,
        C::AnsweredAt,
        C::PublishedAt,
        C::UpdatedAt,
    ])
}

impl Store {
    /// A page of published items, newest first, and how many match.
    pub async fn public_items(
        &self,
        q: &PublicQuery,
    ) -> Result<(Vec<PublicItem>, u64), StoreError> {
        let mut filter = published();
        for term in &q.terms {
            filter = filter.add(feedback_item::Column::PublicSearchText.contains(term.as_str()));
        }
        if let Some(a) = q.agency_id {
            filter = filter.add(feedback_item::Column::HandlingAgencyId.eq(a));
        }
        if let Some(f) = q.field_id {
            filter = filter.add(feedback_item::Column::FieldId.eq(f));
        }
        if let Some(k) = &q.kind {
            filter = filter.add(feedback_item::Column::Kind.eq(k.as_str()));
        }
        if let Some(from) = q.published_from {
            filter = filter.add(feedback_item::Column::PublishedAt.gte(from));
        }
        if let Some(to) = q.published_to {
            filter = filter.add(feedback_item::Column::PublishedAt.lt(to));
        }
        let query = feedback_item::Entity::find().filter(filter);
        let total = query.clone().count(self.connection()).await?;
        let items = public_columns(query)
            .order_by_desc(feedback_item::Column::PublishedAt)
            .order_by_desc(feedback_item::Column::TrackingCode)
            .limit(q.limit)
            .offset(q.offset)
            .into_model::<PublicItem>()
            .all(self.connection())
            .await?;
        Ok((items, total))
    }

    /// One published item by its tracking code.
    pub async fn public_item(&self, tracking_code: &str) -> Result<Option<PublicItem>, StoreError> {
        Ok(public_columns(
            feedback_item::Entity::find()
                .filter(published())
                .filter(feedback_item::Column::TrackingCode.eq(tracking_code)),
        )
        .into_model::<PublicItem>()
        .one(self.connection())
        .await?)
    }
}
