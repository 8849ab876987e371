//! Live counts for the staff console: `GET /nhan-vien/su-kien` is a
//! Server-Sent Events stream that sends the queue's counts (the reader's
//! own scope) as an HTML fragment, once on connecting and again whenever
//! something changed. What "changed" means is read from the database (the
//! newest audit event, which every change to an item writes), so a change
//! made through another instance on the same PostgreSQL database reaches
//! this one's readers within one watch interval. Without JavaScript the
//! counts are in the page and a reload refreshes them.

use std::time::Duration;

use actix_web::http::header::{self, HeaderValue};
use actix_web::web::Bytes;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::{DateTime, Utc};
use tokio::sync::watch;

use super::AppState;
use super::html::StaffPage;
use super::problem::ApiError;
use crate::domain::staff::Actor;
use crate::services::queue::{self, Arrival, QueueSummary};
use crate::store::Store;

/// How often each instance looks for changes.
pub const WATCH_INTERVAL: Duration = Duration::from_secs(2);
/// A comment line keeps proxies from closing an idle stream.
const KEEPALIVE: Duration = Duration::from_secs(15);
/// A stream ends after this long; the browser reconnects at once (so a
/// shutdown or a deploy never waits on open streams for long).
const STREAM_LIFETIME: Duration = Duration::from_secs(300);

/// The newest activity this instance has seen; watchers are told when it
/// moves.
pub type Changes = watch::Receiver<Option<DateTime<Utc>>>;

/// Starts this instance's watcher: one small query every
/// [`WATCH_INTERVAL`], whoever is connected.
pub fn watch_changes(store: Store) -> Changes {
    let (tx, rx) = watch::channel(None);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(WATCH_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if tx.is_closed() {
                break;
            }
            match store.latest_activity().await {
                Ok(latest) => {
                    tx.send_if_modified(|seen| {
                        let moved = *seen != latest;
                        *seen = latest;
                        moved
                    });
                }
                Err(e) => tracing::debug!(error = %e, "live counts: database not read"),
            }
        }
    });
    rx
}

/// The counts, as the queue page shows them and the stream sends them.
#[derive(Template)]
#[template(path = "console_counts.html", config = "config/askama.toml")]
pub struct CountsFragment {
    pub summary: QueueSummary,
    pub arrivals: Vec<Arrival>,
    /// Whether the arrivals are new items (the control office) or items
    /// forwarded to the reader's agency.
    pub arrivals_forwarded: bool,
    pub at: String,
    /// Sent by the live stream (not drawn with the page).
    pub live: bool,
}

impl CountsFragment {
    /// The counts and newest arrivals of `staff`'s scope, now.
    pub async fn of(state: &AppState, actor: &Actor) -> Result<Self, ApiError> {
        let scope = queue::scope(actor)?;
        let now = Utc::now();
        let summary = queue::summary(state, scope, now).await?;
        let arrivals = queue::arrivals(state, scope, now).await?;
        Ok(Self {
            summary,
            arrivals,
            arrivals_forwarded: matches!(scope, crate::store::queue::QueueScope::HandledBy(_)),
            at: crate::domain::time::VnTime(now).datetime_vi(),
            live: false,
        })
    }
}

/// One SSE message carrying `html` (each line a `data:` line).
fn message(html: &str) -> Bytes {
    let mut out = String::with_capacity(html.len() + 64);
    for line in html.lines() {
        out.push_str("data: ");
        out.push_str(line);
        out.push('\n');
    }
    out.push('\n');
    Bytes::from(out)
}

async fn counts_message(state: &AppState, staff: &StaffPage) -> Result<Bytes, ApiError> {
    let mut fragment = CountsFragment::of(state, &staff.actor).await?;
    fragment.live = true;
    let html = fragment.render().map_err(|e| {
        tracing::error!(error = %e, "counts did not render");
        ApiError::internal()
    })?;
    Ok(message(&html))
}

/// `GET /nhan-vien/su-kien`: the counts now and whenever they may have
/// changed.
pub async fn events(
    req: actix_web::HttpRequest,
    staff: StaffPage,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    // Watching starts before the first message is drawn: a change between
    // the two is then sent again, never lost.
    let mut changes = state.changes.clone();
    changes.mark_unchanged();
    // Refused before the stream starts (a role without items).
    let first = counts_message(&state, &staff).await?;
    // A client that did not ask for a stream (a script, a link followed)
    // gets the counts once and the end.
    let streaming = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/event-stream"));
    if !streaming {
        return Ok(HttpResponse::Ok()
            .insert_header((
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/event-stream"),
            ))
            .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
            .body(first));
    }
    let started = tokio::time::Instant::now();
    let stream = futures_util::stream::unfold(
        (Some(first), changes, state, staff),
        move |(pending, mut changes, state, staff)| async move {
            if let Some(bytes) = pending {
                return Some((
                    Ok::<_, actix_web::Error>(bytes),
                    (None, changes, state, staff),
                ));
            }
            let left = STREAM_LIFETIME.checked_sub(started.elapsed())?;
            match tokio::time::timeout(left.min(KEEPALIVE), changes.changed()).await {
                // Something moved: the counts again.
                Ok(Ok(())) => match counts_message(&state, &staff).await {
                    Ok(bytes) => Some((Ok(bytes), (None, changes, state, staff))),
                    // The session ended or the database is away: the
                    // browser reconnects and is told.
                    Err(_) => None,
                },
                Ok(Err(_)) => None,
                Err(_) if started.elapsed() >= STREAM_LIFETIME => None,
                Err(_) => Some((
                    Ok(Bytes::from_static(b": keep-alive\n\n")),
                    (None, changes, state, staff),
                )),
            }
        },
    );
    Ok(HttpResponse::Ok()
        .insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/event-stream"),
        ))
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        // A buffering proxy would hold the events back.
        .insert_header(("x-accel-buffering", "no"))
        .streaming(stream))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_line_of_a_fragment_is_a_data_line_and_a_blank_line_ends_it() {
        assert_eq!(
            message("<p>a</p>\n<p>b</p>"),
            Bytes::from_static(b"data: <p>a</p>\ndata: <p>b</p>\n\n")
        );
    }
}
