//! Random secrets and how they are stored. Every code, token and session id is 256 random bits;
//! the server keeps only their SHA-256, which is enough for secrets of that entropy and makes a
//! leaked table useless.

use aws_lc_rs::{digest, rand};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// `N` bytes from the system generator. A failing system generator is not something a request
/// can cause, and handing out a predictable secret instead would be worse than failing the
/// request, so it panics.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    if rand::fill(&mut bytes).is_err() {
        panic!("the system random generator failed");
    }
    bytes
}

/// `N` random bytes, base64url without padding.
pub fn random_token<const N: usize>() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<N>())
}

/// 32 random bytes, base64url (43 characters): codes, refresh tokens, session ids.
pub fn new_secret() -> String {
    random_token::<32>()
}

/// Lowercase hex SHA-256 of a secret: what the database holds instead of the secret.
pub fn hash_secret(secret: &str) -> String {
    hex(digest::digest(&digest::SHA256, secret.as_bytes()).as_ref())
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_distinct_and_hashed_to_hex() {
        let (a, b) = (new_secret(), new_secret());
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert_eq!(
            hash_secret("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(random_token::<16>().len(), 22);
        assert_eq!(hex(&[0, 15, 255]), "000fff");
    }
}
