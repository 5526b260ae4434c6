//! Client authentication at the token, introspection, revocation and device endpoints:
//! `client_secret_basic` (the Basic credentials form-decoded per RFC 6749 §2.3.1),
//! `client_secret_post`, `private_key_jwt` (an RFC 7523 client assertion signed with the key
//! the client registered: Keycloak's `client-jwt` authenticator), `client_secret_jwt` (an
//! assertion signed with HMAC and the client's secret: `client-secret-jwt`), and `none` for
//! public clients. Secrets are compared in constant time. Which clients exist is not
//! revealed: unknown clients and wrong secrets fail alike.
//!
//! A confidential client authenticates only as its `clientAuthenticatorType` says, as in
//! Keycloak: `client-secret` by Basic or the form, `client-jwt` and `client-secret-jwt` by their
//! kind of assertion (a secret from such a client is answered 400 `invalid_client`, "Parameter
//! client_assertion_type is missing"); any other type, or an assertion from a `client-secret`
//! client, fails as a wrong secret does (401 `invalid_client`).

use aws_lc_rs::constant_time::verify_slices_are_equal;
use axum::http::HeaderMap;
use base64::Engine as _;
use portcullis_core::model::{Client, RealmSnapshot};
use portcullis_web::basic_credentials;

use super::error::OAuthError;
use super::form::{Form, form_decode};

const PROTOCOL: &str = "openid-connect";
const BAD_CLIENT: &str = "Invalid client or Invalid client credentials";

/// How the client authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuthMethod {
    Basic,
    Post,
    /// A signed client assertion (`private_key_jwt`).
    PrivateKeyJwt,
    /// A client assertion signed with the client's secret (`client_secret_jwt`).
    SecretJwt,
    /// A public client naming itself with `client_id`.
    None,
}

/// An authenticated client of the realm.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Authenticated<'a> {
    pub client: &'a Client,
    pub method: AuthMethod,
}

/// Credentials as presented, before any look-up.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Presented {
    /// Candidate client ids: form-decoded first, then as sent (clients that never encode).
    ids: Vec<String>,
    /// Candidate secrets, in the same manner.
    secrets: Vec<String>,
    method: AuthMethod,
}

/// `client_assertion_type` of an RFC 7523 client assertion.
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Client attributes holding the key a client signs its assertions with (Keycloak's names):
/// a certificate or a public key, base64 DER, or a JWKS document.
pub(crate) const JWT_CERTIFICATE: &str = "jwt.credential.certificate";
pub(crate) const JWT_PUBLIC_KEY: &str = "jwt.credential.public.key";
pub(crate) const JWT_KID: &str = "jwt.credential.kid";
/// Client attribute naming the one algorithm its assertions may be signed with (Keycloak's).
const SIGNING_ALG: &str = "token.endpoint.auth.signing.alg";
/// Keycloak's answer to a secret from a client that must send an assertion.
const ASSERTION_MISSING: &str = "Parameter client_assertion_type is missing";

/// Authenticates the client of a request ([`authenticate`]), a client assertion included: its
/// `jti` is spent here, so an assertion authenticates once.
pub(crate) async fn authenticate_request<'a>(
    ctx: &'a super::Ctx,
    headers: &HeaderMap,
    form: &Form,
) -> Result<Authenticated<'a>, OAuthError> {
    if form.get("client_assertion_type").is_none() && form.get("client_assertion").is_none() {
        return authenticate(&ctx.snapshot, headers, form);
    }
    let fail = || OAuthError::invalid_client(BAD_CLIENT, None);
    if headers.contains_key(axum::http::header::AUTHORIZATION)
        || form.get("client_secret").is_some()
    {
        return Err(OAuthError::invalid_request(
            "More than one client authentication method",
        ));
    }
    if form.get("client_assertion_type") != Some(JWT_BEARER) {
        return Err(OAuthError::invalid_client(
            "Parameter client_assertion_type is missing or has a wrong value",
            None,
        ));
    }
    let assertion = form.get("client_assertion").ok_or_else(fail)?;
    let checked = check_assertion(ctx, form, assertion).await?;
    let key = format!("client-assertion:{}:{}", checked.client.id, checked.jti);
    let fresh = ctx
        .state
        .store()
        .use_once(&ctx.snapshot.realm.id, &key, ctx.now, checked.expires_at)
        .await?;
    if !fresh {
        tracing::info!(realm = %ctx.snapshot.realm.name, client = %checked.client.client_id, "client assertion replayed");
        return Err(fail());
    }
    Ok(Authenticated {
        client: checked.client,
        method: checked.method,
    })
}

