//! The tracking-code parser sees every lookup URL and every subject line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pakn::domain::tracking::TrackingCode;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data)
        && let Ok(code) = s.parse::<TrackingCode>()
    {
        // What parses prints back to something that parses to the same.
        let again: TrackingCode = code.to_string().parse().expect("round trip");
        assert_eq!(again, code);
    }
});
