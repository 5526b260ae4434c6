//! What every console page shares: the signed-in user ([`Console`]), the templates in the
//! login theme, the CSRF tokens of its forms, flash messages, posted forms and errors as pages.

use std::net::IpAddr;
use std::sync::LazyLock;

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use portcullis_admin::AdminError;
use portcullis_admin::self_service::{AccountError, Me, SelfService};
use portcullis_core::model::RealmSnapshot;
use portcullis_web::login::{self, Checked, Continuations, FormNonce, LoginError, RealmCtx};
use portcullis_web::session::{CookieScope, encode_path_segment, read_cookie};
use portcullis_web::templates::{self, Theme};
use portcullis_web::{AppState, ClientIp, Protocols};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::signin;

/// The console's templates, in the login theme (they extend its `base.html`).
const TEMPLATES: &[(&str, &str)] = &[
    ("layout.html", include_str!("../../templates/layout.html")),
    (
        "field_macros.html",
        include_str!("../../templates/field_macros.html"),
    ),
    ("profile.html", include_str!("../../templates/profile.html")),
    (
        "password.html",
        include_str!("../../templates/password.html"),
    ),
    ("linked.html", include_str!("../../templates/linked.html")),
    (
        "sessions.html",
        include_str!("../../templates/sessions.html"),
    ),
    ("logins.html", include_str!("../../templates/logins.html")),
    (
        "app_passwords.html",
        include_str!("../../templates/app_passwords.html"),
    ),
    (
        "app_password_created.html",
        include_str!("../../templates/app_password_created.html"),
    ),
    ("access.html", include_str!("../../templates/access.html")),
];

static THEME: LazyLock<Result<Theme, String>> = LazyLock::new(|| Theme::with(TEMPLATES));

/// The purpose of the console's form tokens: a token of another form (a login page's) is
/// refused here, and the other way round.
const FORM_PURPOSE: &str = "account";
/// The flash message cookie: one message, shown by the next page.
const FLASH_COOKIE: &str = "PORTCULLIS_ACCOUNT_FLASH";

/// The console's navigation: `(key, label, path below the base)`.
const NAV: [(&str, &str, &str); 7] = [
    ("profile", "Personal info", "/"),
    ("password", "Password", "/password"),
    ("linked", "Linked accounts", "/linked"),
    ("sessions", "Sessions", "/sessions"),
    ("docker-logins", "Docker logins", "/docker-logins"),
    ("app-passwords", "App passwords", "/app-passwords"),
    ("registry-access", "My registry access", "/registry-access"),
];

/// A signed-in console request.
pub struct Console {
    pub state: AppState,
    pub protocols: Protocols,
    /// The realm, as the login flow knows it (cookies, form tokens).
    pub ctx: RealmCtx,
    pub me: Me,
    /// `{relative}/realms/{realm}/account`.
    pub base: String,
    pub flash: Option<String>,
    /// The browser's form nonce (its cookie is set when it is new).
    nonce: FormNonce,
    /// The request's cookies, against which posted form tokens are checked.
    cookies: HeaderMap,
}

/// What the console's form tokens are bound to besides the browser: the SSO session the page
/// was rendered for.
#[derive(Debug, Serialize, Deserialize)]
struct FormBinding {
    sid: String,
}

/// What a request asks of the console, before anyone is known to be signed in.
pub struct Request<'a> {
    pub state: &'a AppState,
    pub protocols: &'a Protocols,
    pub continuations: &'a Continuations,
    pub realm: &'a str,
    pub headers: &'a HeaderMap,
    pub ip: Option<IpAddr>,
    /// The page asked for, below the console's base (`/sessions`), where a login returns to.
    pub page: &'a str,
}

