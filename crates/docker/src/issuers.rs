//! Checking a CI token: its issuer must be trusted by one of the registry's keyless rules, its
//! signature must verify with that issuer's published keys, it must be within its lifetime,
//! and a rule must match it ([`crate::ci`]).
//!
//! Keys come from the issuer's discovery document (`{issuer}/.well-known/openid-configuration`,
//! whose `issuer` must be the same URL) and the `jwks_uri` it names. They are kept for
//! [`KEYS_TTL_SECS`]; a token naming a `kid` the cached set lacks (the issuer rotated its keys)
//! fetches them again, but never more often than every [`MIN_REFETCH_SECS`] per issuer, so a
//! stream of forged tokens cannot turn this server into a load generator against the issuer.
//! Only issuers some rule names are ever fetched.

use portcullis_core::jwk::{ForeignJws, PublicJwk, SignatureError, parse_jwks};
use portcullis_web::http::{Http, Limits};
use portcullis_web::key_sets::{KeySetError, KeySets};
use serde_json::Value;

use crate::ci::{CiEvaluation, CiPolicy, NoMatch, Presented};

/// How long fetched keys are used without asking the issuer again.
pub const KEYS_TTL_SECS: i64 = 300;
/// The shortest time between two fetches for one issuer.
pub const MIN_REFETCH_SECS: i64 = 10;
/// Clock skew tolerated on `exp` and `nbf`.
pub const LEEWAY_SECS: i64 = 30;

/// Why a CI token is refused. None of these names the token itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("no keyless CI rule of this registry trusts the token's issuer")]
    UntrustedIssuer,
    #[error("the token's signature does not check: {0}")]
    Signature(#[from] SignatureError),
    #[error("the issuer's keys could not be fetched: {0}")]
    Unreachable(String),
    #[error("the token has no expiry (exp)")]
    NoExpiry,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet (nbf)")]
    NotYetValid,
    #[error("the token's audience is not one this registry accepts from its issuer")]
    WrongAudience,
    #[error("the token's claims match no keyless CI rule")]
    NoMatchingRule,
}

impl Refusal {
    /// The short label of the request log and the login event's error.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::UntrustedIssuer => "ci_untrusted_issuer",
            Refusal::Signature(SignatureError::UnknownKey(_)) => "ci_unknown_key",
            Refusal::Signature(SignatureError::Algorithm(_)) => "ci_bad_algorithm",
            Refusal::Signature(_) => "ci_bad_signature",
            Refusal::Unreachable(_) => "ci_issuer_unreachable",
            Refusal::NoExpiry => "ci_no_expiry",
            Refusal::Expired => "ci_expired",
            Refusal::NotYetValid => "ci_not_yet_valid",
            Refusal::WrongAudience => "ci_wrong_audience",
            Refusal::NoMatchingRule => "ci_no_matching_rule",
        }
    }
}

impl From<NoMatch> for Refusal {
    fn from(no: NoMatch) -> Self {
        match no {
            NoMatch::UntrustedIssuer => Refusal::UntrustedIssuer,
            NoMatch::WrongAudience => Refusal::WrongAudience,
            NoMatch::NoRule => Refusal::NoMatchingRule,
        }
    }
}

/// The keys of every trusted issuer this instance has seen tokens of.
#[derive(Debug)]
pub struct IssuerKeys {
    sets: KeySets,
}

impl Default for IssuerKeys {
    fn default() -> Self {
        Self {
            sets: KeySets::new(
                "CI issuer keys",
                KEYS_TTL_SECS,
                MIN_REFETCH_SECS,
                Limits::default(),
            ),
        }
    }
}

/// The issuer's key set: from its discovery document's `jwks_uri`, the document naming the
/// same issuer.
async fn fetch(http: Http, issuer: &str) -> Result<Vec<PublicJwk>, String> {
    let discovery_url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let discovery = http
        .get_json(&discovery_url, None, "application/json")
        .await
        .map_err(|e| format!("discovery: {e}"))?;
    if discovery.get("issuer").and_then(Value::as_str) != Some(issuer) {
        return Err("the discovery document names another issuer".into());
    }
    let jwks_uri = discovery
        .get("jwks_uri")
        .and_then(Value::as_str)
        .ok_or_else(|| "the discovery document has no jwks_uri".to_owned())?;
    let jwks = http
        .get_json(jwks_uri, None, "application/json")
        .await
        .map_err(|e| format!("key set: {e}"))?;
    let keys = parse_jwks(&jwks);
    if keys.is_empty() {
        return Err("the key set holds no usable signature key".into());
    }
    Ok(keys)
}

impl IssuerKeys {
    /// The signature check with the issuer's keys, fetching them again once when the token
    /// names a key the kept set lacks.
    async fn verify(&self, issuer: &str, jws: &ForeignJws<'_>, now: i64) -> Result<(), Refusal> {
        self.sets
            .verify(issuer, jws, now, |http| fetch(http, issuer))
            .await
            .map_err(|e| match e {
                KeySetError::Unreachable(why) => Refusal::Unreachable(why),
                KeySetError::Signature(e) => Refusal::Signature(e),
            })
    }

    /// The whole check of a CI token presented with `username`: the evaluation of the client's
    /// rules when the token is accepted, else why not.
    pub async fn check<'p>(
        &self,
        policy: &'p CiPolicy,
        jws: &ForeignJws<'_>,
        username: &str,
        now: i64,
    ) -> Result<CiEvaluation<'p>, Refusal> {
        let issuer = jws
            .claims
            .get("iss")
            .and_then(Value::as_str)
            .filter(|iss| policy.trusts(iss))
            .ok_or(Refusal::UntrustedIssuer)?;
        self.verify(issuer, jws, now).await?;
        check_lifetime(&jws.claims, now)?;
        let token = Presented {
            claims: &jws.claims,
            username,
        };
        let evaluation = policy.evaluate(&token);
        evaluation.accepted()?;
        Ok(evaluation)
    }
}

/// `exp` is required and must be ahead; `nbf`, when present, behind (both with leeway).
fn check_lifetime(claims: &serde_json::Map<String, Value>, now: i64) -> Result<(), Refusal> {
    let number = |name: &str| claims.get(name).and_then(Value::as_f64);
    let exp = number("exp").ok_or(Refusal::NoExpiry)?;
    if exp + (LEEWAY_SECS as f64) <= now as f64 {
        return Err(Refusal::Expired);
    }
    if number("nbf").is_some_and(|nbf| nbf - (LEEWAY_SECS as f64) > now as f64) {
        return Err(Refusal::NotYetValid);
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn lifetimes_allow_a_little_skew() {
        let now = 1_000_000;
        let rows = [
            (json!({"exp": now + 60}), Ok(())),
            (json!({"exp": now - 10}), Ok(())),
            (json!({"exp": now - LEEWAY_SECS}), Err(Refusal::Expired)),
            (json!({}), Err(Refusal::NoExpiry)),
            (json!({"exp": "soon"}), Err(Refusal::NoExpiry)),
            (json!({"exp": now + 60, "nbf": now + 10}), Ok(())),
            (
                json!({"exp": now + 600, "nbf": now + 300}),
                Err(Refusal::NotYetValid),
            ),
        ];
        for (claims, expected) in rows {
            assert_eq!(
                check_lifetime(claims.as_object().unwrap(), now),
                expected,
                "{claims}"
            );
        }
    }
}
