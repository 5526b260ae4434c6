//! A registry's keyless CI rules (trusted issuers): the list, adding one from a preset (GitHub
//! Actions, GitLab CI, Kubernetes), editing and deleting, and trying a pasted token with the
//! token endpoint's own check.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use portcullis_web::{AppState, CiRule, CiTry};
use serde::Deserialize;
use serde_json::{Value, json};

use super::page::{ConsoleError, FormBody, field_message, redirect_with_flash, render_status};
use super::page::{Params as RegistryPath, param};
use super::registries::registry_context;
use super::session::Console;
use crate::error::AdminError;
use crate::ops::access;

pub fn routes(realm: &str) -> Router<AppState> {
    let r = |path: &str| format!("{realm}/registries{path}");
    Router::new()
        .route(&r("/{id}/ci"), get(page).post(add))
        .route(&r("/{id}/ci/try"), post(try_token))
        .route(&r("/{id}/ci/{mapper}/edit"), get(edit_form).post(edit))
        .route(&r("/{id}/ci/{mapper}/delete"), post(delete))
}

/// A preset filling the add form with an issuer's usual values and claim names.
struct Preset {
    key: &'static str,
    label: &'static str,
    issuer: &'static str,
    audience: &'static str,
    claims: &'static str,
    repository: &'static str,
    actions: &'static [&'static str],
    hint: &'static str,
}

const PRESETS: &[Preset] = &[
    Preset {
        key: "github",
        label: "GitHub Actions",
        issuer: "https://token.actions.githubusercontent.com",
        audience: "",
        claims: "repository=acme/api, ref=refs/heads/main",
        repository: "acme/api/**",
        actions: &["push"],
        hint: "GitHub Actions claims: repository, repository_owner, ref, ref_type, environment, \
               workflow, job_workflow_ref, event_name, sub (repo:owner/name:ref:refs/heads/main).",
    },
    Preset {
        key: "gitlab",
        label: "GitLab CI",
        issuer: "https://gitlab.com",
        audience: "",
        claims: "project_path=acme/api, ref=main, ref_protected=true",
        repository: "acme/api/**",
        actions: &["push"],
        hint: "GitLab CI claims: project_path, namespace_path, ref, ref_type, ref_protected, \
               environment, pipeline_source, user_login, sub.",
    },
    Preset {
        key: "kubernetes",
        label: "Kubernetes service account",
        issuer: "https://kubernetes.default.svc.cluster.local",
        audience: "",
        claims: "kubernetes.io/namespace=ci, kubernetes.io/serviceaccount/name=builder",
        repository: "**",
        actions: &["pull"],
        hint: "Kubernetes claims: sub (system:serviceaccount:<namespace>:<name>), \
               kubernetes.io/namespace, kubernetes.io/serviceaccount/name, kubernetes.io/pod/name.",
    },
];

#[derive(Debug, Default, Deserialize)]
struct PresetQuery {
    preset: Option<String>,
}

