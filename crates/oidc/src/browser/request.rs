//! Validating an authorization request (RFC 6749 §4.1.1, OIDC Core §3.1.2.1, RFC 7636).
//!
//! Validation runs in two stages. Until the client and the redirect URI are known to be good,
//! every problem is shown on our own error page: redirecting to an unverified URI would make us
//! an open redirector (RFC 9700 §4.11.2). After that, problems go back to the client as error
//! responses, in the requested response mode.

use portcullis_core::model::{Client, RealmSnapshot};
use serde::{Deserialize, Serialize};

use super::params::{ParamError, Params};
use crate::tokens::redirect_uri_allowed;

/// How the authorization response reaches the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ResponseMode {
    Query,
    Fragment,
    FormPost,
}

impl ResponseMode {
    fn parse(value: &str) -> Option<Self> {
        match value {
            "query" => Some(Self::Query),
            "fragment" => Some(Self::Fragment),
            "form_post" => Some(Self::FormPost),
            _ => None,
        }
    }
}

/// The `prompt` values that change what happens (`select_account` and unknown values are
/// accepted and ignored: there is one account per browser session).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Prompt {
    #[serde(default, skip_serializing_if = "is_false")]
    pub none: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub login: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub consent: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A validated authorization request: what the login and consent steps carry in their form
/// tokens until the code is issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AuthRequest {
    pub client_id: String,
    pub redirect_uri: String,
    /// The request named no `redirect_uri` (plain OAuth2, one registered URI): the code
    /// exchange must then not name one either (RFC 6749 section 4.1.3).
    #[serde(default, skip_serializing_if = "is_false")]
    pub redirect_uri_omitted: bool,
    pub response_mode: ResponseMode,
    /// The `scope` parameter, normalised (single spaces, no duplicates).
    pub scope: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_challenge: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_challenge_method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_hint: Option<String>,
    /// Keycloak's `kc_idp_hint`: the identity provider to send the user to straight away.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idp_hint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<i64>,
    #[serde(default)]
    pub prompt: Prompt,
    /// The raw `id_token_hint`; verified by the endpoint, which then fills `hint_subject`.
    #[serde(skip)]
    pub id_token_hint: Option<String>,
    /// The `sub` of a verified `id_token_hint`: the user the client expects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint_subject: Option<String>,
}

impl AuthRequest {
    /// Where this request's responses go.
    pub(crate) fn destination(&self) -> Destination {
        Destination {
            redirect_uri: self.redirect_uri.clone(),
            mode: self.response_mode,
            state: self.state.clone(),
        }
    }
}

/// A verified redirect URI, the response mode and the `state` to echo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Destination {
    pub redirect_uri: String,
    pub mode: ResponseMode,
    pub state: Option<String>,
}

/// An OAuth2 error to send to a verified redirect URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ErrorResponse {
    pub destination: Destination,
    pub error: &'static str,
    pub description: String,
}

/// Why a request is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Rejection {
    /// Our error page: the client or the redirect URI cannot be trusted.
    Page { message: String },
    /// An error response to the client.
    Redirect(ErrorResponse),
}

fn page(message: impl Into<String>) -> Rejection {
    Rejection::Page {
        message: message.into(),
    }
}

/// Checks a client may start a browser login at all; the message is for the error page.
pub(crate) fn check_client<'a>(
    snapshot: &'a RealmSnapshot,
    client_id: &str,
) -> Result<&'a Client, String> {
    let client = snapshot
        .client(client_id)
        .filter(|c| c.protocol == "openid-connect")
        .ok_or("Client not found.")?;
    if !client.enabled {
        return Err("Client disabled.".into());
    }
    if client.bearer_only {
        return Err("Bearer-only applications are not allowed to initiate browser login.".into());
    }
    if !client.standard_flow_enabled {
        return Err(
            "Client is not allowed to initiate browser login: the standard flow is disabled."
                .into(),
        );
    }
    Ok(client)
}

