//! Signing in to the console: OpenID Connect code + PKCE (S256) through the console realm's own
//! login page with the `security-admin-console` client, as Keycloak's console does. The
//! console is its own client: the callback redeems the code in-process, with the same checks
//! as the token endpoint (the code is single-use, for this client and redirect URI, unexpired,
//! and the PKCE verifier matches its challenge).
//!
//! The console's cookie is a JWS signed with the realm's key naming the user and the SSO
//! session; every request checks the signature, the user (enabled, not revoked since), and
//! that the SSO session is alive, so signing out of the realm, an admin ending the session,
//! disabling the user or resetting their password ends the console session at once, on every
//! instance. Signing out of the console ends the SSO session too.

use std::sync::Arc;

use axum::extract::{FromRequestParts, Path, Query};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis_core::model::RealmSnapshot;
use portcullis_core::resolve::resolve_user;
use portcullis_core::secrets::{hash_secret, random_token};
use portcullis_store::CodeRedemption;
use portcullis_store::admin::ADMIN_CONSOLE_CLIENT;
use portcullis_web::csrf::{self, FormTokenSpec};
use portcullis_web::session::{cookies_secure, read_cookie};
use portcullis_web::{AppState, ClientIp, Protocols, bearer};
use serde::Deserialize;
use serde_json::{Value, json};

use super::page::{ConsoleError, FormBody, read_flash};
use crate::auth::{Caller, Right};
use crate::ops::{Ops, realms};

/// The console's session cookie.
const SESSION_COOKIE: &str = "PORTCULLIS_CONSOLE";
/// The pending sign-in: `state.verifier`, for ten minutes.
const FLOW_COOKIE: &str = "PORTCULLIS_CONSOLE_FLOW";
const FLOW_LIFETIME: i64 = 600;
/// The `typ` of the console's session token, which no other token has.
const TOKEN_TYPE: &str = "Console";
/// How many realms the layout's realm switcher offers; the realm list has the rest.
const REALM_CHOICES: usize = 100;
/// The purpose of the console's form tokens.
const FORM_PURPOSE: &str = "console";
/// How long a rendered form may be posted.
const FORM_LIFETIME: i64 = 8 * 3600;

/// A signed-in console request: the admin, the console realm and what the layout shows.
pub struct Console {
    pub caller: Caller,
    pub state: AppState,
    pub protocols: Protocols,
    /// The realm whose admins sign in here.
    pub console_realm: Arc<RealmSnapshot>,
    /// `{relative}/admin/{console}/console`.
    pub base: String,
    /// The realm the page is about, when it is about one.
    pub realm: Option<String>,
    pub flash: Option<String>,
    /// The realm switcher's choices: the first realms the admin administers, and whether
    /// there are more.
    realm_choices: (Vec<String>, bool),
    /// The nonce form tokens are bound to (from the session cookie).
    form_nonce: String,
    /// The SSO session the console session is bound to.
    session_id: String,
}

