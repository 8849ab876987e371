//! The audit log as administrators and auditors search it: by item, by who
//! acted, by kind of action and by date, newest first, in keyset pages.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::entities::{audit_event, feedback_item};
use super::feedback::AuditEventRow;
use super::{Store, StoreError};

/// What to look for; every part optional.
#[derive(Debug, Clone, Default)]
pub struct AuditLogFilter {
    pub item: Option<Uuid>,
    pub actor_id: Option<String>,
    /// An action (`feedback.forward`) or a group of them (`staff.`).
    pub action: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Only entries older than this one (the next page).
    pub before: Option<(DateTime<Utc>, Uuid)>,
}

impl Store {
    /// Up to `limit` entries, newest first.
    pub async fn audit_log(
        &self,
        f: &AuditLogFilter,
        limit: u64,
    ) -> Result<Vec<AuditEventRow>, StoreError> {
        use audit_event::Column as A;
        let mut q = audit_event::Entity::find();
        if let Some(item) = f.item {
            q = q.filter(A::FeedbackItemId.eq(item));
        }
        if let Some(actor) = &f.actor_id {
            q = q.filter(A::ActorId.eq(actor.as_str()));
        }
        if let Some(action) = &f.action {
            q = if action.ends_with('.') {
                q.filter(A::Action.starts_with(action.as_str()))
            } else {
                q.filter(A::Action.eq(action.as_str()))
            };
        }
        if let Some(from) = f.from {
            q = q.filter(A::OccurredAt.gte(from));
        }
        if let Some(to) = f.to {
            q = q.filter(A::OccurredAt.lt(to));
        }
        if let Some((at, id)) = f.before {
            q = q.filter(
                Condition::any()
                    .add(A::OccurredAt.lt(at))
                    .add(Condition::all().add(A::OccurredAt.eq(at)).add(A::Id.lt(id))),
            );
        }
        Ok(q.order_by_desc(A::OccurredAt)
            .order_by_desc(A::Id)
            .limit(limit)
            .all(self.connection())
            .await?)
    }

    /// Tracking codes of these items.
    pub async fn tracking_codes_of(
        &self,
        ids: Vec<Uuid>,
    ) -> Result<Vec<(Uuid, String)>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(feedback_item::Entity::find()
            .select_only()
            .column(feedback_item::Column::Id)
            .column(feedback_item::Column::TrackingCode)
            .filter(feedback_item::Column::Id.is_in(ids))
            .into_tuple()
            .all(self.connection())
            .await?)
    }
}