/// Stage one: the client and the redirect URI.
fn trusted_destination<'a>(
    snapshot: &'a RealmSnapshot,
    params: &Params,
) -> Result<(&'a Client, RedirectUri), Rejection> {
    let client_id = params
        .get("client_id")
        .map_err(|e| page(e.description()))?
        .ok_or_else(|| page("Missing parameter: client_id"))?;
    let client = check_client(snapshot, client_id).map_err(page)?;
    let redirect_uri = match params
        .get("redirect_uri")
        .map_err(|e| page(e.description()))?
    {
        Some(uri) if redirect_uri_allowed(client, uri) => RedirectUri::Given(uri.to_string()),
        Some(_) => return Err(page("Invalid parameter: redirect_uri")),
        // OpenID Connect requires the parameter; plain OAuth2 does not (Keycloak's rule).
        None if is_openid_request(params) => return Err(page("Missing parameter: redirect_uri")),
        None => RedirectUri::Registered(
            sole_redirect_uri(client).ok_or_else(|| page("Missing parameter: redirect_uri"))?,
        ),
    };
    Ok((client, redirect_uri))
}

/// The redirect URI of an authorization request: sent by the client, or, in a plain OAuth2
/// request that omitted it, the client's only registered one.
enum RedirectUri {
    Given(String),
    Registered(String),
}

/// Whether the request asks for the `openid` scope. A malformed (repeated) `scope` counts as
/// OpenID: it is rejected later anyway, and the stricter rule applies until then.
fn is_openid_request(params: &Params) -> bool {
    params.get("scope").map_or(true, |scope| {
        scope.is_some_and(|s| s.split(' ').any(|s| s == "openid"))
    })
}

/// Keycloak's rule when `redirect_uri` is omitted: allowed only when the client registered
/// exactly one URI and it is not a pattern.
fn sole_redirect_uri(client: &Client) -> Option<String> {
    match client.redirect_uris.as_slice() {
        [only] if !only.contains('*') && !only.is_empty() => Some(only.clone()),
        _ => None,
    }
}

/// Validates an authorization request.
pub(crate) fn validate(
    snapshot: &RealmSnapshot,
    params: &Params,
) -> Result<AuthRequest, Rejection> {
    let (client, redirect_uri) = trusted_destination(snapshot, params)?;
    let (redirect_uri, redirect_uri_omitted) = match redirect_uri {
        RedirectUri::Given(uri) => (uri, false),
        RedirectUri::Registered(uri) => (uri, true),
    };
    // From here on, errors go to the client. A repeated `state` cannot be echoed faithfully.
    let (state, state_error) = match params.get("state") {
        Ok(state) => (state.map(str::to_string), None),
        Err(e) => (None, Some(e)),
    };
    let response_type = params.get("response_type");
    let mut destination = Destination {
        redirect_uri,
        mode: default_mode(response_type.as_ref().ok().copied().flatten()),
        state,
    };
    let fail = |destination: &Destination, error: &'static str, description: String| {
        Rejection::Redirect(ErrorResponse {
            destination: destination.clone(),
            error,
            description,
        })
    };
    let invalid = |destination: &Destination, e: ParamError| {
        fail(destination, "invalid_request", e.description())
    };
    match params.get("response_mode") {
        Ok(None) => {}
        Ok(Some(mode)) => match ResponseMode::parse(mode) {
            Some(mode) => destination.mode = mode,
            None => {
                let description = "Invalid parameter: response_mode".to_string();
                return Err(fail(&destination, "invalid_request", description));
            }
        },
        Err(e) => return Err(invalid(&destination, e)),
    }
    if let Some(e) = state_error {
        return Err(invalid(&destination, e));
    }
    if params.lenient("request").is_some() {
        let description = "Request objects are not supported".to_string();
        return Err(fail(&destination, "request_not_supported", description));
    }
    if params.lenient("request_uri").is_some() {
        let description = "Request URIs are not supported".to_string();
        return Err(fail(&destination, "request_uri_not_supported", description));
    }
    match response_type {
        Ok(Some("code")) => {}
        Ok(Some(_)) => {
            let description = "Only response_type=code is supported".to_string();
            return Err(fail(&destination, "unsupported_response_type", description));
        }
        Ok(None) => {
            let description = "Missing parameter: response_type".to_string();
            return Err(fail(&destination, "invalid_request", description));
        }
        Err(e) => return Err(invalid(&destination, e)),
    }
    let get = |name: &'static str| {
        params
            .get(name)
            .map(|v| v.map(str::to_string))
            .map_err(|e| invalid(&destination, e))
    };
    let scope = normalise_scope(get("scope")?.as_deref().unwrap_or_default());
    let nonce = get("nonce")?;
    let login_hint = get("login_hint")?;
    let idp_hint = get("kc_idp_hint")?.filter(|h| !h.trim().is_empty());
    let id_token_hint = get("id_token_hint")?;
    let prompt = parse_prompt(get("prompt")?.as_deref()).ok_or_else(|| {
        fail(
            &destination,
            "invalid_request",
            "Invalid parameter: prompt".into(),
        )
    })?;
    let max_age = match get("max_age")? {
        None => None,
        Some(v) => Some(v.parse::<i64>().ok().filter(|m| *m >= 0).ok_or_else(|| {
            fail(
                &destination,
                "invalid_request",
                "Invalid parameter: max_age".into(),
            )
        })?),
    };
    let (code_challenge, code_challenge_method) = check_pkce(
        client,
        get("code_challenge")?,
        get("code_challenge_method")?,
    )
    .map_err(|description| fail(&destination, "invalid_request", description.into()))?;
    Ok(AuthRequest {
        client_id: client.client_id.clone(),
        redirect_uri: destination.redirect_uri.clone(),
        redirect_uri_omitted,
        response_mode: destination.mode,
        scope,
        state: destination.state.clone(),
        nonce,
        code_challenge,
        code_challenge_method,
        login_hint,
        idp_hint,
        max_age,
        prompt,
        id_token_hint,
        hint_subject: None,
    })
}

