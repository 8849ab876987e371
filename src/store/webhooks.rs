//! Webhook subscriptions and their deliveries. A change to an item writes
//! one delivery per matching subscription in its own transaction (from
//! `journal::write_audit`, so no change path can forget it); deliveries
//! are claimed by one instance at a time, an item's in the order they were
//! written, and kept afterwards as the record of what was sent.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait,
};
use uuid::Uuid;

use super::entities::{api_key, feedback_item, webhook_delivery, webhook_subscription};
use super::feedback::ItemRow;
use super::journal::{AuditEntry, write_audit};
use super::{Store, StoreError};
use crate::domain::webhook::{WebhookEvent, WebhookScope, events_of, public_may_hear};

pub use webhook_delivery::Model as DeliveryRow;
pub use webhook_subscription::Model as SubscriptionRow;

/// How one attempt ended.
#[derive(Debug, Clone)]
pub enum WebhookOutcome {
    Delivered {
        status: i32,
    },
    Retry {
        status: Option<i32>,
        error: String,
        at: DateTime<Utc>,
    },
    Dead {
        status: Option<i32>,
        error: String,
    },
    Skipped {
        reason: String,
    },
}

/// A subscription's deliveries by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryCounts {
    pub queued: u64,
    pub delivered: u64,
    pub dead: u64,
    pub skipped: u64,
}

/// Writes the deliveries an audited change to `item` raises, inside the
/// change's transaction (after the item itself was written).
pub(crate) async fn raise_webhook_events<C: ConnectionTrait>(
    conn: &C,
    item: Uuid,
    entry: &AuditEntry,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let events = events_of(
        &entry.action,
        entry.from_state.as_deref(),
        entry.to_state.as_deref(),
    );
    if events.is_empty() {
        return Ok(());
    }
    let subscriptions = webhook_subscription::Entity::find()
        .filter(webhook_subscription::Column::DisabledAt.is_null())
        .all(conn)
        .await?;
    if subscriptions.is_empty() {
        return Ok(());
    }
    let Some((agency, public)) = feedback_item::Entity::find_by_id(item)
        .select_only()
        .column(feedback_item::Column::HandlingAgencyId)
        .column_as(
            Expr::cust("CASE WHEN public_search_text IS NULL THEN 0 ELSE 1 END"),
            "public",
        )
        .into_tuple::<(Option<Uuid>, i32)>()
        .one(conn)
        .await?
    else {
        return Ok(());
    };
    for event in events {
        let event_id = Uuid::now_v7();
        for sub in &subscriptions {
            if !subscribed(sub, event) {
                continue;
            }
            if sub.agency_id.is_some() && sub.agency_id != agency {
                continue;
            }
            if WebhookScope::parse(&sub.scope) != Some(WebhookScope::Agency)
                && !public_may_hear(event, public == 1)
            {
                continue;
            }
            webhook_delivery::Entity::insert(webhook_delivery::ActiveModel {
                seq: sea_orm::ActiveValue::NotSet,
                id: Set(Uuid::now_v7()),
                subscription_id: Set(sub.id),
                event_id: Set(event_id),
                event: Set(event.as_str().to_string()),
                feedback_item_id: Set(item),
                from_state: Set(entry.from_state.clone()),
                to_state: Set(entry.to_state.clone()),
                occurred_at: Set(at),
                status: Set("queued".into()),
                attempts: Set(0),
                next_attempt_at: Set(None),
                claimed_by: Set(None),
                claimed_until: Set(None),
                last_status: Set(None),
                last_error: Set(None),
                delivered_at: Set(None),
            })
            .exec_without_returning(conn)
            .await?;
        }
    }
    Ok(())
}

fn subscribed(sub: &SubscriptionRow, event: WebhookEvent) -> bool {
    sub.events
        .as_array()
        .is_some_and(|a| a.iter().any(|v| v.as_str() == Some(event.as_str())))
}

impl Store {
    /// The item a delivery is about.
    pub async fn webhook_item(&self, id: Uuid) -> Result<Option<ItemRow>, StoreError> {
        Ok(feedback_item::Entity::find_by_id(id)
            .one(self.connection())
            .await?)
    }

    pub async fn api_key_by_id(&self, id: Uuid) -> Result<Option<api_key::Model>, StoreError> {
        Ok(api_key::Entity::find_by_id(id)
            .one(self.connection())
            .await?)
    }

    pub async fn api_key_by_name(&self, name: &str) -> Result<Option<api_key::Model>, StoreError> {
        Ok(api_key::Entity::find()
            .filter(api_key::Column::Name.eq(name))
            .one(self.connection())
            .await?)
    }

