//! Pure domain code: the rules of Decree 20 and the types that carry them.
//! Nothing here knows about HTTP or the database.

pub mod attachment;
pub mod calendar;
pub mod deadline;
pub mod digest;
pub mod directory;
pub mod duplicates;
pub mod feedback;
pub mod form_stamp;
pub mod ids;
pub mod mail;
pub mod mail_intake;
pub mod notice_templates;
pub mod office;
pub mod outreach;
pub mod phone;
pub mod redaction;
pub mod rejection;
pub mod reply_address;
pub mod reporting;
pub mod routing;
pub mod staff;
pub mod staff_intake;
pub mod text;
pub mod time;
pub mod tracking;
pub mod urgency;
pub mod webhook;
pub mod workflow;
