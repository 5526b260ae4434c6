//! `/admin/realms/{realm}/authentication`: required actions (managed), and the built-in flows,
//! their executions and the authenticator providers (read-only; edits answer 501).

use std::collections::BTreeMap;

use axum::extract::Path;
use axum::http::Method;
use portcullis_core::flows::{self, Kind};
use portcullis_core::required_action::RequiredAction;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Reply, no_content, ok};
use crate::error::AdminError;
use crate::extract::{Admin, AdminJson};
use crate::ops::flows as flow_ops;
use crate::ops::flows::{ExecutionRow, RealmFlow};
use crate::ops::required_actions::{self, ActionUpdate};

/// Keycloak's `RequiredActionProviderRepresentation`.
fn action_rep(action: &RequiredAction) -> Value {
    json!({
        "alias": action.alias,
        "name": action.name,
        "providerId": action.provider_id,
        "enabled": action.enabled,
        "defaultAction": action.default_action,
        "priority": action.priority,
        "config": action.config,
    })
}

pub async fn list_actions(admin: Admin, Path(realm): Path<String>) -> Reply {
    let actions = required_actions::list(admin.ops(), &realm).await?;
    ok(actions.iter().map(action_rep).collect::<Vec<_>>())
}

pub async fn get_action(admin: Admin, Path((realm, alias)): Path<(String, String)>) -> Reply {
    let ops = admin.ops();
    ok(action_rep(
        &required_actions::get(ops, &realm, &alias).await?,
    ))
}

/// The body of `PUT required-actions/{alias}`; absent fields keep their values, `alias` and
/// `providerId` cannot change.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ActionBody {
    alias: Option<String>,
    name: Option<String>,
    provider_id: Option<String>,
    enabled: Option<bool>,
    default_action: Option<bool>,
    priority: Option<i64>,
    config: Option<BTreeMap<String, String>>,
}

pub async fn update_action(
    admin: Admin,
    Path((realm, alias)): Path<(String, String)>,
    AdminJson(body): AdminJson<Value>,
) -> Reply {
    let ops = admin.ops();
    // 404 for an unknown alias before the body is judged, as Keycloak looks the action up first.
    let current = required_actions::get(ops, &realm, &alias).await?;
    let body: ActionBody = serde_json::from_value(body).map_err(|_| AdminError::unparsable())?;
    if body.alias.as_deref().is_some_and(|a| a != current.alias)
        || body
            .provider_id
            .as_deref()
            .is_some_and(|p| p != current.provider_id)
    {
        return Err(AdminError::BadRequest(
            "The alias and providerId of a required action cannot change".into(),
        ));
    }
    let update = ActionUpdate {
        name: body.name,
        enabled: body.enabled,
        default_action: body.default_action,
        priority: body.priority,
        config: body.config,
    };
    required_actions::update(ops, &realm, &alias, update).await?;
    no_content()
}

/// `GET required-actions/{alias}/config-description`.
pub async fn action_config_description(
    admin: Admin,
    Path((realm, alias)): Path<(String, String)>,
) -> Reply {
    let ops = admin.ops();
    required_actions::config_description(ops, &realm, &alias).await?;
    no_content()
}

/// `GET` and `DELETE required-actions/{alias}/config`.
pub async fn action_config(
    admin: Admin,
    method: Method,
    Path((realm, alias)): Path<(String, String)>,
) -> Reply {
    let ops = admin.ops();
    required_actions::config(ops, &realm, &alias, method != Method::GET).await?;
    no_content()
}

/// `PUT required-actions/{alias}/config` `{"config": {...}}`: the right first, then the body
/// (unknown fields refused), then Keycloak's answer for the action.
pub async fn update_action_config(
    admin: Admin,
    Path((realm, alias)): Path<(String, String)>,
    AdminJson(body): AdminJson<Value>,
) -> Reply {
    crate::context::target_realm(
        &admin.state,
        &admin.caller,
        &realm,
        crate::auth::Right::ManageRealm,
    )
    .await?;
    crate::rep::reject_unknown_fields(&body, &["config"])?;
    // Keycloak's `RequiredActionConfigRepresentation`: a string map under `config`.
    if !body.is_object()
        || serde_json::from_value::<Option<BTreeMap<String, String>>>(body["config"].clone())
            .is_err()
    {
        return Err(AdminError::unparsable());
    }
    let ops = admin.ops();
    required_actions::config(ops, &realm, &alias, true).await?;
    no_content()
}

