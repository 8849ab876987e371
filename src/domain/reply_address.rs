//! Per-item reply addresses: every notice about an item goes out
//! with `Reply-To: <local>+<tracking-code>-<signature>@<domain>`, so a reply
//! finds its item even when the mail client drops `In-Reply-To`. The
//! signature is an HMAC of the tracking code under the service's secret:
//! nobody can make up an address that attaches mail to someone else's item.
//! People retype addresses, so the signature uses Crockford's base-32
//! (no I, L, O, U; `l`/`1` and `O`/`0` read the same) and case never
//! matters (many mail systems lower-case local parts).

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::tracking::TrackingCode;

/// Characters of the signature (8 of them: 40 bits of the HMAC).
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const SIGNATURE_LEN: usize = 8;

/// The published address split into its parts, and the secret.
#[derive(Clone)]
pub struct ReplyAddressing {
    local: String,
    domain: String,
    secret: Vec<u8>,
}

impl std::fmt::Debug for ReplyAddressing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplyAddressing")
            .field("local", &self.local)
            .field("domain", &self.domain)
            .finish_non_exhaustive()
    }
}

impl ReplyAddressing {
    /// `published` is the channel's address (`gopy@danang.gov.vn`);
    /// `None` if it is not an address or the secret is too short to sign.
    pub fn new(published: &str, secret: &[u8]) -> Option<Self> {
        let (local, domain) = published.trim().rsplit_once('@')?;
        if local.is_empty() || domain.is_empty() || local.contains('+') || secret.len() < 16 {
            return None;
        }
        Some(Self {
            local: local.to_ascii_lowercase(),
            domain: domain.to_ascii_lowercase(),
            secret: secret.to_vec(),
        })
    }

    fn signature(&self, code: &TrackingCode) -> String {
        self.sign(code.to_string().as_bytes())
    }