impl Console {
    /// The console for the browser's signed-in user; without a live SSO session, the realm's
    /// login, coming back to the page asked for.
    pub async fn load(request: Request<'_>) -> Result<Console, PageError> {
        let ctx = match signin::realm_ctx(request.state, request.realm).await? {
            Ok(ctx) => ctx,
            Err(page) => return Err(PageError::Page(Box::new(page))),
        };
        let base = base_path(request.state, &ctx.snapshot.realm.name);
        let sign_in = || signin::begin(&ctx, request.continuations, request.headers, request.page);
        let Some(live) = signin::current(&ctx, request.headers).await? else {
            return Err(PageError::Page(Box::new(sign_in().await?)));
        };
        let user_agent = request
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok());
        let me = Me::signed_in(
            request.state,
            ctx.snapshot.clone(),
            &live.session,
            (*live.user).clone(),
            request.ip,
            user_agent,
        )
        .await?;
        let Some(me) = me else {
            return Err(PageError::Page(Box::new(sign_in().await?)));
        };
        let mut cookies = HeaderMap::new();
        for value in request.headers.get_all(header::COOKIE) {
            cookies.append(header::COOKIE, value.clone());
        }
        Ok(Console {
            cookies,
            state: request.state.clone(),
            protocols: request.protocols.clone(),
            nonce: FormNonce::of(request.headers),
            flash: read_flash(request.headers),
            ctx,
            me,
            base,
        })
    }

    /// The self-service operations of the signed-in user.
    pub fn account(&self) -> SelfService<'_> {
        SelfService::new(&self.state, &self.me, &self.protocols)
    }

    pub(crate) fn realm(&self) -> &RealmSnapshot {
        self.me.realm()
    }

    /// A CSRF token for the page's forms: bound to this browser and this session.
    fn csrf_token(&self) -> Result<String, PageError> {
        let binding = FormBinding {
            sid: self.me.session_id().to_string(),
        };
        Ok(login::seal(&self.ctx, FORM_PURPOSE, &self.nonce, &binding)?)
    }

    /// The form that links the identity provider `alias` to the signed-in user, coming back
    /// to the console's `page`: where it posts and its token.
    pub fn link_form(&self, alias: &str, page: &str) -> Result<(String, String), PageError> {
        let request = login::LinkRequest {
            user_id: self.me.user().id.clone(),
            pending: super::signin::account_pending(page)?,
        };
        Ok(login::link_form(&self.ctx, &self.nonce, alias, &request)?)
    }

    /// Checks a posted form's CSRF token: made by this console for this browser and for the
    /// session that is signed in now, and not stale.
    pub fn check_form(&self, form: &FormBody) -> Result<(), PageError> {
        let realm = &self.realm().realm.name;
        let token = Some(form.get("csrf"));
        match login::check::<FormBinding>(&self.ctx, FORM_PURPOSE, token, &self.cookies) {
            Checked::Valid(binding) if binding.sid == self.me.session_id() => Ok(()),
            Checked::Valid(_) => {
                tracing::info!(realm = %realm, "account form refused: rendered for another session");
                Err(PageError::Csrf)
            }
            Checked::Expired(_) => {
                tracing::info!(realm = %realm, "account form refused: expired");
                Err(PageError::Csrf)
            }
            Checked::Invalid(e) => {
                tracing::info!(realm = %realm, reason = %e, "account form refused");
                Err(PageError::Csrf)
            }
        }
    }

    /// Renders a page of the console: `context` is the page's own; the layout adds who is
    /// signed in, the navigation (with `active` current), the CSRF token and the flash message.
    pub fn render(
        &self,
        status: StatusCode,
        template: &str,
        active: &str,
        title: &str,
        mut context: Value,
    ) -> Result<Response, PageError> {
        let nav: Vec<Value> = NAV
            .iter()
            .map(|(key, label, path)| {
                json!({"key": key, "label": label, "href": format!("{}{path}", self.base)})
            })
            .collect();
        let realm = &self.realm().realm;
        let common = json!({
            "realm_name": realm.display_name.as_deref().unwrap_or(&realm.name),
            "username": self.me.user().username,
            "base": self.base,
            "nav": nav,
            "active": active,
            "title": title,
            "csrf": self.csrf_token()?,
            "flash": self.flash,
            "back": null,
            "error": null,
            "error_field": null,
        });
        if let (Some(page), Value::Object(common)) = (context.as_object_mut(), common) {
            for (key, value) in common {
                page.entry(key).or_insert(value);
            }
        }
        let theme = THEME
            .as_ref()
            .map_err(|e| PageError::Internal(format!("templates failed to load: {e}")))?;
        let body = theme
            .render(template, &context)
            .map_err(|e| PageError::Internal(e.to_string()))?;
        let mut response = templates::html_response(status, body, templates::PageScripts::None);
        if self.flash.is_some()
            && let Some(cookie) = self.cookie_scope().clear(FLASH_COOKIE)
        {
            response.headers_mut().append(header::SET_COOKIE, cookie);
        }
        self.with_nonce_cookie(&mut response);
        Ok(response)
    }

    /// The scope of the console's own cookies (the flash message).
    fn cookie_scope(&self) -> CookieScope {
        CookieScope {
            path: format!("{}/", self.base),
            secure: portcullis_web::session::cookies_secure(self.state.urls()),
        }
    }

    fn with_nonce_cookie(&self, response: &mut Response) {
        if let Ok(Some(cookie)) = self.nonce.cookie(&self.ctx) {
            response.headers_mut().append(header::SET_COOKIE, cookie);
        }
    }

    /// `303 See Other` to the console page `path` with a flash message for it.
    pub fn redirect(&self, path: &str, message: &str) -> Response {
        let mut response = Redirect::to(&format!("{}{path}", self.base)).into_response();
        if let Some(cookie) = self
            .cookie_scope()
            .set(FLASH_COOKIE, &flash_encode(message))
        {
            response.headers_mut().append(header::SET_COOKIE, cookie);
        }
        response
    }
}

