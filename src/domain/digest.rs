//! Hex digests and random secrets, written once: attachments, idempotency
//! keys, schedule files, session tokens and API keys all use them.

use sha2::{Digest, Sha256};

/// Lower-case hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of `bytes`, in hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// `prefix` followed by 256 random bits in hex (session tokens, API keys).
pub fn random_secret(prefix: &str) -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(format!("{prefix}{}", hex(&bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_and_secrets_have_their_known_shape() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let a = random_secret("pakn_st_").unwrap();
        assert_eq!(a.len(), 8 + 64);
        assert_ne!(a, random_secret("pakn_st_").unwrap());
    }
}