    fn sign(&self, what: &[u8]) -> String {
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.secret) {
            Ok(mac) => mac,
            // HMAC takes a key of any length; this cannot happen.
            Err(_) => return String::new(),
        };
        mac.update(what);
        let digest = mac.finalize().into_bytes();
        let mut bits: u64 = 0;
        for b in digest.iter().take(5) {
            bits = (bits << 8) | u64::from(*b);
        }
        (0..SIGNATURE_LEN)
            .rev()
            .map(|i| char::from(ALPHABET[((bits >> (i * 5)) & 31) as usize]))
            .collect()
    }

    /// The secret of a one-time lookup recovery link (256 bits of an HMAC
    /// of the link's id, hex): computed again when the e-mail is sent, so
    /// the outbox never stores it and the database holds only its digest.
    pub fn recovery_secret(&self, link: uuid::Uuid) -> String {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.secret) else {
            return String::new();
        };
        mac.update(b"lookup-recovery:");
        mac.update(link.as_bytes());
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The reply address of the item `code`.
    pub fn address_for(&self, code: &TrackingCode) -> String {
        format!(
            "{}+{}-{}@{}",
            self.local,
            code,
            self.signature(code),
            self.domain
        )
    }

    /// The return path (envelope sender) of the notice `notice`: a
    /// delivery report comes back to it, naming the notice, so a report
    /// about a message we sent can be told from a forged one (VERP).
    /// `None` when the published address's local part leaves no room
    /// (RFC 5321 §4.5.3.1.1: 64 characters); reports are then matched by
    /// the Message-ID they quote.
    pub fn bounce_address_for(&self, notice: uuid::Uuid) -> Option<String> {
        let id = base32(notice.as_u128());
        let local = format!(
            "{}+b-{id}-{}",
            self.local,
            self.sign(format!("bounce:{}", notice.simple()).as_bytes())
        );
        (local.len() <= 64).then(|| format!("{local}@{}", self.domain))
    }

    /// The notice a return path names, if it is one of ours with the
    /// right signature.
    pub fn notice_in(&self, address: &str) -> Option<uuid::Uuid> {
        let (local, domain) = address.trim().rsplit_once('@')?;
        if !domain.eq_ignore_ascii_case(&self.domain) {
            return None;
        }
        let (base, tag) = local.split_once('+')?;
        if !base.eq_ignore_ascii_case(&self.local) {
            return None;
        }
        let tag = tag.strip_prefix("b-").or_else(|| tag.strip_prefix("B-"))?;
        let (id, signature) = tag.split_once('-')?;
        let notice = uuid::Uuid::from_u128(from_base32(&retyped_signature(id)?)?);
        let expected = self.sign(format!("bounce:{}", notice.simple()).as_bytes());
        let given = retyped_signature(signature)?;
        let same = given.len() == expected.len()
            && given
                .bytes()
                .zip(expected.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        same.then_some(notice)
    }

    /// The item a reply address names, if the address is one of ours and
    /// its signature is right.
    pub fn item_in(&self, address: &str) -> Option<TrackingCode> {
        let (local, domain) = address.trim().rsplit_once('@')?;
        if !domain.eq_ignore_ascii_case(&self.domain) {
            return None;
        }
        let (base, tag) = local.split_once('+')?;
        if !base.eq_ignore_ascii_case(&self.local) {
            return None;
        }
        let (code, signature) = tag.rsplit_once('-')?;
        let code: TrackingCode = retyped_code(code).parse().ok()?;
        let given = retyped_signature(signature)?;
        let expected = self.signature(&code);
        // Constant-time comparison: the signature is a secret's output.
        let same = given.len() == expected.len()
            && given
                .bytes()
                .zip(expected.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        same.then_some(code)
    }
}

/// 128 bits as 26 characters of Crockford's base-32 (the first carries
/// three bits).
fn base32(mut n: u128) -> String {
    let mut out = [b'0'; 26];
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET[(n & 31) as usize];
        n >>= 5;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn from_base32(s: &str) -> Option<u128> {
    if s.len() != 26 {
        return None;
    }
    let mut n: u128 = 0;
    for (i, c) in s.bytes().enumerate() {
        let v = ALPHABET.iter().position(|a| *a == c)? as u128;
        // The first character carries the top three bits only.
        if i == 0 && v > 7 {
            return None;
        }
        n = (n << 5) | v;
    }
    Some(n)
}

/// A tracking code as retyped: `O` for `0` and `l`/`I` for `1` in its
/// numbers.
fn retyped_code(code: &str) -> String {
    let upper = code.to_ascii_uppercase();
    let mut parts = upper.splitn(2, '.');
    let prefix = parts.next().unwrap_or_default();
    let rest = parts.next().unwrap_or_default();
    let digits: String = rest
        .chars()
        .map(|c| match c {
            'O' => '0',
            'L' | 'I' => '1',
            c => c,
        })
        .collect();
    format!("{prefix}.{digits}")
}

/// Crockford's decoding of retyped characters; `None` for a character
/// outside the alphabet.
fn retyped_signature(signature: &str) -> Option<String> {
    signature
        .chars()
        .map(|c| match c.to_ascii_uppercase() {
            'O' => Some('0'),
            'I' | 'L' => Some('1'),
            c if ALPHABET.contains(&(c as u8)) && c.is_ascii() => Some(c),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addressing() -> ReplyAddressing {
        ReplyAddressing::new("gopy@danang.gov.vn", b"a secret of at least sixteen bytes")
            .unwrap_or_else(|| panic!("valid"))
    }

    fn code(s: &str) -> TrackingCode {
        s.parse().unwrap_or_else(|_| panic!("{s}"))
    }

    #[test]
    fn an_item_address_leads_back_to_its_item() {
        let a = addressing();
        let c = code("PAKN.48.20261122.0001");
        let address = a.address_for(&c);
        assert!(
            address.starts_with("gopy+PAKN.48.20261122.0001-"),
            "{address}"
        );
        assert!(address.ends_with("@danang.gov.vn"));
        assert_eq!(a.item_in(&address), Some(c.clone()));
        // Lower-cased by a mail system, or retyped with O/0 and l/1 mixed up.
        assert_eq!(a.item_in(&address.to_lowercase()), Some(c.clone()));
        let retyped = address
            .replace("20261122.0001", "2O26ll22.OOO1")
            .replace('0', "O")
            .replacen("gOpy", "gopy", 1);
        assert_eq!(a.item_in(&retyped), Some(c), "{retyped}");
    }

    #[test]
    fn a_forged_or_foreign_address_leads_nowhere() {
        let a = addressing();
        let c = code("PAKN.48.20261122.0001");
        let address = a.address_for(&c);
        // Someone else's item with this item's signature.
        let other = address.replace(".0001-", ".0002-");
        assert_eq!(a.item_in(&other), None);
        // Another service's secret.
        let theirs =
            ReplyAddressing::new("gopy@danang.gov.vn", b"another secret, also long enough")
                .unwrap_or_else(|| panic!("valid"));
        assert_eq!(a.item_in(&theirs.address_for(&c)), None);
        for bad in [
            "gopy@danang.gov.vn",
            "gopy+PAKN.48.20261122.0001@danang.gov.vn",
            "other+PAKN.48.20261122.0001-AAAAAAAA@danang.gov.vn",
            "gopy+PAKN.48.20261122.0001-AAAAAAAA@example.com",
            "gopy+PAKN.48.20261122.0001-ÄÄ@danang.gov.vn",
            "",
        ] {
            assert_eq!(a.item_in(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_return_path_names_its_notice_and_cannot_be_forged() {
        let a = addressing();
        let notice = uuid::Uuid::now_v7();
        let path = a
            .bounce_address_for(notice)
            .unwrap_or_else(|| panic!("room for it"));
        assert!(path.starts_with("gopy+b-"), "{path}");
        assert!(path.split('@').next().is_some_and(|l| l.len() <= 64));
        assert_eq!(a.notice_in(&path), Some(notice));
        assert_eq!(a.notice_in(&path.to_lowercase()), Some(notice));
        let other = uuid::Uuid::now_v7();
        let forged = path.replace(&base32(notice.as_u128()), &base32(other.as_u128()));
        assert_eq!(a.notice_in(&forged), None);
        assert_eq!(a.notice_in("gopy@danang.gov.vn"), None);
        assert_eq!(a.item_in(&path), None, "not a reply address");
        let long = ReplyAddressing::new(
            "tiep.nhan.phan.anh.kien.nghi.thanh.pho@danang.gov.vn",
            b"a secret of at least sixteen bytes",
        )
        .unwrap_or_else(|| panic!("valid"));
        assert_eq!(long.bounce_address_for(notice), None);
    }

    #[test]
    fn a_published_address_needs_a_secret_worth_the_name() {
        assert!(ReplyAddressing::new("gopy@danang.gov.vn", b"short").is_none());
        assert!(ReplyAddressing::new("not-an-address", b"a secret of at least sixteen").is_none());
        assert!(ReplyAddressing::new("a+b@x.vn", b"a secret of at least sixteen").is_none());
    }
}
