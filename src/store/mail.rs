//! The e-mail channel's storage: the inbound mail log (with each raw
//! message as evidence), the outbox's delivery state, addresses known to
//! bounce, the IMAP mailbox position, leases and generated secrets.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait,
};
use uuid::Uuid;

use super::entities::{
    agency, feedback_item, imap_mailbox, inbound_mail, mail_address_failure, notice, service_lease,
    service_secret,
};
use super::{Store, StoreError};

pub use inbound_mail::Model as InboundMailRow;
pub use notice::Model as OutboxRow;

/// One inbound message as logged.
#[derive(Debug, Clone)]
pub struct NewInboundMail {
    pub id: Uuid,
    pub ingest_key: String,
    pub message_id: Option<String>,
    /// imap | pipe | api
    pub source: String,
    pub received_at: DateTime<Utc>,
    pub from_address: Option<String>,
    pub subject: Option<String>,
    /// new_item | reply | automatic | bounce | quarantined
    pub outcome: String,
    /// in_reply_to | references | reply_address | subject_code
    pub matched_by: Option<String>,
    pub feedback_item_id: Option<Uuid>,
    pub note: Option<String>,
    pub raw_sha256: String,
    pub raw: Vec<u8>,
}

impl NewInboundMail {
    fn active(&self) -> inbound_mail::ActiveModel {
        inbound_mail::ActiveModel {
            id: Set(self.id),
            ingest_key: Set(self.ingest_key.clone()),
            message_id: Set(self.message_id.clone()),
            source: Set(self.source.clone()),
            received_at: Set(self.received_at),
            from_address: Set(self.from_address.clone()),
            subject: Set(self.subject.clone()),
            outcome: Set(self.outcome.clone()),
            matched_by: Set(self.matched_by.clone()),
            feedback_item_id: Set(self.feedback_item_id),
            note: Set(self.note.clone()),
            raw_sha256: Set(self.raw_sha256.clone()),
            size_bytes: Set(i64::try_from(self.raw.len()).unwrap_or(i64::MAX)),
            raw: Set(self.raw.clone()),
        }
    }
}

/// Writes a log entry inside a caller's transaction (the new item's).
pub(crate) async fn insert_inbound_mail_in<C: ConnectionTrait>(
    conn: &C,
    mail: &NewInboundMail,
) -> Result<(), StoreError> {
    inbound_mail::Entity::insert(mail.active())
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// A log row without its raw message.
#[derive(Debug, sea_orm::FromQueryResult)]
struct LogRow {
    id: Uuid,
    ingest_key: String,
    message_id: Option<String>,
    source: String,
    received_at: DateTime<Utc>,
    from_address: Option<String>,
    subject: Option<String>,
    outcome: String,
    matched_by: Option<String>,
    feedback_item_id: Option<Uuid>,
    note: Option<String>,
    raw_sha256: String,
    size_bytes: i64,
}

/// A page of the inbound mail log, without the raw messages.
#[derive(Debug, Clone, Default)]
pub struct InboundMailFilter {
    pub outcome: Option<String>,
    pub feedback_item_id: Option<Uuid>,
    pub limit: u64,
    pub offset: u64,
}

/// A notice taken by one instance for delivery.
#[derive(Debug, Clone)]
pub struct ClaimedNotice {
    pub notice: OutboxRow,
    pub item: Option<feedback_item::Model>,
    pub agency_email: Option<String>,
    /// A staff member's address (audience `staff`), while they want it.
    pub staff_email: Option<String>,
}

/// How a delivery attempt ended.
#[derive(Debug, Clone)]
pub enum DeliveryResult {
    Sent {
        message_id: String,
        recipient: String,
    },
    /// Nothing to send, for good: no address, an automatic address, an
    /// address that bounces, or the acknowledgement window.
    Skipped {
        reason: String,
    },
    Retry {
        error: String,
        at: DateTime<Utc>,
    },
    Failed {
        error: String,
        recipient: Option<String>,
    },
}

/// What a notice says once a permanent failure was reported for it.
pub const BOUNCED_PERMANENT: &str = "bounced: the receiving server reported a permanent failure";

/// Why a notice to an address with a hard failure was not sent (and the
/// mark by which clearing the failure queues it again).
pub const SKIPPED_ADDRESS_FAILING: &str = "not sent: the address bounced earlier (a permanent failure was reported for a message we sent)";

/// A hard failure blocking notices to an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressFailure {
    pub failed_at: DateTime<Utc>,
    pub blocked_until: DateTime<Utc>,
    pub detail: Option<String>,
}

