//! What the staff console keeps besides items: each staff member's saved
//! views of the queue, who has an item open (advisory, shared by every
//! instance), the newest activity (what live counts watch), and the items
//! a caller sent before (by phone number or e-mail address).

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, ExprTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

use super::entities::{audit_event, feedback_item, item_presence, saved_view, staff_account};
use super::{Store, StoreError};

pub use saved_view::Model as SavedViewRow;

/// The most views one person keeps.
pub const MAX_SAVED_VIEWS: u64 = 20;

/// An earlier item from the same person, as the intake desk lists it.
#[derive(Debug, Clone, PartialEq, Eq, sea_orm::FromQueryResult)]
pub struct ContactItem {
    pub tracking_code: String,
    pub title: String,
    pub state: String,
    pub received_at: DateTime<Utc>,
}

impl Store {
    /// `staff`'s saved views, by name.
    pub async fn saved_views(&self, staff: Uuid) -> Result<Vec<SavedViewRow>, StoreError> {
        Ok(saved_view::Entity::find()
            .filter(saved_view::Column::StaffId.eq(staff))
            .order_by_asc(saved_view::Column::Name)
            .all(self.connection())
            .await?)
    }

    /// Saves (or replaces, by name) one of `staff`'s views; `false` when
    /// they keep [`MAX_SAVED_VIEWS`] already.
    pub async fn save_view(
        &self,
        staff: Uuid,
        name: &str,
        query: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let same_name = saved_view::Entity::find()
            .filter(saved_view::Column::StaffId.eq(staff))
            .filter(saved_view::Column::Name.eq(name))
            .one(self.connection())
            .await?;
        if let Some(existing) = same_name {
            saved_view::Entity::update_many()
                .col_expr(saved_view::Column::Query, Expr::value(query))
                .filter(saved_view::Column::Id.eq(existing.id))
                .exec(self.connection())
                .await?;
            return Ok(true);
        }
        let count = saved_view::Entity::find()
            .filter(saved_view::Column::StaffId.eq(staff))
            .count(self.connection())
            .await?;
        if count >= MAX_SAVED_VIEWS {
            return Ok(false);
        }
        saved_view::Entity::insert(saved_view::ActiveModel {
            id: Set(Uuid::now_v7()),
            staff_id: Set(staff),
            name: Set(name.to_string()),
            query: Set(query.to_string()),
            created_at: Set(now),
        })
        .on_conflict_do_nothing_on([saved_view::Column::StaffId, saved_view::Column::Name])
        .exec_without_returning(self.connection())
        .await?;
        Ok(true)
    }

    /// Forgets one of `staff`'s views (nobody else's).
    pub async fn delete_view(&self, staff: Uuid, id: Uuid) -> Result<bool, StoreError> {
        Ok(saved_view::Entity::delete_many()
            .filter(saved_view::Column::Id.eq(id))
            .filter(saved_view::Column::StaffId.eq(staff))
            .exec(self.connection())
            .await?
            .rows_affected
            == 1)
    }

    /// Records that `staff` has `item` open now.
    pub async fn touch_presence(
        &self,
        item: Uuid,
        staff: Uuid,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        item_presence::Entity::insert(item_presence::ActiveModel {
            feedback_item_id: Set(item),
            staff_id: Set(staff),
            seen_at: Set(now),
        })
        .on_conflict(
            OnConflict::columns([
                item_presence::Column::FeedbackItemId,
                item_presence::Column::StaffId,
            ])
            .update_column(item_presence::Column::SeenAt)
            .to_owned(),
        )
        .exec_without_returning(self.connection())
        .await?;
        Ok(())
    }

    /// The display names of the others who had `item` open since `since`.
    pub async fn others_present(
        &self,
        item: Uuid,
        me: Uuid,
        since: DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError> {
        let ids: Vec<Uuid> = item_presence::Entity::find()
            .select_only()
            .column(item_presence::Column::StaffId)
            .filter(item_presence::Column::FeedbackItemId.eq(item))
            .filter(item_presence::Column::StaffId.ne(me))
            .filter(item_presence::Column::SeenAt.gte(since))
            .into_tuple()
            .all(self.connection())
            .await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(staff_account::Entity::find()
            .select_only()
            .column(staff_account::Column::DisplayName)
            .filter(staff_account::Column::Id.is_in(ids))
            .order_by_asc(staff_account::Column::DisplayName)
            .into_tuple()
            .all(self.connection())
            .await?)
    }

    /// Forgets presence older than `before`. Returns how many.
    pub async fn forget_presence(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(item_presence::Entity::delete_many()
            .filter(item_presence::Column::SeenAt.lt(before))
            .exec(self.connection())
            .await?
            .rows_affected)
    }

    /// When the newest audit event happened: every change to an item
    /// writes one, so a new value means the queue may have moved.
    pub async fn latest_activity(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        Ok(audit_event::Entity::find()
            .select_only()
            .expr(Expr::col(audit_event::Column::OccurredAt).max())
            .into_tuple::<Option<DateTime<Utc>>>()
            .one(self.connection())
            .await?
            .flatten())
    }

    /// Items (newest first, at most `limit`) whose submitter gave this
    /// phone number (E.164) or e-mail address, among `scope`'s items (the
    /// agency's own, or every item for the province).
    pub async fn items_by_contact(
        &self,
        phone: Option<&str>,
        email: Option<&str>,
        handled_by: Option<Uuid>,
        limit: u64,
    ) -> Result<Vec<ContactItem>, StoreError> {
        use feedback_item::Column as C;
        let mut any = sea_orm::Condition::any();
        if let Some(phone) = phone {
            any = any.add(C::Phone.eq(phone));
        }
        if let Some(email) = email {
            // Stored as typed on the form, lower-cased from e-mail.
            any = any.add(C::Email.is_in([email.to_string(), email.to_lowercase()]));
        }
        if phone.is_none() && email.is_none() {
            return Ok(Vec::new());
        }
        let mut query = feedback_item::Entity::find()
            .select_only()
            .columns([C::TrackingCode, C::Title, C::State, C::ReceivedAt])
            .filter(any);
        if let Some(agency) = handled_by {
            query = query.filter(C::HandlingAgencyId.eq(agency));
        }
        Ok(query
            .order_by_desc(C::ReceivedAt)
            .limit(limit)
            .into_model::<ContactItem>()
            .all(self.connection())
            .await?)
    }
}
