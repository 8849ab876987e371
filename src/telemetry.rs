//! Logging with `tracing`: human-readable by default, JSON lines for log
//! collectors. Personal data never goes into log fields: handlers log
//! tracking codes and request IDs, never names, phones or e-mails.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::config::LogFormat;

/// Installs the global subscriber. `RUST_LOG` overrides `level`. Returns
/// an error string if one is already installed (tests call this repeatedly).
pub fn init<W>(level: &str, format: LogFormat, writer: W) -> Result<(), String>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let mut filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(level))
        .map_err(|e| e.to_string())?;
    let chosen = std::env::var("RUST_LOG").unwrap_or_else(|_| level.to_string());
    if !chosen.contains("actix_http") {
        // actix-http logs a client's malformed request ("stream error:
        // request parse error: invalid Header provided") at ERROR; the
        // client gets its 400 and nothing on our side needs fixing, so
        // ERROR stays meaningful for operators (seen under Schemathesis).
        if let Ok(directive) = "actix_http::h1::dispatcher=off".parse() {
            filter = filter.add_directive(directive);
        }
    }
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_target(true);
    match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
        LogFormat::Pretty => builder.compact().try_init(),
    }
    .map_err(|e| e.to_string())
}