/// Whether `err` is the unique ingest key refusing a message stored before
/// (by another instance, or an earlier try of this one).
pub fn is_same_message(err: &StoreError) -> bool {
    matches!(err, StoreError::Conflict(m) if m.contains("ingest_key") || m.contains("inbound_mail"))
}

impl Store {
    /// The tracking code of the item `id`, reading nothing else.
    pub async fn tracking_code_of(&self, id: Uuid) -> Result<Option<String>, StoreError> {
        Ok(feedback_item::Entity::find_by_id(id)
            .select_only()
            .column(feedback_item::Column::TrackingCode)
            .into_tuple::<String>()
            .one(self.connection())
            .await?)
    }

    /// Logs an inbound message; `false` when its ingest key was already
    /// logged (the same message again).
    pub async fn insert_inbound_mail(&self, mail: &NewInboundMail) -> Result<bool, StoreError> {
        match insert_inbound_mail_in(self.connection(), mail).await {
            Ok(()) => Ok(true),
            Err(e) if is_same_message(&e) => Ok(false),
            Err(e) => Err(e),
        }
    }

    pub async fn set_inbound_mail_note(&self, id: Uuid, note: &str) -> Result<(), StoreError> {
        inbound_mail::Entity::update_many()
            .col_expr(inbound_mail::Column::Note, Expr::value(note))
            .filter(inbound_mail::Column::Id.eq(id))
            .exec(self.connection())
            .await?;
        Ok(())
    }

    pub async fn inbound_mail_by_key(
        &self,
        ingest_key: &str,
    ) -> Result<Option<InboundMailRow>, StoreError> {
        Ok(inbound_mail::Entity::find()
            .filter(inbound_mail::Column::IngestKey.eq(ingest_key))
            .one(self.connection())
            .await?)
    }

    pub async fn inbound_mail_by_id(&self, id: Uuid) -> Result<Option<InboundMailRow>, StoreError> {
        Ok(inbound_mail::Entity::find_by_id(id)
            .one(self.connection())
            .await?)
    }

    /// The log, newest first; raw messages are left out (they can be
    /// large) and read one at a time with [`Store::inbound_mail_by_id`].
    pub async fn inbound_mail_log(
        &self,
        filter: &InboundMailFilter,
    ) -> Result<(Vec<InboundMailRow>, u64), StoreError> {
        let mut query = inbound_mail::Entity::find();
        if let Some(outcome) = &filter.outcome {
            query = query.filter(inbound_mail::Column::Outcome.eq(outcome.as_str()));
        }
        if let Some(item) = filter.feedback_item_id {
            query = query.filter(inbound_mail::Column::FeedbackItemId.eq(item));
        }
        let total = sea_orm::PaginatorTrait::count(query.clone(), self.connection()).await?;
        let rows = query
            .select_only()
            .columns([
                inbound_mail::Column::Id,
                inbound_mail::Column::IngestKey,
                inbound_mail::Column::MessageId,
                inbound_mail::Column::Source,
                inbound_mail::Column::ReceivedAt,
                inbound_mail::Column::FromAddress,
                inbound_mail::Column::Subject,
                inbound_mail::Column::Outcome,
                inbound_mail::Column::MatchedBy,
                inbound_mail::Column::FeedbackItemId,
                inbound_mail::Column::Note,
                inbound_mail::Column::RawSha256,
                inbound_mail::Column::SizeBytes,
            ])
            .order_by_desc(inbound_mail::Column::ReceivedAt)
            .order_by_desc(inbound_mail::Column::Id)
            .limit(filter.limit)
            .offset(filter.offset)
            .into_model::<LogRow>()
            .all(self.connection())
            .await?
            .into_iter()
            .map(|r| InboundMailRow {
                id: r.id,
                ingest_key: r.ingest_key,
                message_id: r.message_id,
                source: r.source,
                received_at: r.received_at,
                from_address: r.from_address,
                subject: r.subject,
                outcome: r.outcome,
                matched_by: r.matched_by,
                feedback_item_id: r.feedback_item_id,
                note: r.note,
                raw_sha256: r.raw_sha256,
                size_bytes: r.size_bytes,
                raw: Vec::new(),
            })
            .collect();
        Ok((rows, total))
    }