impl FromRequestParts<AppState> for Console {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Ok(Path(path)) =
            Path::<std::collections::HashMap<String, String>>::from_request_parts(parts, state)
                .await
        else {
            return Err(PageError::NoRealm);
        };
        let realm = path.get("realm").cloned().unwrap_or_default();
        let protocols = parts
            .extensions
            .get::<Protocols>()
            .cloned()
            .ok_or_else(|| PageError::Internal("the protocols are not set up".into()))?;
        let continuations = parts
            .extensions
            .get::<Continuations>()
            .cloned()
            .ok_or_else(|| PageError::Internal("the login continuations are not set up".into()))?;
        let Ok(ClientIp(ip)) = ClientIp::from_request_parts(parts, state).await;
        let base = base_path(state, &realm);
        let page = return_page(&parts.method, &parts.uri, &base);
        Console::load(Request {
            state,
            protocols: &protocols,
            continuations: &continuations,
            realm: &realm,
            headers: &parts.headers,
            ip,
            page: &page,
        })
        .await
    }
}

/// Where a login started by this request comes back to: the page itself for a `GET`, the page
/// a form was posted from otherwise.
fn return_page(method: &Method, uri: &Uri, base: &str) -> String {
    let path = uri.path().strip_prefix(base).unwrap_or("/");
    if method == Method::GET {
        let mut page = if path.is_empty() { "/" } else { path }.to_string();
        if let Some(query) = uri.query() {
            page.push('?');
            page.push_str(query);
        }
        return page;
    }
    match path.trim_start_matches('/').split('/').next() {
        Some(first @ ("password" | "linked" | "sessions" | "docker-logins" | "app-passwords")) => {
            format!("/{first}")
        }
        _ => "/".to_string(),
    }
}

/// `{relative}/realms/{realm}/account`.
pub fn base_path(state: &AppState, realm: &str) -> String {
    format!(
        "{}/realms/{}/account",
        state.urls().relative_path,
        encode_path_segment(realm)
    )
}

/// Cookie values may not hold spaces or commas: the message travels percent-encoded.
fn flash_encode(message: &str) -> String {
    let mut out = String::new();
    for byte in message.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The flash message a request carries, if any.
fn read_flash(headers: &HeaderMap) -> Option<String> {
    let raw = read_cookie(headers, FLASH_COOKIE)?;
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 3 <= bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    let message = String::from_utf8(out).ok()?;
    (!message.is_empty() && message.len() <= 500).then_some(message)
}

/// A posted form: every field in order, repeated names kept (checkbox groups).
#[derive(Debug, Clone, Default)]
pub struct FormBody(pub Vec<(String, String)>);

impl FormBody {
    pub fn parse(bytes: &[u8]) -> Result<Self, PageError> {
        serde_urlencoded::from_bytes(bytes)
            .map(FormBody)
            .map_err(|_| PageError::BadRequest("The form could not be read.".into()))
    }

    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn checked(&self, name: &str) -> bool {
        matches!(self.get(name), "on" | "true" | "1")
    }
}

/// A console request that failed: a page saying why (403, 404, 400, 500), or the login.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// A page of the login flow instead: the login, or the realm's error page.
    #[error("a login flow page")]
    Page(Box<Response>),
    #[error("Realm does not exist or is disabled.")]
    NoRealm,
    #[error("You may not do this.")]
    Forbidden,
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("This form has expired or did not come from this page. Reload the page and try again.")]
    Csrf,
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<AdminError> for PageError {
    fn from(error: AdminError) -> Self {
        match error {
            AdminError::Forbidden | AdminError::Unauthorized(_) => PageError::Forbidden,
            AdminError::NotFound(message) => PageError::NotFound(message),
            AdminError::BadRequest(message) | AdminError::Conflict(message) => {
                PageError::BadRequest(message)
            }
            AdminError::InvalidRequest { description, .. } => PageError::BadRequest(description),
            AdminError::InvalidField { field, .. } => {
                PageError::BadRequest(format!("Please give a valid {field}."))
            }
            other => PageError::Internal(other.to_string()),
        }
    }
}