/// What the page shows besides the rules: the add (or edit) form, a tried token, an error.
#[derive(Default)]
struct View {
    form: FormBody,
    /// `Some(mapper id)` while editing that rule.
    editing: Option<String>,
    hint: &'static str,
    tried: Option<(FormBody, CiTry)>,
    error: Option<(&'static str, String)>,
}

fn rule_view(rule: &CiRule) -> Value {
    json!({
        "id": rule.mapper_id,
        "name": rule.name,
        "issuer": rule.issuer,
        "audience": rule.audience,
        "username": rule.username,
        "claims": rule.claims,
        "repository": rule.repository,
        "actions": rule.actions.join(", "),
    })
}

fn rule_form(rule: &CiRule) -> FormBody {
    let mut form = FormBody::default();
    for (key, value) in [
        ("name", &rule.name),
        ("issuer", &rule.issuer),
        ("audience", &rule.audience),
        ("username", &rule.username),
        ("claims", &rule.claims),
        ("repository", &rule.repository),
    ] {
        form.0.push((key.into(), value.clone()));
    }
    for action in &rule.actions {
        form.0.push(("actions".into(), action.clone()));
    }
    form
}

fn rule_from(form: &FormBody, mapper_id: &str) -> CiRule {
    let text = |key: &str| form.get(key).trim().to_string();
    let mut actions: Vec<String> = form
        .all("actions")
        .into_iter()
        .filter(|a| ["pull", "push", "delete", "*"].contains(a))
        .map(str::to_string)
        .collect();
    actions.dedup();
    CiRule {
        mapper_id: mapper_id.to_string(),
        name: text("name"),
        issuer: text("issuer"),
        audience: text("audience"),
        username: text("username"),
        claims: text("claims"),
        repository: text("repository"),
        actions,
    }
}

async fn render_page(
    console: &Console,
    id: &str,
    status: StatusCode,
    view: View,
) -> Result<Response, ConsoleError> {
    let realm = console.realm.clone().unwrap_or_default();
    let registry = access::registry(console.ops(), &realm, id).await?;
    let rules = access::ci_rules(console.ops(), &realm, id).await?;
    let mut context = registry_context(console, &registry, "ci");
    let base = format!(
        "{}/registries/{}",
        console.realm_base(&realm),
        registry.client.id
    );
    let form_action = match &view.editing {
        Some(mapper) => format!("{base}/ci/{mapper}/edit"),
        None => format!("{base}/ci"),
    };
    let (error_field, error_message) = view.error.map_or((None, None), |(f, m)| (Some(f), Some(m)));
    let (try_form, result) = match &view.tried {
        Some((form, tried)) => (
            json!({"username": form.get("username"), "scope": form.get("scope")}),
            json!({
                "issuer": tried.issuer,
                "subject": tried.subject,
                "audience": tried.audience,
                "refused": tried.refused,
                "verdicts": tried.verdicts.iter().map(|v| json!({"rule": v.rule, "hit": v.hit, "detail": v.detail})).collect::<Vec<_>>(),
                "scopes": tried.scopes.iter().map(|s| json!({"requested": s.requested, "granted": s.granted.join(",")})).collect::<Vec<_>>(),
            }),
        ),
        None => (json!({"username": "", "scope": ""}), Value::Null),
    };
    if let Value::Object(map) = &mut context {
        map.insert(
            "ci_rules".into(),
            json!(rules.iter().map(rule_view).collect::<Vec<_>>()),
        );
        map.insert(
            "presets".into(),
            json!(
                PRESETS
                    .iter()
                    .map(|p| json!({"key": p.key, "label": p.label}))
                    .collect::<Vec<_>>()
            ),
        );
        map.insert(
            "form".into(),
            json!({
                "name": view.form.get("name"),
                "issuer": view.form.get("issuer"),
                "audience": view.form.get("audience"),
                "username": view.form.get("username"),
                "claims": view.form.get("claims"),
                "repository": view.form.get("repository"),
                "actions": view.form.all("actions"),
            }),
        );
        map.insert("editing".into(), json!(view.editing.is_some()));
        map.insert("form_action".into(), json!(form_action));
        map.insert("preset_hint".into(), json!(view.hint));
        map.insert("try".into(), try_form);
        map.insert("result".into(), result);
        map.insert("error_field".into(), json!(error_field));
        map.insert("error".into(), json!(error_message));
    }
    render_status(console, status, "ci.html", context)
}

/// `GET registries/{id}/ci[?preset=github]`.
async fn page(
    console: Console,
    Path(path): RegistryPath,
    Query(query): Query<PresetQuery>,
) -> Result<Response, ConsoleError> {
    let mut view = View::default();
    if let Some(preset) = PRESETS
        .iter()
        .find(|p| Some(p.key) == query.preset.as_deref())
    {
        let realm = console.realm.clone().unwrap_or_default();
        let registry = access::registry(console.ops(), &realm, param(&path, "id")).await?;
        let audience = if preset.audience.is_empty() {
            registry.client.client_id.clone()
        } else {
            preset.audience.to_string()
        };
        view.form = rule_form(&CiRule {
            name: String::new(),
            issuer: preset.issuer.into(),
            audience,
            claims: preset.claims.into(),
            repository: preset.repository.into(),
            actions: preset.actions.iter().map(|a| (*a).to_string()).collect(),
            ..CiRule::default()
        });
        view.hint = preset.hint;
    }
    render_page(&console, param(&path, "id"), StatusCode::OK, view).await
}

/// `POST registries/{id}/ci`: stores a new rule.
async fn add(
    console: Console,
    Path(path): RegistryPath,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    save(console, param(&path, "id"), None, &body).await
}

/// `GET registries/{id}/ci/{mapper}/edit`: the page with the rule in the form.
async fn edit_form(console: Console, Path(path): RegistryPath) -> Result<Response, ConsoleError> {
    let (id, mapper) = (param(&path, "id"), param(&path, "mapper"));
    let realm = console.realm.clone().unwrap_or_default();
    let rules = access::ci_rules(console.ops(), &realm, id).await?;
    let rule = rules
        .iter()
        .find(|r| r.mapper_id == mapper)
        .ok_or_else(|| ConsoleError::NotFound("Could not find CI rule".into()))?;
    let view = View {
        form: rule_form(rule),
        editing: Some(mapper.to_string()),
        ..View::default()
    };
    render_page(&console, id, StatusCode::OK, view).await
}

/// `POST registries/{id}/ci/{mapper}/edit`: replaces the rule.
async fn edit(
    console: Console,
    Path(path): RegistryPath,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    save(
        console,
        param(&path, "id"),
        Some(param(&path, "mapper")),
        &body,
    )
    .await
}

/// Stores the posted rule: a new one, or in place of the rule `mapper`. A rule the operations
/// refuse comes back in the form with the reason.
async fn save(
    console: Console,
    id: &str,
    mapper: Option<&str>,
    body: &[u8],
) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(body)?;
    console.check_form(&form)?;
    let realm = console.realm.clone().unwrap_or_default();
    let rule = rule_from(&form, mapper.unwrap_or_default());
    let saved = match mapper {
        None => access::add_ci_rule(console.ops(), &realm, id, &rule).await,
        Some(_) => access::replace_ci_rule(console.ops(), &realm, id, &rule).await,
    };
    match saved {
        Ok(()) => Ok(redirect_with_flash(
            &console,
            &format!("{}/registries/{id}/ci", console.realm_base(&realm)),
            "CI rule saved.",
        )),
        Err(e @ (AdminError::BadRequest(_) | AdminError::Conflict(_))) => {
            let view = View {
                form,
                editing: mapper.map(str::to_string),
                error: Some(("rule", field_message(&e))),
                ..View::default()
            };
            render_page(&console, id, StatusCode::BAD_REQUEST, view).await
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST registries/{id}/ci/{mapper}/delete`.
async fn delete(
    console: Console,
    Path(path): RegistryPath,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let (id, mapper) = (param(&path, "id"), param(&path, "mapper"));
    let realm = console.realm.clone().unwrap_or_default();
    access::remove_ci_rule(console.ops(), &realm, id, mapper).await?;
    Ok(redirect_with_flash(
        &console,
        &format!("{}/registries/{id}/ci", console.realm_base(&realm)),
        "CI rule deleted.",
    ))
}

/// `POST registries/{id}/ci/try`: a pasted token, checked as the token endpoint checks it. A
/// POST, so the token never lands in an address bar, a history or an access log.
async fn try_token(
    console: Console,
    Path(path): RegistryPath,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let id = param(&path, "id");
    let realm = console.realm.clone().unwrap_or_default();
    let scope_text = form.get("scope").to_string();
    let scopes: Vec<&str> = scope_text
        .split(['\n', ' ', '\r'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let tried = access::try_ci_token(
        console.ops(),
        &realm,
        id,
        form.get("token"),
        form.get("username"),
        &scopes,
    )
    .await;
    // The token is not kept in the form that is shown again.
    let shown = FormBody(
        form.0
            .iter()
            .filter(|(k, _)| k != "token" && k != "csrf")
            .cloned()
            .collect(),
    );
    match tried {
        Ok(tried) => {
            let view = View {
                tried: Some((shown, tried)),
                ..View::default()
            };
            render_page(&console, id, StatusCode::OK, view).await
        }
        Err(AdminError::BadRequest(message)) => {
            let view = View {
                error: Some(("token", message)),
                ..View::default()
            };
            render_page(&console, id, StatusCode::BAD_REQUEST, view).await
        }
        Err(e) => Err(e.into()),
    }
}