pub async fn delete_action(admin: Admin, Path((realm, alias)): Path<(String, String)>) -> Reply {
    required_actions::unregister(admin.ops(), &realm, &alias).await?;
    no_content()
}

pub async fn raise_action(admin: Admin, Path((realm, alias)): Path<(String, String)>) -> Reply {
    let ops = admin.ops();
    required_actions::reorder(ops, &realm, &alias, true).await?;
    no_content()
}

pub async fn lower_action(admin: Admin, Path((realm, alias)): Path<(String, String)>) -> Reply {
    let ops = admin.ops();
    required_actions::reorder(ops, &realm, &alias, false).await?;
    no_content()
}

pub async fn unregistered_actions(admin: Admin, Path(realm): Path<String>) -> Reply {
    let ops = admin.ops();
    let list = required_actions::unregistered(ops, &realm).await?;
    ok(list
        .into_iter()
        .map(|(id, name)| json!({"providerId": id, "name": name}))
        .collect::<Vec<_>>())
}

/// The body of `POST register-required-action`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegisterBody {
    provider_id: Option<String>,
    name: Option<String>,
}

pub async fn register_action(
    admin: Admin,
    Path(realm): Path<String>,
    AdminJson(body): AdminJson<RegisterBody>,
) -> Reply {
    let ops = admin.ops();
    let provider = body
        .provider_id
        .filter(|p| !p.trim().is_empty())
        .ok_or_else(|| AdminError::BadRequest("providerId is required".into()))?;
    required_actions::register(ops, &realm, &provider, body.name).await?;
    no_content()
}

/// Keycloak's `AuthenticationFlowRepresentation`.
fn flow_rep(realm_flow: &RealmFlow) -> Value {
    let flow = realm_flow.flow;
    let executions: Vec<Value> = flow
        .steps
        .iter()
        .map(|step| {
            let mut rep = json!({
                "requirement": step.requirement,
                "priority": step.priority,
                "authenticatorFlow": step.flow.is_some(),
                "autheticatorFlow": step.flow.is_some(),
                "userSetupAllowed": false,
            });
            if let Some(map) = rep.as_object_mut() {
                if let Some(id) = step.authenticator {
                    map.insert("authenticator".into(), json!(id));
                }
                if let Some(alias) = step.flow {
                    map.insert("flowAlias".into(), json!(alias));
                }
            }
            rep
        })
        .collect();
    json!({
        "id": realm_flow.id,
        "alias": flow.alias,
        "description": flow.description,
        "providerId": flow.provider_id,
        "topLevel": flow.top_level,
        "builtIn": true,
        "authenticationExecutions": executions,
    })
}

/// Keycloak's `AuthenticationExecutionInfoRepresentation`.
fn execution_info(row: &ExecutionRow) -> Value {
    let step = row.step;
    let choices: &[&str] = match (step.flow, row.parent_alias) {
        (_, "clients") => &["ALTERNATIVE", "DISABLED"],
        (Some(_), _) => &["REQUIRED", "ALTERNATIVE", "DISABLED", "CONDITIONAL"],
        (None, _) => &["REQUIRED", "ALTERNATIVE", "DISABLED"],
    };
    let mut rep = json!({
        "id": row.id,
        "requirement": step.requirement,
        "requirementChoices": choices,
        "configurable": false,
        "level": row.level,
        "index": row.index,
        "priority": step.priority,
        "authenticationFlow": step.flow.is_some(),
    });
    if let Some(map) = rep.as_object_mut() {
        if let Some(id) = step.authenticator {
            let known = flows::authenticator(id);
            map.insert("providerId".into(), json!(id));
            map.insert(
                "displayName".into(),
                json!(known.map_or(id, |a| a.display_name)),
            );
            if let Some(a) = known {
                map.insert("description".into(), json!(a.description));
            }
        }
        if let Some(alias) = step.flow {
            let sub = flows::flow(alias);
            map.insert("displayName".into(), json!(alias));
            map.insert("flowId".into(), json!(row.sub_flow_id));
            if let Some(sub) = sub {
                map.insert("description".into(), json!(sub.description));
                map.insert("providerId".into(), json!(sub.provider_id));
            }
        }
    }
    rep
}