/// The default response mode for the response type (OAuth 2.0 Multiple Response Types): errors
/// for implicit or hybrid requests, which we refuse, go where such a client listens.
fn default_mode(response_type: Option<&str>) -> ResponseMode {
    let front_channel_tokens = response_type.is_some_and(|t| {
        t.split(' ')
            .any(|part| part == "token" || part == "id_token")
    });
    if front_channel_tokens {
        ResponseMode::Fragment
    } else {
        ResponseMode::Query
    }
}

/// Space-separated, order irrelevant (RFC 6749 §3.3): collapse whitespace and duplicates.
fn normalise_scope(scope: &str) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for s in scope.split_whitespace() {
        if !seen.contains(&s) {
            seen.push(s);
        }
    }
    seen.join(" ")
}

/// `none` may not be combined with anything else (OIDC Core §3.1.2.1). `None` for that error.
fn parse_prompt(prompt: Option<&str>) -> Option<Prompt> {
    let values: Vec<&str> = prompt.unwrap_or_default().split_whitespace().collect();
    let result = Prompt {
        none: values.contains(&"none"),
        login: values.contains(&"login"),
        consent: values.contains(&"consent"),
    };
    if result.none && values.len() > 1 {
        return None;
    }
    Some(result)
}

/// The PKCE rules (RFC 7636, RFC 9700 §2.1.1): public clients and clients whose
/// `pkce.code.challenge.method` attribute is set must send a challenge; `S256` always works,
/// `plain` only when that attribute says `plain`. An absent method means `plain`.
type Pkce = (Option<String>, Option<String>);

fn check_pkce(
    client: &Client,
    challenge: Option<String>,
    method: Option<String>,
) -> Result<Pkce, &'static str> {
    let required = client
        .attributes
        .get("pkce.code.challenge.method")
        .map(String::as_str)
        .filter(|m| !m.is_empty());
    let Some(challenge) = challenge else {
        if method.is_some() {
            return Err("Missing parameter: code_challenge");
        }
        if client.public_client || required.is_some() {
            return Err("Missing parameter: code_challenge");
        }
        return Ok((None, None));
    };
    let method = method.unwrap_or_else(|| "plain".into());
    let allowed = match method.as_str() {
        "S256" => true,
        "plain" => required == Some("plain") && !client.public_client,
        _ => false,
    };
    if !allowed {
        return Err("Invalid parameter: code_challenge_method");
    }
    if !valid_challenge(&challenge) {
        return Err("Invalid parameter: code_challenge");
    }
    Ok((Some(challenge), Some(method)))
}