impl Console {
    pub fn ops(&self) -> Ops<'_> {
        Ops::new(&self.state, &self.caller, &self.protocols)
    }

    /// `{base}/realms/{realm}` for the page's realm.
    pub fn realm_base(&self, realm: &str) -> String {
        format!(
            "{}/realms/{}",
            self.base,
            crate::context::encode_segment(realm)
        )
    }

    /// A fresh CSRF token for the page's forms.
    pub fn csrf_token(&self) -> Result<String, ConsoleError> {
        let issuer = self.state.issuer(&self.console_realm.realm.name);
        let spec = FormTokenSpec {
            issuer: &issuer,
            purpose: FORM_PURPOSE,
        };
        csrf::sign_form_token(
            &self.console_realm.keys,
            spec,
            &self.form_nonce,
            self.state.now(),
            FORM_LIFETIME,
            &Value::Null,
        )
        .map_err(|e| ConsoleError::Internal(e.to_string()))
    }

    /// Checks a posted form's CSRF token: made by this console for this browser session.
    pub fn check_form(&self, form: &FormBody) -> Result<(), ConsoleError> {
        let issuer = self.state.issuer(&self.console_realm.realm.name);
        let spec = FormTokenSpec {
            issuer: &issuer,
            purpose: FORM_PURPOSE,
        };
        csrf::verify_form_token(
            &self.console_realm.keys,
            spec,
            Some(form.get("csrf")),
            Some(&self.form_nonce),
            self.state.now(),
        )
        .map(|_| ())
        .map_err(|e| {
            tracing::info!(reason = %e, "console form refused");
            ConsoleError::Csrf
        })
    }

    /// What the layout shows on every page.
    pub fn layout_context(&self) -> Result<Value, ConsoleError> {
        let realm = self.realm.clone();
        let nav = realm
            .as_deref()
            .map(|r| self.navigation(r))
            .unwrap_or_default();
        let (mut choices, more) = self.realm_choices.clone();
        if let Some(current) = realm.as_ref().filter(|r| !choices.contains(r)) {
            choices.insert(0, current.clone());
        }
        Ok(json!({
            "base": self.base,
            "realm_choices": choices,
            "realm_choices_more": more,
            "console_realm": self.console_realm.realm.name,
            "realm": realm,
            "realm_base": realm.as_deref().map(|r| self.realm_base(r)),
            "username": self.caller.user.username,
            "csrf": self.csrf_token()?,
            "flash": self.flash,
            "nav": nav,
            "signed_in": true,
            // Optional in every page, so templates may test them without defining them.
            "active": null,
            "tab": null,
            "subtab": null,
            "scope": null,
            "error": null,
            "error_field": null,
        }))
    }

    /// The left navigation: the areas of the realm the admin may see at all.
    fn navigation(&self, realm: &str) -> Vec<Value> {
        let base = self.realm_base(realm);
        let may = |right| self.caller.can(realm, right);
        [
            ("Manage", "Clients", "clients", may(Right::QueryClients)),
            (
                "Manage",
                "Client scopes",
                "client-scopes",
                may(Right::ViewClients),
            ),
            ("Manage", "Registries", "registries", may(Right::ViewClients)),
            ("Manage", "Roles", "roles", may(Right::Any)),
            ("Manage", "Groups", "groups", may(Right::QueryGroups)),
            ("Manage", "Users", "users", may(Right::QueryUsers)),
            ("Manage", "Sessions", "sessions", may(Right::ViewUsers)),
            (
                "Manage",
                "Robots",
                "robots",
                crate::ops::robots::manages_any(self.ops(), realm),
            ),
            ("Manage", "Events", "events", may(Right::ViewEvents)),
            ("Configure", "Realm settings", "settings", may(Right::ViewRealm)),
            ("Configure", "Keys", "keys", may(Right::ViewRealm)),
        ]
        .into_iter()
        .filter(|(_, _, _, allowed)| *allowed)
        .map(|(section, label, path, _)| {
            json!({"section": section, "label": label, "href": format!("{base}/{path}"), "key": path})
        })
        .collect()
    }

    /// A `Set-Cookie` for one of the console's cookies (`max_age` 0 deletes it).
    pub fn cookie_header(&self, name: &str, value: &str, max_age: i64) -> Option<HeaderValue> {
        cookie(&self.state, &self.base, name, value, Some(max_age))
    }
}

fn cookie(
    state: &AppState,
    path: &str,
    name: &str,
    value: &str,
    max_age: Option<i64>,
) -> Option<HeaderValue> {
    if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_.%~".contains(&b))
    {
        return None;
    }
    let secure = if cookies_secure(state.urls()) {
        "; Secure"
    } else {
        ""
    };
    let age = max_age.map_or(String::new(), |a| format!("; Max-Age={a}"));
    HeaderValue::from_str(&format!(
        "{name}={value}; Path={path}; HttpOnly; SameSite=Lax{secure}{age}"
    ))
    .ok()
}

fn console_base(state: &AppState, console: &str) -> String {
    format!(
        "{}/admin/{}/console",
        state.urls().relative_path,
        crate::context::encode_segment(console)
    )
}

/// The console realm named by the path, or 404.
async fn console_realm(state: &AppState, name: &str) -> Result<Arc<RealmSnapshot>, ConsoleError> {
    state
        .realm(name)
        .await?
        .filter(|r| r.realm.enabled)
        .ok_or_else(|| ConsoleError::NotFound("There is no such realm.".into()))
}

