//! Keyword routing rules in the database: read with the directory snapshot
//! (so an edit reaches every instance with the directory version), seeded
//! once from `config/routing.toml`, edited one rule at a time, audited.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, TransactionTrait, sea_query::Expr,
};
use uuid::Uuid;

use super::directory_cache::bump_directory_version;
use super::entities::routing_rule;
use super::journal::{AuditEntry, write_audit};
use super::{Store, StoreError};
use crate::domain::routing::KeywordRule;

/// A stored rule with its identity.
#[derive(Debug, Clone)]
pub struct StoredRule {
    pub id: Uuid,
    pub rule: KeywordRule,
}

fn rule_of(m: routing_rule::Model) -> StoredRule {
    StoredRule {
        id: m.id,
        rule: KeywordRule {
            words: serde_json::from_str(&m.words).unwrap_or_default(),
            agency: m.agency_code,
            basis: m.basis,
        },
    }
}

pub(crate) async fn load_rules<C: ConnectionTrait>(
    conn: &C,
) -> Result<Vec<StoredRule>, StoreError> {
    Ok(routing_rule::Entity::find()
        .order_by_asc(routing_rule::Column::Position)
        .order_by_asc(routing_rule::Column::Id)
        .all(conn)
        .await?
        .into_iter()
        .map(rule_of)
        .collect())
}

impl Store {
    /// The rules, in order.
    pub async fn routing_rules(&self) -> Result<Vec<StoredRule>, StoreError> {
        load_rules(self.connection()).await
    }

    /// Fills an empty table from the seed file's rules (first start);
    /// `true` when it did.
    pub async fn seed_routing_rules(
        &self,
        rules: &[KeywordRule],
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let txn = self.connection().begin().await?;
        // Several instances starting at once seed the rules once: the
        // transaction takes the write lock before it looks (on SQLite a
        // no-op write, so a second writer waits its busy timeout instead
        // of failing to upgrade a read).
        if self.backend() == sea_orm::DbBackend::Postgres {
            txn.execute_unprepared("LOCK TABLE routing_rule IN EXCLUSIVE MODE")
                .await?;
        } else {
            txn.execute_unprepared("UPDATE directory_version SET version = version WHERE id = 1")
                .await?;
        }
        if routing_rule::Entity::find().count(&txn).await? > 0 {
            return Ok(false);
        }
        for (i, r) in rules.iter().enumerate() {
            insert(
                &txn,
                r,
                i32::try_from(i).unwrap_or(i32::MAX),
                "config/routing.toml",
                now,
            )
            .await?;
        }
        bump_directory_version(&txn, now).await?;
        txn.commit().await?;
        self.directory_cache().invalidate();
        Ok(true)
    }

    /// Adds a rule at the end.
    pub async fn add_routing_rule(
        &self,
        rule: &KeywordRule,
        by: &str,
        audit: &AuditEntry,
        now: DateTime<Utc>,
    ) -> Result<Uuid, StoreError> {
        let txn = self.connection().begin().await?;
        let last = load_rules(&txn).await?.len();
        let id = insert(&txn, rule, i32::try_from(last).unwrap_or(i32::MAX), by, now).await?;
        finish(txn, audit, now).await?;
        self.directory_cache().invalidate();
        Ok(id)
    }

    /// Rewrites a rule; `false` if there is none with that id.
    pub async fn change_routing_rule(
        &self,
        id: Uuid,
        rule: &KeywordRule,
        by: &str,
        audit: &AuditEntry,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let txn = self.connection().begin().await?;
        let result = routing_rule::Entity::update_many()
            .col_expr(
                routing_rule::Column::Words,
                Expr::value(serde_json::to_string(&rule.words).unwrap_or_default()),
            )
            .col_expr(
                routing_rule::Column::AgencyCode,
                Expr::value(rule.agency.clone()),
            )
            .col_expr(routing_rule::Column::Basis, Expr::value(rule.basis.clone()))
            .col_expr(routing_rule::Column::UpdatedBy, Expr::value(by))
            .col_expr(routing_rule::Column::UpdatedAt, Expr::value(now))
            .filter(routing_rule::Column::Id.eq(id))
            .exec(&txn)
            .await?;
        if result.rows_affected == 0 {
            return Ok(false);
        }
        finish(txn, audit, now).await?;
        self.directory_cache().invalidate();
        Ok(true)
    }

    /// Deletes a rule; `false` if there is none with that id.
    pub async fn delete_routing_rule(
        &self,
        id: Uuid,
        audit: &AuditEntry,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let txn = self.connection().begin().await?;
        let result = routing_rule::Entity::delete_many()
            .filter(routing_rule::Column::Id.eq(id))
            .exec(&txn)
            .await?;
        if result.rows_affected == 0 {
            return Ok(false);
        }
        finish(txn, audit, now).await?;
        self.directory_cache().invalidate();
        Ok(true)
    }

    /// Replaces every rule (an imported file), in its order.
    pub async fn replace_routing_rules(
        &self,
        rules: &[KeywordRule],
        by: &str,
        audit: &AuditEntry,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let txn = self.connection().begin().await?;
        routing_rule::Entity::delete_many().exec(&txn).await?;
        for (i, r) in rules.iter().enumerate() {
            insert(&txn, r, i32::try_from(i).unwrap_or(i32::MAX), by, now).await?;
        }
        finish(txn, audit, now).await?;
        self.directory_cache().invalidate();
        Ok(())
    }
}

async fn insert<C: ConnectionTrait>(
    conn: &C,
    rule: &KeywordRule,
    position: i32,
    by: &str,
    now: DateTime<Utc>,
) -> Result<Uuid, StoreError> {
    let id = Uuid::now_v7();
    routing_rule::Entity::insert(routing_rule::ActiveModel {
        id: Set(id),
        position: Set(position),
        words: Set(serde_json::to_string(&rule.words).unwrap_or_default()),
        agency_code: Set(rule.agency.clone()),
        basis: Set(rule.basis.clone()),
        updated_by: Set(by.to_string()),
        updated_at: Set(now),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(id)
}

async fn finish(
    txn: sea_orm::DatabaseTransaction,
    audit: &AuditEntry,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    write_audit(&txn, None, audit, now).await?;
    bump_directory_version(&txn, now).await?;
    txn.commit().await?;
    Ok(())
}