pub async fn list_flows(admin: Admin, Path(realm): Path<String>) -> Reply {
    let flows = flow_ops::list(admin.ops(), &realm).await?;
    ok(flows.iter().map(flow_rep).collect::<Vec<_>>())
}

pub async fn get_flow(admin: Admin, Path((realm, id)): Path<(String, String)>) -> Reply {
    let flow = flow_ops::by_id(admin.ops(), &realm, &id).await?;
    ok(flow_rep(&flow))
}

pub async fn flow_executions(admin: Admin, Path((realm, alias)): Path<(String, String)>) -> Reply {
    let ops = admin.ops();
    let rows = flow_ops::executions(ops, &realm, &alias).await?;
    ok(rows.iter().map(execution_info).collect::<Vec<_>>())
}

/// `GET executions/{id}`: Keycloak's `AuthenticationExecutionRepresentation`.
pub async fn get_execution(admin: Admin, Path((realm, id)): Path<(String, String)>) -> Reply {
    let row = flow_ops::execution(admin.ops(), &realm, &id).await?;
    let mut rep = json!({
        "id": row.id,
        "requirement": row.step.requirement,
        "priority": row.step.priority,
        "authenticatorFlow": row.step.flow.is_some(),
        "parentFlow": row.parent_id,
    });
    if let Some(map) = rep.as_object_mut() {
        if let Some(id) = row.step.authenticator {
            map.insert("authenticator".into(), json!(id));
        }
        if let Some(flow_id) = row.sub_flow_id {
            map.insert("flowId".into(), json!(flow_id));
        }
    }
    ok(rep)
}

async fn providers(admin: Admin, realm: String, kind: Kind) -> Reply {
    let list = flow_ops::providers(admin.ops(), &realm, kind).await?;
    ok(list
        .into_iter()
        .map(|a| json!({"id": a.id, "displayName": a.display_name, "description": a.description}))
        .collect::<Vec<_>>())
}

pub async fn authenticator_providers(admin: Admin, Path(realm): Path<String>) -> Reply {
    providers(admin, realm, Kind::Authenticator).await
}

pub async fn client_authenticator_providers(admin: Admin, Path(realm): Path<String>) -> Reply {
    providers(admin, realm, Kind::ClientAuthenticator).await
}

pub async fn form_providers(admin: Admin, Path(realm): Path<String>) -> Reply {
    providers(admin, realm, Kind::Form).await
}

pub async fn form_action_providers(admin: Admin, Path(realm): Path<String>) -> Reply {
    providers(admin, realm, Kind::FormAction).await
}

/// Every editing call on flows, executions and authenticator configs, and any other path
/// under `authentication/`: reads of something that does not exist are 404, changes 501.
pub async fn not_editable(
    admin: Admin,
    method: Method,
    Path(params): Path<Vec<(String, String)>>,
) -> Reply {
    let realm = params
        .iter()
        .find(|(k, _)| k == "realm")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let ops = admin.ops();
    if method == Method::GET || method == Method::HEAD {
        crate::context::target_realm(
            &admin.state,
            &admin.caller,
            &realm,
            crate::auth::Right::ViewRealm,
        )
        .await?;
        return Err(AdminError::not_found("HTTP 404 Not Found"));
    }
    flow_ops::not_editable(ops, &realm).await?;
    no_content()
}
