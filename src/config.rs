//! Settings: embedded defaults (`config/default.toml`), then an optional
//! file (`--config FILE` / `PAKN_CONFIG`), then `PAKN__…` environment
//! variables. Unknown keys are refused so a typo cannot silently fall back
//! to a default.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use config::{Config, Environment, File, FileFormat};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::domain::attachment::AttachmentKind;
use crate::domain::calendar::holidays::HolidayRules;
use crate::domain::calendar::schedule_file::{YearSchedule, parse_year_file};
use crate::domain::deadline::DeadlinePolicy;
use crate::domain::feedback::IntakeRules;
use crate::domain::office::{Office, ProvinceKind};
use crate::domain::rejection::RejectionReasons;

/// A year schedule file as found at start-up.
#[derive(Debug, Clone)]
pub struct ScheduleFile {
    pub name: String,
    pub sha256: String,
    pub schedule: YearSchedule,
}

const DEFAULTS: &str = include_str!("../config/default.toml");
const DEADLINES: &str = include_str!("../config/deadlines.toml");
const REJECTION_REASONS: &str = include_str!("../config/rejection_reasons.toml");
const ROUTING_RULES: &str = include_str!("../config/routing.toml");
/// The schedules shipped with this build, used when
/// `calendar.schedule_dir` does not exist (an installed binary).
const SCHEDULES: [(&str, &str); 2] = [
    ("2025.toml", include_str!("../config/calendar/2025.toml")),
    ("2026.toml", include_str!("../config/calendar/2026.toml")),
];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub log: LogSettings,
    pub province: ProvinceSettings,
    pub intake: IntakeSettings,
    pub rate_limit: RateLimitSettings,
    pub calendar: CalendarSettings,
    pub deadlines: DeadlineSettings,
    pub auth: AuthSettings,
    pub workflow: WorkflowSettings,
    pub mail: MailSettings,
    pub public_pages: PublicPagesSettings,
    pub publication: PublicationSettings,
    pub reporting: ReportingSettings,
    pub metrics: MetricsSettings,
    pub retention: RetentionSettings,
    pub national: NationalSettings,
    pub webhooks: WebhookSettings,
}

/// Webhooks to partners: how deliveries are made, retried and given up,
/// and where they may go.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSettings {
    /// Whether `serve` delivers in the background.
    pub deliver: bool,
    /// Seconds between delivery passes.
    pub interval_seconds: u64,
    /// Deliveries claimed per pass (sent concurrently).
    pub batch_size: u64,
    /// Seconds one request may take.
    pub timeout_seconds: u64,
    /// Attempts before a delivery is given up (dead-lettered).
    pub max_attempts: u32,
    /// The first wait after a failure, doubling up to six hours.
    pub retry_base_seconds: u64,
    /// Allow targets on this machine or a private network (tests, an
    /// intranet partner); refused by default (SSRF).
    pub allow_private_targets: bool,
}

/// The national PAKN system (Hệ thống thông tin tiếp nhận, trả lời phản
/// ánh, kiến nghị on Cổng Dịch vụ công quốc gia): which items the office
/// must re-key there, by when, and what its codes look like.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NationalSettings {
    /// The channels whose items must be entered there (QĐ 31/2021/QĐ-TTg
    /// Art. 43(2): letters, phone calls, e-mails).
    pub channels: Vec<String>,
    /// Working days after receipt by which an item should be recorded
    /// there (not confirmed in law; the office decides).
    pub due_working_days: u32,
    /// The shape of the national system's code (mã PAKN), a regular
    /// expression over the upper-cased code (not confirmed).
    pub code_pattern: String,
}

/// How long contact data is kept after an item is settled.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionSettings {
    /// Days after an item is settled (answered, published, withheld,
    /// closed, not accepted, merged) before its submitter's contact data is
    /// removed; 0 = never (the default).
    pub contact_data_days: u32,
}

/// The Prometheus endpoint, on a listener of its own (never the public
/// port).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSettings {
    /// `host:port`; empty = no metrics endpoint.
    pub bind: String,
    /// A bearer token the scraper must send; empty = none (loopback).
    pub token: SecretString,
    /// How often the work figures are read from the database (seconds).
    pub collect_interval_seconds: u64,
}

/// What publishing an answered item rests on (DOMAIN §8 rule 5 marks the
/// legal basis unconfirmed, so it is a setting, never a silent default).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicationSettings {
    pub basis: PublicationBasis,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PublicationBasis {
    /// Only items whose submitter agreed are ever published (the form
    /// asks; e-mail and staff-entered items never infer consent).
    Consent,
    /// The office publishes redacted questions and answers as a duty; the
    /// form tells the submitter so instead of asking.
    Duty,
}

