//! The form parser: every body the public form, portals and staff intake
//! send (JSON, urlencoded, multipart with files) up to a checked
//! submission and checked attachments. None of it may panic, and no
//! parse may keep more than the limits allow, on any input.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use pakn::config::Settings;
use pakn::services::intake::check_files;
use pakn::web::intake_body::{BodyLimits, parse_body_chunks, submission_from_value};

const BOUNDARY: &str = "pakn-fuzz-boundary";

static SETTINGS: LazyLock<Settings> =
    LazyLock::new(|| Settings::defaults().expect("default settings"));

fuzz_target!(|data: &[u8]| {
    // First byte: the encoding and where the body is cut into chunks
    // (multipart's reader must hold across any chunk boundary).
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let content_type = match selector % 3 {
        0 => "application/json".to_string(),
        1 => "application/x-www-form-urlencoded".to_string(),
        _ => format!("multipart/form-data; boundary={BOUNDARY}"),
    };
    let cut = usize::from(selector / 3).max(1);
    let chunks: Vec<Vec<u8>> = body.chunks(cut).map(<[u8]>::to_vec).collect();
    let limits = BodyLimits {
        max_body_bytes: 4096,
        max_request_bytes: 16384,
        max_attachments: 3,
        max_attachment_bytes: 2048,
    };
    let parsed = futures::executor::block_on(parse_body_chunks(
        &content_type,
        Some(body.len()),
        chunks,
        limits,
    ));
    let Ok((value, files)) = parsed else { return };
    assert!(files.len() <= limits.max_attachments);
    assert!(
        files
            .iter()
            .all(|f| f.content.len() <= limits.max_attachment_bytes + 1)
    );
    let _ = check_files(&files, &SETTINGS, 0, "submitter");
    if let Ok(input) = submission_from_value(value) {
        let _ = input.normalized().parse(&SETTINGS.intake_rules());
    }
});