impl From<AccountError> for PageError {
    fn from(error: AccountError) -> Self {
        match error {
            AccountError::Field { message, .. } => PageError::BadRequest(message),
            AccountError::Refused(e) => e.into(),
        }
    }
}

impl From<LoginError> for PageError {
    fn from(error: LoginError) -> Self {
        PageError::Internal(error.to_string())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let status = match &self {
            PageError::Page(response) => response.status(),
            PageError::NoRealm | PageError::NotFound(_) => StatusCode::NOT_FOUND,
            PageError::Forbidden => StatusCode::FORBIDDEN,
            PageError::BadRequest(_) | PageError::Csrf => StatusCode::BAD_REQUEST,
            PageError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        match self {
            PageError::Page(response) => *response,
            PageError::Internal(cause) => templates::internal_error_page(&cause),
            other => {
                let message = other.to_string();
                let mut response = templates::error_page(
                    status,
                    None,
                    "We are sorry...",
                    &message,
                    "account console request refused",
                );
                response
                    .headers_mut()
                    .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                response
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const HOSTILE: &str = "<script>alert('x')</script>";

    /// What the layout adds to every page.
    fn with(extra: Value) -> Value {
        let mut context = json!({
            "realm_name": HOSTILE,
            "username": "alice",
            "base": "/auth/realms/acme/account",
            "nav": NAV.iter().map(|(key, label, path)| json!({"key": key, "label": label, "href": path})).collect::<Vec<_>>(),
            "active": "profile",
            "title": "Title",
            "csrf": "t.o.k",
            "flash": HOSTILE,
            "back": null,
            "error": null,
            "error_field": null,
        });
        if let (Some(c), Some(e)) = (context.as_object_mut(), extra.as_object()) {
            c.extend(e.clone());
        }
        context
    }

    /// Every template renders with a fixture context, its empty state and its error states,
    /// escaping what users typed.
    #[test]
    fn every_template_renders() {
        let profile =
            json!({"email": "a@b.test", "email_verified": false, "may_edit_username": true});
        let form =
            json!({"username": HOSTILE, "email": "", "first_name": "", "last_name": HOSTILE});
        let app_form = json!({"name": HOSTILE, "expires": "2026-12-01", "registry": "r", "repositories": "a/**", "actions": ["push"]});
        let limits = json!({"max_days": 90, "min_date": "2026-11-19", "max_date": "2027-02-16"});
        let cases: Vec<(&str, Value, &str)> = vec![
            (
                "profile.html",
                with(json!({"profile": profile, "form": form})),
                r#"id="profile""#,
            ),
            (
                "profile.html",
                with(
                    json!({"profile": {"email": null, "email_verified": false, "may_edit_username": false}, "form": form, "error_field": "email", "error": "Bad"}),
                ),
                r#"id="email-error""#,
            ),
            (
                "password.html",
                with(
                    json!({"has_password": true, "policy": "At least 12", "error_field": "password-new", "error": "Too short"}),
                ),
                r#"id="password-new-error""#,
            ),
            (
                "password.html",
                with(json!({"has_password": false, "policy": null})),
                r#"id="no-password""#,
            ),
            (
                "linked.html",
                with(
                    json!({"links": [{"provider": "corp", "user_id": "1", "username": HOSTILE, "removable": true}, {"provider": "gh", "user_id": "2", "username": null, "removable": false}]}),
                ),
                r#"data-provider="corp""#,
            ),
            (
                "linked.html",
                with(json!({"links": [], "error": "No"})),
                r#"id="no-links""#,
            ),
            (
                "sessions.html",
                with(
                    json!({"sessions": [{"id": "s", "current": true, "device": HOSTILE, "address": null, "started": "t", "last_access": "t", "expires": "t"}], "others": false}),
                ),
                r#"id="no-other-sessions""#,
            ),
            (
                "sessions.html",
                with(
                    json!({"sessions": [{"id": "s", "current": false, "device": "Firefox", "address": "10.0.0.1", "started": "t", "last_access": "t", "expires": "t"}], "others": true}),
                ),
                r#"id="end-others""#,
            ),
            (
                "logins.html",
                with(
                    json!({"logins": [{"id": "l", "registry": "r", "created": "t", "last_used": "t", "address": null, "expires": "t"}]}),
                ),
                r#"id="docker-logins""#,
            ),
            (
                "logins.html",
                with(json!({"logins": []})),
                r#"id="no-docker-logins""#,
            ),
            (
                "app_passwords.html",
                with(
                    json!({"app_passwords": [{"id": "p", "name": HOSTILE, "limits": "x", "created": "t", "expires": "t", "last_used": null, "last_address": null, "last_agent": null, "status": "active"}, {"id": "q", "name": "old", "limits": "x", "created": "t", "expires": "t", "last_used": "t", "last_address": "1.2.3.4", "last_agent": "skopeo", "status": "revoked"}], "registries": ["r"], "limits": limits, "form": app_form}),
                ),
                r#"id="app-passwords""#,
            ),
            (
                "app_passwords.html",
                with(
                    json!({"app_passwords": [], "registries": [], "limits": limits, "form": app_form, "error_field": "actions", "error": "Bad action"}),
                ),
                r#"id="actions-error""#,
            ),
            (
                "app_password_created.html",
                with(
                    json!({"name": HOSTILE, "secret": "pcp_x", "logins": [{"registry": "r", "line": "docker login -u alice r"}], "limits": "Push", "expires": "t"}),
                ),
                r#"id="docker-login""#,
            ),
            (
                "access.html",
                with(
                    json!({"registries": [{"registry": "r", "id": "1", "grants": [{"resource_type": "repository", "pattern": "a/**", "actions": "pull", "rule": HOSTILE, "through": "group /a"}]}], "trial": {"registry": "1", "repository": "a/b", "result": {"granted": "pull", "verdicts": [{"rule": "x", "hit": true, "detail": "d"}]}}}),
                ),
                r#"id="try-result""#,
            ),
            (
                "access.html",
                with(
                    json!({"registries": [{"registry": "r", "id": "1", "grants": []}], "trial": {"registry": "1", "repository": "", "result": null}, "error_field": "repository", "error": "Give one"}),
                ),
                r#"id="repository-error""#,
            ),
            (
                "access.html",
                with(
                    json!({"registries": [], "trial": {"registry": "", "repository": "", "result": null}}),
                ),
                r#"id="no-registries""#,
            ),
        ];
        let theme = THEME.as_ref().unwrap();
        let mut rendered = std::collections::BTreeSet::new();
        for (name, context, needle) in cases {
            let html = theme
                .render(name, &context)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(html.contains(needle), "{name}: no {needle} in\n{html}");
            assert!(html.contains("</html>"), "{name}");
            assert!(!html.contains("<script>alert"), "{name}: unescaped input");
            assert!(
                html.contains("&lt;script&gt;"),
                "{name}: the hostile input is shown escaped"
            );
            rendered.insert(name);
        }
        for (name, _) in TEMPLATES {
            if !matches!(*name, "layout.html" | "field_macros.html") {
                assert!(rendered.contains(name), "{name} has no render test");
            }
        }
    }

    #[test]
    fn logins_return_to_the_page_asked_for() {
        let base = "/auth/realms/acme/account";
        let rows = [
            (Method::GET, "/auth/realms/acme/account/", "/"),
            (Method::GET, "/auth/realms/acme/account", "/"),
            (
                Method::GET,
                "/auth/realms/acme/account/sessions",
                "/sessions",
            ),
            (
                Method::GET,
                "/auth/realms/acme/account/registry-access?registry=r&repository=a%2Fb",
                "/registry-access?registry=r&repository=a%2Fb",
            ),
            (
                Method::POST,
                "/auth/realms/acme/account/sessions/end",
                "/sessions",
            ),
            (
                Method::POST,
                "/auth/realms/acme/account/app-passwords",
                "/app-passwords",
            ),
            (Method::POST, "/auth/realms/acme/account/profile", "/"),
            (Method::POST, "/auth/realms/acme/account/sign-out", "/"),
        ];
        for (method, uri, want) in rows {
            let uri: Uri = uri.parse().unwrap();
            assert_eq!(return_page(&method, &uri, base), want, "{method} {uri}");
        }
    }

    #[test]
    fn flash_messages_survive_their_cookie() {
        let mut headers = HeaderMap::new();
        let encoded = flash_encode("App password \"ci\" revoked: 100% gone.");
        headers.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("{FLASH_COOKIE}={encoded}")).unwrap(),
        );
        assert_eq!(
            read_flash(&headers).as_deref(),
            Some("App password \"ci\" revoked: 100% gone.")
        );
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("PORTCULLIS_ACCOUNT_FLASH=%E2%8"),
        );
        assert_eq!(read_flash(&headers), None, "a cut escape is no message");
    }
}
