//! Use cases: each one validates, decides and writes through the store in
//! one transaction. Handlers and CLI commands call these, never the store's
//! write paths directly.

pub mod accounts;
pub mod answers;
pub mod api_keys;
pub mod audit_log;
pub mod auth;
pub mod backup;
pub mod calendar;
pub mod calendar_admin;
pub mod copy_store;
pub mod deadlines;
pub mod digest;
pub mod directory_admin;
pub mod imap;
pub mod intake;
pub mod lookup;
pub mod mail_intake;
pub mod metrics;
pub mod my_work;
pub mod national;
pub mod open311;
pub mod outbox;
pub mod outreach;
pub mod public_qa;
pub mod publication;
pub mod queue;
pub mod recount;
pub mod recovery;
pub mod retention;
pub mod routing_admin;
pub mod staff_items;
pub mod subject;
pub mod succession;
pub mod suggestions;
pub mod webhooks;
pub mod workflow;

use std::sync::Arc;

use chrono::Utc;

use crate::config::Settings;
use crate::domain::rejection::RejectionReasons;
use crate::domain::reply_address::ReplyAddressing;
use crate::domain::routing::KeywordRule;
use crate::store::Store;
use calendar::CalendarService;
use deadlines::DeadlineService;
use mail_intake::MailIntake;
use workflow::Workflow;

/// Everything the use cases run on, built once at start-up (the server,
/// each CLI command) and handed to whoever serves a request.
#[derive(Clone)]
pub struct Services {
    pub store: Store,
    pub settings: Arc<Settings>,
    pub calendar: Arc<CalendarService>,
    pub deadlines: Arc<DeadlineService>,
    pub rejection_reasons: Arc<RejectionReasons>,
    pub routing_rules: Arc<Vec<KeywordRule>>,
    pub reply_addressing: Arc<ReplyAddressing>,
    pub summary_cache: Arc<queue::SummaryCache>,
    pub duplicate_candidates: Arc<suggestions::CandidateCache>,
    pub digest_memo: Arc<digest::DigestMemo>,
    pub metrics: Arc<metrics::Metrics>,
    /// The public Q&A's lists and version, kept in this instance.
    pub public_cache: Arc<public_qa::PublicCache>,
}

impl Services {
    /// Loads the calendar and deadline policy (bringing open deadlines up
    /// to date), the rejection reasons, the routing rules and the reply
    /// addressing key.
    pub async fn start(store: Store, settings: Arc<Settings>) -> anyhow::Result<Self> {
        let deadlines = Arc::new(deadlines::start(&store, &settings).await?);
        let rejection_reasons = Arc::new(settings.rejection_reasons().map_err(anyhow::Error::msg)?);
        let routing_rules = Arc::new(settings.routing_rules().map_err(anyhow::Error::msg)?);
        // The file seeds the rules once; from then on they are data.
        if store.seed_routing_rules(&routing_rules, Utc::now()).await? {
            tracing::info!(
                rules = routing_rules.len(),
                "routing rules loaded from their file"
            );
        }
        let reply_addressing =
            Arc::new(mail_intake::reply_addressing(&store, &settings, Utc::now()).await?);
        Ok(Self {
            calendar: deadlines.calendar().clone(),
            store,
            settings,
            deadlines,
            rejection_reasons,
            routing_rules,
            reply_addressing,
            summary_cache: Arc::default(),
            duplicate_candidates: Arc::default(),
            digest_memo: Arc::default(),
            metrics: metrics::Metrics::new(),
            public_cache: Arc::default(),
        })
    }

    /// The handling workflow.
    pub fn workflow(&self) -> Workflow<'_> {
        Workflow {
            store: &self.store,
            settings: &self.settings,
            deadlines: &self.deadlines,
            reasons: &self.rejection_reasons,
        }
    }

    /// E-mail ingestion.
    pub fn mail_intake(&self) -> MailIntake<'_> {
        MailIntake {
            store: &self.store,
            settings: &self.settings,
            deadlines: &self.deadlines,
            reasons: &self.rejection_reasons,
            addressing: &self.reply_addressing,
        }
    }
}
