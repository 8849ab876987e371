//! sea-orm entities, one per table. Only the `store` layer sees them.

pub mod administrative_unit;
pub mod agency;
pub mod agency_field;
pub mod api_key;
pub mod attachment;
pub mod attachment_blob;
pub mod audit_event;
pub mod calendar_day;
pub mod calendar_revision;
pub mod calendar_year;
pub mod coordination;
pub mod feedback_deadline;
pub mod feedback_item;
pub mod field;
pub mod idempotency_record;
pub mod imap_mailbox;
pub mod inbound_mail;
pub mod mail_address_failure;
pub mod notice;
pub mod service_lease;
pub mod service_secret;
pub mod staff_account;
pub mod staff_note;
pub mod staff_session;
pub mod supplement;
pub mod tracking_sequence;
