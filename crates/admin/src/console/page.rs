//! Rendering console pages: the templates, the layout's context, the security headers, flash
//! messages, form bodies and errors as pages.

use std::sync::LazyLock;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Value, json};
use tera::{Context, Tera};

pub use portcullis_web::forms::FormBody;
use portcullis_web::forms::{UnreadableForm, flash_value};

use super::session::Console;
use crate::error::AdminError;

/// Rows per page of every console list.
pub const PAGE: u64 = 50;

/// A console URL's path parameters, by name.
pub type Params = axum::extract::Path<std::collections::BTreeMap<String, String>>;

/// One path parameter; empty when the route has none of that name.
pub fn param<'a>(path: &'a std::collections::BTreeMap<String, String>, name: &str) -> &'a str {
    path.get(name).map_or("", String::as_str)
}

/// The realm the page is about.
pub fn realm_of(console: &Console) -> String {
    console.realm.clone().unwrap_or_default()
}

/// Adds `key` to a page's context.
pub fn insert(context: &mut Value, key: &str, value: Value) {
    if let Value::Object(map) = context {
        map.insert(key.to_string(), value);
    }
}

/// What a confirmation page (`client_confirm.html`) asks before a destructive change.
pub struct Confirmation {
    pub title: String,
    pub heading: String,
    /// What the change breaks.
    pub warning: &'static str,
    /// Where the confirming form posts.
    pub action: String,
    pub button: &'static str,
    pub cancel: String,
    /// Whether the name must be typed to confirm.
    pub typed: bool,
}

impl Confirmation {
    /// Adds the confirmation's fields to a page context.
    pub fn insert_into(self, context: &mut Value) {
        insert(context, "title", json!(self.title));
        insert(context, "heading", json!(self.heading));
        insert(context, "warning", json!(self.warning));
        insert(context, "confirm_action", json!(self.action));
        insert(context, "typed", json!(self.typed));
        insert(context, "button", json!(self.button));
        insert(context, "cancel", json!(self.cancel));
    }
}

/// Every console template, by name.
const TEMPLATES: &[(&str, &str)] = &[
    ("layout.html", include_str!("../../templates/layout.html")),
    ("realms.html", include_str!("../../templates/realms.html")),
    (
        "overview.html",
        include_str!("../../templates/overview.html"),
    ),
    (
        "registries.html",
        include_str!("../../templates/registries.html"),
    ),
    (
        "registry_new.html",
        include_str!("../../templates/registry_new.html"),
    ),
    ("rules.html", include_str!("../../templates/rules.html")),
    (
        "rule_fields.html",
        include_str!("../../templates/rule_fields.html"),
    ),
    (
        "rule_edit.html",
        include_str!("../../templates/rule_edit.html"),
    ),
    ("diff.html", include_str!("../../templates/diff.html")),
    ("try.html", include_str!("../../templates/try.html")),
    ("ci.html", include_str!("../../templates/ci.html")),
    ("setup.html", include_str!("../../templates/setup.html")),
    ("logins.html", include_str!("../../templates/logins.html")),
    ("users.html", include_str!("../../templates/users.html")),
    (
        "user_new.html",
        include_str!("../../templates/user_new.html"),
    ),
    ("user.html", include_str!("../../templates/user.html")),
    ("groups.html", include_str!("../../templates/groups.html")),
    ("problem.html", include_str!("../../templates/problem.html")),
    (
        "login_events.html",
        include_str!("../../templates/login_events.html"),
    ),
    ("roles.html", include_str!("../../templates/roles.html")),
    ("role.html", include_str!("../../templates/role.html")),
    ("group.html", include_str!("../../templates/group.html")),
    (
        "robots_section.html",
        include_str!("../../templates/robots_section.html"),
    ),
    (
        "group_robots.html",
        include_str!("../../templates/group_robots.html"),
    ),
    ("robots.html", include_str!("../../templates/robots.html")),
    (
        "robot_rotate.html",
        include_str!("../../templates/robot_rotate.html"),
    ),
    (
        "secret_once.html",
        include_str!("../../templates/secret_once.html"),
    ),
    ("confirm.html", include_str!("../../templates/confirm.html")),
    (
        "settings.html",
        include_str!("../../templates/settings.html"),
    ),
    (
        "realm_delete.html",
        include_str!("../../templates/realm_delete.html"),
    ),
    ("keys.html", include_str!("../../templates/keys.html")),
    (
        "key_disable.html",
        include_str!("../../templates/key_disable.html"),
    ),
    ("events.html", include_str!("../../templates/events.html")),
    (
        "sessions.html",
        include_str!("../../templates/sessions.html"),
    ),
    (
        "registry_tabs.html",
        include_str!("../../templates/registry_tabs.html"),
    ),
    ("clients.html", include_str!("../../templates/clients.html")),
    (
        "client_fields.html",
        include_str!("../../templates/client_fields.html"),
    ),
    (
        "client_new.html",
        include_str!("../../templates/client_new.html"),
    ),
    (
        "client_tabs.html",
        include_str!("../../templates/client_tabs.html"),
    ),
    ("client.html", include_str!("../../templates/client.html")),
    (
        "mapper_form.html",
        include_str!("../../templates/mapper_form.html"),
    ),
    (
        "mappers_section.html",
        include_str!("../../templates/mappers_section.html"),
    ),
    (
        "scope_mappings.html",
        include_str!("../../templates/scope_mappings.html"),
    ),
    (
        "client_scopes.html",
        include_str!("../../templates/client_scopes.html"),
    ),
    (
        "client_scope_fields.html",
        include_str!("../../templates/client_scope_fields.html"),
    ),
    (
        "client_scope_new.html",
        include_str!("../../templates/client_scope_new.html"),
    ),
    (
        "client_scope_tabs.html",
        include_str!("../../templates/client_scope_tabs.html"),
    ),
    (
        "client_scope.html",
        include_str!("../../templates/client_scope.html"),
    ),
    (
        "client_confirm.html",
        include_str!("../../templates/client_confirm.html"),
    ),
];

static TERA: LazyLock<Result<Tera, String>> = LazyLock::new(|| {
    let mut tera = Tera::default();
    tera.add_raw_templates(TEMPLATES.iter().copied())
        .map_err(|e| format!("{e:?}"))?;
    tera.set_escape_fn(portcullis_web::templates::escape_html);
    Ok(tera)
});

