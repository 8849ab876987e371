//! pakn: receipt and handling of phản ánh, kiến nghị (feedback and
//! petitions on administrative regulations) under Nghị định 20/2008/NĐ-CP
//! as amended by Nghị định 92/2017/NĐ-CP.
//!
//! Layers: `domain` (pure rules) ← `services` (use cases, transactions) ←
//! `web` (HTTP) and `cli`; `store` is the only module that touches the
//! database.

pub mod cli;
pub mod config;
pub mod domain;
pub mod services;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod web;

/// Makes ring the process's rustls crypto provider, for HTTP clients built
/// without one of their own (reqwest is built with `rustls-no-provider`,
/// so that aws-lc-rs stays out of the build; the webhook client passes its
/// ring configuration explicitly). Calling it again does nothing.
pub fn install_tls_provider() {
    // `Err` means a provider is installed already, which is the point.
    let _ = tokio_rustls::rustls::crypto::ring::default_provider().install_default();
}