/// Statistics and reports.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportingSettings {
    pub cutoff_day: u32,
    /// The most items one export lists; a longer period is refused with
    /// a request to narrow it (the file is built in memory).
    pub export_max_rows: u64,
    /// The six-monthly report's document number after the number itself
    /// ("/BC-VP" gives "Số:      /BC-VP"), its recipients (one line each,
    /// "{province}" = "thành phố Đà Nẵng"), and who signs it.
    pub document_number: String,
    pub recipients: Vec<String>,
    pub signatory_title: String,
    pub signatory_name: String,
}

/// The citizen pages: the submission form's bot checks and who
/// may frame the embeddable Q&A.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicPagesSettings {
    pub form_min_fill_seconds: u32,
    pub form_max_age_hours: u32,
    pub embed_origins: Vec<String>,
    /// A lookup recovery link works this long, once; an item gets at most
    /// one link per such period.
    pub token_recovery_minutes: u32,
    /// A partner's submission (Open311) never shows the lookup token: a
    /// one-time link to it goes to the submitter's e-mail, working this
    /// many hours.
    pub token_link_hours: u32,
}

/// The e-mail channel: the published address, outbound
/// delivery of queued notices, and the inbound mailbox.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailSettings {
    pub published_address: String,
    pub from_name: String,
    pub reply_secret: SecretString,
    pub acknowledgement_window_minutes: u32,
    /// How long a hard delivery failure (a 5.x.x report about a message we
    /// sent) stops notices to that address; staff can clear it sooner.
    pub bounce_block_days: u32,
    /// Whether the "your answer is ready" e-mail carries the answer itself
    /// (the citizen's own data, to their own address) or only says where
    /// to read it.
    pub answer_text_in_mail: bool,
    pub outbound: OutboundMailSettings,
    pub imap: ImapSettings,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailTransport {
    /// Write each message as a file (nothing leaves the machine).
    File,
    Smtp,
    /// Leave notices queued.
    Off,
}

