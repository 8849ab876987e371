//! Form stamps used once: a stamp's nonce is remembered (with the form's
//! idempotency key, hashed) until the stamp would expire anyway, in the
//! database so every instance knows it.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};

use super::entities::form_stamp_use;
use super::{Store, StoreError};

impl Store {
    /// Records that the stamp with `nonce` was posted with the key hashed
    /// as `key_hash`. `false` when it was posted before with another key:
    /// the same form sent again (a double click, a correction) keeps its
    /// key and passes, a replayed stamp does not.
    pub async fn use_form_stamp(
        &self,
        nonce: &str,
        key_hash: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        form_stamp_use::Entity::insert(form_stamp_use::ActiveModel {
            nonce: Set(nonce.to_string()),
            key_hash: Set(key_hash.to_string()),
            expires_at: Set(expires_at),
        })
        .on_conflict_do_nothing_on([form_stamp_use::Column::Nonce])
        .exec_without_returning(self.connection())
        .await?;
        Ok(form_stamp_use::Entity::find_by_id(nonce)
            .one(self.connection())
            .await?
            .is_some_and(|u| u.key_hash == key_hash))
    }

    /// Forgets stamps that could not pass any more. Returns how many.
    pub async fn forget_expired_form_stamps(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(form_stamp_use::Entity::delete_many()
            .filter(form_stamp_use::Column::ExpiresAt.lt(now))
            .exec(self.connection())
            .await?
            .rows_affected)
    }
}
