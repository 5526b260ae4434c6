//! Registries (clients of the protocol with access rules, docker-v2): the list, creating one,
//! and per registry its rules (with presets and an access diff before every change), "try
//! it", the setup snippet and downloads, and its docker logins.

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use portcullis_web::{AccessRule, AccessSubject, AppState};
use serde::Deserialize;
use serde_json::{Value, json};

use super::page::{
    ConsoleError, FormBody, field_message, redirect_with_flash, render, render_status,
};
use super::page::{Params as RegistryPath, insert, param, realm_of};
use super::session::Console;
use crate::auth::Right;
use crate::error::AdminError;
use crate::ops::access::{self, RuleChange};
use crate::ops::clients::{self, NewClient};
use crate::rep::client::ClientFields;

pub fn routes(realm: &str) -> Router<AppState> {
    let r = |path: &str| format!("{realm}/registries{path}");
    Router::new()
        .route(&r(""), get(list).post(create))
        .route(&r("/new"), get(new_form))
        .route(&r("/{id}/rules"), get(rules).post(save_rule))
        .route(&r("/{id}/rules/preview"), post(preview_rule))
        .route(&r("/{id}/rules/{mapper}/delete"), post(delete_rule))
        .route(
            &r("/{id}/rules/{mapper}/edit"),
            get(edit_rule_form).post(edit_rule),
        )
        .route(&r("/{id}/try"), get(try_it))
        .route(&r("/{id}/setup"), get(setup))
        .route(&r("/{id}/logins"), get(logins))
        .route(&r("/{id}/logins/{login}/revoke"), post(revoke_login))
}

/// `GET registries`.
async fn list(console: Console) -> Result<Response, ConsoleError> {
    let realm = console.realm.clone().unwrap_or_default();
    let registries = access::registries(console.ops(), &realm).await?;
    let base = console.realm_base(&realm);
    let rows: Vec<Value> = registries
        .iter()
        .map(|r| {
            json!({
                "service": r.client.client_id,
                "rules": r.rules.len(),
                "enabled": r.client.enabled,
                "href": format!("{base}/registries/{}/rules", r.client.id),
            })
        })
        .collect();
    render(
        &console,
        "registries.html",
        json!({
            "title": "Registries",
            "active": "registries",
            "registries": rows,
            "may_manage": console.caller.can(&realm, Right::ManageClients),
        }),
    )
}

/// `GET registries/new`: the form, with the protocol's settings.
async fn new_form(console: Console) -> Result<Response, ConsoleError> {
    registry_form(&console, StatusCode::OK, &FormBody::default(), None).await
}

async fn registry_form(
    console: &Console,
    status: StatusCode,
    form: &FormBody,
    error: Option<(&str, String)>,
) -> Result<Response, ConsoleError> {
    let realm = console.realm.clone().unwrap_or_default();
    if !console.caller.can(&realm, Right::ManageClients) {
        return Err(ConsoleError::Forbidden);
    }
    let protocol = console
        .protocols
        .with_access_rules()
        .ok_or_else(|| ConsoleError::NotFound("This server serves no registries.".into()))?;
    let settings: Vec<Value> = protocol
        .client_settings()
        .iter()
        .map(|s| {
            json!({
                "name": s.field,
                "label": s.label,
                "help": s.help,
                "choices": s.choices,
                "value": form.get(s.field),
            })
        })
        .collect();
    let (error_field, error_message) = error.map_or((None, None), |(f, m)| (Some(f), Some(m)));
    render_status(
        console,
        status,
        "registry_new.html",
        json!({
            "title": "New registry",
            "active": "registries",
            "service": form.get("service"),
            "settings": settings,
            "error_field": error_field,
            "error": error_message,
        }),
    )
}

