//! Reading tokens: the JSON of a JWS part, without verifying anything.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

/// Part `index` of a compact JWS (0: header, 1: claims) as JSON; panics when it is not.
#[track_caller]
pub fn part(jws: &str, index: usize) -> Value {
    let segment = jws
        .split('.')
        .nth(index)
        .unwrap_or_else(|| panic!("no part {index} in {jws:?}"));
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .unwrap_or_else(|e| panic!("part {index} of {jws:?} is not base64url: {e}"));
    serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("part {index} of {jws:?} is not JSON: {e}"))
}

/// The protected header.
#[track_caller]
pub fn header(jws: &str) -> Value {
    part(jws, 0)
}

/// The claims.
#[track_caller]
pub fn claims(jws: &str) -> Value {
    part(jws, 1)
}
