//! Everything ingestion does to a message before the database: parse it,
//! classify it (robot, bounce), read an item from it, find codes and the
//! reply text. None of it may panic on any input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pakn::domain::feedback::IntakeRules;
use pakn::domain::{mail, mail_intake, reply_address::ReplyAddressing};

fuzz_target!(|data: &[u8]| {
    let rules = IntakeRules {
        title_max_chars: 200,
        content_min_chars: 20,
        content_max_chars: 20000,
        name_max_chars: 150,
        address_max_chars: 300,
    };
    if let Ok(message) = mail::parse(data) {
        let submission = mail_intake::from_mail(&message, &rules);
        let _ = mail_intake::request_for(&submission.missing);
        let _ = mail_intake::tracking_codes_in(&message.subject);
        let _ = mail_intake::reply_text(&message.text);
        if let Some(addressing) =
            ReplyAddressing::new("phananh@danang.gov.vn", b"0123456789abcdef0123")
        {
            for r in &message.recipients {
                let _ = addressing.item_in(r);
            }
        }
    }
});