    /// Adds a subscription, audited in the same transaction; a name in use
    /// is a conflict.
    pub async fn create_webhook(
        &self,
        row: SubscriptionRow,
        audit: &AuditEntry,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let txn = self.connection().begin().await?;
        let taken = webhook_subscription::Entity::find()
            .filter(webhook_subscription::Column::Name.eq(row.name.clone()))
            .one(&txn)
            .await?
            .is_some();
        if taken {
            txn.rollback().await?;
            return Err(StoreError::Conflict("webhook_subscription.name".into()));
        }
        webhook_subscription::Entity::insert(webhook_subscription::ActiveModel {
            id: Set(row.id),
            name: Set(row.name),
            url: Set(row.url),
            events: Set(row.events),
            scope: Set(row.scope),
            agency_id: Set(row.agency_id),
            api_key_id: Set(row.api_key_id),
            secret: Set(row.secret),
            created_by: Set(row.created_by),
            created_at: Set(row.created_at),
            disabled_at: Set(None),
        })
        .exec_without_returning(&txn)
        .await?;
        write_audit(&txn, None, audit, now).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Every subscription, live ones first.
    pub async fn webhooks(&self) -> Result<Vec<SubscriptionRow>, StoreError> {
        Ok(webhook_subscription::Entity::find()
            .order_by_asc(webhook_subscription::Column::Name)
            .all(self.connection())
            .await?)
    }

    pub async fn webhook_by_name(&self, name: &str) -> Result<Option<SubscriptionRow>, StoreError> {
        Ok(webhook_subscription::Entity::find()
            .filter(webhook_subscription::Column::Name.eq(name))
            .one(self.connection())
            .await?)
    }

    pub async fn webhook(&self, id: Uuid) -> Result<Option<SubscriptionRow>, StoreError> {
        Ok(webhook_subscription::Entity::find_by_id(id)
            .one(self.connection())
            .await?)
    }

    /// Stops a subscription: nothing more is raised for it and what was
    /// waiting is skipped. `false` when it was not live.
    pub async fn disable_webhook(
        &self,
        name: &str,
        audit: &AuditEntry,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let txn = self.connection().begin().await?;
        let Some(sub) = webhook_subscription::Entity::find()
            .filter(webhook_subscription::Column::Name.eq(name))
            .filter(webhook_subscription::Column::DisabledAt.is_null())
            .one(&txn)
            .await?
        else {
            txn.rollback().await?;
            return Ok(false);
        };
        webhook_subscription::Entity::update_many()
            .col_expr(webhook_subscription::Column::DisabledAt, Expr::value(now))
            .filter(webhook_subscription::Column::Id.eq(sub.id))
            .exec(&txn)
            .await?;
        webhook_delivery::Entity::update_many()
            .col_expr(webhook_delivery::Column::Status, Expr::value("skipped"))
            .col_expr(
                webhook_delivery::Column::LastError,
                Expr::value("subscription removed"),
            )
            .filter(webhook_delivery::Column::SubscriptionId.eq(sub.id))
            .filter(webhook_delivery::Column::Status.eq("queued"))
            .exec(&txn)
            .await?;
        write_audit(&txn, None, audit, now).await?;
        txn.commit().await?;
        Ok(true)
    }

    /// A subscription's deliveries by status.
    pub async fn webhook_counts(&self, subscription: Uuid) -> Result<DeliveryCounts, StoreError> {
        let rows: Vec<(String, i64)> = webhook_delivery::Entity::find()
            .select_only()
            .column(webhook_delivery::Column::Status)
            .column_as(webhook_delivery::Column::Seq.count(), "n")
            .filter(webhook_delivery::Column::SubscriptionId.eq(subscription))
            .group_by(webhook_delivery::Column::Status)
            .into_tuple()
            .all(self.connection())
            .await?;
        let mut counts = DeliveryCounts::default();
        for (status, n) in rows {
            let n = u64::try_from(n).unwrap_or(0);
            match status.as_str() {
                "queued" => counts.queued = n,
                "delivered" => counts.delivered = n,
                "dead" => counts.dead = n,
                _ => counts.skipped += n,
            }
        }
        Ok(counts)
    }

    /// A subscription's deliveries, newest first, optionally of one status.
    pub async fn webhook_deliveries(
        &self,
        subscription: Uuid,
        status: Option<&str>,
        limit: u64,
    ) -> Result<Vec<DeliveryRow>, StoreError> {
        let mut q = webhook_delivery::Entity::find()
            .filter(webhook_delivery::Column::SubscriptionId.eq(subscription));
        if let Some(status) = status {
            q = q.filter(webhook_delivery::Column::Status.eq(status));
        }
        Ok(q.order_by_desc(webhook_delivery::Column::Seq)
            .limit(limit)
            .all(self.connection())
            .await?)
    }

    /// Deliveries per status over every subscription, and when the event
    /// of the oldest one still waiting happened.
    pub async fn webhook_figures(
        &self,
    ) -> Result<(Vec<(String, i64)>, Option<DateTime<Utc>>), StoreError> {
        let by_status: Vec<(String, i64)> = webhook_delivery::Entity::find()
            .select_only()
            .column(webhook_delivery::Column::Status)
            .column_as(webhook_delivery::Column::Seq.count(), "n")
            .group_by(webhook_delivery::Column::Status)
            .into_tuple()
            .all(self.connection())
            .await?;
        let oldest = webhook_delivery::Entity::find()
            .filter(webhook_delivery::Column::Status.eq("queued"))
            .order_by_asc(webhook_delivery::Column::Seq)
            .one(self.connection())
            .await?
            .map(|d| d.occurred_at);
        Ok((by_status, oldest))
    }

    /// Puts a dead delivery back in the queue with a fresh count of
    /// attempts; `false` when there is no dead delivery of that id.
    pub async fn requeue_webhook_delivery(
        &self,
        subscription: Uuid,
        delivery: Uuid,
        audit: &AuditEntry,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let txn = self.connection().begin().await?;
        let n = webhook_delivery::Entity::update_many()
            .col_expr(webhook_delivery::Column::Status, Expr::value("queued"))
            .col_expr(webhook_delivery::Column::Attempts, Expr::value(0))
            .col_expr(
                webhook_delivery::Column::NextAttemptAt,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .col_expr(
                webhook_delivery::Column::ClaimedUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(webhook_delivery::Column::SubscriptionId.eq(subscription))
            .filter(webhook_delivery::Column::Id.eq(delivery))
            .filter(webhook_delivery::Column::Status.eq("dead"))
            .exec(&txn)
            .await?
            .rows_affected;
        if n != 1 {
            txn.rollback().await?;
            return Ok(false);
        }
        write_audit(&txn, None, audit, now).await?;
        txn.commit().await?;
        Ok(true)
    }

    /// Claims up to `limit` due deliveries for `holder` until `until`: one
    /// instance at a time per delivery, and per subscription and item only
    /// the earliest one still waiting (so an item's events arrive in
    /// order; a delivery given up no longer holds the later ones back).
    pub async fn claim_webhook_deliveries(
        &self,
        holder: &str,
        limit: u64,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<DeliveryRow>, StoreError> {
        let seqs: Vec<i64> = self
            .claim_rows(
                "webhook_delivery",
                "seq",
                "SELECT d.seq FROM webhook_delivery d WHERE d.status = 'queued' \
                 AND (d.next_attempt_at IS NULL OR d.next_attempt_at <= $3) \
                 AND (d.claimed_until IS NULL OR d.claimed_until <= $3) \
                 AND NOT EXISTS (SELECT 1 FROM webhook_delivery e \
                   WHERE e.subscription_id = d.subscription_id \
                     AND e.feedback_item_id = d.feedback_item_id \
                     AND e.status = 'queued' AND e.seq < d.seq) \
                 ORDER BY d.seq LIMIT $4",
                (holder, limit),
                until,
                now,
            )
            .await?;
        if seqs.is_empty() {
            return Ok(Vec::new());
        }
        Ok(webhook_delivery::Entity::find()
            .filter(webhook_delivery::Column::Seq.is_in(seqs))
            .filter(webhook_delivery::Column::ClaimedBy.eq(holder))
            .order_by_asc(webhook_delivery::Column::Seq)
            .all(self.connection())
            .await?)
    }

    /// Records how an attempt ended; `false` when the claim had been lost.
    pub async fn finish_webhook_delivery(
        &self,
        seq: i64,
        holder: &str,
        outcome: &WebhookOutcome,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        use webhook_delivery::Column as C;
        let mut update = webhook_delivery::Entity::update_many()
            .col_expr(C::ClaimedUntil, Expr::value(Option::<DateTime<Utc>>::None))
            .filter(C::Seq.eq(seq))
            .filter(C::ClaimedBy.eq(holder))
            .filter(C::Status.eq("queued"));
        update = match outcome {
            WebhookOutcome::Delivered { status } => update
                .col_expr(C::Status, Expr::value("delivered"))
                .col_expr(C::DeliveredAt, Expr::value(now))
                .col_expr(C::LastStatus, Expr::value(*status))
                .col_expr(C::LastError, Expr::value(Option::<String>::None)),
            WebhookOutcome::Retry { status, error, at } => update
                .col_expr(C::NextAttemptAt, Expr::value(*at))
                .col_expr(C::LastStatus, Expr::value(*status))
                .col_expr(C::LastError, Expr::value(error.as_str())),
            WebhookOutcome::Dead { status, error } => update
                .col_expr(C::Status, Expr::value("dead"))
                .col_expr(C::LastStatus, Expr::value(*status))
                .col_expr(C::LastError, Expr::value(error.as_str())),
            WebhookOutcome::Skipped { reason } => update
                .col_expr(C::Status, Expr::value("skipped"))
                .col_expr(C::LastError, Expr::value(reason.as_str())),
        };
        Ok(update.exec(self.connection()).await?.rows_affected == 1)
    }
}
