//! The `pakn` command line. `pakn` alone serves, so `cargo run` does.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use chrono::{Datelike, NaiveDate, Utc};
use clap::{Parser, Subcommand};

use crate::config::Settings;
use crate::domain::calendar::holidays::{DayKind, ScheduledDay};
use crate::domain::calendar::ics;
use crate::domain::calendar::schedule_file::parse_year_file;
use crate::domain::time::vietnam_date;
use crate::services::calendar::CalendarError;
use crate::services::deadlines::DeadlineService;
use crate::services::deadlines::start as start_deadlines;
use crate::startup::{Application, load_demo_directory};
use crate::store::Store;
use crate::store::calendar::CalendarChange;
use crate::telemetry;

/// Prints a line to stdout; a reader that went away (`pakn notices | head`)
/// ends the command quietly instead of a panic.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout().lock(), $($arg)*) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
            eprintln!("pakn: cannot write the output: {e}");
            std::process::exit(74);
        }
    }};
}

#[derive(Debug, Parser)]
#[command(
    name = "pakn",
    version,
    about = "Tiếp nhận, xử lý phản ánh, kiến nghị (Nghị định 20/2008/NĐ-CP)"
)]
pub struct Cli {
    /// Configuration file layered over the built-in defaults
    /// (default: config/default.toml; also PAKN_CONFIG).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Migrate the database and serve HTTP (the default).
    Serve,
    /// Apply, roll back or list database migrations.
    Migrate {
        #[command(subcommand)]
        action: Option<MigrateAction>,
    },
    /// Load the demo directory (TP Đà Nẵng); safe to run again.
    DemoData,
    /// Print the effective configuration (defaults, file, environment)
    /// as JSON, secrets left out.
    Config,
    /// A consistent copy of the whole database while the service runs
    /// (SQLite: VACUUM INTO; PostgreSQL: pg_dump's custom format), verified
    /// after it is written. Never overwrites a file.
    Backup {
        #[arg(long)]
        to: std::path::PathBuf,
    },
    /// Remove the contact data of items settled longer ago than
    /// `retention.contact_data_days` (the scheduler does it hourly);
    /// `--dry-run` only reports how many are due.
    Retention {
        #[arg(long)]
        dry_run: bool,
    },
    /// Move everything from the embedded SQLite database into an empty
    /// PostgreSQL database (`--to postgres://…`), then verify the counts
    /// and a sample of items. Stop the service first.
    CopyStore {
        #[arg(long)]
        to: String,
    },
    /// Restore a backup into the configured database, which must be empty
    /// (SQLite: the file; PostgreSQL: pg_restore), then bring it up to date.
    Restore {
        #[arg(long)]
        from: std::path::PathBuf,
    },
    /// Show a year's working-day calendar, or change it (audited; due
    /// dates of open items are recomputed).
    #[command(args_conflicts_with_subcommands = true)]
    Calendar {
        #[command(subcommand)]
        action: Option<CalendarAction>,
        /// The year to show (1900–2199); default: this year.
        year: Option<i32>,
        #[arg(long, value_enum, default_value_t = CalendarFormat::Text)]
        format: CalendarFormat,
    },
    /// Run the deadline scheduler once: recompute due dates behind the
    /// calendar, queue near-due reminders and overdue escalations.
    Scheduler,
    /// Compare the figures kept as things happen — the queue's counts per
    /// agency and state, each answer's timeliness and working days — with
    /// the items and their deadlines, and print what differs as JSON.
    /// Exit 1 when something differs or is missing; `--repair` rebuilds
    /// them from the items (working days by today's calendar, for answers
    /// sent before they were kept) and checks again.
    Recount {
        #[arg(long)]
        repair: bool,
    },
    /// Staff accounts: add, list, disable.
    Staff {
        #[command(subcommand)]
        action: StaffAction,
    },
    /// Agencies in a reorganisation: succeeded by another, merged or split
    /// by field.
    Agency {
        #[command(subcommand)]
        action: AgencyAction,
    },
    /// API keys for integrations: add, list, revoke.
    ApiKey {
        #[command(subcommand)]
        action: ApiKeyAction,
    },
    /// Webhook subscriptions for partners: add, list, remove, their
    /// deliveries, a dead one again, one delivery pass.
    Webhook {
        #[command(subcommand)]
        action: WebhookAction,
    },
    /// Deliver queued notices once, as the server does every
    /// mail.outbound.interval_seconds (for cron or a first test of the
    /// relay settings).
    Outbox,
    /// Poll the published mailbox once ([mail.imap], which need not be
    /// enabled for this), as the server does continuously when it is.
    PollImap,
    /// Ingest one e-mail from standard input (for an MTA pipe alias).
    /// Exit 0 when stored (or already stored), 65 when the message is
    /// unusable (it is still logged for staff), 75 when the database is
    /// unavailable (the MTA keeps the message and retries).
    IngestEmail,
    /// List queued notices (reminders, escalations), newest first.
    Notices {
        /// Only those not yet delivered.
        #[arg(long)]
        unsent: bool,
        /// Only those with this delivery status: queued, sent, failed or
        /// skipped (e.g. `--status failed` after a relay outage).
        #[arg(long, value_parser = ["queued", "sent", "bounced", "failed", "skipped"])]
        status: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u64,
    },
}

