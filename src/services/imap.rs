//! Polling the published mailbox over IMAP. Messages are
//! fetched by UID, one at a time (`BODY.PEEK[]`, so nothing is marked
//! read by fetching), ingested, and only then flagged `\Seen` (or moved
//! to the processed folder) and the mailbox position advanced. A crash
//! anywhere in between fetches the message again on the next poll, and
//! ingestion stores a message once (its Message-ID is the key): nothing
//! is lost and nothing is doubled. One instance polls a mailbox at a
//! time (a lease in the database); UIDVALIDITY is checked every time.
//!
//! osTicket's classic bug was fetching by sequence number while deleting,
//! which skipped every other message; here sequence numbers are never
//! used, and `UID n:*`'s quirk (it always returns the newest message,
//! even below n) is filtered out.

use std::sync::Arc;
use std::time::Duration;

use async_imap::Session;
use chrono::Utc;
use futures_util::StreamExt;
use secrecy::ExposeSecret;
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls;

use crate::config::{ImapSettings, MailSecurity};
use crate::services::mail_intake::{MailIntake, Source};
use crate::store::StoreError;

/// The connection under the IMAP client: plain (loopback only) or TLS.
pub trait ImapIo: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug> ImapIo for T {}

type ImapSession = Session<Box<dyn ImapIo>>;

#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error("IMAP: {0}")]
    Imap(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<async_imap::error::Error> for PollError {
    fn from(e: async_imap::error::Error) -> Self {
        PollError::Imap(e.to_string())
    }
}

impl From<std::io::Error> for PollError {
    fn from(e: std::io::Error) -> Self {
        PollError::Imap(e.to_string())
    }
}

/// What one poll did.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct PollReport {
    /// Another instance holds the mailbox; this one did nothing.
    pub leased_elsewhere: bool,
    pub fetched: usize,
    pub stored: usize,
    pub duplicates: usize,
    pub last_uid: i64,
}

/// Messages taken per poll; the rest wait for the next one.
const MAX_PER_POLL: usize = 500;

/// Polls one mailbox.
pub struct ImapPoller<'a> {
    pub intake: MailIntake<'a>,
    pub imap: &'a ImapSettings,
    pub holder: &'a str,
}

impl ImapPoller<'_> {
    /// One poll: everything new in the mailbox, in UID order.
    pub async fn poll_once(&self) -> Result<PollReport, PollError> {
        let store = self.intake.store;
        let lease = format!(
            "imap:{}@{}:{}",
            self.imap.mailbox, self.imap.host, self.imap.port
        );
        let now = Utc::now();
        let hold = chrono::Duration::seconds(
            i64::try_from(self.imap.timeout_seconds * 4 + self.imap.poll_interval_seconds)
                .unwrap_or(3600),
        );
        if !store
            .take_lease(&lease, self.holder, now + hold, now)
            .await?
        {
            return Ok(PollReport {
                leased_elsewhere: true,
                ..PollReport::default()
            });
        }
        let result = self.poll_locked(&lease, hold).await;
        if let Err(e) = store.release_lease(&lease, self.holder).await {
            tracing::warn!(error = %e, "IMAP lease not released; it runs out by itself");
        }
        result
    }

    async fn poll_locked(
        &self,
        lease: &str,
        hold: chrono::Duration,
    ) -> Result<PollReport, PollError> {
        let store = self.intake.store;
        let timeout = Duration::from_secs(self.imap.timeout_seconds);
        let mut session = within(timeout, connect(self.imap)).await??;
        let mailbox = within(timeout, session.select(&self.imap.mailbox)).await??;
        let validity = i64::from(mailbox.uid_validity.unwrap_or(0));
        let last = match store.imap_position(&self.imap.mailbox).await? {
            Some((known, last)) if known == validity => last,
            Some((known, _)) => {
                // The server renumbered the mailbox: start over. Messages
                // already ingested are recognised by their Message-ID.
                tracing::warn!(
                    old = known,
                    new = validity,
                    "IMAP UIDVALIDITY changed; reading the mailbox again"
                );
                0
            }
            None => 0,
        };
        let found = within(timeout, session.uid_search(format!("UID {}:*", last + 1))).await??;
        let mut uids: Vec<u32> = found.into_iter().filter(|u| i64::from(*u) > last).collect();
        uids.sort_unstable();
        uids.truncate(MAX_PER_POLL);
        if !self.imap.processed_folder.is_empty() && !uids.is_empty() {
            // Already there is fine.
            let _ = within(timeout, session.create(&self.imap.processed_folder)).await;
        }
        let mut report = PollReport {
            last_uid: last,
            ..PollReport::default()
        };
        for uid in uids {
            let Some(raw) = within(timeout, fetch(&mut session, uid)).await?? else {
                tracing::warn!(uid, "IMAP message vanished before it was fetched");
                continue;
            };
            report.fetched += 1;
            failpoint("imap_after_fetch");
            let ingested = self.intake.ingest(&raw, Source::Imap, Utc::now()).await?;
            if ingested.duplicate {
                report.duplicates += 1;
            } else {
                report.stored += 1;
            }
            failpoint("imap_after_commit");
            within(timeout, mark_processed(&mut session, uid, self.imap)).await??;
            store
                .set_imap_position(&self.imap.mailbox, validity, i64::from(uid), Utc::now())
                .await?;
            report.last_uid = i64::from(uid);
            // A long batch keeps the mailbox for this instance.
            let now = Utc::now();
            store
                .take_lease(lease, self.holder, now + hold, now)
                .await?;
        }
        let _ = within(timeout, session.logout()).await;
        Ok(report)
    }
}