/// A client assertion whose signature and claims check.
struct CheckedAssertion<'a> {
    client: &'a Client,
    method: AuthMethod,
    jti: String,
    expires_at: i64,
}

/// Checks a client assertion: `iss` = `sub` = a confidential client's `client_id` (and the
/// form's `client_id`, when given), signed with the client's registered key, `aud` the realm's
/// issuer or one of its endpoints, unexpired, with a `jti`.
async fn check_assertion<'a>(
    ctx: &'a super::Ctx,
    form: &Form,
    assertion: &str,
) -> Result<CheckedAssertion<'a>, OAuthError> {
    use portcullis_core::jwk::{ForeignJws, PublicJwk, parse_jwks};
    let fail = |why: &str| {
        tracing::info!(realm = %ctx.snapshot.realm.name, reason = why, "client assertion refused");
        OAuthError::invalid_client(BAD_CLIENT, None)
    };
    let jws = ForeignJws::parse(assertion).ok_or_else(|| fail("not a JWT"))?;
    let text = |name: &str| jws.claims.get(name).and_then(serde_json::Value::as_str);
    let subject = text("sub").ok_or_else(|| fail("no sub"))?;
    if text("iss") != Some(subject) || form.get("client_id").is_some_and(|id| id != subject) {
        return Err(fail("iss, sub and client_id differ"));
    }
    let client = ctx
        .snapshot
        .client(subject)
        .filter(|c| c.protocol == PROTOCOL && c.enabled && !c.bearer_only && !c.public_client)
        .ok_or_else(|| fail("unknown client"))?;
    let attribute = |name: &str| client.attributes.get(name).filter(|v| !v.is_empty());
    // The algorithm the client registered for its assertions, when it did.
    let alg = jws.header.get("alg").and_then(serde_json::Value::as_str);
    if attribute(SIGNING_ALG).is_some_and(|registered| Some(registered.as_str()) != alg) {
        return Err(fail("not the registered signing algorithm"));
    }
    let method = match client.authenticator_type.as_str() {
        Client::JWT => AuthMethod::PrivateKeyJwt,
        Client::SECRET_JWT => AuthMethod::SecretJwt,
        _ => return Err(fail("the client does not authenticate with assertions")),
    };
    if method == AuthMethod::SecretJwt {
        let secret = client
            .secret
            .as_deref()
            .filter(|s| !s.is_empty())
            .ok_or_else(|| fail("the client has no secret"))?;
        if jws.verify_hmac(secret.as_bytes()).is_err() {
            return Err(fail("bad signature"));
        }
        return claims_check(ctx, &jws, client, method, &fail);
    }
    // Keys published at a URL are the client's only keys, as in Keycloak.
    if let Some(url) = super::client_jwks::jwks_url(client) {
        if let Err(why) = super::client_jwks::verify(client, url, &jws, ctx.now).await {
            tracing::info!(realm = %ctx.snapshot.realm.name, client = %client.client_id, reason = %why, "client assertion refused: key set");
            return Err(OAuthError::invalid_client(BAD_CLIENT, None));
        }
        return claims_check(ctx, &jws, client, method, &fail);
    }
    let der = |value: &str| {
        base64::engine::general_purpose::STANDARD
            .decode(value.trim())
            .ok()
    };
    let kid = attribute(JWT_KID).cloned();
    let mut keys: Vec<PublicJwk> = Vec::new();
    if let Some(key) = attribute(JWT_CERTIFICATE)
        .and_then(|c| der(c))
        .and_then(|d| PublicJwk::from_certificate_der(&d))
    {
        keys.push(key.with_kid(kid.clone()));
    }
    if let Some(key) = attribute(JWT_PUBLIC_KEY)
        .and_then(|c| der(c))
        .and_then(|d| PublicJwk::from_spki_der(&d))
    {
        keys.push(key.with_kid(kid.clone()));
    }
    if attribute("use.jwks.string").is_some_and(|v| v == "true")
        && let Some(document) =
            attribute("jwks.string").and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok())
    {
        keys.extend(parse_jwks(&document));
    }
    if keys.is_empty() {
        return Err(fail("the client registered no key"));
    }
    // A registered key without a kid checks tokens whatever kid they name.
    let anonymous: Vec<PublicJwk> = keys.iter().cloned().map(|k| k.with_kid(None)).collect();
    let by_kid = jws.verify(&keys);
    if by_kid.is_err() && jws.verify(&anonymous).is_err() {
        return Err(fail("bad signature"));
    }
    claims_check(ctx, &jws, client, method, &fail)
}