#[derive(Debug, Subcommand)]
enum StaffAction {
    /// Create an account. The password is read from standard input
    /// (--password-stdin) or generated and printed once.
    Add {
        #[arg(long)]
        username: String,
        /// admin, control_office, agency_officer, agency_lead, auditor
        #[arg(long)]
        role: String,
        /// The home agency's directory code, e.g. 48.VP or 48.SXD.
        #[arg(long)]
        agency: String,
        #[arg(long, default_value = "")]
        name: String,
        /// Where the daily digest goes (optional).
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        password_stdin: bool,
    },
    /// List accounts (never their passwords).
    List,
    /// Disable an account and end its sessions.
    Disable { username: String },
    /// Lift a lock-out after repeated wrong passwords.
    Unlock { username: String },
}

#[derive(Debug, Subcommand)]
enum AgencyAction {
    /// Agencies FROM are succeeded by TO from a date: their open items
    /// (deadlines running on), coordination requests, answer templates,
    /// field links and staff move; they receive nothing new from that day.
    /// Prints the preview; applies it unless --dry-run.
    Succession {
        /// Codes of the agencies succeeded, comma-separated.
        #[arg(long, value_delimiter = ',', required = true)]
        from: Vec<String>,
        /// The successor's code.
        #[arg(long)]
        to: String,
        /// The first day of the successor (YYYY-MM-DD, not in the future).
        #[arg(long)]
        on: String,
        /// A split by field: the items of FIELD go to CODE (repeatable).
        #[arg(long = "field", value_name = "FIELD=CODE")]
        fields: Vec<String>,
        /// What happens to the old agencies' accounts: move or disable.
        #[arg(long, default_value = "move", value_parser = ["move", "disable"])]
        staff: String,
        /// Only show what would move.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Subcommand)]
enum ApiKeyAction {
    /// Create a key; it is printed once.
    Add {
        /// A name for the integration, e.g. cong-dvc-danang.
        #[arg(long)]
        name: String,
        /// submit_feedback (a portal pushing its form), read_statistics
        /// (a reporting tool), ingest_email (a mail gateway pushing
        /// inbound mail) or agency_webhooks (an agency's system receiving
        /// webhooks about its items); repeat for several.
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
        /// Who creates it (recorded).
        #[arg(long)]
        by: String,
    },
    /// List keys (never the keys themselves).
    List,
    /// Revoke a key by name.
    Revoke { name: String },
}

#[derive(Debug, Subcommand)]
enum WebhookAction {
    /// Subscribe a URL; the signing secret is printed once.
    Add {
        /// A name for the subscription, e.g. cong-tinh-hoi-dap.
        #[arg(long)]
        name: String,
        /// Where deliveries are POSTed (https://…).
        #[arg(long)]
        url: String,
        /// item.published, item.unpublished, item.answered or
        /// item.state_changed; repeat for several.
        #[arg(long = "event", required = true)]
        events: Vec<String>,
        /// public (the public Q&A's projection; the default) or agency (one
        /// agency's items, for a key with the agency_webhooks scope).
        #[arg(long)]
        scope: Option<String>,
        /// Only this agency's items (its code); required for scope agency.
        #[arg(long)]
        agency: Option<String>,
        /// The API key (by name) an agency subscription belongs to.
        #[arg(long)]
        api_key: Option<String>,
        /// The administrator doing it (recorded).
        #[arg(long)]
        by: String,
    },
    /// List subscriptions with their deliveries counted (never a secret).
    List,
    /// Stop a subscription; what waited for it is skipped.
    Remove {
        name: String,
        #[arg(long)]
        by: String,
    },
    /// A subscription's deliveries, newest first.
    Deliveries {
        name: String,
        /// queued, delivered, dead or skipped.
        #[arg(long)]
        status: Option<String>,
    },
    /// Send a dead delivery again.
    Retry {
        name: String,
        delivery: uuid::Uuid,
        #[arg(long)]
        by: String,
    },
    /// Deliver what is due once, as the server does every
    /// webhooks.interval_seconds.
    Deliver,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum CalendarFormat {
    Text,
    Json,
    Ics,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
#[value(rename_all = "snake_case")]
enum DayKindArg {
    Holiday,
    DayOff,
    WorkingDay,
}

#[derive(Debug, Subcommand)]
enum CalendarAction {
    /// Add or correct one day.
    Set {
        /// YYYY-MM-DD
        date: NaiveDate,
        #[arg(long, value_enum)]
        kind: DayKindArg,
        #[arg(long)]
        name: String,
        /// The document that fixes the day (e.g. "Thông báo 9441/TB-BNV").
        #[arg(long)]
        source: String,
        /// The day is reported but not yet checked against the notice.
        #[arg(long)]
        unconfirmed: bool,
        /// Who makes the change (recorded in the audit log).
        #[arg(long)]
        by: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Remove one day's entry (it becomes an ordinary day).
    Remove {
        date: NaiveDate,
        #[arg(long)]
        by: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Replace a whole year with a schedule file (config/calendar format).
    Import {
        file: PathBuf,
        #[arg(long)]
        by: String,
        #[arg(long)]
        reason: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum MigrateAction {
    /// Apply every pending migration (the default).
    Up,
    /// Roll back migrations: the last one, or --steps N, or --all.
    Down {
        #[arg(long, conflicts_with = "all")]
        steps: Option<u32>,
        #[arg(long)]
        all: bool,
    },
    /// List migrations and whether each is applied.
    Status,
}

pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("pakn: {e}");
            return ExitCode::from(78); // EX_CONFIG
        }
    };
    if let Err(e) = telemetry::init(&settings.log.level, settings.log.format, std::io::stderr) {
        eprintln!("pakn: cannot start logging: {e}");
        return ExitCode::from(70);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the async runtime");
            return ExitCode::from(70);
        }
    };
    let command = cli.command.unwrap_or(Command::Serve);
    if let Command::IngestEmail = command {
        return runtime.block_on(ingest_email(settings));
    }
    match runtime.block_on(execute(command, settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "pakn stopped with an error");
            eprintln!("pakn: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `pakn ingest-email`: sysexits codes so an MTA knows whether to retry.
async fn ingest_email(settings: Settings) -> ExitCode {
    use std::io::Read;
    const EX_DATAERR: u8 = 65;
    const EX_TEMPFAIL: u8 = 75;
    let mut raw = Vec::new();
    let limit = crate::domain::mail::MAX_MESSAGE_BYTES as u64 + 1;
    if let Err(e) = std::io::stdin().take(limit).read_to_end(&mut raw) {
        eprintln!("pakn: cannot read the message: {e}");
        return ExitCode::from(EX_TEMPFAIL);
    }
    // One message per process: a small pool, and no migration check (the
    // server and `pakn migrate` do that; an unmigrated database fails the
    // insert and the MTA retries).
    let mut database = settings.database.clone();
    database.max_connections = 2;
    database.min_connections = 0;
    let result = async {
        let store = Store::connect(&database).await?;
        let services = crate::services::Services::start(store.clone(), Arc::new(settings.clone()))
            .await
            .map_err(|e| match e.downcast::<crate::store::StoreError>() {
                Ok(e) => e,
                Err(e) => crate::store::StoreError::Integrity(format!("{e:#}")),
            })?;
        let ingested = services
            .mail_intake()
            .ingest(&raw, crate::services::mail_intake::Source::Pipe, Utc::now())
            .await;
        store.close().await;
        ingested
    }
    .await;
    match result {
        Ok(ingested) => {
            say!(
                "{}",
                serde_json::json!({
                    "inbound_mail_id": ingested.inbound_mail_id,
                    "outcome": ingested.outcome.as_str(),
                    "duplicate": ingested.duplicate,
                    "tracking_code": ingested.tracking_code,
                    "matched_by": ingested.matched_by,
                })
            );
            if ingested.outcome == crate::services::mail_intake::Outcome::Quarantined {
                ExitCode::from(EX_DATAERR)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(crate::store::StoreError::Unavailable(e)) => {
            eprintln!("pakn: database unavailable, try again later: {e}");
            ExitCode::from(EX_TEMPFAIL)
        }
        Err(e) => {
            // Nothing was stored: the MTA keeps the message and retries
            // (a bounce back to the citizen would lose it).
            tracing::error!(error = %e, "e-mail not ingested");
            eprintln!("pakn: e-mail not ingested: {e}");
            ExitCode::from(EX_TEMPFAIL)
        }
    }
}

async fn execute(command: Command, settings: Settings) -> anyhow::Result<()> {
    match command {
        Command::Config => {
            say!("{}", serde_json::to_string_pretty(&settings.redacted())?);
        }
        Command::Backup { to } => {
            let store = Store::connect(&settings.database).await?;
            let report = crate::services::backup::backup(&store, &settings.database, &to).await;
            store.close().await;
            say!("{}", serde_json::to_string_pretty(&report?)?);
        }
        Command::Retention { dry_run } => {
            let store = Store::connect(&settings.database).await?;
            store.migrate_up().await?;
            let report = crate::services::retention::run(
                &store,
                &settings,
                Utc::now(),
                dry_run,
                &crate::startup::instance_name(),
            )
            .await?;
            say!("{}", serde_json::to_string_pretty(&report)?);
        }
        Command::CopyStore { to } => {
            let source = Store::connect(&settings.database).await?;
            let target = crate::services::backup::open(&to).await?;
            let report = crate::services::copy_store::copy(&source, &target).await;
            source.close().await;
            target.close().await;
            say!("{}", serde_json::to_string_pretty(&report?)?);
        }
        Command::Restore { from } => {
            let report = crate::services::backup::restore(&settings.database, &from).await?;
            say!("{}", serde_json::to_string_pretty(&report)?);
        }
        // Its exit codes are the MTA's protocol: see `ingest_email`.
        Command::IngestEmail => anyhow::bail!("ingest-email runs on its own"),
        Command::Serve => {
            tracing::info!(config = %settings.redacted(), "effective configuration");
            let app = Application::build(settings).await?;
            app.run_until_stopped().await?;
        }
        Command::Migrate { action } => {
            let store = Store::connect(&settings.database).await?;
            match action.unwrap_or(MigrateAction::Up) {
                MigrateAction::Up => store.migrate_up().await?,
                MigrateAction::Down { steps, all } => {
                    store
                        .migrate_down(if all { None } else { Some(steps.unwrap_or(1)) })
                        .await?
                }
                MigrateAction::Status => {
                    for (name, applied) in store.migration_status().await? {
                        say!("{} {name}", if applied { "applied" } else { "pending" });
                    }
                }
            }
            store.close().await;
        }
        Command::Calendar {
            action,
            year,
            format,
        } => {
            let store = Store::connect(&settings.database).await?;
            store.migrate_up().await?;
            let deadlines = start_deadlines(&store, &settings).await?;
            match action {
                None => {
                    let year = year.unwrap_or_else(|| vietnam_date(Utc::now()).year());
                    say!(
                        "{}",
                        show_calendar(&deadlines, year, format)?.trim_end_matches('\n')
                    );
                }
                Some(action) => {
                    change_calendar(&store, &deadlines, action).await?;
                }
            }
            store.close().await;
        }
        Command::Outbox => {
            let store = Store::connect(&settings.database).await?;
            store.migrate_up().await?;
            let mailer = crate::services::outbox::Mailer::from_settings(&settings)
                .map_err(anyhow::Error::msg)?;
            let addressing =
                crate::services::mail_intake::reply_addressing(&store, &settings, Utc::now())
                    .await?;
            let holder = crate::startup::instance_name();
            let outbox = crate::services::outbox::Outbox {
                store: &store,
                settings: &settings,
                mailer: &mailer,
                addressing: &addressing,
                holder: &holder,
            };
            let report = outbox.deliver_once(Utc::now()).await?;
            say!("{}", serde_json::to_string(&report)?);
            store.close().await;
        }
        Command::PollImap => {
            let store = Store::connect(&settings.database).await?;
            store.migrate_up().await?;
            let services =
                crate::services::Services::start(store.clone(), Arc::new(settings.clone())).await?;
            let holder = crate::startup::instance_name();
            let poller = crate::services::imap::ImapPoller {
                intake: services.mail_intake(),
                imap: &settings.mail.imap,
                holder: &holder,
            };
            let report = poller.poll_once().await?;
            say!("{}", serde_json::to_string(&report)?);
            store.close().await;
        }
        Command::Scheduler => {
            let store = Store::connect(&settings.database).await?;
            store.migrate_up().await?;
            let deadlines = start_deadlines(&store, &settings).await?;
            let reasons = settings.rejection_reasons().map_err(anyhow::Error::msg)?;
            let report =
                crate::startup::scheduler_pass(&store, &settings, &deadlines, &reasons, Utc::now())
                    .await?;
            say!("{}", serde_json::to_string(&report)?);
            store.close().await;
        }
        Command::Recount { repair } => {
            let store = Store::connect(&settings.database).await?;
            store.migrate_up().await?;
            let calendar = if repair {
                Some(
                    start_deadlines(&store, &settings)
                        .await?
                        .calendar()
                        .current(),
                )
            } else {
                None
            };
            let report = crate::services::recount::run(&store, calendar.as_deref()).await?;
            say!("{}", serde_json::to_string(&report)?);
            store.close().await;
            let left = report.left();
            if left > 0 {
                return Err(anyhow::anyhow!(
                    "{left} kept figures differ from the items{}",
                    if repair {
                        " after the repair"
                    } else {
                        " (run again with --repair)"
                    }
                ));
            }
        }
        Command::Staff { action } => {
            let store = Store::connect(&settings.database).await?;
            store.migrate_up().await?;
            staff_command(&store, action).await?;
            store.close().await;
        }
        Command::Agency { action } => {
            let store = Store::connect(&settings.database).await?;
            store.migrate_up().await?;
            let result = agency_command(&store, action).await;
            store.close().await;
            result?;
        }
        Command::Webhook { action } => {
            let store = Store::connect(&settings.database).await?;
            store.migrate_up().await?;
            let services =
                crate::services::Services::start(store.clone(), Arc::new(settings.clone())).await?;
            let result = webhook_command(&services, action).await;
            store.close().await;
            result?;
        }
        Command::ApiKey { action } => {
            let store = Store::connect(&settings.database).await?;
            store.migrate_up().await?;
            api_key_command(&store, action).await?;
            store.close().await;
        }
        Command::Notices {
            unsent,
            status,
            limit,
        } => {
            let store = Store::connect(&settings.database).await?;
            store.migrate_up().await?;
            let notices = match status {
                Some(status) => store.notices_with_status(&status, limit).await?,
                None => store.list_notices(unsent, limit).await?,
            };
            for n in notices {
                say!(
                    "{}",
                    serde_json::json!({
                        "id": n.id,
                        "kind": n.kind,
                        "subject": crate::domain::notice_templates::render(&n.kind, &n.payload, &settings.office())
                            .map(|r| r.subject),
                        "audience": n.audience,
                        "agency_id": n.agency_id,
                        "payload": n.payload,
                        "created_at": n.created_at,
                        "sent_at": n.sent_at,
                        "status": n.status,
                        "attempts": n.attempts,
                        "last_error": n.last_error,
                    })
                );
            }
            store.close().await;
        }
        Command::DemoData => {
            let store = Store::connect(&settings.database).await?;
            store.migrate_up().await?;
            let n = load_demo_directory(&store).await?;
            say!("demo directory loaded: {n} agencies");
            store.close().await;
        }
    }
    Ok(())
}

fn show_calendar(
    deadlines: &DeadlineService,
    year: i32,
    format: CalendarFormat,
) -> anyhow::Result<String> {
    let calendar = deadlines.calendar();
    let view = calendar
        .year_view(year)
        .ok_or_else(|| anyhow::anyhow!("only years 1900–2199 are supported"))?;
    Ok(match format {
        CalendarFormat::Json => format!("{}\n", serde_json::to_string_pretty(&view)?),
        CalendarFormat::Ics => {
            let snapshot = calendar.current();
            ics::render(
                year,
                &snapshot.calendar.schedule(year),
                snapshot.version,
                snapshot.changed_at.unwrap_or_else(Utc::now),
            )
        }
        CalendarFormat::Text => {
            let mut out = format!(
                "Năm {year}: {} ngày làm việc; lịch {} (phiên bản {})\n",
                view.working_days,
                if view.basis == "official" {
                    "chính thức"
                } else {
                    "tính theo Bộ luật Lao động, chưa nạp lịch chính thức"
                },
                view.calendar_version
            );
            for d in view.days {
                let kind = match d.kind {
                    DayKind::Holiday => "nghỉ lễ",
                    DayKind::DayOff => "nghỉ",
                    DayKind::WorkingDay => "làm việc",
                };
                out.push_str(&format!(
                    "{} {:<9} {:<9} {}{} [{}]\n",
                    d.date,
                    d.weekday,
                    kind,
                    d.name,
                    if d.confirmed {
                        ""
                    } else {
                        " (chưa xác nhận)"
                    },
                    d.source
                ));
            }
            out
        }
    })
}

async fn change_calendar(
    store: &Store,
    deadlines: &DeadlineService,
    action: CalendarAction,
) -> anyhow::Result<()> {
    let calendar = deadlines.calendar();
    let now = Utc::now();
    let change = |by: &str, summary: String| CalendarChange {
        actor_kind: "admin_cli".into(),
        actor: by.to_string(),
        summary,
        request_id: None,
    };
    let result = match action {
        CalendarAction::Set {
            date,
            kind,
            name,
            source,
            unconfirmed,
            by,
            reason,
        } => {
            let day = ScheduledDay {
                date,
                kind: match kind {
                    DayKindArg::Holiday => DayKind::Holiday,
                    DayKindArg::DayOff => DayKind::DayOff,
                    DayKindArg::WorkingDay => DayKind::WorkingDay,
                },
                name,
                source,
                confirmed: !unconfirmed,
            };
            let summary = reason.unwrap_or_else(|| format!("Cập nhật ngày {date}"));
            calendar
                .set_day(&day, &change(&by, summary), now)
                .await
                .map(Some)
        }
        CalendarAction::Remove { date, by, reason } => {
            let summary = reason.unwrap_or_else(|| format!("Bỏ ngày {date} khỏi lịch"));
            calendar.remove_day(date, &change(&by, summary), now).await
        }
        CalendarAction::Import { file, by, reason } => {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let schedule =
                parse_year_file(&text).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let summary = reason
                .unwrap_or_else(|| format!("Nạp lịch năm {} từ {}", schedule.year, file.display()));
            calendar
                .import_year(&schedule, &change(&by, summary), now)
                .await
                .map(Some)
        }
    };
    match result {
        Ok(Some(version)) => {
            let (recomputed, moved) = deadlines.recompute_behind(store, now).await?;
            say!(
                "calendar version {version}; {recomputed} open deadlines recomputed, {moved} due dates moved"
            );
            Ok(())
        }
        Ok(None) => {
            say!("nothing to change");
            Ok(())
        }
        Err(CalendarError::Invalid(errors)) => Err(anyhow::anyhow!(errors.join("\n"))),
        Err(CalendarError::Store(e)) => Err(e.into()),
    }
}

async fn staff_command(store: &Store, action: StaffAction) -> anyhow::Result<()> {
    use crate::domain::staff::Role;
    use crate::services::auth::{StaffSpec, add_staff};
    match action {
        StaffAction::Add {
            username,
            role,
            agency,
            name,
            email,
            password_stdin,
        } => {
            let role = Role::parse(&role).ok_or_else(|| {
                anyhow::anyhow!(
                    "unknown role {role:?} (admin, control_office, agency_officer, agency_lead, auditor)"
                )
            })?;
            let password = if password_stdin {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line)?;
                Some(line.trim_end_matches(['\r', '\n']).to_string())
            } else {
                None
            };
            let generated = password.is_none();
            let spec = StaffSpec {
                username,
                display_name: name,
                role,
                agency_code: agency,
                password,
                is_demo: false,
                email,
            };
            let (username, password) = add_staff(store, spec, Utc::now())
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            if generated {
                say!("{username} {password}");
                eprintln!("(the password is shown once; hand it over safely)");
            } else {
                say!("{username}");
            }
        }
        StaffAction::List => {
            for s in store.list_staff().await? {
                let agency = store
                    .find_agency_by_id(crate::domain::ids::AgencyId::from_uuid(s.agency_id))
                    .await?
                    .map(|a| a.code)
                    .unwrap_or_default();
                say!(
                    "{:<20} {:<40} {:<15} {:<10} {}{}{}",
                    s.username,
                    s.display_name,
                    s.role,
                    agency,
                    if s.is_active { "active" } else { "disabled" },
                    if s.is_demo { " demo" } else { "" },
                    if s.failed_logins > 0 {
                        format!(" failed_logins={}", s.failed_logins)
                    } else {
                        String::new()
                    }
                );
            }
        }
        StaffAction::Unlock { username } => {
            let username =
                crate::domain::staff::parse_username(&username).map_err(|e| anyhow::anyhow!(e))?;
            let Some(row) = store.find_staff_by_username(&username).await? else {
                anyhow::bail!("no account {username}");
            };
            store.reset_failed_logins(row.id).await?;
            say!("{username} unlocked");
        }
        StaffAction::Disable { username } => {
            let username =
                crate::domain::staff::parse_username(&username).map_err(|e| anyhow::anyhow!(e))?;
            if !store.disable_staff(&username, Utc::now()).await? {
                anyhow::bail!("no account {username}");
            }
            say!("{username} disabled; its sessions are revoked");
        }
    }
    Ok(())
}

async fn agency_command(store: &Store, action: AgencyAction) -> anyhow::Result<()> {
    use crate::services::staff_items::StaffError;
    use crate::services::succession::{self, SuccessionInput};
    use crate::store::succession::StaffChoice;
    let AgencyAction::Succession {
        from,
        to,
        on,
        fields,
        staff,
        dry_run,
    } = action;
    let by_field = fields
        .iter()
        .map(|p| {
            p.split_once('=')
                .map(|(f, a)| (f.trim().to_string(), a.trim().to_string()))
                .ok_or_else(|| anyhow::anyhow!("--field {p:?}: expected FIELD=CODE"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let input = SuccessionInput {
        from,
        to,
        on,
        by_field,
        staff: if staff == "disable" {
            StaffChoice::Disable
        } else {
            StaffChoice::Move
        },
    };
    let now = Utc::now();
    let outcome = if dry_run {
        succession::preview(store, None, &input, now).await
    } else {
        succession::apply(store, None, &input, None, now).await
    };
    let report = match outcome {
        Ok(r) => r,
        Err(StaffError::Invalid(errors)) => {
            let lines: Vec<String> = errors
                .iter()
                .map(|e| format!("{}: {} ({})", e.field, e.message, e.code))
                .collect();
            anyhow::bail!("not applied:\n  {}", lines.join("\n  "));
        }
        Err(e) => anyhow::bail!("{e}"),
    };
    say!(
        "{} {} ({}) from {}: {} open item(s)",
        if report.moved.is_some() {
            "applied:"
        } else {
            "preview (nothing changed):"
        },
        report.to_name,
        report.to_code,
        report.on,
        report.open_items
    );
    for p in &report.predecessors {
        let to: Vec<String> = p
            .open_items
            .iter()
            .map(|d| format!("{} → {}", d.open_items, d.agency_code))
            .collect();
        say!(
            "  {:<12} open items [{}], coordination {}, open deadlines {}, templates {}, staff {}, routing rules {}, closed items kept {}",
            p.code,
            to.join(", "),
            p.coordination_requests,
            p.open_deadlines,
            p.answer_templates,
            p.staff_accounts,
            p.routing_rules.len(),
            p.closed_items
        );
    }
    Ok(())
}

async fn cli_admin(
    services: &crate::services::Services,
    username: &str,
) -> anyhow::Result<crate::domain::staff::Actor> {
    crate::services::auth::actor_by_username(&services.store, username)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .ok_or_else(|| anyhow::anyhow!("no active staff account named {username}"))
}

fn staff_failure(e: crate::services::staff_items::StaffError) -> anyhow::Error {
    use crate::services::staff_items::StaffError;
    match e {
        StaffError::Invalid(errors) => anyhow::anyhow!(
            "{}",
            errors
                .iter()
                .map(|f| format!("{}: {} ({})", f.field, f.message, f.code))
                .collect::<Vec<_>>()
                .join("\n")
        ),
        StaffError::Forbidden => {
            anyhow::anyhow!("that account may not manage webhooks (admin only)")
        }
        StaffError::NotFound => anyhow::anyhow!("no such live subscription or dead delivery"),
        other => anyhow::anyhow!("{other}"),
    }
}

async fn webhook_command(
    services: &crate::services::Services,
    action: WebhookAction,
) -> anyhow::Result<()> {
    use crate::services::webhooks;
    let now = Utc::now();
    match action {
        WebhookAction::Add {
            name,
            url,
            events,
            scope,
            agency,
            api_key,
            by,
        } => {
            let actor = cli_admin(services, &by).await?;
            let input = webhooks::WebhookInput {
                name,
                url,
                events: events
                    .iter()
                    .flat_map(|e| e.split(','))
                    .map(|e| e.trim().to_string())
                    .collect(),
                scope,
                agency,
                api_key,
            };
            let created = webhooks::create(services, &actor, &input, None, now)
                .await
                .map_err(staff_failure)?;
            say!("{}", created.secret);
            eprintln!("(the signing secret is shown once; give it to the partner safely)");
        }
        WebhookAction::List => {
            let store = &services.store;
            for sub in store.webhooks().await? {
                let c = store.webhook_counts(sub.id).await?;
                say!(
                    "{:<24} {:<7} {:<8} queued={} delivered={} dead={} skipped={} {}",
                    sub.name,
                    sub.scope,
                    if sub.disabled_at.is_some() {
                        "removed"
                    } else {
                        "active"
                    },
                    c.queued,
                    c.delivered,
                    c.dead,
                    c.skipped,
                    sub.url
                );
            }
        }
        WebhookAction::Remove { name, by } => {
            let actor = cli_admin(services, &by).await?;
            webhooks::remove(services, &actor, &name, None, now)
                .await
                .map_err(staff_failure)?;
            say!("{name} removed");
        }
        WebhookAction::Deliveries { name, status } => {
            let Some(sub) = services.store.webhook_by_name(&name).await? else {
                anyhow::bail!("no subscription named {name}");
            };
            for d in services
                .store
                .webhook_deliveries(sub.id, status.as_deref(), 200)
                .await?
            {
                say!(
                    "{} {:<20} {:<9} attempts={} {}",
                    d.id,
                    d.event,
                    d.status,
                    d.attempts,
                    d.last_error.unwrap_or_default()
                );
            }
        }
        WebhookAction::Retry { name, delivery, by } => {
            let actor = cli_admin(services, &by).await?;
            webhooks::retry(services, &actor, &name, delivery, None, now)
                .await
                .map_err(staff_failure)?;
            say!("{delivery} queued again");
        }
        WebhookAction::Deliver => {
            let client =
                webhooks::http_client(&services.settings.webhooks).map_err(anyhow::Error::msg)?;
            let holder = crate::startup::instance_name();
            let deliverer = webhooks::Deliverer {
                store: &services.store,
                settings: &services.settings,
                client: &client,
                holder: &holder,
            };
            let report = deliverer.deliver_once(now).await?;
            say!("{}", serde_json::to_string(&report)?);
        }
    }
    Ok(())
}

async fn api_key_command(store: &Store, action: ApiKeyAction) -> anyhow::Result<()> {
    use crate::domain::staff::ApiScope;
    match action {
        ApiKeyAction::Add { name, scopes, by } => {
            let scopes = scopes
                .iter()
                .flat_map(|s| s.split(','))
                .map(|s| {
                    ApiScope::parse(s.trim()).ok_or_else(|| {
                        anyhow::anyhow!(
                            "unknown scope {s:?} (submit_feedback, read_statistics, ingest_email, agency_webhooks)"
                        )
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let key = crate::services::auth::create_api_key(store, &name, &scopes, &by, Utc::now())
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            say!("{key}");
            eprintln!("(the key is shown once; give it to the integration safely)");
        }
        ApiKeyAction::List => {
            for k in store.list_api_keys().await? {
                say!(
                    "{:<24} {:<40} {} {}",
                    k.name,
                    k.scopes
                        .as_array()
                        .map(|a| a
                            .iter()
                            .filter_map(|v| v.as_str())
                            .collect::<Vec<_>>()
                            .join(","))
                        .unwrap_or_default(),
                    if k.revoked_at.is_some() {
                        "revoked"
                    } else {
                        "active"
                    },
                    k.created_by
                );
            }
        }
        ApiKeyAction::Revoke { name } => {
            if !store.revoke_api_key(&name, None, Utc::now()).await? {
                anyhow::bail!("no active API key named {name}");
            }
            say!("{name} revoked");
        }
    }
    Ok(())
}
