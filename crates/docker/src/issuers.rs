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

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use portcullis_core::jwk::{ForeignJws, PublicJwk, SignatureError, parse_jwks};
use portcullis_web::http::Http;
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

/// One issuer's keys as last fetched.
#[derive(Debug, Clone, Default)]
struct Entry {
    keys: Arc<Vec<PublicJwk>>,
    /// When `keys` were fetched (0: never).
    fetched_at: i64,
    /// When a fetch last started, successful or not.
    attempted_at: i64,
    /// Why the last fetch failed, while no keys were ever fetched.
    error: Option<String>,
}

/// The keys of every trusted issuer this instance has seen tokens of.
#[derive(Default)]
pub struct IssuerKeys {
    http: OnceLock<Option<Http>>,
    entries: Mutex<HashMap<String, Entry>>,
}

impl std::fmt::Debug for IssuerKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuerKeys").finish_non_exhaustive()
    }
}

/// Whether to fetch now rather than use what is cached.
fn due(entry: Option<&Entry>, now: i64, unknown_kid: bool) -> bool {
    let Some(entry) = entry else {
        return true;
    };
    if now - entry.attempted_at < MIN_REFETCH_SECS {
        return false;
    }
    unknown_kid || entry.fetched_at == 0 || now - entry.fetched_at >= KEYS_TTL_SECS
}

impl IssuerKeys {
    fn http(&self) -> Option<&Http> {
        self.http
            .get_or_init(|| match Http::new() {
                Ok(http) => Some(http),
                Err(error) => {
                    tracing::error!(error = %error, "no HTTP client for CI issuers");
                    None
                }
            })
            .as_ref()
    }

    /// The issuer's keys, fetched when due; `unknown_kid` asks for a fresh set (subject to the
    /// minimum interval).
    async fn keys(
        &self,
        issuer: &str,
        now: i64,
        unknown_kid: bool,
    ) -> Result<Arc<Vec<PublicJwk>>, Refusal> {
        let cached = {
            let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            let entry = entries.get(issuer);
            if due(entry, now, unknown_kid) {
                let entry = entries.entry(issuer.to_owned()).or_default();
                entry.attempted_at = now;
                None
            } else {
                entry.cloned()
            }
        };
        if let Some(entry) = cached {
            return match (entry.fetched_at, entry.error) {
                (0, Some(error)) => Err(Refusal::Unreachable(error)),
                (0, None) => Err(Refusal::Unreachable(
                    "the keys are being fetched; retry".into(),
                )),
                _ => Ok(entry.keys),
            };
        }
        let fetched = self.fetch(issuer).await;
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let entry = entries.entry(issuer.to_owned()).or_default();
        match fetched {
            Ok(keys) => {
                tracing::info!(issuer, keys = keys.len(), "CI issuer keys fetched");
                entry.keys = Arc::new(keys);
                entry.fetched_at = now;
                entry.error = None;
                Ok(entry.keys.clone())
            }
            // Keys fetched before keep working while the issuer is unreachable.
            Err(error) if entry.fetched_at > 0 => {
                tracing::warn!(issuer, error = %error, "CI issuer keys not refreshed; keeping the previous set");
                Ok(entry.keys.clone())
            }
            Err(error) => {
                tracing::warn!(issuer, error = %error, "CI issuer keys could not be fetched");
                entry.error = Some(error.clone());
                Err(Refusal::Unreachable(error))
            }
        }
    }

    async fn fetch(&self, issuer: &str) -> Result<Vec<PublicJwk>, String> {
        let http = self
            .http()
            .ok_or_else(|| "no HTTP client (TLS configuration)".to_owned())?;
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

    /// The signature check with the issuer's keys, fetching them again once when the token
    /// names a key the cached set lacks.
    async fn verify(&self, issuer: &str, jws: &ForeignJws<'_>, now: i64) -> Result<(), Refusal> {
        let keys = self.keys(issuer, now, false).await?;
        match jws.verify(&keys) {
            Err(SignatureError::UnknownKey(_)) => {
                let keys = self.keys(issuer, now, true).await?;
                Ok(jws.verify(&keys)?)
            }
            other => Ok(other?),
        }
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

    #[test]
    fn fetches_are_rate_limited_per_issuer() {
        let now = 1_000_000;
        let fresh = Entry {
            fetched_at: now,
            attempted_at: now,
            ..Entry::default()
        };
        let failed = Entry {
            attempted_at: now,
            error: Some("down".into()),
            ..Entry::default()
        };
        let rows = [
            (None, now, false, true),
            (Some(&fresh), now + 1, false, false),
            (Some(&fresh), now + 1, true, false),
            (Some(&fresh), now + MIN_REFETCH_SECS, true, true),
            (Some(&fresh), now + MIN_REFETCH_SECS, false, false),
            (Some(&fresh), now + KEYS_TTL_SECS, false, true),
            (Some(&failed), now + 1, false, false),
            (Some(&failed), now + MIN_REFETCH_SECS, false, true),
        ];
        for (entry, at, unknown_kid, expected) in rows {
            assert_eq!(due(entry, at, unknown_kid), expected, "{entry:?} at {at}");
        }
    }
}
