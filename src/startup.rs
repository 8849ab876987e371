//! Building and running the service: connect, migrate, load the demo
//! directory when asked, bind, serve, and keep house in the background.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use chrono::Utc;

use crate::config::{DemoData, Settings};
use crate::domain::directory::DirectoryFile;
use crate::domain::time::vietnam_date;
use crate::services::Services;
use crate::services::deadlines::DeadlineService;
use crate::store::{Store, StoreError};
use crate::web::middleware::request_context;
use crate::web::rate_limit::RateLimits;
use crate::web::{self as routes, AppState};

pub struct Application {
    port: u16,
    metrics_port: Option<u16>,
    server: Server,
    store: Store,
    deadlines: Arc<DeadlineService>,
}

impl Application {
    /// Connects, migrates, loads demo data per `database.demo_data`, and
    /// binds. The server does not run until [`Application::run_until_stopped`].
    pub async fn build(mut settings: Settings) -> anyhow::Result<Self> {
        let store = Store::connect(&settings.database).await?;
        store.migrate_up().await?;
        // Instances started together take turns at the shared start-up
        // writes (demo directory, calendar years, generated keys).
        let startup = store.startup_lock().await?;
        let demo_loaded = load_demo_data_if_wanted(&store, &settings).await?;
        if demo_loaded && settings.auth.demo_accounts {
            print_demo_accounts(&store).await?;
        }
        let listener = TcpListener::bind(&settings.server.bind)?;
        let address = listener.local_addr()?;
        if settings.server.public_base_url.is_empty() {
            settings.server.public_base_url = format!("http://{address}");
        }
        let settings = Arc::new(settings);
        let services = Services::start(store.clone(), settings.clone()).await?;
        let rate_limits = Arc::new(
            RateLimits::new(&settings, Some(services.metrics.rate_limited.clone()))
                .map_err(anyhow::Error::msg)?,
        );
        let form_stamps = Arc::new(form_stamps(&store, &settings).await?);
        startup.release().await?;
        let deadlines = services.deadlines.clone();
        let state = web::Data::new(AppState {
            services: services.clone(),
            rate_limits: rate_limits.clone(),
            form_stamps,
            changes: crate::web::live::watch_changes(store.clone()),
        });

        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .configure(routes::configure)
                .default_service(web::to(routes::not_found))
                .wrap(from_fn(crate::web::middleware::refuse_cross_site))
                .wrap(from_fn(request_context))
        })
        .listen(listener)?
        .shutdown_timeout(settings.server.shutdown_timeout_seconds);
        if settings.server.workers > 0 {
            server = server.workers(settings.server.workers);
        }
        let server = server.run();
        let metrics_port = spawn_metrics(&services)?;
        let mailer = crate::services::outbox::Mailer::from_settings(&settings)
            .map_err(anyhow::Error::msg)?;
        spawn_outbox(services.clone(), mailer);
        spawn_webhooks(services.clone())?;
        spawn_imap_poller(services.clone());
        spawn_housekeeping(store.clone(), settings.clone(), rate_limits);
        spawn_deadline_scheduler(services);
        tracing::info!(%address, "listening");
        Ok(Self {
            port: address.port(),
            metrics_port,
            server,
            store,
            deadlines,
        })
    }

    /// The deadline engine (tests run its scheduler at chosen times).
    pub fn deadlines(&self) -> &Arc<DeadlineService> {
        &self.deadlines
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The metrics listener's port, when `[metrics] bind` is set.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics_port
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Serves until SIGINT/SIGTERM, then finishes in-flight requests
    /// (up to `server.shutdown_timeout_seconds`) and closes the pool.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        self.store.close().await;
        result
    }
}

/// `demo_data = "auto"` loads the demo directory on first start of the
/// embedded (SQLite) store only: a production PostgreSQL database never
/// gets demo rows unless an operator asks.
async fn load_demo_data_if_wanted(store: &Store, settings: &Settings) -> anyhow::Result<bool> {
    let wanted = match settings.database.demo_data {
        DemoData::Never => false,
        DemoData::Always => true,
        DemoData::Auto => settings.is_sqlite() && store.directory_is_empty().await?,
    };
    if wanted {
        let n = load_demo_directory(store).await?;
        tracing::info!(
            agencies = n,
            "demo directory loaded (TP Đà Nẵng, marked is_demo; replace before go-live)"
        );
    }
    Ok(wanted)
}

/// One demo account per role, created once, their passwords printed to
/// standard output (never to the log) so a first-time user can sign in.
async fn print_demo_accounts(store: &Store) -> anyhow::Result<()> {
    let created = crate::services::auth::create_demo_accounts(store, Utc::now())
        .await
        .map_err(|e| anyhow::anyhow!("demo accounts: {e}"))?;
    if created.is_empty() {
        return Ok(());
    }
    println!("\nTài khoản demo (chỉ in một lần; đổi hoặc khoá trước khi vận hành thật):");
    for (username, role, agency, password) in created {
        println!(
            "  {username:<16} {password}  {:<15} {agency}",
            role.as_str()
        );
    }
    println!();
    tracing::warn!("demo staff accounts created (one per role); disable them before go-live");
    Ok(())
}