/// The claims of a client assertion whose signature verified: unexpired, `aud` the realm's
/// issuer or one of its endpoints, with a `jti`.
fn claims_check<'a>(
    ctx: &super::Ctx,
    jws: &portcullis_core::jwk::ForeignJws<'_>,
    client: &'a Client,
    method: AuthMethod,
    fail: &dyn Fn(&str) -> OAuthError,
) -> Result<CheckedAssertion<'a>, OAuthError> {
    let text = |name: &str| jws.claims.get(name).and_then(serde_json::Value::as_str);
    let expires_at = jws
        .claims
        .get("exp")
        .and_then(serde_json::Value::as_i64)
        .ok_or_else(|| fail("no exp"))?;
    if expires_at <= ctx.now {
        return Err(fail("expired"));
    }
    if jws
        .claims
        .get("nbf")
        .and_then(serde_json::Value::as_i64)
        .is_some_and(|nbf| nbf > ctx.now + CLOCK_SKEW)
    {
        return Err(fail("not yet valid"));
    }
    let endpoint = |path: &str| format!("{}/protocol/openid-connect/{path}", ctx.issuer);
    let accepted = [
        ctx.issuer.clone(),
        endpoint("token"),
        endpoint("token/introspect"),
        endpoint("revoke"),
        endpoint("logout"),
        endpoint("auth/device"),
    ];
    let audience_ok = match jws.claims.get("aud") {
        Some(serde_json::Value::String(aud)) => accepted.contains(aud),
        Some(serde_json::Value::Array(auds)) => auds
            .iter()
            .filter_map(serde_json::Value::as_str)
            .any(|aud| accepted.iter().any(|a| a == aud)),
        _ => false,
    };
    if !audience_ok {
        return Err(fail("wrong aud"));
    }
    let jti = text("jti")
        .filter(|j| !j.is_empty() && j.len() <= 256)
        .ok_or_else(|| fail("no jti"))?;
    Ok(CheckedAssertion {
        client,
        method,
        jti: jti.to_string(),
        expires_at,
    })
}

/// Seconds a client's clock may run ahead of ours.
const CLOCK_SKEW: i64 = 10;

