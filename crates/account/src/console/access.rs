//! My registry access: for each registry of the realm, what the user may pull and push and the
//! rule that grants it (with how the user holds the rule's subject), and a form to try one
//! repository with the token endpoint's own evaluation.

use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::Response;
use portcullis_admin::self_service::AccountError;
use serde::Deserialize;
use serde_json::{Value, json};

use super::page::{Console, PageError};

#[derive(Debug, Default, Deserialize)]
pub struct TryQuery {
    registry: Option<String>,
    repository: Option<String>,
}

/// `GET account/registry-access[?registry=&repository=]`.
pub async fn show(console: Console, Query(query): Query<TryQuery>) -> Result<Response, PageError> {
    let account = console.account();
    let registries: Vec<Value> = account
        .registry_access()?
        .into_iter()
        .map(|r| {
            let grants: Vec<Value> = r
                .grants
                .iter()
                .map(|g| {
                    json!({
                        "resource_type": g.resource_type,
                        "pattern": g.pattern,
                        "actions": g.actions.join(", "),
                        "rule": g.rule,
                        "through": g.through,
                    })
                })
                .collect();
            json!({"registry": r.registry, "id": r.id, "grants": grants})
        })
        .collect();
    let repository = query.repository.clone().unwrap_or_default();
    // Without a registry chosen, the first one (a realm usually has one).
    let registry = query
        .registry
        .clone()
        .filter(|r| !r.is_empty())
        .or_else(|| {
            registries
                .first()
                .and_then(|r| r["id"].as_str())
                .map(str::to_string)
        })
        .unwrap_or_default();
    let mut status = StatusCode::OK;
    let mut error: Option<(&str, String)> = None;
    let mut result = Value::Null;
    if query.repository.is_some() {
        match account.try_repository(&registry, &repository) {
            Ok(explained) => {
                let verdicts: Vec<Value> = explained
                    .verdicts
                    .iter()
                    .map(|v| json!({"rule": v.rule, "hit": v.hit, "detail": v.detail}))
                    .collect();
                result = json!({
                    "granted": explained.granted.join(", "),
                    "verdicts": verdicts,
                });
            }
            Err(AccountError::Field { field, message }) => {
                status = StatusCode::BAD_REQUEST;
                error = Some((field, message));
            }
            Err(other) => return Err(other.into()),
        }
    }
    let context = json!({
        "registries": registries,
        "trial": {"registry": registry, "repository": repository, "result": result},
        "error_field": error.as_ref().map(|(field, _)| *field),
        "error": error.map(|(_, message)| message),
    });
    console.render(
        status,
        "access.html",
        "registry-access",
        "My registry access",
        context,
    )
}