    /// The item one of `message_ids` belongs to: a notice we sent (any
    /// recipient), or an inbound message from `sender` on that item (a
    /// citizen writing again in their own thread). Our own notices win.
    pub async fn item_for_message_ids(
        &self,
        message_ids: &[String],
        sender: Option<&str>,
    ) -> Result<Option<Uuid>, StoreError> {
        if message_ids.is_empty() {
            return Ok(None);
        }
        let ids: Vec<String> = message_ids.iter().take(50).cloned().collect();
        let from_notice = notice::Entity::find()
            .filter(notice::Column::MessageId.is_in(ids.clone()))
            .filter(notice::Column::FeedbackItemId.is_not_null())
            .order_by_desc(notice::Column::CreatedAt)
            .one(self.connection())
            .await?
            .and_then(|n| n.feedback_item_id);
        if from_notice.is_some() {
            return Ok(from_notice);
        }
        let Some(sender) = sender else {
            return Ok(None);
        };
        Ok(inbound_mail::Entity::find()
            .filter(inbound_mail::Column::MessageId.is_in(ids))
            .filter(inbound_mail::Column::FromAddress.eq(sender))
            .filter(inbound_mail::Column::FeedbackItemId.is_not_null())
            .one(self.connection())
            .await?
            .and_then(|m| m.feedback_item_id))
    }

    /// The sent notice a delivery report is about: the one its return path
    /// names (VERP), else the one whose Message-ID it quotes. Only a
    /// message we sent can be reported on.
    pub async fn reported_notice(
        &self,
        by_return_path: Option<Uuid>,
        by_message_id: Option<&str>,
    ) -> Result<Option<OutboxRow>, StoreError> {
        let sent = || notice::Column::Status.is_in(["sent", "bounced"]);
        if let Some(id) = by_return_path
            && let Some(n) = notice::Entity::find_by_id(id)
                .filter(sent())
                .one(self.connection())
                .await?
        {
            return Ok(Some(n));
        }
        let Some(message_id) = by_message_id else {
            return Ok(None);
        };
        Ok(notice::Entity::find()
            .filter(notice::Column::MessageId.eq(message_id))
            .filter(sent())
            .one(self.connection())
            .await?)
    }