/// How a connection to a mail server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailSecurity {
    Tls,
    Starttls,
    /// No encryption: only for servers on the loopback interface.
    Plain,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboundMailSettings {
    pub transport: MailTransport,
    pub file_dir: PathBuf,
    pub smtp_host: String,
    pub smtp_port: u16,
    pub smtp_security: MailSecurity,
    pub smtp_username: String,
    pub smtp_password: SecretString,
    pub max_attempts: u32,
    pub retry_base_seconds: u64,
    pub interval_seconds: u64,
    pub batch_size: u64,
    pub send_timeout_seconds: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImapSettings {
    pub enabled: bool,
    pub host: String,
    pub port: u16,
    pub security: MailSecurity,
    pub username: String,
    pub password: SecretString,
    pub mailbox: String,
    pub processed_folder: String,
    pub poll_interval_seconds: u64,
    pub timeout_seconds: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowSettings {
    pub max_bounces: u32,
    /// The four-eyes rule: whoever drafted an answer may not approve it.
    pub four_eyes: bool,
    pub rating_window_days: u32,
    pub routing_rules_file: String,
    pub rejection_reasons_file: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    pub session_hours: u32,
    pub lock_after_failures: u32,
    pub lock_minutes: u32,
    pub demo_accounts: bool,
    /// The hour (Vietnam time) from which the daily digest is queued on
    /// working days; negative: none.
    pub digest_hour: i32,
    pub password_link_hours: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarSettings {
    pub schedule_dir: PathBuf,
    pub culture_day_from: i32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadlineSettings {
    pub profile: String,
    pub policy_file: String,
    pub scheduler_interval_seconds: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub bind: String,
    pub workers: usize,
    pub public_base_url: String,
    pub shutdown_timeout_seconds: u64,
    pub max_body_bytes: usize,
    /// A request body that stops arriving for this long is dropped (408).
    pub body_idle_timeout_seconds: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    pub url: SecretString,
    pub max_connections: u32,
    pub min_connections: u32,
    pub connect_timeout_seconds: u64,
    pub acquire_timeout_seconds: u64,
    pub sqlite_busy_timeout_ms: u64,
    pub demo_data: DemoData,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DemoData {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub level: String,
    pub format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvinceSettings {
    pub code: String,
    /// "tinh" or "thanh_pho" (a centrally governed city).
    pub kind: String,
    /// The place name alone ("Đà Nẵng").
    pub name: String,
    /// The receiving office's full name; empty = "Văn phòng Ủy ban nhân
    /// dân <kind> <name>".
    pub office_name: String,
    pub hotline: String,
    pub postal_address: String,
    /// Empty = `mail.published_address`.
    pub email: String,
    pub opening_hours: String,
    pub emblem_url: String,
    /// Where the letter boxes (hòm thư góp ý) are, one place a line; for
    /// the leaflet and the posters.
    pub letter_boxes: Vec<String>,
    /// Where complaints and denunciations go instead (they are not
    /// feedback under Decree 20); empty = left out.
    pub complaints_office: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntakeSettings {
    pub title_max_chars: u64,
    pub content_min_chars: u64,
    pub content_max_chars: u64,
    pub name_max_chars: u64,
    pub address_max_chars: u64,
    pub max_attachments: usize,
    pub max_attachment_bytes: usize,
    pub max_request_bytes: usize,
    pub allowed_attachment_types: Vec<String>,
    pub idempotency_retention_hours: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSettings {
    pub enabled: bool,
    pub submissions_per_minute: u32,
    pub submission_burst: u32,
    pub lookups_per_minute: u32,
    pub lookup_burst: u32,
    pub logins_per_minute: u32,
    pub login_burst: u32,
    pub trusted_proxies: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("configuration error: {0}")]
    Load(#[from] config::ConfigError),
    #[error("configuration error: {0}")]
    Invalid(String),
}

impl Settings {
    /// Loads settings from the defaults, `file` (or `PAKN_CONFIG`), and the
    /// environment.
    pub fn load(file: Option<&Path>) -> Result<Self, SettingsError> {
        let file: Option<PathBuf> = file
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os("PAKN_CONFIG").map(PathBuf::from));
        let mut builder = Config::builder().add_source(File::from_str(DEFAULTS, FileFormat::Toml));
        match file {
            Some(path) => {
                builder =
                    builder.add_source(File::from(path).format(FileFormat::Toml).required(true))
            }
            None => {
                // An operator's edits to config/default.toml in the working
                // directory take effect without a rebuild.
                let local = Path::new("config/default.toml");
                if local.is_file() {
                    builder = builder.add_source(File::from(local).format(FileFormat::Toml));
                }
            }
        }
        builder = builder.add_source(
            Environment::with_prefix("PAKN")
                .prefix_separator("__")
                .separator("__")
                .list_separator(",")
                .with_list_parse_key("rate_limit.trusted_proxies")
                .with_list_parse_key("intake.allowed_attachment_types")
                .with_list_parse_key("public_pages.embed_origins"),
        );
        let settings: Settings = builder.build()?.try_deserialize()?;
        settings.check()?;
        Ok(settings)
    }

    /// Loads the defaults only, then applies `adjust` (tests and benchmarks).
    pub fn defaults() -> Result<Self, SettingsError> {
        let settings: Settings = Config::builder()
            .add_source(File::from_str(DEFAULTS, FileFormat::Toml))
            .build()?
            .try_deserialize()?;
        settings.check()?;
        Ok(settings)
    }

    fn check(&self) -> Result<(), SettingsError> {
        let invalid = |m: String| Err(SettingsError::Invalid(m));
        if self.province.code.len() != 2 || !self.province.code.bytes().all(|b| b.is_ascii_digit())
        {
            return invalid(format!(
                "province.code must be a 2-digit QĐ 19/2025 code, got {:?}",
                self.province.code
            ));
        }
        if !self.metrics.bind.is_empty()
            && self.metrics.bind.parse::<std::net::SocketAddr>().is_err()
        {
            return invalid(format!(
                "metrics.bind must be host:port (for example 127.0.0.1:9464), got {:?}",
                self.metrics.bind
            ));
        }
        if self.retention.contact_data_days > 36_500 {
            return invalid("retention.contact_data_days must be 0 (off) to 36500".into());
        }
        if !(1..=3600).contains(&self.metrics.collect_interval_seconds) {
            return invalid("metrics.collect_interval_seconds must be 1–3600".into());
        }
        if !(5..=1440).contains(&self.public_pages.token_recovery_minutes) {
            return invalid("public_pages.token_recovery_minutes must be 5–1440".into());
        }
        for channel in &self.national.channels {
            if crate::domain::feedback::Channel::parse(channel).is_none() {
                return invalid(format!("national.channels: unknown channel {channel:?}"));
            }
        }
        if !(1..=60).contains(&self.national.due_working_days) {
            return invalid("national.due_working_days must be 1–60".into());
        }
        if let Err(e) = regex::Regex::new(&self.national.code_pattern) {
            return invalid(format!(
                "national.code_pattern is not a regular expression: {e}"
            ));
        }
        if !(1..=3600).contains(&self.webhooks.interval_seconds) {
            return invalid("webhooks.interval_seconds must be 1–3600".into());
        }
        if !(1..=500).contains(&self.webhooks.batch_size) {
            return invalid("webhooks.batch_size must be 1–500".into());
        }
        if !(1..=120).contains(&self.webhooks.timeout_seconds) {
            return invalid("webhooks.timeout_seconds must be 1–120".into());
        }
        if !(1..=50).contains(&self.webhooks.max_attempts) {
            return invalid("webhooks.max_attempts must be 1–50".into());
        }
        if !(1..=86_400).contains(&self.webhooks.retry_base_seconds) {
            return invalid("webhooks.retry_base_seconds must be 1–86400".into());
        }
        if !(1..=336).contains(&self.public_pages.token_link_hours) {
            return invalid("public_pages.token_link_hours must be 1–336".into());
        }
        if ProvinceKind::parse(&self.province.kind).is_none() {
            return invalid(format!(
                "province.kind must be \"tinh\" or \"thanh_pho\", got {:?}",
                self.province.kind
            ));
        }
        if self.province.name.trim().is_empty() {
            return invalid("province.name is required (for example \"Đà Nẵng\")".into());
        }
        for t in &self.intake.allowed_attachment_types {
            if AttachmentKind::parse(t).is_none() {
                return invalid(format!(
                    "intake.allowed_attachment_types: unsupported type {t:?}"
                ));
            }
        }
        // Beyond a year the key store only grows; and an unbounded value
        // would overflow date arithmetic at run time.
        if !(1..=8784).contains(&self.intake.idempotency_retention_hours) {
            return invalid(format!(
                "intake.idempotency_retention_hours must be 1–8784 (one year), got {}",
                self.intake.idempotency_retention_hours
            ));
        }
        self.trusted_proxies().map_err(SettingsError::Invalid)?;
        if self.public_pages.form_min_fill_seconds > 600
            || !(1..=720).contains(&self.public_pages.form_max_age_hours)
        {
            return invalid(
                "public_pages.form_min_fill_seconds must be 0–600 and form_max_age_hours 1–720"
                    .into(),
            );
        }
        if !(1..=28).contains(&self.reporting.cutoff_day) {
            return invalid(format!(
                "reporting.cutoff_day must be 1–28, got {}",
                self.reporting.cutoff_day
            ));
        }
        if !(1..=1_048_575).contains(&self.reporting.export_max_rows) {
            // An XLSX sheet holds 1,048,576 rows, one of them the header.
            return invalid(format!(
                "reporting.export_max_rows must be 1–1048575, got {}",
                self.reporting.export_max_rows
            ));
        }
        for origin in &self.public_pages.embed_origins {
            if !is_frame_origin(origin) {
                return invalid(format!(
                    "public_pages.embed_origins: {origin:?} is not scheme://host[:port]"
                ));
            }
        }
        self.deadline_policy().map_err(SettingsError::Invalid)?;
        self.rejection_reasons().map_err(SettingsError::Invalid)?;
        self.routing_rules().map_err(SettingsError::Invalid)?;
        self.year_schedules().map_err(SettingsError::Invalid)?;
        if !(1..=720).contains(&self.auth.session_hours) {
            return invalid(format!(
                "auth.session_hours must be 1–720, got {}",
                self.auth.session_hours
            ));
        }
        if !(1..=100).contains(&self.auth.lock_after_failures)
            || !(1..=1440).contains(&self.auth.lock_minutes)
        {
            return invalid(
                "auth.lock_after_failures must be 1–100 and auth.lock_minutes 1–1440".into(),
            );
        }
        if !(-1..=23).contains(&self.auth.digest_hour)
            || !(1..=336).contains(&self.auth.password_link_hours)
        {
            return invalid(
                "auth.digest_hour must be -1–23 and auth.password_link_hours 1–336".into(),
            );
        }
        if !(1..=600).contains(&self.server.body_idle_timeout_seconds) {
            return invalid(format!(
                "server.body_idle_timeout_seconds must be 1–600, got {}",
                self.server.body_idle_timeout_seconds
            ));
        }
        // Two at least: start-up holds one connection for its lock while
        // another does the work.
        if !(2..=1000).contains(&self.database.max_connections)
            || self.database.min_connections > self.database.max_connections
        {
            return invalid(format!(
                "database.max_connections must be 2–1000 and min_connections at most that, got {} and {}",
                self.database.max_connections, self.database.min_connections
            ));
        }
        if !(5..=3600).contains(&self.deadlines.scheduler_interval_seconds) {
            return invalid(format!(
                "deadlines.scheduler_interval_seconds must be 5–3600, got {}",
                self.deadlines.scheduler_interval_seconds
            ));
        }
        self.check_mail().map_err(SettingsError::Invalid)?;
        let url = self.database.url.expose_secret();
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            return invalid("database.url must start with sqlite: or postgres://".into());
        }
        Ok(())
    }

    fn check_mail(&self) -> Result<(), String> {
        let mail = &self.mail;
        let Some((local, domain)) = mail.published_address.rsplit_once('@') else {
            return Err(format!(
                "mail.published_address must be an e-mail address, got {:?}",
                mail.published_address
            ));
        };
        if local.is_empty() || local.contains('+') || !domain.contains('.') {
            return Err(format!(
                "mail.published_address must be a plain address without '+', got {:?}",
                mail.published_address
            ));
        }
        let secret = mail.reply_secret.expose_secret();
        if !secret.is_empty() && secret.len() < 16 {
            return Err("mail.reply_secret must be empty (generated) or at least 16 bytes".into());
        }
        if !(1..=3650).contains(&mail.bounce_block_days) {
            return Err(format!(
                "mail.bounce_block_days must be 1–3650, got {}",
                mail.bounce_block_days
            ));
        }
        let out = &mail.outbound;
        if !(1..=50).contains(&out.max_attempts)
            || !(1..=86_400).contains(&out.retry_base_seconds)
            || !(1..=3600).contains(&out.interval_seconds)
            || !(1..=1000).contains(&out.batch_size)
            || !(1..=600).contains(&out.send_timeout_seconds)
        {
            return Err("mail.outbound: max_attempts 1–50, retry_base_seconds 1–86400, interval_seconds 1–3600, batch_size 1–1000, send_timeout_seconds 1–600".into());
        }
        if out.transport == MailTransport::Smtp {
            plain_only_on_loopback("mail.outbound", &out.smtp_host, out.smtp_security)?;
        }
        let imap = &mail.imap;
        // Checked even when disabled: `pakn poll-imap` uses it too.
        plain_only_on_loopback("mail.imap", &imap.host, imap.security)?;
        if imap.enabled {
            if imap.mailbox.is_empty() || imap.username.is_empty() {
                return Err("mail.imap: mailbox and username are required".into());
            }
            if !(5..=3600).contains(&imap.poll_interval_seconds)
                || !(1..=600).contains(&imap.timeout_seconds)
            {
                return Err(
                    "mail.imap: poll_interval_seconds 5–3600, timeout_seconds 1–600".into(),
                );
            }
        }
        Ok(())
    }

    /// The deadline profile in force: `deadlines.policy_file`, else
    /// `config/deadlines.toml` in the working directory, else the copy
    /// built into the binary.
    pub fn deadline_policy(&self) -> Result<DeadlinePolicy, String> {
        let text = if !self.deadlines.policy_file.is_empty() {
            std::fs::read_to_string(&self.deadlines.policy_file)
                .map_err(|e| format!("deadlines.policy_file {}: {e}", self.deadlines.policy_file))?
        } else {
            std::fs::read_to_string("config/deadlines.toml").unwrap_or_else(|_| DEADLINES.into())
        };
        DeadlinePolicy::from_toml(&text, &self.deadlines.profile)
            .map_err(|e| format!("deadline policy: {e}"))
    }

    /// The official year schedules to load: every `*.toml` in
    /// `calendar.schedule_dir` if it exists, else those built in. Each
    /// comes with its file name and the SHA-256 of its text.
    pub fn year_schedules(&self) -> Result<Vec<ScheduleFile>, String> {
        let mut texts: Vec<(String, String)> = Vec::new();
        let dir = &self.calendar.schedule_dir;
        if dir.is_dir() {
            let entries = std::fs::read_dir(dir)
                .map_err(|e| format!("calendar.schedule_dir {}: {e}", dir.display()))?;
            for entry in entries {
                let path = entry.map_err(|e| e.to_string())?.path();
                if path.extension().is_some_and(|e| e == "toml") {
                    let text = std::fs::read_to_string(&path)
                        .map_err(|e| format!("{}: {e}", path.display()))?;
                    texts.push((path.display().to_string(), text));
                }
            }
        } else {
            texts = SCHEDULES
                .iter()
                .map(|(name, text)| ((*name).to_string(), (*text).to_string()))
                .collect();
        }
        texts.sort();
        let mut out: Vec<ScheduleFile> = Vec::new();
        for (name, text) in texts {
            let schedule = parse_year_file(&text).map_err(|e| format!("{name}: {e}"))?;
            if out.iter().any(|f| f.schedule.year == schedule.year) {
                return Err(format!("{name}: year {} is in two files", schedule.year));
            }
            out.push(ScheduleFile {
                name,
                sha256: crate::domain::digest::sha256_hex(text.as_bytes()),
                schedule,
            });
        }
        Ok(out)
    }

    /// The rejection reasons: `workflow.rejection_reasons_file`, else
    /// `config/rejection_reasons.toml` in the working directory, else the
    /// built-in copy.
    pub fn rejection_reasons(&self) -> Result<RejectionReasons, String> {
        let file = &self.workflow.rejection_reasons_file;
        let text = if !file.is_empty() {
            std::fs::read_to_string(file)
                .map_err(|e| format!("workflow.rejection_reasons_file {file}: {e}"))?
        } else {
            std::fs::read_to_string("config/rejection_reasons.toml")
                .unwrap_or_else(|_| REJECTION_REASONS.into())
        };
        RejectionReasons::from_toml(&text).map_err(|e| format!("rejection reasons: {e}"))
    }

    /// Keyword routing rules: `workflow.routing_rules_file`, else
    /// `config/routing.toml` in the working directory, else built in.
    pub fn routing_rules(&self) -> Result<Vec<crate::domain::routing::KeywordRule>, String> {
        let file = &self.workflow.routing_rules_file;
        let text = if !file.is_empty() {
            std::fs::read_to_string(file)
                .map_err(|e| format!("workflow.routing_rules_file {file}: {e}"))?
        } else {
            std::fs::read_to_string("config/routing.toml").unwrap_or_else(|_| ROUTING_RULES.into())
        };
        crate::domain::routing::parse_rules(&text).map_err(|e| format!("routing rules: {e}"))
    }

    pub fn holiday_rules(&self) -> HolidayRules {
        HolidayRules {
            culture_day_from: (self.calendar.culture_day_from > 0)
                .then_some(self.calendar.culture_day_from),
        }
    }

    pub fn intake_rules(&self) -> IntakeRules {
        IntakeRules {
            title_max_chars: self.intake.title_max_chars,
            content_min_chars: self.intake.content_min_chars,
            content_max_chars: self.intake.content_max_chars,
            name_max_chars: self.intake.name_max_chars,
            address_max_chars: self.intake.address_max_chars,
        }
    }

    pub fn allowed_attachment_kinds(&self) -> Vec<AttachmentKind> {
        self.intake
            .allowed_attachment_types
            .iter()
            .filter_map(|t| AttachmentKind::parse(t))
            .collect()
    }

    /// Trusted proxy networks as (address, prefix length).
    pub fn trusted_proxies(&self) -> Result<Vec<(IpAddr, u8)>, String> {
        self.rate_limit
            .trusted_proxies
            .iter()
            .map(|entry| {
                let (addr, len) = match entry.split_once('/') {
                    Some((a, l)) => (a, Some(l)),
                    None => (entry.as_str(), None),
                };
                let addr: IpAddr = addr
                    .trim()
                    .parse()
                    .map_err(|_| format!("rate_limit.trusted_proxies: bad address {entry:?}"))?;
                let max = if addr.is_ipv4() { 32 } else { 128 };
                let len = match len {
                    Some(l) => l
                        .trim()
                        .parse::<u8>()
                        .ok()
                        .filter(|l| *l <= max)
                        .ok_or_else(|| {
                            format!("rate_limit.trusted_proxies: bad prefix {entry:?}")
                        })?,
                    None => max,
                };
                Ok((addr, len))
            })
            .collect()
    }

    /// How long an Idempotency-Key is remembered.
    pub fn idempotency_retention(&self) -> chrono::Duration {
        chrono::Duration::hours(
            i64::try_from(self.intake.idempotency_retention_hours).unwrap_or(i64::MAX / 3_600_000),
        )
    }

    /// The receiving office as pages, notices and documents name it.
    pub fn office(&self) -> Office {
        let p = &self.province;
        let kind = ProvinceKind::parse(&p.kind).unwrap_or(ProvinceKind::Tinh);
        let mut office = Office {
            province_code: p.code.clone(),
            kind,
            province_name: p.name.trim().to_string(),
            name: p.office_name.trim().to_string(),
            hotline: p.hotline.trim().to_string(),
            postal_address: p.postal_address.trim().to_string(),
            email: if p.email.trim().is_empty() {
                self.mail.published_address.trim().to_string()
            } else {
                p.email.trim().to_string()
            },
            opening_hours: p.opening_hours.trim().to_string(),
            emblem_url: p.emblem_url.trim().to_string(),
        };
        if office.name.is_empty() {
            office.name = format!("Văn phòng {}", office.people_committee());
        }
        office
    }

    pub fn is_sqlite(&self) -> bool {
        self.database.url.expose_secret().starts_with("sqlite:")
    }

    /// The effective configuration for the start-up log, with the password
    /// in the database URL replaced.
    pub fn redacted(&self) -> serde_json::Value {
        serde_json::json!({
            "server": {
                "bind": self.server.bind,
                "workers": self.server.workers,
                "public_base_url": self.server.public_base_url,
                "shutdown_timeout_seconds": self.server.shutdown_timeout_seconds,
                "max_body_bytes": self.server.max_body_bytes,
                "body_idle_timeout_seconds": self.server.body_idle_timeout_seconds,
            },
            "database": {
                "url": redact_url(self.database.url.expose_secret()),
                "max_connections": self.database.max_connections,
                "min_connections": self.database.min_connections,
                "connect_timeout_seconds": self.database.connect_timeout_seconds,
                "acquire_timeout_seconds": self.database.acquire_timeout_seconds,
                "sqlite_busy_timeout_ms": self.database.sqlite_busy_timeout_ms,
                "demo_data": format!("{:?}", self.database.demo_data).to_lowercase(),
            },
            "log": {"level": self.log.level, "format": format!("{:?}", self.log.format).to_lowercase()},
            "retention": {"contact_data_days": self.retention.contact_data_days},
            "metrics": {
                "bind": self.metrics.bind,
                "token_set": !self.metrics.token.expose_secret().is_empty(),
                "collect_interval_seconds": self.metrics.collect_interval_seconds,
            },
            "province": {
                "code": self.province.code,
                "kind": self.province.kind,
                "name": self.province.name,
                "office_name": self.office().name,
                "hotline": self.province.hotline,
                "postal_address": self.province.postal_address,
                "email": self.office().email,
                "opening_hours": self.province.opening_hours,
                "emblem_url": self.province.emblem_url,
            },
            "intake": {
                "title_max_chars": self.intake.title_max_chars,
                "content_min_chars": self.intake.content_min_chars,
                "content_max_chars": self.intake.content_max_chars,
                "max_attachments": self.intake.max_attachments,
                "max_attachment_bytes": self.intake.max_attachment_bytes,
                "max_request_bytes": self.intake.max_request_bytes,
                "allowed_attachment_types": self.intake.allowed_attachment_types,
                "idempotency_retention_hours": self.intake.idempotency_retention_hours,
            },
            "rate_limit": {
                "enabled": self.rate_limit.enabled,
                "submissions_per_minute": self.rate_limit.submissions_per_minute,
                "submission_burst": self.rate_limit.submission_burst,
                "lookups_per_minute": self.rate_limit.lookups_per_minute,
                "lookup_burst": self.rate_limit.lookup_burst,
                "trusted_proxies": self.rate_limit.trusted_proxies,
            },
            // Secrets (reply key, passwords) are never logged.
            "mail": {
                "published_address": self.mail.published_address,
                "reply_secret_set": !self.mail.reply_secret.expose_secret().is_empty(),
                "outbound": {
                    "transport": format!("{:?}", self.mail.outbound.transport).to_lowercase(),
                    "smtp_host": self.mail.outbound.smtp_host,
                    "smtp_port": self.mail.outbound.smtp_port,
                    "smtp_security": format!("{:?}", self.mail.outbound.smtp_security).to_lowercase(),
                    "smtp_username": self.mail.outbound.smtp_username,
                },
                "imap": {
                    "enabled": self.mail.imap.enabled,
                    "host": self.mail.imap.host,
                    "port": self.mail.imap.port,
                    "security": format!("{:?}", self.mail.imap.security).to_lowercase(),
                    "username": self.mail.imap.username,
                    "mailbox": self.mail.imap.mailbox,
                },
            },
            "reporting": {
                "cutoff_day": self.reporting.cutoff_day,
                "export_max_rows": self.reporting.export_max_rows,
            },
            "public_pages": {
                "form_min_fill_seconds": self.public_pages.form_min_fill_seconds,
                "form_max_age_hours": self.public_pages.form_max_age_hours,
                "embed_origins": self.public_pages.embed_origins,
            },
        })
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let Some((userinfo, host)) = rest.rsplit_once('@') else {
        return url.to_string();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

/// Passwords and mail never cross a network unencrypted: `plain` is for a
/// server on this machine (tests, a local relay).
fn plain_only_on_loopback(section: &str, host: &str, security: MailSecurity) -> Result<(), String> {
    let loopback = host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if security == MailSecurity::Plain && !loopback {
        return Err(format!(
            "{section}: security \"plain\" is only allowed for a server on 127.0.0.1/localhost, not {host:?}"
        ));
    }
    if host.is_empty() {
        return Err(format!("{section}: host is required"));
    }
    Ok(())
}

/// An origin that may go into `frame-ancestors` as it is: `http(s)://`, a
/// host (optionally `*.`-prefixed) and port, nothing that could end the
/// directive or add another.
pub fn is_frame_origin(origin: &str) -> bool {
    let Some(rest) = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
    else {
        return false;
    };
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (rest, None),
    };
    let host = host.strip_prefix("*.").unwrap_or(host);
    !host.is_empty()
        && host.len() <= 253
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        && !host.starts_with('.')
        && !host.ends_with('.')
        && port
            .is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_the_log() {
        assert_eq!(
            redact_url("postgres://pakn:s3cr3t@db:5432/pakn"),
            "postgres://pakn:***@db:5432/pakn"
        );
        assert_eq!(
            redact_url("postgres://pakn@db/pakn"),
            "postgres://pakn@db/pakn"
        );
        assert_eq!(redact_url("sqlite://data/pakn.db"), "sqlite://data/pakn.db");
    }

    #[test]
    fn embedded_defaults_are_valid() {
        let s = Settings::defaults().unwrap();
        assert!(s.is_sqlite());
        assert_eq!(s.province.code, "48");
        assert_eq!(s.allowed_attachment_kinds().len(), 7);
    }

    #[test]
    fn reporting_settings_outside_their_bounds_are_refused() {
        let ok = Settings::defaults().unwrap();
        assert_eq!(ok.reporting.export_max_rows, 200_000);
        for (cutoff_day, export_max_rows) in [(0, 10), (29, 10), (15, 0), (15, 1_048_576)] {
            let mut s = ok.clone();
            s.reporting.cutoff_day = cutoff_day;
            s.reporting.export_max_rows = export_max_rows;
            assert!(s.check().is_err(), "{cutoff_day}, {export_max_rows}");
        }
        let mut largest = ok.clone();
        largest.reporting.export_max_rows = 1_048_575;
        assert!(largest.check().is_ok());
    }

    #[test]
    fn server_and_pool_settings_outside_their_bounds_are_refused() {
        let ok = Settings::defaults().unwrap();
        assert_eq!(ok.server.body_idle_timeout_seconds, 20);
        for idle in [0, 601] {
            let mut s = ok.clone();
            s.server.body_idle_timeout_seconds = idle;
            assert!(s.check().is_err(), "body_idle_timeout_seconds {idle}");
        }
        // Start-up holds one pooled connection for its lock.
        for (max, min) in [(1, 1), (1001, 1), (4, 5)] {
            let mut s = ok.clone();
            s.database.max_connections = max;
            s.database.min_connections = min;
            assert!(s.check().is_err(), "max {max}, min {min}");
        }
        let mut smallest = ok.clone();
        smallest.database.max_connections = 2;
        smallest.server.body_idle_timeout_seconds = 1;
        assert!(smallest.check().is_ok());
    }

    #[test]
    fn national_and_token_link_settings_outside_their_bounds_are_refused() {
        let ok = Settings::defaults().unwrap();
        assert_eq!(ok.national.due_working_days, 3);
        assert_eq!(ok.public_pages.token_link_hours, 72);
        let mut channel = ok.clone();
        channel.national.channels.push("carrier_pigeon".into());
        assert!(channel.check().is_err());
        let mut pattern = ok.clone();
        pattern.national.code_pattern = "([A-Z".into();
        assert!(pattern.check().is_err());
        for days in [0, 61] {
            let mut s = ok.clone();
            s.national.due_working_days = days;
            assert!(s.check().is_err(), "due_working_days {days}");
        }
        for hours in [0, 337] {
            let mut s = ok.clone();
            s.public_pages.token_link_hours = hours;
            assert!(s.check().is_err(), "token_link_hours {hours}");
        }
        let mut edges = ok.clone();
        edges.national.due_working_days = 60;
        edges.public_pages.token_link_hours = 336;
        assert!(edges.check().is_ok());
    }

    #[test]
    fn webhook_settings_outside_their_bounds_are_refused() {
        let ok = Settings::defaults().unwrap();
        assert!(!ok.webhooks.allow_private_targets);
        type Set = fn(&mut Settings, u64);
        let cases: [(&str, Set, u64, u64); 5] = [
            ("interval", |s, v| s.webhooks.interval_seconds = v, 0, 3601),
            ("batch", |s, v| s.webhooks.batch_size = v, 0, 501),
            ("timeout", |s, v| s.webhooks.timeout_seconds = v, 0, 121),
            ("attempts", |s, v| s.webhooks.max_attempts = v as u32, 0, 51),
            ("base", |s, v| s.webhooks.retry_base_seconds = v, 0, 86_401),
        ];
        for (name, set, low, high) in cases {
            for v in [low, high] {
                let mut s = ok.clone();
                set(&mut s, v);
                assert!(s.check().is_err(), "{name} {v}");
            }
            let mut edge = ok.clone();
            set(&mut edge, low + 1);
            assert!(edge.check().is_ok(), "{name} {}", low + 1);
            let mut edge = ok.clone();
            set(&mut edge, high - 1);
            assert!(edge.check().is_ok(), "{name} {}", high - 1);
        }
    }

    #[test]
    fn only_plain_origins_may_frame_the_embed() {
        for ok in [
            "https://danang.gov.vn",
            "http://127.0.0.1:8080",
            "https://*.danang.gov.vn",
            "https://cong-thong-tin.vn:443",
        ] {
            assert!(is_frame_origin(ok), "{ok}");
        }
        for bad in [
            "danang.gov.vn",
            "https://",
            "https://a.vn/path",
            "https://a.vn; script-src *",
            "https://a.vn 'unsafe-inline'",
            "*",
            "https://a.vn:",
            "https://a.vn:99999x",
            "javascript://x",
            "https://.vn",
        ] {
            assert!(!is_frame_origin(bad), "{bad}");
        }
    }
}