/// Test hook: `PAKN_FAILPOINT=<name>` kills the process at that point
/// (the crash tests use it to stop between fetch and commit).
fn failpoint(name: &str) {
    if std::env::var("PAKN_FAILPOINT").is_ok_and(|v| v == name) {
        tracing::error!(failpoint = name, "failpoint reached; aborting");
        std::process::abort();
    }
}

async fn within<T>(
    limit: Duration,
    f: impl std::future::Future<Output = T>,
) -> Result<T, PollError> {
    tokio::time::timeout(limit, f)
        .await
        .map_err(|_| PollError::Imap("timed out".into()))
}

fn tls_connector() -> Result<TlsConnector, PollError> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| PollError::Imap(e.to_string()))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

async fn tls(stream: TcpStream, host: &str) -> Result<Box<dyn ImapIo>, PollError> {
    let name = rustls::pki_types::ServerName::try_from(host.to_string())
        .map_err(|e| PollError::Imap(format!("{host}: {e}")))?;
    let stream = tls_connector()?.connect(name, stream).await?;
    Ok(Box::new(stream))
}

async fn connect(imap: &ImapSettings) -> Result<ImapSession, PollError> {
    let tcp = TcpStream::connect((imap.host.as_str(), imap.port)).await?;
    let io: Box<dyn ImapIo> = match imap.security {
        MailSecurity::Tls => tls(tcp, &imap.host).await?,
        MailSecurity::Plain => Box::new(tcp),
        MailSecurity::Starttls => {
            let mut client = async_imap::Client::new(tcp);
            client.read_response().await?;
            client.run_command_and_check_ok("STARTTLS", None).await?;
            tls(client.into_inner(), &imap.host).await?
        }
    };
    let mut client = async_imap::Client::new(io);
    if matches!(imap.security, MailSecurity::Tls | MailSecurity::Plain) {
        // The greeting (after STARTTLS there is none).
        client.read_response().await?;
    }
    client
        .login(&imap.username, imap.password.expose_secret())
        .await
        .map_err(|(e, _)| PollError::Imap(format!("login failed: {e}")))
}

/// One message by UID, without setting `\Seen`. The response stream is
/// drained to the end before the next command (async-imap needs it).
async fn fetch(session: &mut ImapSession, uid: u32) -> Result<Option<Vec<u8>>, PollError> {
    let mut body = None;
    let mut stream = session.uid_fetch(uid.to_string(), "BODY.PEEK[]").await?;
    while let Some(item) = stream.next().await {
        let fetched = item?;
        if fetched.uid == Some(uid)
            && let Some(b) = fetched.body()
        {
            body = Some(b.to_vec());
        }
    }
    Ok(body)
}

async fn mark_processed(
    session: &mut ImapSession,
    uid: u32,
    imap: &ImapSettings,
) -> Result<(), PollError> {
    {
        let mut stream = session
            .uid_store(uid.to_string(), "+FLAGS (\\Seen)")
            .await?;
        while let Some(item) = stream.next().await {
            item?;
        }
    }
    if !imap.processed_folder.is_empty() {
        session
            .uid_mv(uid.to_string(), &imap.processed_folder)
            .await?;
    }
    Ok(())
}

/// Seconds to wait after `failures` failed polls in a row: the interval,
/// doubling, at most 15 minutes.
pub fn backoff(interval: u64, failures: u32) -> u64 {
    interval
        .saturating_mul(1u64 << failures.min(10))
        .min(15 * 60)
        .max(interval)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_a_quarter_hour() {
        assert_eq!(backoff(60, 0), 60);
        assert_eq!(backoff(60, 1), 120);
        assert_eq!(backoff(60, 3), 480);
        assert_eq!(backoff(60, 30), 900);
        assert_eq!(backoff(3600, 0), 3600);
    }
}