impl FromRequestParts<AppState> for Console {
    type Rejection = ConsoleError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let params: std::collections::HashMap<String, String> =
            Path::from_request_parts(parts, state)
                .await
                .map(|Path(p)| p)
                .map_err(|_| ConsoleError::NotFound("There is no such page.".into()))?;
        let console = params.get("console").cloned().unwrap_or_default();
        let realm = params.get("realm").cloned();
        let protocols = parts
            .extensions
            .get::<Protocols>()
            .cloned()
            .ok_or_else(|| ConsoleError::Internal("protocols missing".into()))?;
        let snapshot = console_realm(state, &console).await?;
        let base = console_base(state, &console);
        let ClientIp(ip) = ClientIp::from_request_parts(parts, state)
            .await
            .unwrap_or(ClientIp(None));
        let token = read_cookie(&parts.headers, SESSION_COOKIE);
        let Some((caller, form_nonce, session_id)) = signed_in(state, &snapshot, token, ip).await?
        else {
            return Err(ConsoleError::SignIn(Box::new(sign_in(
                state, &snapshot, &base,
            ))));
        };
        let mut console = Console {
            caller,
            state: state.clone(),
            protocols,
            console_realm: snapshot,
            base,
            realm,
            flash: read_flash(&parts.headers),
            realm_choices: (Vec::new(), false),
            form_nonce,
            session_id,
        };
        let choices = realms::visible(console.ops(), REALM_CHOICES).await?;
        console.realm_choices = choices;
        Ok(console)
    }
}

/// The admin behind a console cookie, if it is ours, unexpired, and its user and SSO session
/// are alive now.
async fn signed_in(
    state: &AppState,
    realm: &Arc<RealmSnapshot>,
    token: Option<&str>,
    ip: Option<std::net::IpAddr>,
) -> Result<Option<(Caller, String, String)>, ConsoleError> {
    let Some(claims) = token.and_then(|t| portcullis_core::jws::verify(&realm.keys, t)) else {
        return Ok(None);
    };
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    let now = state.now();
    let fresh = claims
        .get("exp")
        .and_then(Value::as_i64)
        .is_some_and(|exp| exp > now);
    let issuer = state.issuer(&realm.realm.name);
    if text("typ") != Some(TOKEN_TYPE) || text("iss") != Some(issuer.as_str()) || !fresh {
        return Ok(None);
    }
    let (Some(sub), Some(sid), Some(nonce)) = (text("sub"), text("sid"), text("csrf")) else {
        return Ok(None);
    };
    let issued_at = claims
        .get("iat")
        .and_then(Value::as_i64)
        .unwrap_or(i64::MIN);
    let user = state.store().find_user_by_id(&realm.realm.id, sub).await?;
    let Some(user) = user.filter(|u| u.enabled && !u.revoked_before(issued_at)) else {
        return Ok(None);
    };
    if bearer::live_session(state, realm, &user, sid)
        .await?
        .is_none()
    {
        return Ok(None);
    }
    let roles = resolve_user(realm, &user);
    let caller = Caller {
        realm: realm.clone(),
        user,
        roles,
        client_id: Some(ADMIN_CONSOLE_CLIENT.to_string()),
        ip,
    };
    Ok(Some((caller, nonce.to_string(), sid.to_string())))
}

/// Starts a sign-in: a fresh state and PKCE verifier in a short-lived cookie, and a redirect
/// to the realm's authorization endpoint.
fn sign_in(state: &AppState, realm: &RealmSnapshot, base: &str) -> Response {
    let flow_state = random_token::<16>();
    let verifier = random_token::<32>();
    let challenge = URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        verifier.as_bytes(),
    ));
    let redirect_uri = callback_url(state, base);
    let query = serde_urlencoded::to_string([
        ("client_id", ADMIN_CONSOLE_CLIENT),
        ("redirect_uri", redirect_uri.as_str()),
        ("response_type", "code"),
        ("scope", "openid"),
        ("state", flow_state.as_str()),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ])
    .unwrap_or_default();
    let url = format!(
        "{}/protocol/openid-connect/auth?{query}",
        state.issuer(&realm.realm.name)
    );
    let mut response = Redirect::to(&url).into_response();
    let flow = format!("{flow_state}.{verifier}");
    if let Some(value) = cookie(state, base, FLOW_COOKIE, &flow, Some(FLOW_LIFETIME)) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    super::page::secure(response.headers_mut());
    response
}

