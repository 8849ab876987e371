//! Vietnamese telephone numbers, as people write them, normalised to E.164.
//!
//! Accepted: mobile `0912 345 678`, `+84 912345678`, `84912345678`,
//! `(+84) 91-234-5678`; landline `024 3825 1234` (area code 2x + 8 digits).
//! After 2018 all subscriber numbers are 10 digits with the leading 0
//! (9 significant digits after +84), mobile prefixes 3, 5, 7, 8, 9 and
//! landlines 2 (10 digits). Short service numbers (1022, 1900…) are not personal contacts.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PhoneNumber(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhoneError {
    Invalid,
}

impl PhoneNumber {
    /// Parses a Vietnamese number in its usual written forms.
    pub fn parse(input: &str) -> Result<Self, PhoneError> {
        let trimmed = input.trim();
        let mut digits = String::with_capacity(trimmed.len());
        let mut plus = false;
        for (i, c) in trimmed.char_indices() {
            match c {
                '0'..='9' => digits.push(c),
                '+' if i == 0 || trimmed[..i].chars().all(|c| c == '(') => plus = true,
                ' ' | '-' | '.' | '(' | ')' => {}
                _ => return Err(PhoneError::Invalid),
            }
        }
        let national = if let Some(rest) = digits.strip_prefix("0084") {
            rest.to_string()
        } else if let Some(rest) = digits.strip_prefix("84").filter(|r| plus || r.len() == 9) {
            rest.to_string()
        } else if plus {
            // Another country's number: Decree 20 accepts overseas Vietnamese
            // and foreigners, so keep any plausible E.164 number.
            return if (8..=15).contains(&digits.len()) && !digits.starts_with('0') {
                Ok(Self(format!("+{digits}")))
            } else {
                Err(PhoneError::Invalid)
            };
        } else if let Some(rest) = digits.strip_prefix('0') {
            rest.to_string()
        } else {
            return Err(PhoneError::Invalid);
        };
        let national = national.strip_prefix('0').unwrap_or(&national).to_string();
        // Mobile: 9 significant digits starting 3, 5, 7, 8 or 9. Landline:
        // a 3-digit area code 2xx plus 8 digits (the 2017 renumbering).
        let valid = match national.as_bytes().first() {
            Some(b'3' | b'5' | b'7' | b'8' | b'9') => national.len() == 9,
            Some(b'2') => national.len() == 10,
            _ => false,
        };
        if valid {
            Ok(Self(format!("+84{national}")))
        } else {
            Err(PhoneError::Invalid)
        }
    }

    pub fn as_e164(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e164(s: &str) -> Option<String> {
        PhoneNumber::parse(s).ok().map(|p| p.as_e164().to_string())
    }

    #[test]
    fn usual_vietnamese_forms_normalise_to_e164() {
        assert_eq!(e164("0912 345 678").as_deref(), Some("+84912345678"));
        assert_eq!(e164("+84 912345678").as_deref(), Some("+84912345678"));
        assert_eq!(e164("+84 0912345678").as_deref(), Some("+84912345678"));
        assert_eq!(e164("84912345678").as_deref(), Some("+84912345678"));
        assert_eq!(e164("(+84) 91-234-5678").as_deref(), Some("+84912345678"));
        assert_eq!(e164("0084912345678").as_deref(), Some("+84912345678"));
        assert_eq!(e164("024 3825 1234").as_deref(), Some("+842438251234"));
        assert_eq!(e164("0236.3822.123").as_deref(), Some("+842363822123"));
        assert_eq!(e164("+1 202 555 0143").as_deref(), Some("+12025550143"));
    }

    #[test]
    fn rejects_what_is_not_a_phone_number() {
        for bad in [
            "",
            "abc",
            "12345",
            "0912 345 67",
            "0912 345 6789",
            "0112345678",
            "1022",
            "091234567x",
            "++84912345678",
            "+0912345678",
        ] {
            assert!(PhoneNumber::parse(bad).is_err(), "{bad} should be rejected");
        }
    }
}
