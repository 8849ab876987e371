//! Black-box tests of the pakn service (one binary, one module per feature).

// Tests state their expectations with unwrap: a panic is the failure report.
#![allow(clippy::unwrap_used)]

mod accounts;
mod accounts_browser;
mod answer_browser;
mod answer_desk;
mod api_keys;
mod audit_log;
mod auth;
mod backup;
mod browser;
mod calendar;
mod calendar_admin;
mod cli;
mod console;
mod console_browser;
mod contract;
mod coordination;
mod copy_store;
mod deadlines;
mod directory;
mod directory_admin;
mod faults;
mod first_hour;
mod fleet;
mod harness;
mod helpers;
mod hostile;
mod imap;
mod intake;
mod lookup;
mod lookup_page;
mod mail;
mod mail_servers;
mod metrics;
mod national;
mod open311;
mod operations;
mod outreach;
mod processes;
mod public_qa;
mod queue;
mod reports;
mod retention;
mod routing_admin;
mod security;
mod staff;
mod stats;
mod storage;
mod subject;
mod submit_page;
mod succession;
mod webhooks;
mod workflow;

fn main() {
    harness::main();
}