/// One scheduler pass: deadlines (recompute, reminders, escalations), then
/// items whose clarification time ran out (R07).
pub async fn scheduler_pass(
    store: &Store,
    settings: &Settings,
    deadlines: &DeadlineService,
    reasons: &crate::domain::rejection::RejectionReasons,
    now: chrono::DateTime<Utc>,
) -> Result<crate::services::deadlines::SchedulerReport, StoreError> {
    let mut report = deadlines.run_scheduler_once(store, now).await?;
    let workflow = crate::services::workflow::Workflow {
        store,
        settings,
        deadlines,
        reasons,
    };
    report.clarifications_expired = workflow.expire_clarifications(now).await?;
    // Anything a dissolved agency still holds (a forward that raced its
    // succession) goes to its successor.
    store.sweep_successions(now).await?;
    store.forget_expired_form_stamps(now).await?;
    // The kept counts' rows since the last pass, folded.
    store.compact_kept_counts().await?;
    Ok(report)
}

/// Each instance runs the deadline scheduler; its writes are
/// compare-and-set, so running it on several at once is safe.
fn spawn_deadline_scheduler(services: Services) {
    let every = Duration::from_secs(services.settings.deadlines.scheduler_interval_seconds);
    tokio::spawn(async move {
        // Start-up already brought due dates up to date; the first pass
        // comes one interval later.
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let s = &services;
            let started = std::time::Instant::now();
            match scheduler_pass(
                &s.store,
                &s.settings,
                &s.deadlines,
                &s.rejection_reasons,
                Utc::now(),
            )
            .await
            {
                Ok(_) => s.metrics.scheduler_ran(Utc::now(), started.elapsed()),
                Err(e) => report_housekeeping_error(&e),
            }
            if let Err(e) = crate::services::digest::queue_due(s, &s.digest_memo, Utc::now()).await
            {
                tracing::error!(error = %e, "daily digests not queued");
            }
        }
    });
}

/// The metrics listener (`[metrics] bind`) and the task that reads the
/// work figures every `metrics.collect_interval_seconds`; nothing when the
/// endpoint is off.
fn spawn_metrics(services: &Services) -> anyhow::Result<Option<u16>> {
    let bind = &services.settings.metrics.bind;
    if bind.is_empty() {
        return Ok(None);
    }
    let listener = TcpListener::bind(bind)?;
    let address = listener.local_addr()?;
    let data = web::Data::new(services.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .configure(crate::web::metrics::configure)
    })
    .workers(1)
    .listen(listener)?
    .shutdown_timeout(1)
    .run();
    tokio::spawn(server);
    let services = services.clone();
    let every = Duration::from_secs(services.settings.metrics.collect_interval_seconds);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = services.metrics.collect(&services, Utc::now()).await {
                tracing::warn!(error = %e, "work figures for the metrics not read");
            }
        }
    });
    tracing::info!(%address, "metrics listening");
    Ok(Some(address.port()))
}

/// This process's name in claims and leases: unique per start, readable
/// in the database when an operator looks at who holds what.
pub fn instance_name() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "pakn".into());
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    format!("{host}:{}:{}", std::process::id(), &nonce[..8])
}

/// Polls the published mailbox every `mail.imap.poll_interval_seconds`,
/// backing off after failures (a server down, a wrong password); one
/// instance at a time holds the mailbox.
fn spawn_imap_poller(services: Services) {
    if !services.settings.mail.imap.enabled {
        return;
    }
    let holder = instance_name();
    tokio::spawn(async move {
        let interval = services.settings.mail.imap.poll_interval_seconds;
        let mut failures = 0u32;
        loop {
            let poller = crate::services::imap::ImapPoller {
                intake: services.mail_intake(),
                imap: &services.settings.mail.imap,
                holder: &holder,
            };
            match poller.poll_once().await {
                Ok(report) => {
                    failures = 0;
                    services.metrics.imap_polled(Utc::now());
                    if report.fetched > 0 {
                        tracing::info!(?report, "mailbox polled");
                    }
                }
                Err(e) => {
                    failures = failures.saturating_add(1);
                    tracing::warn!(error = %e, failures, "mailbox poll failed; retrying later");
                }
            }
            let wait = crate::services::imap::backoff(interval, failures);
            tokio::time::sleep(Duration::from_secs(wait)).await;
        }
    });
}

