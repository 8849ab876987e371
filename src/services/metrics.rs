//! What an operator watches (Prometheus): HTTP by route pattern and status
//! class, the work (items by state and channel, overdue items, the outbox,
//! inbound mail), the background jobs (last IMAP poll, last scheduler run
//! and its duration), the pool and rate-limit refusals. One registry per
//! running service; rendered in the text exposition format by the
//! `prometheus` crate. Labels are route patterns, states, channels and
//! statuses only: never a tracking code, a name or an address.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use prometheus::{
    Encoder, Gauge, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

use super::Services;
use crate::store::queue::QueueScope;

pub struct Metrics {
    registry: Registry,
    pub http_requests: IntCounterVec,
    pub http_duration: HistogramVec,
    pub rate_limited: IntCounterVec,
    items: IntGaugeVec,
    items_overdue: IntGauge,
    items_received: IntGaugeVec,
    notices: IntGaugeVec,
    outbox_oldest_age: Gauge,
    webhooks: IntGaugeVec,
    webhook_oldest_age: Gauge,
    inbound_mail: IntGaugeVec,
    imap_last_success: Gauge,
    imap_last_success_age: Gauge,
    scheduler_last_run: Gauge,
    scheduler_last_run_age: Gauge,
    scheduler_duration: Gauge,
    pool: IntGaugeVec,
    pool_max: IntGauge,
    collected: Gauge,
    /// Unix seconds of the last successful IMAP poll and scheduler pass
    /// on this instance (0 = none yet).
    imap_at: AtomicI64,
    scheduler_at: AtomicI64,
}

fn must<T>(r: prometheus::Result<T>) -> T {
    // The names and labels below are fixed and valid; a failure here is a
    // programming error caught by the tests on every start.
    r.unwrap_or_else(|e| panic!("metric definition: {e}"))
}

impl Metrics {
    pub fn new() -> Arc<Self> {
        let registry = Registry::new();
        let counter_vec = |name: &str, help: &str, labels: &[&str]| {
            let c = must(IntCounterVec::new(Opts::new(name, help), labels));
            must(registry.register(Box::new(c.clone())));
            c
        };
        let gauge_vec = |name: &str, help: &str, labels: &[&str]| {
            let g = must(IntGaugeVec::new(Opts::new(name, help), labels));
            must(registry.register(Box::new(g.clone())));
            g
        };
        let int_gauge = |name: &str, help: &str| {
            let g = must(IntGauge::new(name, help));
            must(registry.register(Box::new(g.clone())));
            g
        };
        let gauge = |name: &str, help: &str| {
            let g = must(Gauge::new(name, help));
            must(registry.register(Box::new(g.clone())));
            g
        };
        let http_duration = must(HistogramVec::new(
            HistogramOpts::new(
                "pakn_http_request_duration_seconds",
                "HTTP request latency by route pattern and method.",
            )
            .buckets(vec![
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
            &["route", "method"],
        ));
        must(registry.register(Box::new(http_duration.clone())));
        #[cfg(target_os = "linux")]
        must(registry.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        )));
        Arc::new(Self {
            http_requests: counter_vec(
                "pakn_http_requests_total",
                "HTTP requests by route pattern, method and status class.",
                &["route", "method", "status_class"],
            ),
            http_duration,
            rate_limited: counter_vec(
                "pakn_rate_limited_total",
                "Requests refused by a rate limit (429), by bucket.",
                &["bucket"],
            ),
            items: gauge_vec(
                "pakn_items",
                "Items per workflow state (the whole province).",
                &["state"],
            ),
            items_overdue: int_gauge("pakn_items_overdue", "Open items past a deadline."),
            items_received: gauge_vec(
                "pakn_items_received",
                "Items received since the start of the database, per channel.",
                &["channel"],
            ),
            notices: gauge_vec(
                "pakn_outbox_notices",
                "Notices in the outbox per status (queued, sent, skipped, failed).",
                &["status"],
            ),
            outbox_oldest_age: gauge(
                "pakn_outbox_oldest_queued_age_seconds",
                "Age of the oldest notice still queued (0 when none).",
            ),
            webhooks: gauge_vec(
                "pakn_webhook_deliveries",
                "Webhook deliveries per status (queued, delivered, dead, skipped).",
                &["status"],
            ),
            webhook_oldest_age: gauge(
                "pakn_webhook_oldest_queued_age_seconds",
                "Age of the event of the oldest webhook delivery still queued (0 when none).",
            ),
            inbound_mail: gauge_vec(
                "pakn_inbound_mail",
                "Inbound e-mails per outcome.",
                &["outcome"],
            ),
            imap_last_success: gauge(
                "pakn_imap_last_success_timestamp_seconds",
                "When this instance last polled the mailbox successfully (0 = not yet, or polling off).",
            ),
            imap_last_success_age: gauge(
                "pakn_imap_last_success_age_seconds",
                "Seconds since this instance last polled the mailbox successfully (-1 = not yet, or polling off).",
            ),
            scheduler_last_run: gauge(
                "pakn_scheduler_last_run_timestamp_seconds",
                "When this instance last completed a deadline scheduler pass (0 = not yet).",
            ),
            scheduler_last_run_age: gauge(
                "pakn_scheduler_last_run_age_seconds",
                "Seconds since this instance last completed a scheduler pass (-1 = not yet).",
            ),
            scheduler_duration: gauge(
                "pakn_scheduler_last_duration_seconds",
                "How long the last scheduler pass took.",
            ),
            pool: gauge_vec(
                "pakn_db_pool_connections",
                "Database pool connections by state (in_use, idle).",
                &["state"],
            ),
            pool_max: int_gauge(
                "pakn_db_pool_max_connections",
                "The most connections the pool may open.",
            ),
            collected: gauge(
                "pakn_work_collected_timestamp_seconds",
                "When the work figures (items, outbox, mail) were last read from the database.",
            ),
            imap_at: AtomicI64::new(0),
            scheduler_at: AtomicI64::new(0),
            registry,
        })
    }

