//! Staff accounts and sessions.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, ExprTrait, QueryFilter,
    QueryOrder, TransactionTrait, sea_query::Expr,
};
use uuid::Uuid;

use super::entities::{staff_account, staff_password_link, staff_session};
use super::journal::{AuditEntry, write_audit};
use super::{Store, StoreError};

async fn insert_staff_row<C: ConnectionTrait>(
    conn: &C,
    s: &NewStaff,
    now: DateTime<Utc>,
) -> Result<Uuid, StoreError> {
    let id = Uuid::now_v7();
    staff_account::Entity::insert(staff_account::ActiveModel {
        id: Set(id),
        username: Set(s.username.clone()),
        display_name: Set(s.display_name.clone()),
        password_hash: Set(s.password_hash.clone()),
        role: Set(s.role.clone()),
        agency_id: Set(s.agency_id),
        is_active: Set(true),
        is_demo: Set(s.is_demo),
        failed_logins: Set(0),
        locked_until: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        email: Set(s.email.clone()),
        daily_digest: Set(true),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(id)
}

/// Ends every live session of an account.
async fn revoke_sessions<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    staff_session::Entity::update_many()
        .col_expr(staff_session::Column::RevokedAt, Expr::value(now))
        .filter(staff_session::Column::StaffId.eq(id))
        .filter(staff_session::Column::RevokedAt.is_null())
        .exec(conn)
        .await?;
    Ok(())
}

pub use staff_account::Model as StaffRow;

/// A new account, already checked and hashed.
#[derive(Debug, Clone)]
pub struct NewStaff {
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
    pub role: String,
    pub agency_id: Uuid,
    pub is_demo: bool,
    pub email: Option<String>,
}

/// What an administrator may change on an account.
#[derive(Debug, Clone)]
pub struct StaffChange {
    pub display_name: String,
    pub role: String,
    pub agency_id: Uuid,
    pub email: Option<String>,
}

impl Store {
    pub async fn insert_staff(&self, s: &NewStaff, now: DateTime<Utc>) -> Result<Uuid, StoreError> {
        insert_staff_row(self.connection(), s, now).await
    }

    /// Creates an account with its audit record, in one transaction.
    pub async fn insert_staff_audited(
        &self,
        s: &NewStaff,
        audit: &AuditEntry,
        now: DateTime<Utc>,
    ) -> Result<Uuid, StoreError> {
        let txn = self.connection().begin().await?;
        let id = insert_staff_row(&txn, s, now).await?;
        write_audit(&txn, None, audit, now).await?;
        txn.commit().await?;
        Ok(id)
    }

    /// Lifts a lock-out, audited.
    pub async fn unlock_staff(
        &self,
        id: Uuid,
        audit: &AuditEntry,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let txn = self.connection().begin().await?;
        staff_account::Entity::update_many()
            .col_expr(staff_account::Column::FailedLogins, Expr::value(0))
            .col_expr(
                staff_account::Column::LockedUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(staff_account::Column::Id.eq(id))
            .exec(&txn)
            .await?;
        write_audit(&txn, None, audit, now).await?;
        txn.commit().await?;
        Ok(())
    }

    /// The audit records of account administration, oldest first.
    pub async fn staff_audit_events(
        &self,
    ) -> Result<Vec<super::feedback::AuditEventRow>, StoreError> {
        use super::entities::audit_event;
        Ok(audit_event::Entity::find()
            .filter(audit_event::Column::Action.starts_with("staff."))
            .order_by_asc(audit_event::Column::OccurredAt)
            .order_by_asc(audit_event::Column::Id)
            .all(self.connection())
            .await?)
    }

    /// An audit record about staff administration with no other change.
    pub async fn record_staff_event(
        &self,
        audit: &AuditEntry,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        write_audit(self.connection(), None, audit, now).await
    }

    pub async fn find_staff_by_username(
        &self,
        username: &str,
    ) -> Result<Option<StaffRow>, StoreError> {
        Ok(staff_account::Entity::find()
            .filter(staff_account::Column::Username.eq(username))
            .one(self.connection())
            .await?)
    }

    pub async fn find_staff(&self, id: Uuid) -> Result<Option<StaffRow>, StoreError> {
        Ok(staff_account::Entity::find_by_id(id)
            .one(self.connection())
            .await?)
    }

    pub async fn list_staff(&self) -> Result<Vec<StaffRow>, StoreError> {
        Ok(staff_account::Entity::find()
            .order_by_asc(staff_account::Column::Username)
            .all(self.connection())
            .await?)
    }

    pub async fn count_staff(&self) -> Result<u64, StoreError> {
        use sea_orm::PaginatorTrait;
        Ok(staff_account::Entity::find()
            .count(self.connection())
            .await?)
    }

    /// Disables an account and revokes its sessions. `false` if unknown.
    pub async fn disable_staff(
        &self,
        username: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let Some(row) = self.find_staff_by_username(username).await? else {
            return Ok(false);
        };
        staff_account::Entity::update_many()
            .col_expr(staff_account::Column::IsActive, Expr::value(false))
            .col_expr(staff_account::Column::UpdatedAt, Expr::value(now))
            .filter(staff_account::Column::Id.eq(row.id))
            .exec(self.connection())
            .await?;
        revoke_sessions(self.connection(), row.id, now).await?;
        Ok(true)
    }

    /// Active accounts with an e-mail address that want the daily digest.
    pub async fn digest_recipients(&self) -> Result<Vec<StaffRow>, StoreError> {
        Ok(staff_account::Entity::find()
            .filter(staff_account::Column::IsActive.eq(true))
            .filter(staff_account::Column::DailyDigest.eq(true))
            .filter(staff_account::Column::Email.is_not_null())
            .order_by_asc(staff_account::Column::Username)
            .all(self.connection())
            .await?)
    }

    /// A staff member's own preference for the daily digest.
    pub async fn set_daily_digest(
        &self,
        id: Uuid,
        wanted: bool,
        audit: &AuditEntry,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let txn = self.connection().begin().await?;
        staff_account::Entity::update_many()
            .col_expr(staff_account::Column::DailyDigest, Expr::value(wanted))
            .col_expr(staff_account::Column::UpdatedAt, Expr::value(now))
            .filter(staff_account::Column::Id.eq(id))
            .exec(&txn)
            .await?;
        write_audit(&txn, None, audit, now).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Name, role, agency and address of an account.
    pub async fn change_staff(
        &self,
        id: Uuid,
        change: &StaffChange,
        audit: &AuditEntry,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let txn = self.connection().begin().await?;
        staff_account::Entity::update_many()
            .col_expr(
                staff_account::Column::DisplayName,
                Expr::value(change.display_name.clone()),
            )
            .col_expr(
                staff_account::Column::Role,
                Expr::value(change.role.clone()),
            )
            .col_expr(
                staff_account::Column::AgencyId,
                Expr::value(change.agency_id),
            )
            .col_expr(
                staff_account::Column::Email,
                Expr::value(change.email.clone()),
            )
            .col_expr(staff_account::Column::UpdatedAt, Expr::value(now))
            .filter(staff_account::Column::Id.eq(id))
            .exec(&txn)
            .await?;
        write_audit(&txn, None, audit, now).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Turns an account on or off; turning it off ends its sessions.
    pub async fn set_staff_active(
        &self,
        id: Uuid,
        active: bool,
        audit: &AuditEntry,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let txn = self.connection().begin().await?;
        staff_account::Entity::update_many()
            .col_expr(staff_account::Column::IsActive, Expr::value(active))
            .col_expr(staff_account::Column::UpdatedAt, Expr::value(now))
            .filter(staff_account::Column::Id.eq(id))
            .exec(&txn)
            .await?;
        if !active {
            revoke_sessions(&txn, id, now).await?;
        }
        write_audit(&txn, None, audit, now).await?;
        txn.commit().await?;
        Ok(())
    }

    /// A new password hash; every other session ends, and a lock is lifted.
    pub async fn set_password_hash(
        &self,
        id: Uuid,
        hash: &str,
        audit: &AuditEntry,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let txn = self.connection().begin().await?;
        staff_account::Entity::update_many()
            .col_expr(staff_account::Column::PasswordHash, Expr::value(hash))
            .col_expr(staff_account::Column::FailedLogins, Expr::value(0))
            .col_expr(
                staff_account::Column::LockedUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .col_expr(staff_account::Column::UpdatedAt, Expr::value(now))
            .filter(staff_account::Column::Id.eq(id))
            .exec(&txn)
            .await?;
        revoke_sessions(&txn, id, now).await?;
        write_audit(&txn, None, audit, now).await?;
        txn.commit().await?;
        Ok(())
    }

    /// How many accounts of `role` are active.
    pub async fn count_active_with_role(&self, role: &str) -> Result<u64, StoreError> {
        use sea_orm::PaginatorTrait;
        Ok(staff_account::Entity::find()
            .filter(staff_account::Column::IsActive.eq(true))
            .filter(staff_account::Column::Role.eq(role))
            .count(self.connection())
            .await?)
    }

    /// Stores a one-time set-password link (its digest only); earlier
    /// unused links of the account stop working.
    pub async fn insert_password_link(
        &self,
        staff_id: Uuid,
        token_hash: &str,
        created_by: Option<Uuid>,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        staff_password_link::Entity::update_many()
            .col_expr(staff_password_link::Column::UsedAt, Expr::value(now))
            .filter(staff_password_link::Column::StaffAccountId.eq(staff_id))
            .filter(staff_password_link::Column::UsedAt.is_null())
            .exec(self.connection())
            .await?;
        staff_password_link::Entity::insert(staff_password_link::ActiveModel {
            id: Set(Uuid::now_v7()),
            staff_account_id: Set(staff_id),
            token_hash: Set(token_hash.to_string()),
            created_by: Set(created_by),
            created_at: Set(now),
            expires_at: Set(expires_at),
            used_at: Set(None),
        })
        .exec_without_returning(self.connection())
        .await?;
        Ok(())
    }

    /// The account a live, unused link belongs to (not using it up).
    pub async fn password_link_account(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<StaffRow>, StoreError> {
        let Some(link) = staff_password_link::Entity::find()
            .filter(staff_password_link::Column::TokenHash.eq(token_hash))
            .filter(staff_password_link::Column::UsedAt.is_null())
            .filter(staff_password_link::Column::ExpiresAt.gt(now))
            .one(self.connection())
            .await?
        else {
            return Ok(None);
        };
        self.find_staff(link.staff_account_id).await
    }

    /// Uses a link up: `true` for exactly one caller, while it is live.
    pub async fn use_password_link(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result = staff_password_link::Entity::update_many()
            .col_expr(staff_password_link::Column::UsedAt, Expr::value(now))
            .filter(staff_password_link::Column::TokenHash.eq(token_hash))
            .filter(staff_password_link::Column::UsedAt.is_null())
            .filter(staff_password_link::Column::ExpiresAt.gt(now))
            .exec(self.connection())
            .await?;
        Ok(result.rows_affected == 1)
    }

    /// Counts a failed login (afresh, from 1, when `restart`: the last
    /// lock has run out); from `lock_after` failures on, the account is
    /// locked until `locked_until`.
    pub async fn record_failed_login(
        &self,
        id: Uuid,
        lock_after: i32,
        locked_until: DateTime<Utc>,
        restart: bool,
    ) -> Result<(), StoreError> {
        let count = if restart {
            Expr::value(1)
        } else {
            Expr::col(staff_account::Column::FailedLogins).add(1)
        };
        let mut update = staff_account::Entity::update_many()
            .col_expr(staff_account::Column::FailedLogins, count);
        if restart {
            update = update.col_expr(
                staff_account::Column::LockedUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            );
        }
        update
            .filter(staff_account::Column::Id.eq(id))
            .exec(self.connection())
            .await?;
        staff_account::Entity::update_many()
            .col_expr(
                staff_account::Column::LockedUntil,
                Expr::value(Some(locked_until)),
            )
            .filter(staff_account::Column::Id.eq(id))
            .filter(staff_account::Column::FailedLogins.gte(lock_after))
            .exec(self.connection())
            .await?;
        Ok(())
    }

    pub async fn reset_failed_logins(&self, id: Uuid) -> Result<(), StoreError> {
        staff_account::Entity::update_many()
            .col_expr(staff_account::Column::FailedLogins, Expr::value(0))
            .col_expr(
                staff_account::Column::LockedUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(staff_account::Column::Id.eq(id))
            .exec(self.connection())
            .await?;
        Ok(())
    }

    pub async fn insert_session(
        &self,
        token_hash: &str,
        staff_id: Uuid,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        staff_session::Entity::insert(staff_session::ActiveModel {
            token_hash: Set(token_hash.to_string()),
            staff_id: Set(staff_id),
            created_at: Set(now),
            expires_at: Set(expires_at),
            revoked_at: Set(None),
        })
        .exec_without_returning(self.connection())
        .await?;
        Ok(())
    }

    /// The live session with this token digest and its active account.
    pub async fn find_live_session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(staff_session::Model, StaffRow)>, StoreError> {
        let Some(session) = staff_session::Entity::find_by_id(token_hash.to_string())
            .filter(staff_session::Column::RevokedAt.is_null())
            .filter(staff_session::Column::ExpiresAt.gt(now))
            .one(self.connection())
            .await?
        else {
            return Ok(None);
        };
        let staff = self.find_staff(session.staff_id).await?;
        Ok(staff.filter(|s| s.is_active).map(|s| (session, s)))
    }

    pub async fn revoke_session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        staff_session::Entity::update_many()
            .col_expr(staff_session::Column::RevokedAt, Expr::value(now))
            .filter(staff_session::Column::TokenHash.eq(token_hash))
            .filter(staff_session::Column::RevokedAt.is_null())
            .exec(self.connection())
            .await?;
        Ok(())
    }
}

pub use super::entities::staff_note::Model as NoteRow;

impl Store {
    /// Adds an internal note with its audit event (the note's text stays
    /// out of the audit log: it may quote the citizen).
    pub async fn insert_note(
        &self,
        item: crate::domain::ids::FeedbackId,
        staff: &crate::domain::staff::Actor,
        body: &str,
        request_id: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<NoteRow, StoreError> {
        use sea_orm::TransactionTrait;
        let note = NoteRow {
            id: Uuid::now_v7(),
            feedback_item_id: item.as_uuid(),
            staff_id: staff.staff_id,
            body: body.to_string(),
            created_at: now,
        };
        let txn = self.connection().begin().await?;
        super::entities::staff_note::Entity::insert(super::entities::staff_note::ActiveModel {
            id: Set(note.id),
            feedback_item_id: Set(note.feedback_item_id),
            staff_id: Set(note.staff_id),
            body: Set(note.body.clone()),
            created_at: Set(now),
        })
        .exec_without_returning(&txn)
        .await?;
        let audit = super::journal::AuditEntry {
            actor_kind: "staff".into(),
            actor_id: Some(staff.username.clone()),
            action: "note.added".into(),
            from_state: None,
            to_state: None,
            reason: None,
            details: serde_json::json!({"note_id": note.id}),
            request_id,
        };
        super::journal::write_audit(&txn, Some(item), &audit, now).await?;
        txn.commit().await?;
        Ok(note)
    }

    pub async fn notes_for(
        &self,
        item: crate::domain::ids::FeedbackId,
    ) -> Result<Vec<NoteRow>, StoreError> {
        use super::entities::staff_note;
        Ok(staff_note::Entity::find()
            .filter(staff_note::Column::FeedbackItemId.eq(item.as_uuid()))
            .order_by_asc(staff_note::Column::CreatedAt)
            .order_by_asc(staff_note::Column::Id)
            .all(self.connection())
            .await?)
    }

    /// Usernames of staff ids (for showing authors and operators).
    pub async fn staff_usernames(&self, ids: &[Uuid]) -> Result<Vec<(Uuid, String)>, StoreError> {
        use sea_orm::QuerySelect;
        Ok(staff_account::Entity::find()
            .select_only()
            .column(staff_account::Column::Id)
            .column(staff_account::Column::Username)
            .filter(staff_account::Column::Id.is_in(ids.to_vec()))
            .into_tuple()
            .all(self.connection())
            .await?)
    }
}

pub use super::entities::api_key::Model as ApiKeyRow;

impl Store {
    pub async fn insert_api_key(
        &self,
        name: &str,
        key_hash: &str,
        scopes: &[&str],
        created_by: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        use super::entities::api_key;
        api_key::Entity::insert(api_key::ActiveModel {
            id: Set(Uuid::now_v7()),
            name: Set(name.to_string()),
            key_hash: Set(key_hash.to_string()),
            scopes: Set(serde_json::json!(scopes)),
            created_by: Set(created_by.to_string()),
            created_at: Set(now),
            revoked_at: Set(None),
            last_used_at: Set(None),
        })
        .exec_without_returning(self.connection())
        .await?;
        Ok(())
    }

    pub async fn find_live_api_key(&self, key_hash: &str) -> Result<Option<ApiKeyRow>, StoreError> {
        use super::entities::api_key;
        Ok(api_key::Entity::find()
            .filter(api_key::Column::KeyHash.eq(key_hash))
            .filter(api_key::Column::RevokedAt.is_null())
            .one(self.connection())
            .await?)
    }

    pub async fn list_api_keys(&self) -> Result<Vec<ApiKeyRow>, StoreError> {
        use super::entities::api_key;
        Ok(api_key::Entity::find()
            .order_by_asc(api_key::Column::Name)
            .all(self.connection())
            .await?)
    }

    /// Records that a key was used now (throttled per instance).
    pub async fn note_api_key_use(&self, id: Uuid, now: DateTime<Utc>) -> Result<(), StoreError> {
        use super::entities::api_key;
        if !self.api_key_use_due(id) {
            return Ok(());
        }
        api_key::Entity::update_many()
            .col_expr(api_key::Column::LastUsedAt, Expr::value(now))
            .filter(api_key::Column::Id.eq(id))
            .exec(self.connection())
            .await?;
        Ok(())
    }

    /// Revokes a live key, with the record of who did it in the same
    /// transaction when there is one; `false` (nothing recorded) when no
    /// live key has that name.
    pub async fn revoke_api_key(
        &self,
        name: &str,
        audit: Option<&AuditEntry>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        use super::entities::api_key;
        let txn = self.connection().begin().await?;
        let result = api_key::Entity::update_many()
            .col_expr(api_key::Column::RevokedAt, Expr::value(now))
            .filter(api_key::Column::Name.eq(name))
            .filter(api_key::Column::RevokedAt.is_null())
            .exec(&txn)
            .await?;
        if result.rows_affected != 1 {
            return Ok(false);
        }
        if let Some(audit) = audit {
            write_audit(&txn, None, audit, now).await?;
        }
        txn.commit().await?;
        Ok(true)
    }
}