/// Runs delivery passes one after another while each finds a full batch
/// (more may be waiting), until one handles fewer or fails (logged; the
/// next tick tries again).
async fn drain<F, Fut>(batch_size: u64, mut pass: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<usize, StoreError>>,
{
    loop {
        match pass().await {
            Ok(handled) if (handled as u64) >= batch_size => {}
            Ok(_) => break,
            Err(e) => {
                report_housekeeping_error(&e);
                break;
            }
        }
    }
}

/// Delivers queued notices every `mail.outbound.interval_seconds`; safe
/// with several instances (each notice is claimed by one).
fn spawn_outbox(services: Services, mailer: crate::services::outbox::Mailer) {
    let Services {
        store,
        settings,
        reply_addressing: addressing,
        ..
    } = services;
    if matches!(mailer, crate::services::outbox::Mailer::Off) {
        tracing::info!("outbound mail is off; notices stay queued");
        return;
    }
    let every = Duration::from_secs(settings.mail.outbound.interval_seconds);
    let holder = instance_name();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let outbox = crate::services::outbox::Outbox {
                store: &store,
                settings: &settings,
                mailer: &mailer,
                addressing: &addressing,
                holder: &holder,
            };
            let outbox = &outbox;
            drain(settings.mail.outbound.batch_size, || async move {
                let report = outbox.deliver_once(Utc::now()).await?;
                let handled = report.sent + report.skipped + report.retried + report.failed;
                if handled > 0 {
                    tracing::info!(?report, "outbox pass");
                }
                Ok(handled)
            })
            .await;
        }
    });
}

/// Delivers due webhooks every `webhooks.interval_seconds`; safe with
/// several instances (each delivery is claimed by one, an item's in order).
fn spawn_webhooks(services: Services) -> anyhow::Result<()> {
    let Services {
        store, settings, ..
    } = services;
    if !settings.webhooks.deliver {
        tracing::info!("webhook delivery is off in this instance");
        return Ok(());
    }
    let client =
        crate::services::webhooks::http_client(&settings.webhooks).map_err(anyhow::Error::msg)?;
    let every = Duration::from_secs(settings.webhooks.interval_seconds);
    let holder = instance_name();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let deliverer = crate::services::webhooks::Deliverer {
                store: &store,
                settings: &settings,
                client: &client,
                holder: &holder,
            };
            let deliverer = &deliverer;
            drain(settings.webhooks.batch_size, || async move {
                let report = deliverer.deliver_once(Utc::now()).await?;
                if report.handled() > 0 {
                    tracing::info!(?report, "webhook pass");
                }
                Ok(report.handled())
            })
            .await;
        }
    });
    Ok(())
}

pub async fn load_demo_directory(store: &Store) -> anyhow::Result<usize> {
    let file = DirectoryFile::demo().map_err(anyhow::Error::msg)?;
    Ok(store.load_directory(&file, true).await?)
}

fn report_housekeeping_error(e: &StoreError) {
    match e {
        StoreError::Unavailable(e) => {
            tracing::warn!(error = %e, "housekeeping skipped: database unavailable")
        }
        e => tracing::error!(error = %e, "housekeeping failed"),
    }
}

/// Background upkeep: idle rate-limit buckets every minute; expired
/// idempotency keys and week-old tracking sequences every hour. Failures
/// are logged and retried next time.
fn spawn_housekeeping(store: Store, settings: Arc<Settings>, rate_limits: Arc<RateLimits>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        let mut minutes = 0u64;
        loop {
            tick.tick().await;
            rate_limits.forget_idle();
            // Who had an item open: only the last minute matters.
            if minutes.is_multiple_of(10)
                && let Err(e) = store
                    .forget_presence(Utc::now() - chrono::Duration::minutes(10))
                    .await
            {
                report_housekeeping_error(&e);
            }
            if minutes.is_multiple_of(60)
                && settings.retention.contact_data_days > 0
                && let Err(e) = crate::services::retention::run(
                    &store,
                    &settings,
                    Utc::now(),
                    false,
                    &instance_name(),
                )
                .await
            {
                report_housekeeping_error(&e);
            }
            if minutes.is_multiple_of(60) {
                match store
                    .purge_idempotency(Utc::now() - settings.idempotency_retention())
                    .await
                {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(purged = n, "expired idempotency keys removed"),
                    Err(e) => report_housekeeping_error(&e),
                }
                match store
                    .drop_stale_tracking_sequences(vietnam_date(Utc::now()), 7)
                    .await
                {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(dropped = n, "old tracking sequences dropped"),
                    Err(e) => report_housekeeping_error(&e),
                }
            }
            minutes += 1;
        }
    });
}

/// The submission form's stamps are signed with a key generated once and
/// kept in the database, so a form rendered by one instance can be posted
/// to another, and across restarts.
async fn form_stamps(
    store: &Store,
    settings: &Settings,
) -> anyhow::Result<crate::domain::form_stamp::FormStamps> {
    let key = store
        .service_secret(
            "form_stamp_key",
            || {
                let mut key = vec![0u8; 32];
                if getrandom::fill(&mut key).is_err() {
                    key = uuid::Uuid::new_v4().as_bytes().repeat(2);
                }
                key
            },
            Utc::now(),
        )
        .await?;
    Ok(crate::domain::form_stamp::FormStamps::new(
        &key,
        settings.public_pages.form_min_fill_seconds,
        settings.public_pages.form_max_age_hours,
    ))
}
