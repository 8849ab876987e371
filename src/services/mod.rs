//! Use cases: each one validates, decides and writes through the store in
//! one transaction. Handlers and CLI commands call these, never the store's
//! write paths directly.

pub mod auth;
pub mod calendar;
pub mod deadlines;
pub mod imap;
pub mod intake;
pub mod lookup;
pub mod mail_intake;
pub mod outbox;
pub mod publication;
pub mod workflow;
