//! Database migrations for pakn, one file per change, never edited after
//! they land. Every migration runs on SQLite and PostgreSQL; CI runs
//! up → down → up on both.

pub use sea_orm_migration::prelude::*;

mod m20261122_000001_create_directory;
mod m20261122_000002_create_feedback;
mod m20261122_000003_create_audit_event;
mod m20261122_000004_create_calendar_and_deadlines;
mod m20261122_000005_create_staff;
mod m20261122_000006_staff_intake_and_queue;
mod m20261122_000007_create_api_key;
mod m20261122_000008_workflow_fields;
mod m20261122_000009_supplements_and_ratings;
mod m20261122_000010_coordination;
mod m20261122_000011_email_channel;
mod m20261122_000012_public_qa;
mod m20261122_000013_public_qa_search;
mod m20261122_000014_statistics_indexes;
mod m20261123_000015_figures_at_scale;
mod m20261203_000016_public_copy_and_mail_trust;
mod m20261203_000017_staff_console;
mod m20261203_000018_answer_desk;
mod m20261203_000019_staff_accounts_and_digest;
mod m20261203_000020_directory_admin_and_succession;
mod m20261203_000021_routing_rules;
mod m20261204_000022_lookup_recovery;
mod m20261204_000023_contact_retention;
mod m20261204_000024_contact_access;
mod m20261204_000025_national_record;
mod m20261204_000026_webhooks;
mod m20261204_000027_outreach_sources;
mod m20261204_000028_public_search_published_only;
mod m20261204_000029_queue_state_counts;
mod m20261204_000030_answer_figures;
mod m20261204_000031_overdue_counts;
pub use m20261204_000030_answer_figures::TIMELINESS_SQL;
pub use m20261204_000031_overdue_counts::due_hour_sql;
mod m20261204_000032_statistics_by_day;
mod m20261204_000033_notice_claim_order;
pub use m20261204_000032_statistics_by_day::stat_day_counted_sql;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_create_directory::Migration),
            Box::new(m20261122_000002_create_feedback::Migration),
            Box::new(m20261122_000003_create_audit_event::Migration),
            Box::new(m20261122_000004_create_calendar_and_deadlines::Migration),
            Box::new(m20261122_000005_create_staff::Migration),
            Box::new(m20261122_000006_staff_intake_and_queue::Migration),
            Box::new(m20261122_000007_create_api_key::Migration),
            Box::new(m20261122_000008_workflow_fields::Migration),
            Box::new(m20261122_000009_supplements_and_ratings::Migration),
            Box::new(m20261122_000010_coordination::Migration),
            Box::new(m20261122_000011_email_channel::Migration),
            Box::new(m20261122_000012_public_qa::Migration),
            Box::new(m20261122_000013_public_qa_search::Migration),
            Box::new(m20261122_000014_statistics_indexes::Migration),
            Box::new(m20261123_000015_figures_at_scale::Migration),
            Box::new(m20261203_000016_public_copy_and_mail_trust::Migration),
            Box::new(m20261203_000017_staff_console::Migration),
            Box::new(m20261203_000018_answer_desk::Migration),
            Box::new(m20261203_000019_staff_accounts_and_digest::Migration),
            Box::new(m20261203_000020_directory_admin_and_succession::Migration),
            Box::new(m20261203_000021_routing_rules::Migration),
            Box::new(m20261204_000022_lookup_recovery::Migration),
            Box::new(m20261204_000023_contact_retention::Migration),
            Box::new(m20261204_000024_contact_access::Migration),
            Box::new(m20261204_000025_national_record::Migration),
            Box::new(m20261204_000026_webhooks::Migration),
            Box::new(m20261204_000027_outreach_sources::Migration),
            Box::new(m20261204_000028_public_search_published_only::Migration),
            Box::new(m20261204_000029_queue_state_counts::Migration),
            Box::new(m20261204_000030_answer_figures::Migration),
            Box::new(m20261204_000031_overdue_counts::Migration),
            Box::new(m20261204_000032_statistics_by_day::Migration),
            Box::new(m20261204_000033_notice_claim_order::Migration),
        ]
    }
}
