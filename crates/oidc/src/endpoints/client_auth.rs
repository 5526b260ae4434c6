//! Client authentication at the token, introspection, revocation and device endpoints:
//! `client_secret_basic` (the Basic credentials form-decoded per RFC 6749 §2.3.1),
//! `client_secret_post`, and `none` for public clients. Secrets are compared in constant time.
//! Which clients exist is not revealed: unknown clients and wrong secrets fail alike.

use aws_lc_rs::constant_time::verify_slices_are_equal;
use axum::http::HeaderMap;
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

/// Authenticates the client of a request; `client_id` in the form, when Basic is used too,
/// must name the same client.
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