    /// Records one answered request.
    pub fn observe_http(&self, route: &str, method: &str, status: u16, seconds: f64) {
        let class = match status {
            100..=199 => "1xx",
            200..=299 => "2xx",
            300..=399 => "3xx",
            400..=499 => "4xx",
            _ => "5xx",
        };
        self.http_requests
            .with_label_values(&[route, method, class])
            .inc();
        self.http_duration
            .with_label_values(&[route, method])
            .observe(seconds);
    }

    pub fn imap_polled(&self, at: DateTime<Utc>) {
        self.imap_at.store(at.timestamp(), Ordering::Relaxed);
    }

    pub fn scheduler_ran(&self, at: DateTime<Utc>, took: Duration) {
        self.scheduler_at.store(at.timestamp(), Ordering::Relaxed);
        self.scheduler_duration.set(took.as_secs_f64());
    }

    /// Reads the work figures from the database (one grouped count per
    /// figure; the per-state counts through the queue summary's cache).
    /// Every figure is read before any gauge changes, so a scrape sees
    /// one collection's figures or the previous one's, never half of each.
    pub async fn collect(&self, s: &Services, now: DateTime<Utc>) -> anyhow::Result<()> {
        let summary = super::queue::summary(s, QueueScope::Province, now)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let work = s.store.work_figures().await?;
        let (deliveries, oldest) = s.store.webhook_figures().await?;
        self.items.reset();
        for c in &summary.by_state {
            self.items
                .with_label_values(&[c.state.as_str()])
                .set(c.count);
        }
        self.items_overdue.set(summary.overdue);
        self.items_received.reset();
        for (channel, n) in &work.received_by_channel {
            self.items_received.with_label_values(&[channel]).set(*n);
        }
        self.notices.reset();
        for status in ["queued", "sent", "skipped", "failed"] {
            let n = work
                .notices_by_status
                .iter()
                .find(|(s, _)| s == status)
                .map_or(0, |(_, n)| *n);
            self.notices.with_label_values(&[status]).set(n);
        }
        self.outbox_oldest_age.set(
            work.oldest_queued_notice
                .map_or(0.0, |t| (now - t).num_milliseconds().max(0) as f64 / 1000.0),
        );
        self.webhooks.reset();
        for status in ["queued", "delivered", "dead", "skipped"] {
            let n = deliveries
                .iter()
                .find(|(s, _)| s == status)
                .map_or(0, |(_, n)| *n);
            self.webhooks.with_label_values(&[status]).set(n);
        }
        self.webhook_oldest_age
            .set(oldest.map_or(0.0, |t| (now - t).num_milliseconds().max(0) as f64 / 1000.0));
        self.inbound_mail.reset();
        for (outcome, n) in &work.inbound_by_outcome {
            self.inbound_mail.with_label_values(&[outcome]).set(*n);
        }
        self.collected.set(now.timestamp() as f64);
        Ok(())
    }

    /// The exposition text, with the ages and the pool as of `now`.
    pub fn render(&self, s: &Services, now: DateTime<Utc>) -> String {
        let age = |at: &AtomicI64| match at.load(Ordering::Relaxed) {
            0 => -1.0,
            t => (now.timestamp() - t).max(0) as f64,
        };
        self.imap_last_success
            .set(self.imap_at.load(Ordering::Relaxed) as f64);
        self.imap_last_success_age.set(age(&self.imap_at));
        self.scheduler_last_run
            .set(self.scheduler_at.load(Ordering::Relaxed) as f64);
        self.scheduler_last_run_age.set(age(&self.scheduler_at));
        let (open, idle, max) = s.store.pool_figures();
        self.pool
            .with_label_values(&["in_use"])
            .set(i64::from(open.saturating_sub(idle)));
        self.pool.with_label_values(&["idle"]).set(i64::from(idle));
        self.pool_max.set(i64::from(max));
        let mut out = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::error!(error = %e, "metrics did not encode");
        }
        String::from_utf8(out).unwrap_or_default()
    }
}
