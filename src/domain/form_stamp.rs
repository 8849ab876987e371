//! The stamp a server-rendered form carries: when the form was
//! rendered, signed so a script cannot make one up. A person needs some
//! seconds to fill in a feedback form; a bot posts at once, or replays one
//! stamp for ever. Neither check ever loses what a person typed: the form
//! comes back filled in, with a fresh stamp and an explanation. Each
//! stamp carries a nonce the service remembers once used (with the
//! form's idempotency key), so a stamp cannot be replayed for new items.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Why a stamp was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StampProblem {
    /// No stamp, or one we did not sign (a form from elsewhere, a script).
    Invalid,
    /// Posted sooner after rendering than a person could fill the form.
    TooFast,
    /// Rendered so long ago that it may be a replay.
    Expired,
}

/// Signs and checks form stamps with the service's key.
#[derive(Clone)]
pub struct FormStamps {
    key: Vec<u8>,
    min_fill_seconds: i64,
    max_age_seconds: i64,
}

impl std::fmt::Debug for FormStamps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FormStamps")
            .field("min_fill_seconds", &self.min_fill_seconds)
            .field("max_age_seconds", &self.max_age_seconds)
            .finish_non_exhaustive()
    }
}

impl FormStamps {
    pub fn new(key: &[u8], min_fill_seconds: u32, max_age_hours: u32) -> Self {
        Self {
            key: key.to_vec(),
            min_fill_seconds: i64::from(min_fill_seconds),
            max_age_seconds: i64::from(max_age_hours) * 3600,
        }
    }

    fn signature(&self, issued_at: i64, nonce: &str) -> String {
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.key) {
            Ok(mac) => mac,
            // HMAC takes a key of any length; this cannot happen.
            Err(_) => return String::new(),
        };
        mac.update(b"pakn-form-stamp:");
        mac.update(issued_at.to_string().as_bytes());
        mac.update(b":");
        mac.update(nonce.as_bytes());
        mac.finalize().into_bytes()[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The stamp for a form rendered at `now` (seconds since the epoch),
    /// with `nonce` (random, 16 hexadecimal digits) to make it single-use.
    pub fn issue(&self, now: i64, nonce: &str) -> String {
        format!("{now}.{nonce}.{}", self.signature(now, nonce))
    }

    /// A fresh random nonce for [`Self::issue`].
    pub fn new_nonce() -> String {
        let mut bytes = [0u8; 8];
        if getrandom::fill(&mut bytes).is_err() {
            // Uniqueness is what matters; a v4 UUID's bits will do.
            bytes.copy_from_slice(&uuid::Uuid::new_v4().as_bytes()[..8]);
        }
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Until when a stamp issued at `issued_at` can pass (its nonce need
    /// not be remembered longer).
    pub fn expires_at(&self, issued_at: i64) -> i64 {
        issued_at.saturating_add(self.max_age_seconds)
    }

    /// Whether `stamp` is ours and its age fits a person filling the form;
    /// its issue time and nonce when it is (the caller makes sure a nonce
    /// is used once).
    pub fn check(&self, stamp: &str, now: i64) -> Result<(i64, String), StampProblem> {
        let mut parts = stamp.splitn(3, '.');
        let (Some(issued), Some(nonce), Some(signature)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(StampProblem::Invalid);
        };
        let issued: i64 = issued.parse().map_err(|_| StampProblem::Invalid)?;
        if nonce.len() != 16 || !nonce.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(StampProblem::Invalid);
        }
        let expected = self.signature(issued, nonce);
        // Compared without an early exit, like any MAC.
        if expected.is_empty()
            || expected.len() != signature.len()
            || expected
                .bytes()
                .zip(signature.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                != 0
        {
            return Err(StampProblem::Invalid);
        }
        let age = now.saturating_sub(issued);
        // A stamp from the future is a clock step between instances; it
        // counts as just issued.
        if age < self.min_fill_seconds {
            return Err(StampProblem::TooFast);
        }
        if age > self.max_age_seconds {
            return Err(StampProblem::Expired);
        }
        Ok((issued, nonce.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamps() -> FormStamps {
        FormStamps::new(b"0123456789abcdef0123456789abcdef", 4, 24)
    }

    const NONCE: &str = "0123456789abcdef";

    #[test]
    fn a_stamp_is_accepted_between_the_fill_time_and_the_age_limit() {
        let s = stamps();
        let stamp = s.issue(1_000_000, NONCE);
        let ok = Ok((1_000_000, NONCE.to_string()));
        assert_eq!(s.check(&stamp, 1_000_004), ok);
        assert_eq!(s.check(&stamp, 1_000_000 + 24 * 3600), ok);
        assert_eq!(s.check(&stamp, 1_000_003), Err(StampProblem::TooFast));
        assert_eq!(s.check(&stamp, 999_000), Err(StampProblem::TooFast));
        assert_eq!(
            s.check(&stamp, 1_000_001 + 24 * 3600),
            Err(StampProblem::Expired)
        );
    }

    #[test]
    fn forged_or_altered_stamps_are_invalid() {
        let s = stamps();
        let stamp = s.issue(1_000_000, NONCE);
        let sig = stamp.rsplit('.').next().unwrap();
        // An earlier time with the same signature: the age check would pass.
        assert_eq!(
            s.check(&format!("900000.{NONCE}.{sig}"), 1_000_010),
            Err(StampProblem::Invalid)
        );
        // Another nonce with the same signature: a replay made new.
        assert_eq!(
            s.check(&format!("1000000.fedcba9876543210.{sig}"), 1_000_010),
            Err(StampProblem::Invalid)
        );
        // The form of stamps before nonces.
        assert_eq!(
            s.check(&format!("1000000.{sig}"), 1_000_010),
            Err(StampProblem::Invalid)
        );
        assert_ne!(FormStamps::new_nonce(), FormStamps::new_nonce());
        assert_eq!(FormStamps::new_nonce().len(), 16);
        let other = FormStamps::new(b"another key, another service....", 4, 24);
        assert_eq!(other.check(&stamp, 1_000_010), Err(StampProblem::Invalid));
        for bad in ["", ".", "abc", "1000000", "1000000.", "x.y", "1000000.zz"] {
            assert_eq!(s.check(bad, 1_000_010), Err(StampProblem::Invalid), "{bad}");
        }
    }
}