/// Scripts and styles only from the console's own files, forms only to itself, never framed.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The flash message cookie: one message, shown by the next page.
const FLASH_COOKIE: &str = "PORTCULLIS_CONSOLE_FLASH";

/// Renders `name` inside the layout: `context` is the page's own, the console adds who is
/// signed in, the realm, the navigation, the CSRF token and the flash message.
pub fn render(console: &Console, name: &str, context: Value) -> Result<Response, ConsoleError> {
    render_status(console, StatusCode::OK, name, context)
}

pub fn render_status(
    console: &Console,
    status: StatusCode,
    name: &str,
    mut context: Value,
) -> Result<Response, ConsoleError> {
    let common = console.layout_context()?;
    if let (Some(page), Value::Object(common)) = (context.as_object_mut(), common) {
        for (key, value) in common {
            page.entry(key).or_insert(value);
        }
    }
    let body = render_template(name, &context)?;
    let mut response = html(status, body);
    if console.flash.is_some()
        && let Some(cookie) = console.cookie_header(FLASH_COOKIE, "", 0)
    {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

/// Renders a template with a context (also used by the template test).
pub fn render_template(name: &str, context: &Value) -> Result<String, ConsoleError> {
    let tera = TERA
        .as_ref()
        .map_err(|e| ConsoleError::Internal(format!("templates failed to load: {e}")))?;
    let ctx = Context::from_value(context.clone())
        .map_err(|e| ConsoleError::Internal(format!("template context: {e}")))?;
    tera.render(name, &ctx)
        .map_err(|e| ConsoleError::Internal(format!("rendering {name}: {e:?}")))
}

/// An HTML response with the console's security headers.
pub fn html(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    secure(headers);
    response
}

/// Headers every console response carries.
pub fn secure(headers: &mut HeaderMap) {
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
}

/// `303 See Other` to `location` with a flash message for the next page.
pub fn redirect_with_flash(console: &Console, location: &str, message: &str) -> Response {
    let mut response = Redirect::to(location).into_response();
    if let Some(cookie) = console.cookie_header(FLASH_COOKIE, &flash_value(message), 60) {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    secure(response.headers_mut());
    response
}

/// The flash message a request carries, if any.
pub fn read_flash(headers: &HeaderMap) -> Option<String> {
    portcullis_web::forms::read_flash(headers, FLASH_COOKIE)
}

/// A textarea's list: one value per line (or comma), trimmed, empties dropped.
pub fn form_lines(text: &str) -> Vec<String> {
    text.lines()
        .flat_map(|l| l.split(','))
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

impl From<UnreadableForm> for ConsoleError {
    fn from(e: UnreadableForm) -> Self {
        ConsoleError::BadRequest(e.to_string())
    }
}

/// A console request that failed: shown as a page (403, 404, 400), or a sign-in redirect.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error("sign in")]
    SignIn(Box<Response>),
    #[error("You do not have the rights to see or do this.")]
    Forbidden,
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error(
        "The form has expired or did not come from this console; reload the page and try again."
    )]
    Csrf,
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<AdminError> for ConsoleError {
    fn from(error: AdminError) -> Self {
        match error {
            AdminError::Forbidden | AdminError::Unauthorized(_) => ConsoleError::Forbidden,
            AdminError::NotFound(message) => ConsoleError::NotFound(message),
            AdminError::Internal(message) => ConsoleError::Internal(message),
            AdminError::Store(e) => ConsoleError::Internal(e.to_string()),
            other => ConsoleError::BadRequest(field_message(&other)),
        }
    }
}

impl From<portcullis_web::WebError> for ConsoleError {
    fn from(error: portcullis_web::WebError) -> Self {
        ConsoleError::Internal(error.to_string())
    }
}

impl From<portcullis_store::StoreError> for ConsoleError {
    fn from(error: portcullis_store::StoreError) -> Self {
        ConsoleError::Internal(error.to_string())
    }
}

/// The sentence an admin error says, for a page or beside a field.
pub fn field_message(error: &AdminError) -> String {
    match error {
        AdminError::InvalidRequest { description, .. } => description.clone(),
        AdminError::InvalidField { field, .. } => format!("Please give a valid {field}."),
        AdminError::Profile(errors) if !errors.is_empty() => errors
            .iter()
            .map(|e| format!("Please give a valid {}.", e.field))
            .collect::<Vec<_>>()
            .join(" "),
        other => other.to_string(),
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        let status = match &self {
            ConsoleError::SignIn(_) => StatusCode::SEE_OTHER,
            ConsoleError::Forbidden => StatusCode::FORBIDDEN,
            ConsoleError::NotFound(_) => StatusCode::NOT_FOUND,
            ConsoleError::BadRequest(_) | ConsoleError::Csrf => StatusCode::BAD_REQUEST,
            ConsoleError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let message = match self {
            ConsoleError::SignIn(response) => return *response,
            ConsoleError::Internal(cause) => {
                let id = portcullis_web::templates::new_request_id();
                tracing::error!(request_id = %id, %cause, "console request failed");
                format!("Something went wrong on the server (request id {id}).")
            }
            other => other.to_string(),
        };
        let context = json!({
            "title": status.canonical_reason().unwrap_or("Error"),
            "message": message,
            "status": status.as_u16(),
            "signed_in": false,
        });
        match render_template("problem.html", &context) {
            Ok(body) => html(status, body),
            Err(_) => html(
                status,
                format!("<!DOCTYPE html><title>Error</title><p>{}</p>", status),
            ),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// What the layout adds to every page.
    fn layout() -> Value {
        json!({
            "base": "/auth/admin/master/console",
            "console_realm": "master",
            "realm": "shop",
            "realm_base": "/auth/admin/master/console/realms/shop",
            "username": "admin",
            "csrf": "token",
            "flash": "Saved.",
            "nav": [{"section": "Manage", "label": "Users", "href": "/u", "key": "users"}],
            "realm_choices": ["master", "shop"],
            "realm_choices_more": true,
            "signed_in": true,
            "title": "Page",
            "active": "users",
            // As the console's layout context: optional on every page.
            "tab": null,
            "error": null,
            "error_field": null,
        })
    }

    fn with(extra: Value) -> Value {
        let mut context = layout();
        if let (Some(c), Some(e)) = (context.as_object_mut(), extra.as_object()) {
            c.extend(e.clone());
        }
        context
    }

    fn settings(may_manage: bool, error_field: Option<&str>) -> Value {
        let field = json!({"name": "failureFactor", "label": "Max", "hint": "h", "value": "30"});
        json!({
            "values": {"displayName": "Shop", "enabled": true, "passwordPolicy": "length(8)"},
            "lifespans": [{"name": "accessTokenLifespan", "label": "A", "hint": "h", "value": "300"}],
            "brute_force": [field],
            "flags": [{"name": "bruteForceProtected", "label": "B", "checked": true}],
            "is_master": !may_manage,
            "may_manage": may_manage,
            "error_field": error_field,
            "error": error_field.map(|_| "bad"),
        })
    }

    fn key(status: &str) -> Value {
        json!({"id": "k1", "algorithm": "RS256", "kind": "RSA 2048", "kid": "abc",
               "libtrust_kid": "ABCD:EFGH", "priority": 100, "status": status,
               "created": "2026-01-01 00:00 UTC", "base": "/k/k1"})
    }

    fn registry() -> Value {
        json!({"service": "registry.test", "id": "r1", "base": "/r"})
    }

    fn client() -> Value {
        json!({"id": "c1", "client_id": "app", "public": true, "enabled": true, "base": "/c/c1"})
    }

    fn scope() -> Value {
        json!({"id": "s1", "name": "profile", "protocol": "openid-connect", "type": "Default", "base": "/s/s1"})
    }

    fn types() -> Value {
        json!([{"value": "default", "label": "Default", "selected": true}, {"value": "none", "label": "None", "selected": false}])
    }

    fn scope_form() -> Value {
        json!({"name": "profile", "description": "", "protocol": "openid-connect", "type": "default", "consent": true, "consentText": "", "includeInToken": false})
    }

    /// A Scope tab's mappings: `more` long lists, `chosen` a client picked.
    fn sm(chosen: bool, more: bool) -> Value {
        json!({"base": "/sc", "full": false,
               "realm_roles": [{"name": "ci", "description": null, "remove": "/x"}],
               "client_roles": [{"client": "app", "name": "r", "qualified": "app.r", "remove": "/y"}],
               "realm_form": {"roles": ["a"], "more": more},
               "client_form": {"clients": ["app"], "more": more, "chosen": if chosen { json!({"client_id": "app", "roles": ["r"], "more": more}) } else { Value::Null }},
               "role": "", "client": "app", "client_role": ""})
    }

    fn client_form() -> Value {
        json!({"clientId": "app", "name": "", "public": true, "redirectUris": "https://a.test/*", "webOrigins": "+", "standardFlow": true, "directAccessGrants": false, "serviceAccounts": true, "consentRequired": false, "accessTokenLifespan": ""})
    }

    fn robot_row(status: &str) -> Value {
        json!({"id": "r1", "name": "ci", "login": "robot.ci", "description": "builds", "group_path": "/a",
               "group_href": "/g/r", "status": status, "enabled": status != "disabled", "expires": "e",
               "last_used": "u", "last_address": "10.0.0.1", "last_user_agent": "docker/27",
               "rules": "push on a/**", "overlap": "1 older secret working until x", "base": "/r/r1"})
    }

    fn robots_section(may_manage: bool, error_field: Option<&str>) -> Value {
        let robots = if may_manage {
            json!([
                robot_row("active"),
                robot_row("disabled"),
                robot_row("revoked")
            ])
        } else {
            json!([])
        };
        json!({"show_robots": true, "robots": robots, "robots_base": "/g/robots", "robots_group_path": "/a",
               "may_manage_robots": may_manage, "robot_max_days": 90,
               "robot_form": {"name": "ci", "description": "", "expires_days": "30", "registry": "", "repositories": "a/**", "actions": ["push"], "cidrs": ""},
               "robot_error_field": error_field, "robot_error": error_field.map(|_| "bad")})
    }

    /// Every template renders with a fixture context, its empty state and its error state.
    #[test]
    fn every_template_renders() {
        let user = json!({"id": "u1", "username": "alice", "email": null, "first_name": null,
                          "last_name": "Liddell", "enabled": false, "base": "/u/u1"});
        let cases: Vec<(&str, Value)> = vec![
            (
                "realms.html",
                with(
                    json!({"realms": [{"name": "shop", "display_name": null, "enabled": true, "href": "/s"}], "may_create": true, "error": "taken", "name": "x"}),
                ),
            ),
            (
                "realms.html",
                with(json!({"realms": [], "may_create": false, "error": null, "name": ""})),
            ),
            ("overview.html", with(json!({"registry_count": 0}))),
            ("overview.html", with(json!({"registry_count": null}))),
            (
                "registries.html",
                with(
                    json!({"registries": [{"service": "r", "rules": 2, "enabled": true, "href": "/r"}], "may_manage": true}),
                ),
            ),
            (
                "registries.html",
                with(json!({"registries": [], "may_manage": false})),
            ),
            (
                "registry_new.html",
                with(
                    json!({"service": "", "settings": [{"name": "algorithm", "label": "Alg", "help": "h", "choices": ["RS256", "ES256"], "value": ""}, {"name": "tokenLifespan", "label": "Life", "help": "h", "choices": [], "value": "x"}], "error_field": "tokenLifespan", "error": "bad"}),
                ),
            ),
            (
                "rules.html",
                with(
                    json!({"registry": registry(), "tab": "rules", "may_manage": true, "rules": [{"id": "m1", "name": "n", "resource_type": "repository", "pattern": "a/**", "actions": "pull", "subject": "group /a"}], "presets": [{"key": "team", "label": "Team"}], "form": {"pattern": "", "actions": ["pull"], "subject_kind": "group", "subject": "", "resource_type": ""}, "error_field": "actions", "error": "Choose"}),
                ),
            ),
            (
                "rules.html",
                with(
                    json!({"registry": registry(), "tab": "rules", "may_manage": false, "rules": [], "presets": [], "form": {"pattern": "", "actions": [], "subject_kind": "", "subject": "", "resource_type": ""}, "error_field": null, "error": null}),
                ),
            ),
            (
                "rule_edit.html",
                with(
                    json!({"registry": registry(), "tab": "rules", "may_manage": true, "rule": {"id": "m1", "name": "n", "resource_type": "repository", "pattern": "a/**", "actions": "pull", "subject": "group /a"}, "action": "/r/rules/m1/edit", "form": {"name": "n", "pattern": "a/**", "actions": ["pull"], "subject_kind": "group", "subject": "/a", "resource_type": "repository"}, "error_field": "name", "error": "taken"}),
                ),
            ),
            (
                "rule_edit.html",
                with(
                    json!({"registry": registry(), "tab": "rules", "may_manage": true, "rule": {"id": "m1", "name": "c", "resource_type": "registry", "pattern": "**", "actions": "*", "subject": "role admin"}, "action": "/r/rules/m1/edit", "form": {"name": "", "pattern": "", "actions": [], "subject_kind": "", "subject": "", "resource_type": ""}, "error_field": null, "error": null}),
                ),
            ),
            (
                "diff.html",
                with(
                    json!({"registry": registry(), "tab": "rules", "change": "Add", "diff": [{"gain": true, "text": "+push on a/** for 2 users"}], "confirm_action": "/r/rules", "fields": [{"name": "pattern", "value": "a/**"}]}),
                ),
            ),
            (
                "diff.html",
                with(
                    json!({"registry": registry(), "tab": "rules", "change": "Delete", "diff": [], "confirm_action": "/d", "fields": [], "destructive": true}),
                ),
            ),
            (
                "try.html",
                with(
                    json!({"registry": registry(), "tab": "try", "try_username": "alice", "scope": "repository:a:pull", "results": [{"requested": "repository:a:pull", "granted": "pull", "verdicts": [{"rule": "r", "hit": true, "detail": "grants pull"}]}, {"requested": "repository:b:pull", "granted": "", "verdicts": []}], "error_field": null, "error": null}),
                ),
            ),
            (
                "try.html",
                with(
                    json!({"registry": registry(), "tab": "try", "try_username": "", "scope": "", "results": null, "error_field": "scope", "error": "bad"}),
                ),
            ),
            (
                "ci.html",
                with(
                    json!({"registry": registry(), "tab": "ci", "may_manage": true, "ci_rules": [{"id": "m1", "name": "gha", "issuer": "https://token.actions.githubusercontent.com", "audience": "r", "username": "ci", "claims": "repository=a/b", "repository": "a/**", "actions": "push"}], "presets": [{"key": "github", "label": "GitHub Actions"}], "form": {"name": "", "issuer": "https://i", "audience": "r", "username": "", "claims": "a=b", "repository": "**", "actions": ["pull"]}, "editing": false, "form_action": "/r/ci", "preset_hint": "claims", "try": {"username": "ci", "scope": "repository:a/b:push"}, "result": {"issuer": "https://i", "subject": "s", "audience": "r", "refused": null, "verdicts": [{"rule": "gha", "hit": true, "detail": "matches"}], "scopes": [{"requested": "repository:a/b:push", "granted": "pull,push"}]}, "error_field": "rule", "error": "bad"}),
                ),
            ),
            (
                "ci.html",
                with(
                    json!({"registry": registry(), "tab": "ci", "may_manage": false, "ci_rules": [], "presets": [], "form": {"name": "", "issuer": "", "audience": "", "username": "", "claims": "", "repository": "", "actions": []}, "editing": true, "form_action": "/r/ci/m1/edit", "preset_hint": "", "try": {"username": "", "scope": ""}, "result": {"issuer": "", "subject": "", "audience": "", "refused": "expired", "verdicts": [], "scopes": []}, "error_field": "token", "error": "not a JWT"}),
                ),
            ),
            (
                "setup.html",
                with(
                    json!({"registry": registry(), "tab": "setup", "config": "auth:", "downloads": [{"id": "download-bundle", "label": "Bundle", "url": "http://x"}], "login_command": "docker login r"}),
                ),
            ),
            (
                "logins.html",
                with(
                    json!({"registry": registry(), "tab": "logins", "logins": [{"id": "l1", "username": "alice", "created": "2026-01-01 00:00 UTC", "last_used": "x", "expires": "y", "address": null}], "may_revoke": true}),
                ),
            ),
            (
                "logins.html",
                with(
                    json!({"registry": registry(), "tab": "logins", "logins": [], "may_revoke": false}),
                ),
            ),
            (
                "users.html",
                with(
                    json!({"users": [{"username": "alice", "email": null, "enabled": false, "href": "/u"}], "q": "a&b", "next": "/next", "first_href": "/first", "may_manage": true}),
                ),
            ),
            (
                "users.html",
                with(
                    json!({"users": [], "q": "", "next": null, "first_href": null, "may_manage": false}),
                ),
            ),
            (
                "users.html",
                with(
                    json!({"users": [], "q": "zz", "next": null, "first_href": null, "may_manage": true}),
                ),
            ),
            (
                "user_new.html",
                with(
                    json!({"form": {"username": "a", "email": "", "firstName": "", "lastName": "", "temporary": true}, "error_field": "password", "error": "short"}),
                ),
            ),
            (
                "user.html",
                with(
                    json!({"user": user, "tab": "details", "may_manage": true, "links": [{"provider": "company", "user_id": "u-1", "username": "alice", "unlink": "/u/u1/links/unlink?provider=company"}, {"provider": "github", "user_id": "42", "username": null, "unlink": "/u/u1/links/unlink?provider=github"}], "error_field": "password", "error": "weak"}),
                ),
            ),
            (
                "user.html",
                with(
                    json!({"user": user, "tab": "details", "may_manage": false, "links": [{"provider": "company", "user_id": "u-1", "username": "alice", "unlink": "/x"}]}),
                ),
            ),
            (
                "user.html",
                with(
                    json!({"user": user, "tab": "groups", "may_manage": true, "groups": [{"id": "g", "path": "/a", "provenance": []}], "from_mappers": false, "error": null, "error_field": null, "group": ""}),
                ),
            ),
            (
                "user.html",
                with(
                    json!({"user": user, "tab": "groups", "may_manage": false, "groups": [{"id": "g", "path": "/a", "provenance": ["from company (teams), last seen 2026-01-01 00:00 UTC", "from github (orgs), last seen 2026-01-02 00:00 UTC"]}], "from_mappers": true, "error": null, "error_field": null, "group": ""}),
                ),
            ),
            (
                "user.html",
                with(
                    json!({"user": user, "tab": "groups", "may_manage": false, "groups": [], "from_mappers": false, "error": "no", "error_field": "group", "group": "/x"}),
                ),
            ),
            (
                "user.html",
                with(
                    json!({"user": user, "tab": "access", "may_manage": false, "grants": [{"registry": "r", "pattern": "a/**", "resource_type": "repository", "actions": "pull", "rule": "n", "through": "group /a"}]}),
                ),
            ),
            (
                "user.html",
                with(json!({"user": user, "tab": "access", "may_manage": false, "grants": []})),
            ),
            (
                "groups.html",
                with(
                    json!({"groups": [{"id": "g", "name": "a", "children": 2, "href": "/g", "page": "/p"}], "parent": "p", "parent_path": "/p", "up": "/up", "next": "/n", "error": "taken", "name": "a", "may_manage": true}),
                ),
            ),
            (
                "groups.html",
                with(
                    json!({"groups": [], "parent": null, "parent_path": null, "up": null, "next": null, "error": null, "name": "", "may_manage": false}),
                ),
            ),
            (
                "clients.html",
                with(
                    json!({"clients": [{"client_id": "app", "name": null, "public": true, "enabled": false, "href": "/c"}], "q": "a", "next": "/next", "first_href": "/first", "may_manage": true}),
                ),
            ),
            (
                "clients.html",
                with(
                    json!({"clients": [], "q": "", "next": null, "first_href": null, "may_manage": true}),
                ),
            ),
            (
                "clients.html",
                with(
                    json!({"clients": [], "q": "zz", "next": null, "first_href": null, "may_manage": false}),
                ),
            ),
            (
                "client_new.html",
                with(
                    json!({"form": client_form(), "may_manage": true, "error_field": "redirectUris", "error": "not a URI"}),
                ),
            ),
            (
                "client_new.html",
                with(json!({"form": client_form(), "may_manage": true})),
            ),
            (
                "client.html",
                with(
                    json!({"client": client(), "tab": "settings", "form": client_form(), "may_manage": true, "error_field": "serviceAccounts", "error": "public"}),
                ),
            ),
            (
                "client.html",
                with(
                    json!({"client": client(), "tab": "settings", "form": client_form(), "may_manage": false}),
                ),
            ),
            (
                "client.html",
                with(
                    json!({"client": {"id": "c1", "client_id": "app", "public": false, "enabled": true, "base": "/c/c1", "secret": "s3cret"}, "tab": "credentials", "may_manage": true}),
                ),
            ),
            (
                "client.html",
                with(json!({"client": client(), "tab": "credentials", "may_manage": false})),
            ),
            (
                "client.html",
                with(
                    json!({"client": client(), "tab": "roles", "roles": [{"name": "editor", "description": null, "delete": "/d"}], "next": "/n", "first_href": "/f", "may_manage": true, "error_field": "name", "error": "taken", "role_name": "editor", "role_description": ""}),
                ),
            ),
            (
                "client.html",
                with(
                    json!({"client": client(), "tab": "roles", "roles": [], "next": null, "first_href": null, "may_manage": false}),
                ),
            ),
            (
                "client.html",
                with(
                    json!({"client": client(), "tab": "roles", "roles": [], "next": null, "first_href": "/f", "may_manage": true}),
                ),
            ),
            (
                "client.html",
                with(
                    json!({"client": client(), "tab": "mappers", "mappers": [{"id": "m1", "name": "email", "type": "User Property", "config": [{"key": "claim.name", "value": "email"}], "edit": null, "delete": "/m/m1/delete"}], "mapper_types": [{"id": "t", "name": "T", "help": "h"}], "mappers_base": "/m", "may_manage": true, "error_field": "type", "error": "choose"}),
                ),
            ),
            (
                "client.html",
                with(
                    json!({"client": client(), "tab": "mappers", "mappers": [], "mapper_types": [], "mappers_base": "/m", "may_manage": false}),
                ),
            ),
            (
                "mapper_form.html",
                with(
                    json!({"client": client(), "tab": "mappers", "may_manage": true, "mapper_type": {"id": "t", "name": "T", "help": "h"}, "mapper_action": "/m", "mapper_cancel": "/m", "editing": false, "name": "", "config": [{"name": "config-0", "key": "claim.name", "value": ""}, {"name": "config-1", "key": "claim.value", "value": "x"}], "error_field": "config-1", "error": "bad"}),
                ),
            ),
            (
                "mapper_form.html",
                with(
                    json!({"scope": scope(), "tab": "mappers", "may_manage": false, "mapper_type": {"id": "t", "name": "T", "help": "h"}, "mapper_action": "/m/m1", "mapper_cancel": "/m", "editing": true, "name": "tier", "config": [{"name": "config-0", "key": "claim.name", "value": "tier"}]}),
                ),
            ),
            (
                "client_scopes.html",
                with(
                    json!({"scopes": [{"id": "s1", "name": "profile", "protocol": "openid-connect", "description": "Profile <b>", "type": "Default", "types": types(), "href": "/s/s1"}], "any": true, "q": "", "may_manage": true, "may_set_type": true}),
                ),
            ),
            (
                "client_scopes.html",
                with(
                    json!({"scopes": [{"id": "s1", "name": "profile", "protocol": "openid-connect", "description": null, "type": "None", "types": types(), "href": "/s/s1"}], "any": true, "q": "", "may_manage": false, "may_set_type": false}),
                ),
            ),
            (
                "client_scopes.html",
                with(json!({"scopes": [], "any": true, "q": "zzz", "may_manage": false, "may_set_type": false})),
            ),
            (
                "client_scopes.html",
                with(json!({"scopes": [], "any": false, "q": "", "may_manage": true, "may_set_type": true})),
            ),
            (
                "client_scope_new.html",
                with(
                    json!({"form": scope_form(), "protocols": ["docker-v2", "openid-connect"], "creating": true, "may_manage": true, "may_set_type": true, "types": types(), "error_field": "name", "error": "taken"}),
                ),
            ),
            (
                "client_scope_new.html",
                with(
                    json!({"form": scope_form(), "protocols": ["openid-connect"], "creating": true, "may_manage": true, "may_set_type": false, "types": types(), "error_field": "type", "error": "no"}),
                ),
            ),
            (
                "client_scope.html",
                with(
                    json!({"scope": scope(), "tab": "settings", "form": scope_form(), "protocols": [], "may_manage": true, "may_set_type": true, "types": types(), "error_field": "protocol", "error": "x"}),
                ),
            ),
            (
                "client_scope.html",
                with(
                    json!({"scope": scope(), "tab": "settings", "form": scope_form(), "protocols": [], "may_manage": false, "may_set_type": true, "types": types()}),
                ),
            ),
            (
                "client_scope.html",
                with(
                    json!({"scope": scope(), "tab": "mappers", "mappers": [{"id": "m1", "name": "tier", "type": "Hardcoded claim", "config": [], "edit": "/m/m1", "delete": "/m/m1/delete"}], "mapper_types": [], "mappers_base": "/m", "may_manage": true}),
                ),
            ),
            (
                "client_scope.html",
                with(json!({"scope": scope(), "tab": "scope", "sm": sm(true, false), "may_manage": true, "error_field": "client_role", "error": "no"})),
            ),
            (
                "client_scope.html",
                with(json!({"scope": scope(), "tab": "scope", "sm": sm(false, true), "may_manage": true, "error_field": "role", "error": "no"})),
            ),
            (
                "client_scope.html",
                with(json!({"scope": scope(), "tab": "scope", "sm": sm(false, false), "may_manage": false})),
            ),
            (
                "client.html",
                with(json!({"client": client(), "tab": "scope", "sm": sm(true, false), "may_manage": true})),
            ),
            (
                "client.html",
                with(json!({"client": client(), "tab": "scope", "sm": json!({"full": true}), "may_manage": false})),
            ),
            (
                "client.html",
                with(
                    json!({"client": client(), "tab": "client-scopes", "subtab": "setup", "scopes": [{"name": "profile", "href": "/s", "type": "Default", "optional": false, "description": null, "type_action": "/t", "remove": "/r"}], "scope_choices": [{"id": "s2", "name": "email"}], "may_manage": true, "error_field": "scope", "error": "x"}),
                ),
            ),
            (
                "client.html",
                with(
                    json!({"client": client(), "tab": "client-scopes", "subtab": "setup", "scopes": [], "scope_choices": [], "may_manage": true}),
                ),
            ),
            (
                "client.html",
                with(
                    json!({"client": client(), "tab": "client-scopes", "subtab": "setup", "scopes": [], "scope_choices": [], "may_manage": false}),
                ),
            ),
            (
                "client.html",
                with(
                    json!({"client": client(), "tab": "client-scopes", "subtab": "evaluate", "may_manage": true, "evaluation": {"action": "/e", "optional": [{"name": "phone", "checked": true}], "scope": "openid phone", "user": "al", "may_view_users": true, "chosen": {"username": "alice", "id": "u"}, "matches": [{"username": "alan", "email": null, "href": "/e?user=alan"}], "more": true, "mappers": [{"name": "tier", "type": "t", "from": "phone", "from_kind": "client scope", "href": "/m", "claim": "tier"}], "roles": [{"name": "ci", "client": null, "qualified": "ci"}, {"name": "r", "client": "app", "qualified": "app.r"}], "full_scope": true, "examples": [{"id": "access-token", "label": "Access", "json": "{\n  \"a\": 1\n}"}]}, "error_field": "user", "error": "none"}),
                ),
            ),
            (
                "client.html",
                with(
                    json!({"client": client(), "tab": "client-scopes", "subtab": "evaluate", "may_manage": false, "evaluation": {"action": "/e", "optional": [], "scope": "openid", "user": "", "may_view_users": false, "chosen": null, "matches": [], "more": false, "mappers": [], "roles": [], "full_scope": false, "examples": []}}),
                ),
            ),
            (
                "client_confirm.html",
                with(
                    json!({"scope": scope(), "tab": "settings", "heading": "Delete profile?", "warning": "Gone.", "confirm_action": "/d", "typed": false, "button": "Delete client scope", "cancel": "/c"}),
                ),
            ),
            (
                "client_confirm.html",
                with(
                    json!({"client": client(), "tab": "settings", "heading": "Delete app?", "warning": "Gone.", "confirm_action": "/d", "typed": true, "button": "Delete client", "cancel": "/c", "error_field": "confirm", "error": "Type app"}),
                ),
            ),
            (
                "client_confirm.html",
                with(
                    json!({"client": client(), "tab": "credentials", "heading": "Regenerate?", "warning": "Breaks.", "confirm_action": "/r", "typed": false, "button": "Regenerate secret", "cancel": "/c"}),
                ),
            ),
            (
                "user.html",
                with(
                    json!({"user": user, "tab": "details", "may_manage": true, "links": [], "error_field": "confirm", "error": "Type alice"}),
                ),
            ),
            (
                "user.html",
                with(
                    json!({"user": user, "tab": "roles", "may_manage": true, "direct": [{"name": "ci", "client": false, "remove": "/r", "provenance": ["from company (ci), last seen 2026-01-01 00:00 UTC"]}, {"name": "registry.push", "client": true, "remove": "/r2", "provenance": []}], "from_mappers": true, "effective": [{"name": "ci", "source": "direct"}], "role": "nope", "error_field": "role", "error": "There is no role nope."}),
                ),
            ),
            (
                "user.html",
                with(
                    json!({"user": user, "tab": "roles", "may_manage": false, "direct": [], "from_mappers": false, "effective": [], "role": ""}),
                ),
            ),
            (
                "user.html",
                with(
                    json!({"user": user, "tab": "sessions", "may_manage": true, "sessions": [{"started": "2026-01-01 00:00 UTC", "last_seen": "x", "end": "/e"}]}),
                ),
            ),
            (
                "user.html",
                with(json!({"user": user, "tab": "sessions", "may_manage": false, "sessions": []})),
            ),
            (
                "user.html",
                with(
                    json!({"user": user, "tab": "logins", "may_manage": true, "logins": [{"registry": "r", "created": "c", "last_used": "u", "expires": "e", "address": null, "revoke": "/v"}]}),
                ),
            ),
            (
                "user.html",
                with(json!({"user": user, "tab": "logins", "may_manage": false, "logins": []})),
            ),
            (
                "user.html",
                with(
                    json!({"user": user, "tab": "attack", "may_manage": true, "attack": {"locked": true, "failures": 3, "last_failure": "2026-01-01 00:00 UTC", "last_ip": "10.0.0.1"}}),
                ),
            ),
            (
                "user.html",
                with(
                    json!({"user": user, "tab": "attack", "may_manage": false, "attack": {"locked": false, "failures": 0, "last_failure": null, "last_ip": null}}),
                ),
            ),
            (
                "roles.html",
                with(
                    json!({"roles": [{"name": "ci", "description": null, "href": "/r"}], "client": "", "next": "/n", "previous": "/p", "may_create": true, "form": {"name": "ci", "description": ""}, "error_field": "name", "error": "taken"}),
                ),
            ),
            (
                "roles.html",
                with(
                    json!({"roles": [], "client": "nope", "next": null, "previous": null, "may_create": false, "form": {"name": "", "description": ""}, "error_field": "client", "error": "There is no client nope."}),
                ),
            ),
            (
                "roles.html",
                with(
                    json!({"roles": [], "client": "", "next": null, "previous": null, "may_create": false, "form": {"name": "", "description": ""}}),
                ),
            ),
            (
                "role.html",
                with(
                    json!({"role": {"id": "r1", "name": "lead", "description": "Leads", "client": null, "base": "/r1", "back": "/roles"}, "composites": [{"name": "ci", "href": "/c", "remove": "/x"}], "may_manage": true, "may_list_holders": true, "holders": [{"username": "bob", "href": "/u", "how": "composite of lead ← group /eng"}], "holders_next": "/n", "holders_first": "/f", "composite": "nope", "error_field": "composite", "error": "There is no role nope."}),
                ),
            ),
            (
                "role.html",
                with(
                    json!({"role": {"id": "r1", "name": "registry.push", "description": null, "client": "registry", "base": "/r1", "back": "/roles"}, "composites": [], "may_manage": false, "may_list_holders": false, "holders": [], "holders_next": null, "holders_first": null, "composite": ""}),
                ),
            ),
            (
                "role.html",
                with(
                    json!({"role": {"id": "r1", "name": "x", "description": null, "client": null, "base": "/r1", "back": "/roles"}, "composites": [], "may_manage": true, "may_list_holders": true, "holders": [], "holders_next": null, "holders_first": null, "composite": ""}),
                ),
            ),
            (
                "group.html",
                with(
                    json!({"group": {"id": "g", "name": "backend", "path": "/team-a/backend", "parent_path": "/team-a", "base": "/g", "up": "/up", "subgroups_href": "/s", "subgroups": 2}, "members": [{"username": "bob", "href": "/u", "remove": "/x"}], "members_next": "/n", "members_first": "/f", "roles": [{"name": "ci", "remove": "/y"}], "client_roles": [{"client": "app", "name": "viewer", "qualified": "app.viewer", "remove": "/z"}], "may_map_client_roles": true, "client_form": {"clients": ["app", "registry"], "more": false, "chosen": {"client_id": "app", "roles": ["editor", "viewer"], "more": false}}, "form": {"name": "backend", "parent": "/nope", "username": "", "role": "", "client": "app", "client_role": "viewer"}, "error_field": "parent", "error": "There is no group /nope.", "may_manage": true}),
                ),
            ),
            (
                "group.html",
                with(
                    json!({"group": {"id": "g", "name": "a", "path": "/a", "parent_path": null, "base": "/g", "up": "/up", "subgroups_href": "/s", "subgroups": 0}, "members": [], "members_next": null, "members_first": null, "roles": [], "client_roles": [], "may_map_client_roles": false, "client_form": {"clients": [], "more": false, "chosen": null}, "form": {"name": "a", "parent": "", "username": "", "role": "", "client": "", "client_role": ""}, "may_manage": false}),
                ),
            ),
            (
                "group.html",
                with(
                    json!({"group": {"id": "g", "name": "a", "path": "/a", "parent_path": null, "base": "/g", "up": "/up", "subgroups_href": "/s", "subgroups": 0}, "members": [], "members_next": null, "members_first": null, "roles": [], "client_roles": [], "may_map_client_roles": true, "client_form": {"clients": [], "more": true, "chosen": {"client_id": "big", "roles": ["r"], "more": true}}, "form": {"name": "a", "parent": "", "username": "", "role": "", "client": "big", "client_role": "nope"}, "error_field": "client_role", "error": "big has no role nope.", "may_manage": true}),
                ),
            ),
            (
                "group.html",
                with(
                    json!({"group": {"id": "g", "name": "a", "path": "/a", "parent_path": null, "base": "/g", "up": "/up", "subgroups_href": "/s", "subgroups": 0}, "members": [], "members_next": null, "members_first": null, "roles": [], "client_roles": [], "may_map_client_roles": true, "client_form": {"clients": ["app"], "more": false, "chosen": {"client_id": "empty", "roles": [], "more": false}}, "form": {"name": "a", "parent": "", "username": "", "role": "", "client": "nope", "client_role": ""}, "error_field": "client", "error": "There is no client nope.", "may_manage": true}),
                ),
            ),
            (
                "group.html",
                with(
                    json!({"group": {"id": "g", "name": "a", "path": "/a", "parent_path": null, "base": "/g", "up": "/up", "subgroups_href": "/s", "subgroups": 0}, "members": [], "members_next": null, "members_first": null, "roles": [], "client_roles": [], "may_map_client_roles": true, "client_form": {"clients": [], "more": false, "chosen": null}, "form": {"name": "a", "parent": "", "username": "", "role": "", "client": "", "client_role": ""}, "may_manage": true}),
                ),
            ),
            (
                "group.html",
                with(
                    json!({"group": {"id": "g", "name": "a", "path": "/a", "parent_path": null, "base": "/g", "up": "/up", "subgroups_href": "/s", "subgroups": 0}, "members": [], "members_next": null, "members_first": null, "roles": [], "client_roles": [], "may_map_client_roles": false, "client_form": {"clients": [], "more": false, "chosen": null}, "form": {"name": "a", "parent": "", "username": "", "role": "", "client": "", "client_role": ""}, "may_manage": true, "robots_from": "group"}).as_object().unwrap().clone().into_iter().chain(robots_section(true, Some("robot_cidrs")).as_object().unwrap().clone()).collect(),
                ),
            ),
            (
                "group_robots.html",
                with(
                    json!({"group": {"path": "/a", "href": "/g"}}).as_object().unwrap().clone().into_iter().chain(robots_section(true, None).as_object().unwrap().clone()).collect(),
                ),
            ),
            (
                "group_robots.html",
                with(
                    json!({"group": {"path": "/a", "href": "/g"}}).as_object().unwrap().clone().into_iter().chain(robots_section(false, None).as_object().unwrap().clone()).collect(),
                ),
            ),
            (
                "robots.html",
                with(json!({"robots": [robot_row("active")]})),
            ),
            ("robots.html", with(json!({"robots": []}))),
            (
                "robot_rotate.html",
                with(
                    json!({"login": "robot.ci", "secrets": [{"created": "c", "ends": null, "last_used": "u"}, {"created": "c", "ends": "e", "last_used": null}], "action": "/r", "cancel": "/c", "grace": "3600", "max_grace": 2592000, "error_field": "grace", "error": "bad"}),
                ),
            ),
            (
                "robot_rotate.html",
                with(
                    json!({"login": "robot.ci", "secrets": [], "action": "/r", "cancel": "/c", "grace": "0", "max_grace": 2592000}),
                ),
            ),
            (
                "secret_once.html",
                with(
                    json!({"note": "n", "username": "robot.ci", "secret": "pcr_x", "docker_login": "printf x | docker login", "back": "/b"}),
                ),
            ),
            (
                "user.html",
                with(
                    json!({"user": user, "tab": "app-passwords", "may_manage": true, "app_passwords": [{"id": "p", "name": "ci", "rules": "push on a/**", "status": "active", "expires": "e", "last_used": "u", "last_address": "10.0.0.1", "last_user_agent": "docker/27", "revoke": "/v"}, {"id": "q", "name": "old", "rules": "r", "status": "revoked", "expires": "e", "last_used": null, "last_address": null, "last_user_agent": null, "revoke": "/w"}], "app_passwords_base": "/ap", "max_days": 90, "ap_form": {"name": "x", "expires_days": "30", "registry": "", "repositories": "a/**", "actions": ["push"]}, "error_field": "ap_actions", "error": "unknown action"}),
                ),
            ),
            (
                "user.html",
                with(
                    json!({"user": user, "tab": "app-passwords", "may_manage": false, "app_passwords": [], "app_passwords_base": "/ap", "max_days": 90, "ap_form": {"name": "", "expires_days": "30", "registry": "", "repositories": "", "actions": []}}),
                ),
            ),
            (
                "confirm.html",
                with(
                    json!({"heading": "Delete group /a?", "details": ["It has no subgroups.", "2 members lose it."], "action": "/d", "button": "Delete group", "cancel": "/g"}),
                ),
            ),
            (
                "confirm.html",
                with(
                    json!({"heading": "Delete role x?", "details": [], "action": "/d", "button": "Delete role", "cancel": "/r"}),
                ),
            ),
            (
                "confirm.html",
                with(
                    json!({"heading": "Unlink alice from company?", "details": ["It is alice's only way to sign in."], "action": "/u/links/unlink", "fields": [{"name": "provider", "value": "company"}], "button": "Unlink from company", "cancel": "/u"}),
                ),
            ),
            (
                "problem.html",
                json!({"title": "Forbidden", "message": "No.", "status": 403, "signed_in": false}),
            ),
            (
                "login_events.html",
                with(
                    json!({"events": [{"time": "t", "type": "DOCKER_TOKEN", "failed": false, "user": "alice", "client": "reg", "address": "127.0.0.1", "error": null, "requested": "repository:a:push", "granted": null, "grant": "basic"}, {"time": "t", "type": "LOGIN_ERROR", "failed": true, "user": null, "client": null, "address": null, "error": "invalid_user_credentials", "requested": null, "granted": null, "grant": null}], "types": ["LOGIN"], "type": "LOGIN", "user": "", "client": "", "filtered": true, "next": "/n", "first_href": "/f", "error_field": null, "error": null}),
                ),
            ),
            (
                "login_events.html",
                with(
                    json!({"events": [], "types": ["LOGIN"], "type": "X", "user": "", "client": "", "filtered": false, "next": null, "first_href": null, "error_field": "type", "error": "Choose"}),
                ),
            ),
            ("settings.html", with(settings(true, None))),
            (
                "settings.html",
                with(settings(false, Some("failureFactor"))),
            ),
            (
                "realm_delete.html",
                with(
                    json!({"is_master": false, "typed": "sho", "error_field": "confirm", "error": "Type shop"}),
                ),
            ),
            (
                "realm_delete.html",
                with(json!({"is_master": true, "typed": "", "error_field": null, "error": null})),
            ),
            (
                "keys.html",
                with(
                    json!({"keys": [key("active"), key("passive"), key("disabled")], "types": [{"value": "rsa-2048", "label": "RSA 2048"}], "chosen": "rsa-2048", "may_manage": true, "error_field": "type", "error": "Choose"}),
                ),
            ),
            (
                "keys.html",
                with(
                    json!({"keys": [], "types": [], "chosen": "", "may_manage": false, "error_field": null, "error": null}),
                ),
            ),
            (
                "key_disable.html",
                with(json!({"key": key("active"), "error": "It signs."})),
            ),
            (
                "key_disable.html",
                with(json!({"key": key("passive"), "error": null})),
            ),
            (
                "events.html",
                with(
                    json!({"events": [{"time": "2026-01-01 00:00 UTC", "operation": "UPDATE", "resource": "REALM", "path": "", "by": "admin", "address": "10.0.0.1", "error": null, "representation": "{}"}], "operations": ["CREATE"], "operation": "UPDATE", "resource": "", "user": "", "filtered": true, "next": "/n", "first_href": "/f", "error_field": null, "error": null}),
                ),
            ),
            (
                "events.html",
                with(
                    json!({"events": [], "operations": ["CREATE"], "operation": "", "resource": "", "user": "nobody", "filtered": true, "next": null, "first_href": null, "error_field": "user", "error": "There is no admin named nobody."}),
                ),
            ),
            (
                "events.html",
                with(
                    json!({"events": [], "operations": [], "operation": "", "resource": "", "user": "", "filtered": false, "next": null, "first_href": null, "error_field": null, "error": null}),
                ),
            ),
            (
                "sessions.html",
                with(
                    json!({"sessions": [{"id": "s1", "username": "bob", "user_href": "/u", "started": "x", "last_access": "y"}], "next": "/n", "first_href": "/f", "may_manage": true}),
                ),
            ),
            (
                "sessions.html",
                with(
                    json!({"sessions": [], "next": null, "first_href": "/f", "may_manage": false}),
                ),
            ),
            (
                "sessions.html",
                with(json!({"sessions": [], "next": null, "first_href": null, "may_manage": true})),
            ),
        ];
        for (name, context) in cases {
            let html = render_template(name, &context).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(html.contains("</html>"), "{name} renders a whole page");
            assert!(!html.contains("<script>"), "{name}: no inline script");
            assert!(!html.contains(" style="), "{name}: no inline style");
        }
    }

    #[test]
    fn escapes_what_users_typed() {
        let context = with(
            json!({"users": [], "q": "<script>alert(1)</script>", "next": null, "first_href": null, "may_manage": false}),
        );
        let html = render_template("users.html", &context).unwrap();
        assert!(!html.contains("<script>alert"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    }
}