/// 43 to 128 characters of `[A-Za-z0-9-._~]` (RFC 7636 §4.2).
fn valid_challenge(challenge: &str) -> bool {
    (43..=128).contains(&challenge.len())
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::collections::BTreeMap;

    use portcullis_core::model::Realm;

    use super::*;

    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn client(client_id: &str, uris: &[&str], tweak: impl FnOnce(&mut Client)) -> Client {
        let mut c = Client {
            id: format!("id-{client_id}"),
            client_id: client_id.into(),
            redirect_uris: uris.iter().map(|u| (*u).to_string()).collect(),
            ..Client::default()
        };
        tweak(&mut c);
        c
    }

    fn snapshot() -> RealmSnapshot {
        let pkce = |c: &mut Client| {
            c.attributes =
                BTreeMap::from([("pkce.code.challenge.method".to_string(), "S256".to_string())]);
        };
        let plain = |c: &mut Client| {
            c.attributes = BTreeMap::from([(
                "pkce.code.challenge.method".to_string(),
                "plain".to_string(),
            )]);
        };
        RealmSnapshot {
            realm: Realm::default(),
            roles: vec![],
            groups: vec![],
            clients: vec![
                client("app", &["https://app.test/cb"], |_| {}),
                client("two", &["https://a.test/cb", "https://b.test/cb"], |_| {}),
                client("wild", &["https://w.test/*"], |_| {}),
                client("spa", &["https://spa.test/cb"], |c| c.public_client = true),
                client("forced", &["https://f.test/cb"], pkce),
                client("plain", &["https://p.test/cb"], plain),
                client("off", &["https://o.test/cb"], |c| c.enabled = false),
                client("bearer", &["https://b.test/cb"], |c| c.bearer_only = true),
                client("noflow", &["https://n.test/cb"], |c| {
                    c.standard_flow_enabled = false
                }),
                client("registry", &["https://r.test/cb"], |c| {
                    c.protocol = "docker-v2".into()
                }),
            ],
            client_scopes: Vec::new(),
            keys: vec![],
        }
    }

    fn params(pairs: &[(&str, &str)]) -> Params {
        Params::new(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                .collect(),
        )
    }

    fn base(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
        let mut p = vec![
            ("client_id", "app"),
            ("redirect_uri", "https://app.test/cb"),
            ("response_type", "code"),
            ("scope", "openid"),
            ("state", "st"),
        ];
        for (k, v) in extra {
            p.retain(|(name, _)| name != k);
            if !v.is_empty() {
                p.push((k, v));
            }
        }
        p
    }

    /// Requests that must end on our error page.
    #[test]
    fn untrusted_client_or_redirect_shows_a_page() {
        let cases: &[(&str, &[(&str, &str)])] = &[
            ("no client", &[("client_id", "")]),
            ("unknown client", &[("client_id", "nope")]),
            (
                "disabled",
                &[("client_id", "off"), ("redirect_uri", "https://o.test/cb")],
            ),
            (
                "bearer only",
                &[
                    ("client_id", "bearer"),
                    ("redirect_uri", "https://b.test/cb"),
                ],
            ),
            (
                "standard flow off",
                &[
                    ("client_id", "noflow"),
                    ("redirect_uri", "https://n.test/cb"),
                ],
            ),
            (
                "docker client",
                &[
                    ("client_id", "registry"),
                    ("redirect_uri", "https://r.test/cb"),
                ],
            ),
            ("unregistered", &[("redirect_uri", "https://evil.test/cb")]),
            (
                "appended path",
                &[("redirect_uri", "https://app.test/cb/x")],
            ),
            (
                "added query",
                &[("redirect_uri", "https://app.test/cb?x=1")],
            ),
            (
                "several registered, none sent",
                &[("client_id", "two"), ("redirect_uri", "")],
            ),
            (
                "wildcard registered, none sent",
                &[("client_id", "wild"), ("redirect_uri", "")],
            ),
        ];
        for (name, extra) in cases {
            let mut pairs = base(extra);
            if *name == "no client" {
                pairs.retain(|(k, _)| *k != "client_id");
            }
            let got = validate(&snapshot(), &params(&pairs));
            assert!(
                matches!(got, Err(Rejection::Page { .. })),
                "{name}: {got:?}"
            );
        }
        let mut repeated = base(&[]);
        repeated.push(("redirect_uri", "https://evil.test/cb"));
        assert!(matches!(
            validate(&snapshot(), &params(&repeated)),
            Err(Rejection::Page { .. })
        ));
    }

    /// Requests whose error goes back to the (verified) redirect URI: (name, params, error,
    /// mode the error is sent in).
    #[test]
    fn bad_requests_are_redirected_errors() {
        /// (name, parameters changed, error, response mode of the error)
        type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str, ResponseMode);
        let cases: &[Case<'_>] = &[
            (
                "no response_type",
                &[("response_type", "")],
                "invalid_request",
                ResponseMode::Query,
            ),
            (
                "token",
                &[("response_type", "token")],
                "unsupported_response_type",
                ResponseMode::Fragment,
            ),
            (
                "hybrid",
                &[("response_type", "code id_token")],
                "unsupported_response_type",
                ResponseMode::Fragment,
            ),
            (
                "hybrid as form_post",
                &[
                    ("response_type", "code id_token"),
                    ("response_mode", "form_post"),
                ],
                "unsupported_response_type",
                ResponseMode::FormPost,
            ),
            (
                "bad mode",
                &[("response_mode", "jwt")],
                "invalid_request",
                ResponseMode::Query,
            ),
            (
                "request object",
                &[("request", "eyJ...")],
                "request_not_supported",
                ResponseMode::Query,
            ),
            (
                "request uri",
                &[("request_uri", "https://x")],
                "request_uri_not_supported",
                ResponseMode::Query,
            ),
            (
                "prompt none+login",
                &[("prompt", "none login")],
                "invalid_request",
                ResponseMode::Query,
            ),
            (
                "max_age negative",
                &[("max_age", "-1")],
                "invalid_request",
                ResponseMode::Query,
            ),
            (
                "max_age text",
                &[("max_age", "soon")],
                "invalid_request",
                ResponseMode::Query,
            ),
            (
                "public without pkce",
                &[
                    ("client_id", "spa"),
                    ("redirect_uri", "https://spa.test/cb"),
                ],
                "invalid_request",
                ResponseMode::Query,
            ),
            (
                "public with plain",
                &[
                    ("client_id", "spa"),
                    ("redirect_uri", "https://spa.test/cb"),
                    ("code_challenge", CHALLENGE),
                    ("code_challenge_method", "plain"),
                ],
                "invalid_request",
                ResponseMode::Query,
            ),
            (
                "public, method absent = plain",
                &[
                    ("client_id", "spa"),
                    ("redirect_uri", "https://spa.test/cb"),
                    ("code_challenge", CHALLENGE),
                ],
                "invalid_request",
                ResponseMode::Query,
            ),
            (
                "forced without pkce",
                &[
                    ("client_id", "forced"),
                    ("redirect_uri", "https://f.test/cb"),
                ],
                "invalid_request",
                ResponseMode::Query,
            ),
            (
                "confidential plain",
                &[
                    ("code_challenge", CHALLENGE),
                    ("code_challenge_method", "plain"),
                ],
                "invalid_request",
                ResponseMode::Query,
            ),
            (
                "unknown method",
                &[
                    ("code_challenge", CHALLENGE),
                    ("code_challenge_method", "S512"),
                ],
                "invalid_request",
                ResponseMode::Query,
            ),
            (
                "short challenge",
                &[("code_challenge", "abc"), ("code_challenge_method", "S256")],
                "invalid_request",
                ResponseMode::Query,
            ),
            (
                "method without challenge",
                &[("code_challenge_method", "S256")],
                "invalid_request",
                ResponseMode::Query,
            ),
            (
                "fragment mode kept",
                &[("response_mode", "fragment"), ("max_age", "x")],
                "invalid_request",
                ResponseMode::Fragment,
            ),
        ];
        for (name, extra, error, mode) in cases {
            match validate(&snapshot(), &params(&base(extra))) {
                Err(Rejection::Redirect(e)) => {
                    assert_eq!(e.error, *error, "{name}");
                    assert_eq!(e.destination.mode, *mode, "{name}");
                    assert_eq!(e.destination.state.as_deref(), Some("st"), "{name}");
                    assert!(e.destination.redirect_uri.starts_with("https://"), "{name}");
                    assert!(!e.description.contains(['"', '\\']), "{name}");
                }
                other => panic!("{name}: {other:?}"),
            }
        }
        let mut repeated = base(&[]);
        repeated.push(("scope", "email"));
        assert!(matches!(
            validate(&snapshot(), &params(&repeated)),
            Err(Rejection::Redirect(ErrorResponse {
                error: "invalid_request",
                ..
            }))
        ));
        let mut two_states = base(&[]);
        two_states.push(("state", "other"));
        match validate(&snapshot(), &params(&two_states)) {
            Err(Rejection::Redirect(e)) => assert_eq!(e.destination.state, None),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn good_requests() {
        let ok = |extra: &[(&'static str, &'static str)]| {
            validate(&snapshot(), &params(&base(extra)))
                .unwrap_or_else(|e| panic!("{extra:?}: {e:?}"))
        };
        let r = ok(&[
            ("scope", " profile  openid openid email "),
            ("nonce", "n"),
            ("extra", "ignored"),
        ]);
        assert_eq!(r.scope, "profile openid email");
        assert_eq!(r.nonce.as_deref(), Some("n"));
        assert_eq!(r.response_mode, ResponseMode::Query);
        assert_eq!(r.prompt, Prompt::default());

        let r = ok(&[("redirect_uri", ""), ("scope", "")]);
        assert_eq!(
            r.redirect_uri, "https://app.test/cb",
            "the sole registered URI"
        );
        assert!(r.redirect_uri_omitted);
        assert_eq!(r.scope, "");
        // OpenID Connect requests must name it, even with one registered URI.
        let openid = validate(&snapshot(), &params(&base(&[("redirect_uri", "")])));
        assert!(
            matches!(&openid, Err(Rejection::Page { message }) if message == "Missing parameter: redirect_uri"),
            "{openid:?}"
        );
        assert!(!ok(&[]).redirect_uri_omitted);

        let r = ok(&[
            ("client_id", "wild"),
            ("redirect_uri", "https://w.test/deep/cb?x=1"),
        ]);
        assert_eq!(r.redirect_uri, "https://w.test/deep/cb?x=1");

        let r = ok(&[
            ("client_id", "spa"),
            ("redirect_uri", "https://spa.test/cb"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
            ("response_mode", "form_post"),
            ("prompt", "login consent select_account"),
            ("max_age", "0"),
            ("login_hint", "alice"),
            ("id_token_hint", "h.i.nt"),
        ]);
        assert_eq!(r.code_challenge.as_deref(), Some(CHALLENGE));
        assert_eq!(r.code_challenge_method.as_deref(), Some("S256"));
        assert_eq!(r.response_mode, ResponseMode::FormPost);
        assert_eq!(
            r.prompt,
            Prompt {
                none: false,
                login: true,
                consent: true
            }
        );
        assert_eq!(r.max_age, Some(0));
        assert_eq!(r.login_hint.as_deref(), Some("alice"));
        assert_eq!(r.id_token_hint.as_deref(), Some("h.i.nt"));

        let r = ok(&[
            ("client_id", "plain"),
            ("redirect_uri", "https://p.test/cb"),
            ("code_challenge", CHALLENGE),
        ]);
        assert_eq!(r.code_challenge_method.as_deref(), Some("plain"));

        let r = ok(&[("prompt", "none"), ("state", "")]);
        assert!(r.prompt.none);
        assert_eq!(r.state, None);

        // The form token round trip keeps everything but the raw hint.
        let json = serde_json::to_string(&r).unwrap();
        let back: AuthRequest = serde_json::from_str(&json).unwrap();
        assert_eq!(
            back,
            AuthRequest {
                id_token_hint: None,
                ..r
            }
        );
    }
}