fn callback_url(state: &AppState, base: &str) -> String {
    format!("{}{base}/callback", state.urls().base_url)
}

#[derive(Debug, Deserialize)]
pub struct CallbackParams {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// `GET {base}/callback`: redeems the code, starts the console session.
pub async fn callback(
    axum::extract::State(state): axum::extract::State<AppState>,
    Path(console): Path<String>,
    headers: HeaderMap,
    Query(params): Query<CallbackParams>,
) -> Result<Response, ConsoleError> {
    let realm = console_realm(&state, &console).await?;
    let base = console_base(&state, &console);
    if let Some(error) = params.error {
        return Err(ConsoleError::BadRequest(format!(
            "Signing in did not complete ({error}). Go back to the console to try again."
        )));
    }
    let restart = || ConsoleError::SignIn(Box::new(sign_in(&state, &realm, &base)));
    let flow = read_cookie(&headers, FLOW_COOKIE).and_then(|f| f.split_once('.'));
    let (Some((expected_state, verifier)), Some(given_state), Some(code)) =
        (flow, params.state.as_deref(), params.code.as_deref())
    else {
        return Err(restart());
    };
    if aws_lc_rs::constant_time::verify_slices_are_equal(
        expected_state.as_bytes(),
        given_state.as_bytes(),
    )
    .is_err()
    {
        return Err(restart());
    }
    let code = match state.store().redeem_auth_code(&hash_secret(code)).await? {
        CodeRedemption::Fresh(code) => code,
        CodeRedemption::Unknown | CodeRedemption::Replayed(_) => return Err(restart()),
    };
    let challenge = URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        verifier.as_bytes(),
    ));
    let now = state.now();
    let valid = code.realm_id == realm.realm.id
        && code.client_id == ADMIN_CONSOLE_CLIENT
        && code.redirect_uri == callback_url(&state, &base)
        && code.expires_at > now
        && code.code_challenge_method.as_deref() == Some("S256")
        && code.code_challenge.as_deref() == Some(challenge.as_str());
    if !valid {
        tracing::info!(realm = %realm.realm.name, "console sign-in refused: the code does not match");
        return Err(restart());
    }
    let nonce = random_token::<16>();
    let claims = json!({
        "typ": TOKEN_TYPE,
        "iss": state.issuer(&realm.realm.name),
        "sub": code.user_id,
        "sid": code.session_id,
        "iat": now,
        "exp": now + realm.realm.sso_session_max_lifespan.max(60),
        "csrf": nonce,
    });
    let token = sign(&realm, &claims)?;
    let mut response = Redirect::to(&format!("{base}/")).into_response();
    let headers = response.headers_mut();
    if let Some(value) = cookie(&state, &base, SESSION_COOKIE, &token, None) {
        headers.append(header::SET_COOKIE, value);
    }
    if let Some(value) = cookie(&state, &base, FLOW_COOKIE, "", Some(0)) {
        headers.append(header::SET_COOKIE, value);
    }
    super::page::secure(headers);
    Ok(response)
}

fn sign(realm: &RealmSnapshot, claims: &Value) -> Result<String, ConsoleError> {
    let key = realm
        .keys
        .iter()
        .find(|k| k.algorithm() == portcullis_core::keys::Algorithm::Es256)
        .or_else(|| realm.keys.first())
        .ok_or_else(|| ConsoleError::Internal("the realm has no signing key".into()))?;
    let header =
        json!({"alg": key.algorithm().as_str(), "typ": "JWT", "kid": key.thumbprint_kid()});
    key.sign_jws(header.to_string().as_bytes(), claims.to_string().as_bytes())
        .map_err(|e| ConsoleError::Internal(e.to_string()))
}

/// `POST {base}/logout`: ends the SSO session behind the console and the console's cookie,
/// then shows the realm's login again.
pub async fn logout(console: Console, body: axum::body::Bytes) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let state = &console.state;
    state.store().end_user_session(&console.session_id).await?;
    state.invalidate_user(&console.console_realm.realm.name, &console.caller.user.id);
    let mut response = Redirect::to(&format!("{}/", console.base)).into_response();
    if let Some(value) = console.cookie_header(SESSION_COOKIE, "", 0) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    super::page::secure(response.headers_mut());
    Ok(response)
}