/// Authenticates the client of a request by secret or as a public client; `client_id` in the
/// form, when Basic is used too, must name the same client.
pub(crate) fn authenticate<'a>(
    snapshot: &'a RealmSnapshot,
    headers: &HeaderMap,
    form: &Form,
) -> Result<Authenticated<'a>, OAuthError> {
    let realm = snapshot.realm.name.as_str();
    let presented = presented(realm, headers, form)?;
    let basic_realm = (presented.method == AuthMethod::Basic).then_some(realm);
    let fail = || OAuthError::invalid_client(BAD_CLIENT, basic_realm);
    let client = presented
        .ids
        .iter()
        .find_map(|id| snapshot.client(id))
        .filter(|c| c.protocol == PROTOCOL && c.enabled && !c.bearer_only)
        .ok_or_else(fail)?;
    if client.public_client {
        // Keycloak ignores a secret a public client sends.
        return Ok(Authenticated {
            client,
            method: AuthMethod::None,
        });
    }
    match client.authenticator_type.as_str() {
        Client::SECRET => {}
        Client::JWT | Client::SECRET_JWT => {
            return Err(OAuthError::invalid_client_method(ASSERTION_MISSING));
        }
        other => {
            tracing::info!(realm, client = %client.client_id, authenticator = other, "client authenticator type not supported");
            return Err(fail());
        }
    }
    let expected = client.secret.as_deref().filter(|s| !s.is_empty());
    let matches = expected.is_some_and(|expected| {
        presented
            .secrets
            .iter()
            .any(|s| verify_slices_are_equal(s.as_bytes(), expected.as_bytes()).is_ok())
    });
    if !matches {
        return Err(fail());
    }
    Ok(Authenticated {
        client,
        method: presented.method,
    })
}

/// The client id a request claims (Basic credentials or the form's `client_id`), whether or not
/// it authenticates: failed attempts are recorded against the client they name, as Keycloak
/// records `CLIENT_LOGIN_ERROR` events, so an admin sees guesses at a client's secret.
pub(crate) fn claimed_client_id(headers: &HeaderMap, form: &Form) -> Option<String> {
    match basic_credentials(headers) {
        Some(Ok((id, _))) => candidates(&id).into_iter().next(),
        _ => form.get("client_id").map(str::to_owned),
    }
}

fn presented(realm: &str, headers: &HeaderMap, form: &Form) -> Result<Presented, OAuthError> {
    let form_id = form.get("client_id");
    let form_secret = form.get("client_secret");
    match basic_credentials(headers) {
        Some(Err(())) => Err(OAuthError::invalid_client(
            "Malformed Basic credentials",
            Some(realm),
        )),
        Some(Ok((id, secret))) => {
            if form_secret.is_some() {
                return Err(OAuthError::invalid_request(
                    "More than one client authentication method",
                ));
            }
            let ids = candidates(&id);
            if form_id.is_some_and(|f| !ids.iter().any(|i| i == f)) {
                return Err(OAuthError::invalid_request(
                    "client_id does not match the authorization header",
                ));
            }
            Ok(Presented {
                ids,
                secrets: candidates(&secret),
                method: AuthMethod::Basic,
            })
        }
        None => {
            let id = form_id
                .ok_or_else(|| OAuthError::invalid_client("Missing client authentication", None))?;
            Ok(Presented {
                ids: vec![id.to_owned()],
                secrets: form_secret.map(str::to_owned).into_iter().collect(),
                method: if form_secret.is_some() {
                    AuthMethod::Post
                } else {
                    AuthMethod::None
                },
            })
        }
    }
}

