//! The citizen's two keys to an item: the public tracking code and the
//! private lookup token.
//!
//! The tracking code `PAKN.<province>.<YYYYMMDD>.<seq>` follows the shape of
//! the national system's codes (`PAKN.20200812.0012`, DOMAIN §6.3) with the
//! province added so that codes stay unique when provinces exchange items.
//! It is guessable by design (people read it out on the phone), so it never
//! opens an item on its own: the lookup token does, and we keep only its hash.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TrackingCode {
    province_code: String,
    date: NaiveDate,
    sequence: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidTrackingCode;

impl TrackingCode {
    pub fn new(province_code: &str, date: NaiveDate, sequence: u32) -> Self {
        Self {
            province_code: province_code.to_string(),
            date,
            sequence,
        }
    }

    pub fn sequence(&self) -> u32 {
        self.sequence
    }
}

impl fmt::Display for TrackingCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PAKN.{}.{}.{:04}",
            self.province_code,
            self.date.format("%Y%m%d"),
            self.sequence
        )
    }
}

impl FromStr for TrackingCode {
    type Err = InvalidTrackingCode;

    /// Accepts the code as people retype it: any case, surrounding blanks.
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let s = input.trim();
        if s.len() > 40 {
            return Err(InvalidTrackingCode);
        }
        let mut parts = s.split('.');
        let (Some(prefix), Some(province), Some(date), Some(seq), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(InvalidTrackingCode);
        };
        if !prefix.eq_ignore_ascii_case("PAKN")
            || province.len() != 2
            || !province.bytes().all(|b| b.is_ascii_digit())
            || date.len() != 8
            || !date.bytes().all(|b| b.is_ascii_digit())
            || !(4..=9).contains(&seq.len())
            || !seq.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(InvalidTrackingCode);
        }
        let date = NaiveDate::parse_from_str(date, "%Y%m%d").map_err(|_| InvalidTrackingCode)?;
        let sequence: u32 = seq.parse().map_err(|_| InvalidTrackingCode)?;
        if sequence == 0 {
            return Err(InvalidTrackingCode);
        }
        Ok(Self {
            province_code: province.to_string(),
            date,
            sequence,
        })
    }
}

/// Crockford base32: no I, L, O, U, so a token read aloud or retyped from
/// paper survives the usual confusions (O/0, I/l/1).
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// 28 symbols × 5 bits = 140 bits of entropy (the issue asks ≥ 128).
const TOKEN_SYMBOLS: usize = 28;

/// The private lookup token, shown to the submitter once.
#[derive(Clone, PartialEq, Eq)]
pub struct LookupToken(String);

impl fmt::Debug for LookupToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LookupToken(…)")
    }
}

impl LookupToken {
    /// A fresh random token from the operating system's CSPRNG.
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut bytes = [0u8; TOKEN_SYMBOLS];
        getrandom::fill(&mut bytes)?;
        Ok(Self(
            bytes
                .iter()
                .map(|b| CROCKFORD[usize::from(b & 31)] as char)
                .collect(),
        ))
    }

    /// Reads a token as typed: case-insensitive, dashes and blanks ignored,
    /// `O`→`0`, `I`/`L`→`1`. `None` if it cannot be a token of ours.
    pub fn parse(input: &str) -> Option<Self> {
        let mut out = String::with_capacity(TOKEN_SYMBOLS);
        for c in input.chars() {
            let c = match c.to_ascii_uppercase() {
                '-' | ' ' => continue,
                'O' => '0',
                'I' | 'L' => '1',
                c if c.is_ascii() && CROCKFORD.contains(&(c as u8)) => c,
                _ => return None,
            };
            out.push(c);
            if out.len() > TOKEN_SYMBOLS {
                return None;
            }
        }
        (out.len() == TOKEN_SYMBOLS).then_some(Self(out))
    }

    /// The form shown to people: groups of four, `XXXX-XXXX-…`.
    pub fn display_form(&self) -> String {
        self.0
            .as_bytes()
            .chunks(4)
            .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
            .collect::<Vec<_>>()
            .join("-")
    }

    /// SHA-256 of the canonical form. A fast hash is right here: the token
    /// has 140 random bits, so there is nothing to brute-force offline.
    pub fn hash(&self) -> Vec<u8> {
        Sha256::new()
            .chain_update(b"pakn.lookup-token.v1:")
            .chain_update(self.0.as_bytes())
            .finalize()
            .to_vec()
    }

    /// Compares against a stored hash in constant time.
    pub fn matches(&self, stored_hash: &[u8]) -> bool {
        let mine = self.hash();
        mine.len() == stored_hash.len()
            && mine
                .iter()
                .zip(stored_hash)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracking_code_round_trips() {
        let date = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        let code = TrackingCode::new("48", date, 7);
        assert_eq!(code.to_string(), "PAKN.48.20261122.0007");
        assert_eq!(
            "pakn.48.20261122.0007 ".parse::<TrackingCode>().unwrap(),
            code
        );
        assert_eq!(
            TrackingCode::new("48", date, 123_456).to_string(),
            "PAKN.48.20261122.123456"
        );
    }

    #[test]
    fn malformed_tracking_codes_are_rejected() {
        for bad in [
            "",
            "PAKN",
            "PAKN.48.20261122",
            "PAKN.48.20261122.0000",
            "PAKN.4.20261122.0001",
            "PAKN.48.20261322.0001",
            "XPAKN.48.20261122.0001",
            "PAKN.48.20261122.0001.1",
            "PAKN.48.20261122.01",
            "PAKN.48.2026112a.0001",
        ] {
            assert!(bad.parse::<TrackingCode>().is_err(), "{bad}");
        }
    }

    #[test]
    fn lookup_tokens_are_random_typable_and_tolerant() {
        let a = LookupToken::generate().unwrap();
        let b = LookupToken::generate().unwrap();
        assert_ne!(a, b);
        let shown = a.display_form();
        assert_eq!(shown.len(), 28 + 6);
        let retyped = shown.to_lowercase().replace('0', "o").replace('1', "l");
        let parsed = LookupToken::parse(&retyped).unwrap();
        assert_eq!(parsed, a);
        assert!(parsed.matches(&a.hash()));
        assert!(!b.matches(&a.hash()));
        assert!(LookupToken::parse("short").is_none());
        assert!(LookupToken::parse(&format!("{shown}X")).is_none());
        assert!(LookupToken::parse("ĐĐĐĐ").is_none());
    }
}