/// `POST registries`: creates the registry (a client of the protocol with access rules).
async fn create(console: Console, body: Bytes) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let realm = console.realm.clone().unwrap_or_default();
    let protocol = console
        .protocols
        .with_access_rules()
        .ok_or_else(|| ConsoleError::NotFound("This server serves no registries.".into()))?;
    let service = form.get("service").trim().to_string();
    if service.is_empty() {
        let message = "Give the registry's service name, as its config.yml names it.".to_string();
        return registry_form(
            &console,
            StatusCode::BAD_REQUEST,
            &form,
            Some(("service", message)),
        )
        .await;
    }
    let mut attributes = BTreeMap::new();
    for setting in protocol.client_settings() {
        let value = form.get(setting.field).trim();
        if value.is_empty() {
            continue;
        }
        let valid = match setting.choices {
            [] => value.parse::<u32>().is_ok_and(|n| n > 0),
            choices => choices.contains(&value),
        };
        if !valid {
            let message = format!("{} must be a positive number of seconds.", setting.label);
            return registry_form(
                &console,
                StatusCode::BAD_REQUEST,
                &form,
                Some((setting.field, message)),
            )
            .await;
        }
        attributes.insert(setting.attribute.to_string(), value.to_string());
    }
    let fields = ClientFields {
        client_id: Some(service.clone()),
        protocol: Some(protocol.name().to_string()),
        public_client: Some(true),
        attributes: Some(attributes.clone()),
        ..ClientFields::default()
    };
    let representation = json!({
        "clientId": service,
        "protocol": protocol.name(),
        "attributes": attributes,
    });
    let new = NewClient {
        fields,
        ..NewClient::default()
    };
    match clients::create(console.ops(), &realm, new, representation).await {
        Ok(id) => Ok(redirect_with_flash(
            &console,
            &format!("{}/registries/{id}/rules", console.realm_base(&realm)),
            &format!("Registry {service} created. Add its first rule."),
        )),
        Err(AdminError::Forbidden) => Err(ConsoleError::Forbidden),
        Err(e @ (AdminError::Conflict(_) | AdminError::BadRequest(_))) => {
            registry_form(
                &console,
                StatusCode::BAD_REQUEST,
                &form,
                Some(("service", field_message(&e))),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// The registry's pages share a header with its tabs.
pub(super) fn registry_context(console: &Console, registry: &access::Registry, tab: &str) -> Value {
    let realm = console.realm.clone().unwrap_or_default();
    let base = format!(
        "{}/registries/{}",
        console.realm_base(&realm),
        registry.client.id
    );
    json!({
        "title": registry.client.client_id,
        "active": "registries",
        "tab": tab,
        "registry": {
            "service": registry.client.client_id,
            "id": registry.client.id,
            "base": base,
        },
        "may_manage": console.caller.can(&realm, Right::ManageClients),
    })
}

/// What the add-rule form is filled with: a preset, or what was posted.
#[derive(Debug, Default, Deserialize)]
struct RuleQuery {
    preset: Option<String>,
}

/// A preset that fills the add-rule form.
struct Preset {
    key: &'static str,
    label: &'static str,
    pattern: &'static str,
    actions: &'static [&'static str],
    subject_kind: &'static str,
    subject: &'static str,
}

const PRESETS: &[Preset] = &[
    Preset {
        key: "personal",
        label: "Personal namespace",
        pattern: "${username}/**",
        actions: &["pull", "push", "delete"],
        subject_kind: "authenticated",
        subject: "",
    },
    Preset {
        key: "team",
        label: "Team namespace for a group",
        pattern: "team-a/**",
        actions: &["pull", "push"],
        subject_kind: "group",
        subject: "/team-a",
    },
    Preset {
        key: "public",
        label: "Public pull",
        pattern: "public/**",
        actions: &["pull"],
        subject_kind: "anonymous",
        subject: "",
    },
    Preset {
        key: "ci",
        label: "CI push-only",
        pattern: "**",
        actions: &["push"],
        subject_kind: "role",
        subject: "ci",
    },
    Preset {
        key: "admins",
        label: "Delete for admins",
        pattern: "**",
        actions: &["delete"],
        subject_kind: "role",
        subject: "registry-admin",
    },
];

/// `GET registries/{id}/rules[?preset=team]`.
async fn rules(
    console: Console,
    Path(path): RegistryPath,
    Query(query): Query<RuleQuery>,
) -> Result<Response, ConsoleError> {
    let mut form = FormBody::default();
    if let Some(preset) = PRESETS
        .iter()
        .find(|p| Some(p.key) == query.preset.as_deref())
    {
        form.0.push(("pattern".into(), preset.pattern.into()));
        for action in preset.actions {
            form.0.push(("actions".into(), (*action).into()));
        }
        form.0
            .push(("subjectKind".into(), preset.subject_kind.into()));
        form.0.push(("subject".into(), preset.subject.into()));
    }
    rules_page(&console, param(&path, "id"), StatusCode::OK, &form, None).await
}

async fn rules_page(
    console: &Console,
    id: &str,
    status: StatusCode,
    form: &FormBody,
    error: Option<(String, String)>,
) -> Result<Response, ConsoleError> {
    let realm = console.realm.clone().unwrap_or_default();
    let registry = access::registry(console.ops(), &realm, id).await?;
    let mut context = registry_context(console, &registry, "rules");
    let rules: Vec<Value> = registry.rules.iter().map(rule_view).collect();
    let presets: Vec<Value> = PRESETS
        .iter()
        .map(|p| json!({"key": p.key, "label": p.label}))
        .collect();
    let actions = form.all("actions");
    let (error_field, error_message) = error.map_or((None, None), |(f, m)| (Some(f), Some(m)));
    if let Value::Object(map) = &mut context {
        map.insert("rules".into(), json!(rules));
        map.insert("presets".into(), json!(presets));
        map.insert(
            "form".into(),
            json!({
                "pattern": form.get("pattern"),
                "actions": actions,
                "subject_kind": form.get("subjectKind"),
                "subject": form.get("subject"),
                "resource_type": form.get("resourceType"),
            }),
        );
        map.insert("error_field".into(), json!(error_field));
        map.insert("error".into(), json!(error_message));
    }
    render_status(console, status, "rules.html", context)
}

/// The form fields a stored rule fills the edit form with.
fn rule_form(rule: &AccessRule) -> FormBody {
    let (kind, subject) = match &rule.subject {
        AccessSubject::Group(path) => ("group", path.clone()),
        AccessSubject::Role(role) => ("role", role.clone()),
        AccessSubject::Authenticated => ("authenticated", String::new()),
        AccessSubject::Anonymous => ("anonymous", String::new()),
    };
    let mut form = FormBody::default();
    form.0.push(("name".into(), rule.name.clone()));
    form.0
        .push(("resourceType".into(), rule.resource_type.clone()));
    form.0.push(("pattern".into(), rule.pattern.clone()));
    for action in &rule.actions {
        form.0.push(("actions".into(), action.clone()));
    }
    form.0.push(("subjectKind".into(), kind.into()));
    form.0.push(("subject".into(), subject));
    form
}

/// The edit form of one rule, filled with `form`, with an error beside a field.
async fn edit_page(
    console: &Console,
    id: &str,
    mapper: &str,
    status: StatusCode,
    form: &FormBody,
    error: Option<(String, String)>,
) -> Result<Response, ConsoleError> {
    let realm = realm_of(console);
    if !console.caller.can(&realm, Right::ManageClients) {
        return Err(ConsoleError::Forbidden);
    }
    let registry = access::registry(console.ops(), &realm, id).await?;
    let rule = registry
        .rule(mapper)
        .ok_or_else(|| ConsoleError::NotFound("There is no such rule in this registry.".into()))?;
    let mut context = registry_context(console, &registry, "rules");
    let (error_field, error_message) = error.map_or((None, None), |(f, m)| (Some(f), Some(m)));
    insert(
        &mut context,
        "title",
        json!(format!("Edit rule {}", rule.name)),
    );
    insert(&mut context, "rule", rule_view(rule));
    insert(
        &mut context,
        "action",
        json!(format!(
            "{}/rules/{mapper}/edit",
            registry_base(console, id)
        )),
    );
    insert(
        &mut context,
        "form",
        json!({
            "name": form.get("name"),
            "pattern": form.get("pattern"),
            "actions": form.all("actions"),
            "subject_kind": form.get("subjectKind"),
            "subject": form.get("subject"),
            "resource_type": form.get("resourceType"),
        }),
    );
    insert(&mut context, "error_field", json!(error_field));
    insert(&mut context, "error", json!(error_message));
    render_status(console, status, "rule_edit.html", context)
}

/// `GET registries/{id}/rules/{mapper}/edit`: the rule's form, filled with the rule.
async fn edit_rule_form(
    console: Console,
    Path(path): RegistryPath,
) -> Result<Response, ConsoleError> {
    let (id, mapper) = (param(&path, "id"), param(&path, "mapper"));
    let realm = realm_of(&console);
    let registry = access::registry(console.ops(), &realm, id).await?;
    let form = registry.rule(mapper).map(rule_form).unwrap_or_default();
    edit_page(&console, id, mapper, StatusCode::OK, &form, None).await
}

/// `POST registries/{id}/rules/{mapper}/edit`: without `confirm`, the access diff of replacing
/// the rule with the posted one and a form that confirms; with it, the replacement.
async fn edit_rule(
    console: Console,
    Path(path): RegistryPath,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let (id, mapper) = (param(&path, "id"), param(&path, "mapper"));
    let rule = match rule_from(&form) {
        Ok(rule) => rule,
        Err(error) => {
            return edit_page(
                &console,
                id,
                mapper,
                StatusCode::BAD_REQUEST,
                &form,
                Some(error),
            )
            .await;
        }
    };
    let realm = realm_of(&console);
    let change = RuleChange::Replace {
        mapper_id: mapper.to_string(),
        rule: rule.clone(),
    };
    if form.get("confirm") == "yes" {
        return match access::apply(console.ops(), &realm, id, &change).await {
            Ok(()) => Ok(redirect_with_flash(
                &console,
                &format!("{}/rules", registry_base(&console, id)),
                &format!("Rule saved: {}.", describe(&rule)),
            )),
            Err(e @ AdminError::Conflict(_)) => {
                let error = Some(("name".to_string(), field_message(&e)));
                edit_page(&console, id, mapper, StatusCode::BAD_REQUEST, &form, error).await
            }
            Err(e @ AdminError::BadRequest(_)) => {
                let error = Some(("pattern".to_string(), field_message(&e)));
                edit_page(&console, id, mapper, StatusCode::BAD_REQUEST, &form, error).await
            }
            Err(e) => Err(e.into()),
        };
    }
    let diff = match access::preview(console.ops(), &realm, id, &change).await {
        Ok(diff) => diff,
        Err(AdminError::BadRequest(message)) => {
            let error = Some(("pattern".to_string(), message));
            return edit_page(&console, id, mapper, StatusCode::BAD_REQUEST, &form, error).await;
        }
        Err(e) => return Err(e.into()),
    };
    let registry = access::registry(console.ops(), &realm, id).await?;
    let old = registry.rule(mapper).map(describe).unwrap_or_default();
    let mut context = registry_context(&console, &registry, "rules");
    insert(&mut context, "title", json!("Review the change"));
    insert(
        &mut context,
        "change",
        json!(format!("Edit: {old} → {}", describe(&rule))),
    );
    insert(&mut context, "diff", diff_view(&diff));
    insert(
        &mut context,
        "confirm_action",
        json!(format!(
            "{}/rules/{mapper}/edit",
            registry_base(&console, id)
        )),
    );
    let mut fields: Vec<Value> = form
        .0
        .iter()
        .filter(|(k, _)| k != "csrf" && k != "confirm")
        .map(|(k, v)| json!({"name": k, "value": v}))
        .collect();
    fields.push(json!({"name": "confirm", "value": "yes"}));
    insert(&mut context, "fields", json!(fields));
    render(&console, "diff.html", context)
}

fn rule_view(rule: &AccessRule) -> Value {
    json!({
        "id": rule.mapper_id,
        "name": rule.name,
        "resource_type": rule.resource_type,
        "pattern": rule.pattern,
        "actions": rule.actions.join(", "),
        "subject": rule.subject.to_string(),
    })
}

/// The rule a posted form describes, or the field that is wrong and why.
fn rule_from(form: &FormBody) -> Result<AccessRule, (String, String)> {
    let pattern = form.get("pattern").trim().to_string();
    let resource_type = match form.get("resourceType") {
        "registry" => "registry",
        _ => "repository",
    };
    if pattern.is_empty() && resource_type == "repository" {
        return Err((
            "pattern".into(),
            "Give a repository pattern, such as team-a/** or ${username}/*.".into(),
        ));
    }
    let mut actions: Vec<String> = form
        .all("actions")
        .into_iter()
        .filter(|a| ["pull", "push", "delete", "*"].contains(a))
        .map(str::to_string)
        .collect();
    if actions.is_empty() {
        return Err(("actions".into(), "Choose at least one action.".into()));
    }
    actions.dedup();
    let subject_value = form.get("subject").trim().to_string();
    let subject = match form.get("subjectKind") {
        "group" | "role" if subject_value.is_empty() => {
            return Err((
                "subject".into(),
                "Name the group (such as /team-a) or the role.".into(),
            ));
        }
        "group" => AccessSubject::Group(if subject_value.starts_with('/') {
            subject_value
        } else {
            format!("/{subject_value}")
        }),
        "role" => AccessSubject::Role(subject_value),
        "authenticated" => AccessSubject::Authenticated,
        "anonymous" => AccessSubject::Anonymous,
        _ => return Err(("subjectKind".into(), "Choose who the rule is for.".into())),
    };
    Ok(AccessRule {
        mapper_id: String::new(),
        name: form.get("name").trim().to_string(),
        resource_type: resource_type.to_string(),
        pattern: if pattern.is_empty() {
            "**".into()
        } else {
            pattern
        },
        actions,
        subject,
    })
}

/// `POST registries/{id}/rules/preview`: the access diff of adding the rule, with a form that
/// saves it.
async fn preview_rule(
    console: Console,
    Path(path): RegistryPath,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let id = param(&path, "id");
    let rule = match rule_from(&form) {
        Ok(rule) => rule,
        Err(error) => {
            return rules_page(&console, id, StatusCode::BAD_REQUEST, &form, Some(error)).await;
        }
    };
    let realm = console.realm.clone().unwrap_or_default();
    let change = RuleChange::Add(rule.clone());
    let diff = match access::preview(console.ops(), &realm, id, &change).await {
        Ok(diff) => diff,
        Err(AdminError::BadRequest(message)) => {
            let error = Some(("pattern".to_string(), message));
            return rules_page(&console, id, StatusCode::BAD_REQUEST, &form, error).await;
        }
        Err(e) => return Err(e.into()),
    };
    let registry = access::registry(console.ops(), &realm, id).await?;
    let mut context = registry_context(&console, &registry, "rules");
    if let Value::Object(map) = &mut context {
        map.insert("title".into(), json!("Review the change"));
        map.insert("change".into(), json!(format!("Add: {}", describe(&rule))));
        map.insert("diff".into(), diff_view(&diff));
        map.insert(
            "confirm_action".into(),
            json!(format!("{}/rules", registry_base(&console, id))),
        );
        map.insert(
            "fields".into(),
            json!(
                form.0
                    .iter()
                    .filter(|(k, _)| k != "csrf")
                    .map(|(k, v)| json!({"name": k, "value": v}))
                    .collect::<Vec<_>>()
            ),
        );
    }
    render(&console, "diff.html", context)
}

fn describe(rule: &AccessRule) -> String {
    format!(
        "{} on {} for {}",
        rule.actions.join(", "),
        rule.pattern,
        rule.subject
    )
}

fn diff_view(diff: &[access::DiffLine]) -> Value {
    json!(
        diff.iter()
            .map(|line| json!({"gain": line.gain, "text": line.to_string()}))
            .collect::<Vec<_>>()
    )
}

fn registry_base(console: &Console, id: &str) -> String {
    let realm = console.realm.clone().unwrap_or_default();
    format!("{}/registries/{id}", console.realm_base(&realm))
}

/// `POST registries/{id}/rules`: saves a reviewed rule.
async fn save_rule(
    console: Console,
    Path(path): RegistryPath,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let id = param(&path, "id");
    let rule = match rule_from(&form) {
        Ok(rule) => rule,
        Err(error) => {
            return rules_page(&console, id, StatusCode::BAD_REQUEST, &form, Some(error)).await;
        }
    };
    let realm = console.realm.clone().unwrap_or_default();
    match access::apply(console.ops(), &realm, id, &RuleChange::Add(rule.clone())).await {
        Ok(()) => Ok(redirect_with_flash(
            &console,
            &format!("{}/rules", registry_base(&console, id)),
            &format!("Rule saved: {}.", describe(&rule)),
        )),
        Err(e @ (AdminError::BadRequest(_) | AdminError::Conflict(_))) => {
            let error = Some(("pattern".to_string(), field_message(&e)));
            rules_page(&console, id, StatusCode::BAD_REQUEST, &form, error).await
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST registries/{id}/rules/{mapper}/delete`: without `confirm`, the access diff of removing
/// the rule and a form that confirms; with it, the removal.
async fn delete_rule(
    console: Console,
    Path(path): RegistryPath,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let (id, mapper) = (param(&path, "id"), param(&path, "mapper"));
    let realm = console.realm.clone().unwrap_or_default();
    let change = RuleChange::Remove {
        mapper_id: mapper.to_string(),
    };
    if form.get("confirm") == "yes" {
        access::apply(console.ops(), &realm, id, &change).await?;
        return Ok(redirect_with_flash(
            &console,
            &format!("{}/rules", registry_base(&console, id)),
            "Rule deleted.",
        ));
    }
    let diff = access::preview(console.ops(), &realm, id, &change).await?;
    let registry = access::registry(console.ops(), &realm, id).await?;
    let rule = registry.rule(mapper).map(describe).unwrap_or_default();
    let mut context = registry_context(&console, &registry, "rules");
    if let Value::Object(map) = &mut context {
        map.insert("title".into(), json!("Review the change"));
        map.insert("change".into(), json!(format!("Delete: {rule}")));
        map.insert("diff".into(), diff_view(&diff));
        map.insert(
            "confirm_action".into(),
            json!(format!(
                "{}/rules/{mapper}/delete",
                registry_base(&console, id)
            )),
        );
        map.insert(
            "fields".into(),
            json!([{"name": "confirm", "value": "yes"}]),
        );
        map.insert("destructive".into(), json!(true));
    }
    render(&console, "diff.html", context)
}

#[derive(Debug, Default, Deserialize)]
struct TryQuery {
    username: Option<String>,
    scope: Option<String>,
}

/// `GET registries/{id}/try?username=&scope=`: what the user (or anonymous) gets for each
/// scope, and every rule's verdict: the token endpoint's own evaluation.
async fn try_it(
    console: Console,
    Path(path): RegistryPath,
    Query(query): Query<TryQuery>,
) -> Result<Response, ConsoleError> {
    let id = param(&path, "id");
    let realm = console.realm.clone().unwrap_or_default();
    let registry = access::registry(console.ops(), &realm, id).await?;
    let username = query.username.clone().unwrap_or_default();
    let scope_text = query.scope.clone().unwrap_or_default();
    let scopes: Vec<&str> = scope_text
        .split(['\n', ' ', '\r'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let mut results = Value::Null;
    let mut error = None;
    if !scopes.is_empty() {
        let user = (!username.trim().is_empty()).then_some(username.as_str());
        match access::explain(console.ops(), &realm, id, user, &scopes).await {
            Ok(explained) => {
                results = json!(explained
                    .iter()
                    .map(|e| json!({
                        "requested": e.requested,
                        "granted": e.granted.join(","),
                        "verdicts": e.verdicts.iter().map(|v| json!({"rule": v.rule, "hit": v.hit, "detail": v.detail})).collect::<Vec<_>>(),
                    }))
                    .collect::<Vec<_>>());
            }
            Err(AdminError::NotFound(_)) => {
                error = Some((
                    "username",
                    format!("There is no user {username} in this realm."),
                ));
            }
            Err(AdminError::BadRequest(message)) => error = Some(("scope", message)),
            Err(e) => return Err(e.into()),
        }
    }
    let (error_field, error_message) = error.map_or((None, None), |(f, m)| (Some(f), Some(m)));
    let mut context = registry_context(&console, &registry, "try");
    if let Value::Object(map) = &mut context {
        map.insert("try_username".into(), json!(username));
        map.insert("scope".into(), json!(scope_text));
        map.insert("results".into(), results);
        map.insert("error_field".into(), json!(error_field));
        map.insert("error".into(), json!(error_message));
    }
    let status = if error_message.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    render_status(&console, status, "try.html", context)
}

/// `GET registries/{id}/setup`: the registry's configuration snippet, downloads and a login line.
async fn setup(console: Console, Path(path): RegistryPath) -> Result<Response, ConsoleError> {
    let id = param(&path, "id");
    let realm = console.realm.clone().unwrap_or_default();
    let registry = access::registry(console.ops(), &realm, id).await?;
    let snapshot = console
        .state
        .realm(&realm)
        .await?
        .ok_or_else(|| ConsoleError::NotFound("There is no such realm.".into()))?;
    let setup = console
        .protocols
        .with_access_rules()
        .and_then(|p| p.client_setup(console.state.urls(), &snapshot, &registry.client))
        .ok_or_else(|| ConsoleError::NotFound("This registry has no setup.".into()))?;
    let mut context = registry_context(&console, &registry, "setup");
    if let Value::Object(map) = &mut context {
        map.insert("config".into(), json!(setup.config));
        map.insert(
            "downloads".into(),
            json!(
                setup
                    .downloads
                    .iter()
                    .map(|(id, label, url)| json!({"id": id, "label": label, "url": url}))
                    .collect::<Vec<_>>()
            ),
        );
        map.insert("login_command".into(), json!(setup.login_command));
    }
    render(&console, "setup.html", context)
}

/// `GET registries/{id}/logins`.
async fn logins(console: Console, Path(path): RegistryPath) -> Result<Response, ConsoleError> {
    let id = param(&path, "id");
    let realm = console.realm.clone().unwrap_or_default();
    let registry = access::registry(console.ops(), &realm, id).await?;
    let rows = access::logins(console.ops(), &realm, id).await?;
    let mut context = registry_context(&console, &registry, "logins");
    if let Value::Object(map) = &mut context {
        map.insert(
            "logins".into(),
            json!(
                rows.iter()
                    .map(|(login, username)| json!({
                        "id": login.id,
                        "username": username,
                        "created": timestamp(login.created_at),
                        "last_used": timestamp(login.last_used_at),
                        "expires": timestamp(login.expires_at),
                        "address": login.last_address,
                    }))
                    .collect::<Vec<_>>()
            ),
        );
        map.insert(
            "may_revoke".into(),
            json!(console.caller.can(&realm, Right::ManageUsers)),
        );
    }
    render(&console, "logins.html", context)
}

/// `POST registries/{id}/logins/{login}/revoke`.
async fn revoke_login(
    console: Console,
    Path(path): RegistryPath,
    body: Bytes,
) -> Result<Response, ConsoleError> {
    let form = FormBody::parse(&body)?;
    console.check_form(&form)?;
    let realm = console.realm.clone().unwrap_or_default();
    let id = param(&path, "id");
    access::revoke_login(console.ops(), &realm, param(&path, "login")).await?;
    Ok(redirect_with_flash(
        &console,
        &format!("{}/logins", registry_base(&console, id)),
        "Docker login revoked: the registry refuses its next refresh.",
    ))
}

/// Unix seconds as `YYYY-MM-DD HH:MM UTC`.
pub fn timestamp(unix: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(format).ok())
        .unwrap_or_else(|| unix.to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamps_read_as_dates() {
        assert_eq!(super::timestamp(0), "1970-01-01 00:00 UTC");
        assert_eq!(super::timestamp(1_796_545_863), "2026-12-06 08:31 UTC");
    }
}