/// The form-decoded value, and the raw one when it differs.
fn candidates(raw: &str) -> Vec<String> {
    match form_decode(raw) {
        Some(decoded) if decoded != raw => vec![decoded, raw.to_owned()],
        _ => vec![raw.to_owned()],
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use axum::http::HeaderValue;
    use axum::http::header::AUTHORIZATION;
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use portcullis_core::model::Realm;

    use super::*;

    fn snapshot() -> RealmSnapshot {
        let confidential = |id: &str, secret: &str| Client {
            client_id: id.into(),
            secret: Some(secret.into()),
            ..Client::default()
        };
        RealmSnapshot {
            realm: Realm {
                name: "acme".into(),
                ..Realm::default()
            },
            roles: vec![],
            groups: vec![],
            clients: vec![
                confidential("conf", "s3cret"),
                confidential("odd id", "a+b:c%"),
                Client {
                    client_id: "spa".into(),
                    public_client: true,
                    ..Client::default()
                },
                Client {
                    enabled: false,
                    ..confidential("off", "x")
                },
                Client {
                    bearer_only: true,
                    ..confidential("bearer", "x")
                },
                Client {
                    protocol: "docker-v2".into(),
                    ..confidential("registry", "x")
                },
                Client {
                    secret: None,
                    ..confidential("nosecret", "")
                },
            ],
            client_scopes: Vec::new(),
            keys: vec![],
        }
    }

    fn basic(raw: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let value = format!("Basic {}", STANDARD.encode(raw));
        headers.insert(AUTHORIZATION, HeaderValue::from_str(&value).unwrap());
        headers
    }

    #[test]
    fn authentication_table() {
        let snapshot = snapshot();
        let none = HeaderMap::new();
        let mut garbage = HeaderMap::new();
        garbage.insert(AUTHORIZATION, HeaderValue::from_static("Basic !!!"));
        // (headers, form, Ok((client, method)) or Err((error, has Basic challenge)))
        type Expected = Result<(&'static str, AuthMethod), (&'static str, bool)>;
        let rows: Vec<(HeaderMap, &str, Expected)> = vec![
            (basic("conf:s3cret"), "", Ok(("conf", AuthMethod::Basic))),
            (
                basic("conf:s3cret"),
                "client_id=conf",
                Ok(("conf", AuthMethod::Basic)),
            ),
            (basic("conf:wrong"), "", Err(("invalid_client", true))),
            (basic("nobody:s3cret"), "", Err(("invalid_client", true))),
            (
                basic("conf:s3cret"),
                "client_id=spa",
                Err(("invalid_request", false)),
            ),
            (
                basic("conf:s3cret"),
                "client_secret=s3cret",
                Err(("invalid_request", false)),
            ),
            // RFC 6749 §2.3.1: form-encoded credentials; raw ones are accepted too.
            (
                basic("odd+id:a%2Bb%3Ac%25"),
                "",
                Ok(("odd id", AuthMethod::Basic)),
            ),
            (
                basic("odd%20id:a+b:c%"),
                "",
                Ok(("odd id", AuthMethod::Basic)),
            ),
            (
                none.clone(),
                "client_id=conf&client_secret=s3cret",
                Ok(("conf", AuthMethod::Post)),
            ),
            (
                none.clone(),
                "client_id=conf&client_secret=nope",
                Err(("invalid_client", false)),
            ),
            (
                none.clone(),
                "client_id=conf",
                Err(("invalid_client", false)),
            ),
            (none.clone(), "client_id=spa", Ok(("spa", AuthMethod::None))),
            (
                none.clone(),
                "client_id=spa&client_secret=x",
                Ok(("spa", AuthMethod::None)),
            ),
            (basic("spa:"), "", Ok(("spa", AuthMethod::None))),
            (none.clone(), "", Err(("invalid_client", false))),
            (
                none.clone(),
                "client_id=off&client_secret=x",
                Err(("invalid_client", false)),
            ),
            (
                none.clone(),
                "client_id=bearer&client_secret=x",
                Err(("invalid_client", false)),
            ),
            (
                none.clone(),
                "client_id=registry&client_secret=x",
                Err(("invalid_client", false)),
            ),
            (
                none.clone(),
                "client_id=nosecret&client_secret=",
                Err(("invalid_client", false)),
            ),
            (basic("nosecret:"), "", Err(("invalid_client", true))),
            (garbage, "", Err(("invalid_client", true))),
        ];
        for (headers, body, expected) in rows {
            let form = Form::parse(body.as_bytes()).unwrap();
            let got = authenticate(&snapshot, &headers, &form);
            match (got, expected) {
                (Ok(a), Ok((id, method))) => {
                    assert_eq!(
                        (a.client.client_id.as_str(), a.method),
                        (id, method),
                        "{body}"
                    )
                }
                (Err(e), Err((code, challenge))) => {
                    assert_eq!(e.outcome(), code, "{body} {headers:?}");
                    let has_challenge = matches!(
                        e,
                        OAuthError::Protocol {
                            challenge: Some(_),
                            ..
                        }
                    );
                    assert_eq!(has_challenge, challenge, "{body} {headers:?}");
                }
                (got, expected) => panic!("{body} {headers:?}: {got:?} vs {expected:?}"),
            }
        }
    }
}