    /// A delivery report about the notice `sent`, whose recipient it names
    /// (the caller checked): a permanent failure marks that address
    /// failing and the notice bounced; a temporary one only notes the
    /// delay on the notice, it never blocks an address.
    pub async fn record_bounce(
        &self,
        sent: &OutboxRow,
        permanent: bool,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let Some(address) = sent.recipient.as_deref().map(str::to_lowercase) else {
            return Ok(());
        };
        let txn = self.connection().begin().await?;
        if permanent {
            mail_address_failure::Entity::insert(mail_address_failure::ActiveModel {
                address: Set(address),
                permanent: Set(true),
                failed_at: Set(now),
                notice_id: Set(Some(sent.id)),
                detail: Set(Some(BOUNCED_PERMANENT.into())),
            })
            .on_conflict(
                OnConflict::column(mail_address_failure::Column::Address)
                    .update_columns([
                        mail_address_failure::Column::Permanent,
                        mail_address_failure::Column::FailedAt,
                        mail_address_failure::Column::NoticeId,
                        mail_address_failure::Column::Detail,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await?;
        }
        let mut update = notice::Entity::update_many()
            .col_expr(
                notice::Column::LastError,
                Expr::value(if permanent {
                    BOUNCED_PERMANENT
                } else {
                    "delayed: the receiving server reported a temporary failure"
                }),
            )
            .filter(notice::Column::Id.eq(sent.id));
        if permanent {
            update = update.col_expr(notice::Column::Status, Expr::value("bounced"));
        }
        update.exec(&txn).await?;
        txn.commit().await?;
        Ok(())
    }

    /// The hard delivery failure that still blocks `address` at `now`,
    /// with the time it blocks until.
    pub async fn address_failure(
        &self,
        address: &str,
        block: chrono::Duration,
        now: DateTime<Utc>,
    ) -> Result<Option<AddressFailure>, StoreError> {
        Ok(
            mail_address_failure::Entity::find_by_id(address.trim().to_lowercase())
                .one(self.connection())
                .await?
                .filter(|f| f.permanent && f.failed_at + block > now)
                .map(|f| AddressFailure {
                    failed_at: f.failed_at,
                    blocked_until: f.failed_at + block,
                    detail: f.detail,
                }),
        )
    }

    /// Forgets the failure of `address` and queues again the item's
    /// notices that were skipped because of it; the audit entry says who.
    /// `false` when there was nothing to clear.
    pub async fn clear_address_failure(
        &self,
        address: &str,
        item: Uuid,
        audit: &super::journal::AuditEntry,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let txn = self.connection().begin().await?;
        let gone = mail_address_failure::Entity::delete_by_id(address.trim().to_lowercase())
            .exec(&txn)
            .await?;
        if gone.rows_affected == 0 {
            txn.rollback().await?;
            return Ok(false);
        }
        notice::Entity::update_many()
            .col_expr(notice::Column::Status, Expr::value("queued"))
            .col_expr(notice::Column::Attempts, Expr::value(0))
            .col_expr(
                notice::Column::NextAttemptAt,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .col_expr(
                notice::Column::LastError,
                Expr::value(Option::<String>::None),
            )
            .filter(notice::Column::FeedbackItemId.eq(item))
            .filter(notice::Column::Audience.eq("submitter"))
            .filter(notice::Column::Status.eq("skipped"))
            .filter(notice::Column::LastError.eq(SKIPPED_ADDRESS_FAILING))
            .exec(&txn)
            .await?;
        super::journal::write_audit(
            &txn,
            Some(crate::domain::ids::FeedbackId::from_uuid(item)),
            audit,
            now,
        )
        .await?;
        txn.commit().await?;
        Ok(true)
    }

    /// A generated secret, created on first use and shared by every
    /// instance on the database.
    pub async fn service_secret(
        &self,
        name: &str,
        generate: impl FnOnce() -> Vec<u8>,
        now: DateTime<Utc>,
    ) -> Result<Vec<u8>, StoreError> {
        if let Some(s) = service_secret::Entity::find_by_id(name)
            .one(self.connection())
            .await?
        {
            return Ok(s.value);
        }
        service_secret::Entity::insert(service_secret::ActiveModel {
            name: Set(name.into()),
            value: Set(generate()),
            created_at: Set(now),
        })
        .on_conflict_do_nothing_on([service_secret::Column::Name])
        .exec_without_returning(self.connection())
        .await?;
        // Another instance may have won the race: read what was stored.
        service_secret::Entity::find_by_id(name)
            .one(self.connection())
            .await?
            .map(|s| s.value)
            .ok_or_else(|| StoreError::Integrity(format!("secret {name} vanished")))
    }

    /// Takes or renews the lease `name` for `holder` until `until`;
    /// `false` while another holder's lease runs.
    pub async fn take_lease(
        &self,
        name: &str,
        holder: &str,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        service_lease::Entity::insert(service_lease::ActiveModel {
            name: Set(name.into()),
            holder: Set(holder.into()),
            expires_at: Set(now),
        })
        .on_conflict_do_nothing_on([service_lease::Column::Name])
        .exec_without_returning(self.connection())
        .await?;
        let taken = service_lease::Entity::update_many()
            .col_expr(service_lease::Column::Holder, Expr::value(holder))
            .col_expr(service_lease::Column::ExpiresAt, Expr::value(until))
            .filter(service_lease::Column::Name.eq(name))
            .filter(
                sea_orm::Condition::any()
                    .add(service_lease::Column::Holder.eq(holder))
                    .add(service_lease::Column::ExpiresAt.lte(now)),
            )
            .exec(self.connection())
            .await?;
        Ok(taken.rows_affected == 1)
    }

    pub async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        service_lease::Entity::delete_many()
            .filter(service_lease::Column::Name.eq(name))
            .filter(service_lease::Column::Holder.eq(holder))
            .exec(self.connection())
            .await?;
        Ok(())
    }

    /// The mailbox's UIDVALIDITY and the last UID stored from it.
    pub async fn imap_position(&self, mailbox: &str) -> Result<Option<(i64, i64)>, StoreError> {
        Ok(imap_mailbox::Entity::find_by_id(mailbox)
            .one(self.connection())
            .await?
            .map(|m| (m.uid_validity, m.last_uid)))
    }

    pub async fn set_imap_position(
        &self,
        mailbox: &str,
        uid_validity: i64,
        last_uid: i64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        imap_mailbox::Entity::insert(imap_mailbox::ActiveModel {
            mailbox: Set(mailbox.into()),
            uid_validity: Set(uid_validity),
            last_uid: Set(last_uid),
            updated_at: Set(now),
        })
        .on_conflict(
            OnConflict::column(imap_mailbox::Column::Mailbox)
                .update_columns([
                    imap_mailbox::Column::UidValidity,
                    imap_mailbox::Column::LastUid,
                    imap_mailbox::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(self.connection())
        .await?;
        Ok(())
    }

    /// Claims up to `limit` notices due for delivery for `holder` until
    /// `until`. A notice is claimed by one instance at a time; a claim
    /// left by an instance that died runs out and the notice is taken
    /// again (delivery is at least once; the Message-ID stays the same).
    pub async fn claim_notices(
        &self,
        holder: &str,
        limit: u64,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<ClaimedNotice>, StoreError> {
        let ids: Vec<Uuid> = self
            .claim_rows(
                "notice",
                "id",
                "SELECT id FROM notice WHERE status = 'queued' \
                 AND (next_attempt_at IS NULL OR next_attempt_at <= $3) \
                 AND (claimed_until IS NULL OR claimed_until <= $3) \
                 ORDER BY created_at LIMIT $4",
                (holder, limit),
                until,
                now,
            )
            .await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let notices = notice::Entity::find()
            .filter(notice::Column::Id.is_in(ids))
            .filter(notice::Column::ClaimedBy.eq(holder))
            .order_by_asc(notice::Column::CreatedAt)
            .all(self.connection())
            .await?;
        let mut out = Vec::with_capacity(notices.len());
        for n in notices {
            let item = match n.feedback_item_id {
                Some(id) => {
                    feedback_item::Entity::find_by_id(id)
                        .one(self.connection())
                        .await?
                }
                None => None,
            };
            let agency_email = agency::Entity::find_by_id(n.agency_id)
                .one(self.connection())
                .await?
                .and_then(|a| a.email)
                .filter(|e| !e.trim().is_empty());
            // A notice to one person reaches them only while their
            // account is active and they still want it.
            let staff_email = match n.staff_account_id {
                Some(id) => self
                    .find_staff(id)
                    .await?
                    .filter(|s| s.is_active && s.daily_digest)
                    .and_then(|s| s.email),
                None => None,
            };
            out.push(ClaimedNotice {
                notice: n,
                item,
                agency_email,
                staff_email,
            });
        }
        Ok(out)
    }

    /// Records how the attempt on a claimed notice ended; `false` when the
    /// claim had been lost (it ran out and another instance took it).
    pub async fn finish_delivery(
        &self,
        id: Uuid,
        holder: &str,
        result: &DeliveryResult,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut update = notice::Entity::update_many()
            .col_expr(
                notice::Column::ClaimedUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(notice::Column::Id.eq(id))
            .filter(notice::Column::ClaimedBy.eq(holder))
            .filter(notice::Column::Status.eq("queued"));
        update = match result {
            DeliveryResult::Sent {
                message_id,
                recipient,
            } => update
                .col_expr(notice::Column::Status, Expr::value("sent"))
                .col_expr(notice::Column::SentAt, Expr::value(now))
                .col_expr(notice::Column::MessageId, Expr::value(message_id.as_str()))
                .col_expr(notice::Column::Recipient, Expr::value(recipient.as_str()))
                .col_expr(
                    notice::Column::LastError,
                    Expr::value(Option::<String>::None),
                ),
            DeliveryResult::Skipped { reason } => update
                .col_expr(notice::Column::Status, Expr::value("skipped"))
                .col_expr(notice::Column::LastError, Expr::value(reason.as_str())),
            DeliveryResult::Retry { error, at } => update
                .col_expr(notice::Column::NextAttemptAt, Expr::value(*at))
                .col_expr(notice::Column::LastError, Expr::value(error.as_str())),
            DeliveryResult::Failed { error, recipient } => update
                .col_expr(notice::Column::Status, Expr::value("failed"))
                .col_expr(notice::Column::LastError, Expr::value(error.as_str()))
                .col_expr(notice::Column::Recipient, Expr::value(recipient.clone())),
        };
        Ok(update.exec(self.connection()).await?.rows_affected == 1)
    }

    /// Whether `recipient` was sent one of `kinds` since `since`.
    pub async fn sent_recently(
        &self,
        recipient: &str,
        kinds: &[&str],
        since: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        Ok(notice::Entity::find()
            .filter(notice::Column::Recipient.eq(recipient))
            .filter(notice::Column::Status.eq("sent"))
            .filter(notice::Column::Kind.is_in(kinds.iter().copied()))
            .filter(notice::Column::SentAt.gte(since))
            .one(self.connection())
            .await?
            .is_some())
    }

    /// The Message-IDs of the submitter's mail on an item, oldest first
    /// (our replies thread to them).
    pub async fn submitter_message_ids(&self, item: Uuid) -> Result<Vec<String>, StoreError> {
        Ok(inbound_mail::Entity::find()
            .select_only()
            .column(inbound_mail::Column::MessageId)
            .filter(inbound_mail::Column::FeedbackItemId.eq(item))
            .filter(inbound_mail::Column::Outcome.is_in(["new_item", "reply"]))
            .filter(inbound_mail::Column::MessageId.is_not_null())
            .order_by_asc(inbound_mail::Column::ReceivedAt)
            .limit(20)
            .into_tuple::<Option<String>>()
            .all(self.connection())
            .await?
            .into_iter()
            .flatten()
            .collect())
    }

    /// Notices by delivery status (operators' view), newest first.
    pub async fn notices_with_status(
        &self,
        status: &str,
        limit: u64,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        Ok(notice::Entity::find()
            .filter(notice::Column::Status.eq(status))
            .order_by_desc(notice::Column::CreatedAt)
            .limit(limit)
            .all(self.connection())
            .await?)
    }

    /// The messages on an item as the submitter and staff exchanged them:
    /// notices to the submitter, and inbound mail, oldest first.
    pub async fn item_messages(
        &self,
        item: Uuid,
    ) -> Result<(Vec<OutboxRow>, Vec<InboundMailRow>), StoreError> {
        let out = notice::Entity::find()
            .filter(notice::Column::FeedbackItemId.eq(item))
            .filter(notice::Column::Audience.eq("submitter"))
            .order_by_asc(notice::Column::CreatedAt)
            .all(self.connection())
            .await?;
        let (inbound, _) = self
            .inbound_mail_log(&InboundMailFilter {
                feedback_item_id: Some(item),
                limit: 200,
                ..InboundMailFilter::default()
            })
            .await?;
        Ok((out, inbound))
    }
}
