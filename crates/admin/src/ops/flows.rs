//! The realm's authentication flows, read-only (`authentication/flows`): this server's login
//! steps are code, described by the built-in flows of [`portcullis_core::flows`]. Every
//! editing call is refused with [`not_editable`].

use portcullis_core::flows::{self, Flow};

use super::Ops;
use crate::auth::Right;
use crate::context::target_realm;
use crate::error::AdminError;

/// A flow of a realm, with its id there.
#[derive(Debug, Clone)]
pub struct RealmFlow {
    pub id: String,
    pub flow: &'static Flow,
}

/// One row of a flow's executions as Keycloak lists them: the flow's steps depth first, with
/// their nesting level and index among their siblings.
#[derive(Debug, Clone)]
pub struct ExecutionRow {
    pub id: String,
    /// The flow the step belongs to.
    pub parent_alias: &'static str,
    pub parent_id: String,
    pub step: flows::Step,
    /// The sub-flow's id, for a sub-flow step.
    pub sub_flow_id: Option<String>,
    pub level: usize,
    pub index: usize,
}

/// Keycloak's 404 for an unknown flow.
fn flow_not_found() -> AdminError {
    AdminError::not_found("Could not find flow with id")
}

/// The realm's id (`view-realm`).
async fn realm_id(ops: Ops<'_>, realm: &str) -> Result<String, AdminError> {
    Ok(target_realm(ops.state, ops.caller, realm, Right::ViewRealm)
        .await?
        .id)
}

/// The top-level flows (`view-realm`).
pub async fn list(ops: Ops<'_>, realm: &str) -> Result<Vec<RealmFlow>, AdminError> {
    let id = realm_id(ops, realm).await?;
    Ok(flows::FLOWS
        .iter()
        .filter(|f| f.top_level)
        .map(|flow| RealmFlow {
            id: flows::flow_id(&id, flow.alias),
            flow,
        })
        .collect())
}

/// A flow (top-level or not) by id (`view-realm`).
pub async fn by_id(ops: Ops<'_>, realm: &str, id: &str) -> Result<RealmFlow, AdminError> {
    let realm_id = realm_id(ops, realm).await?;
    flows::FLOWS
        .iter()
        .map(|flow| RealmFlow {
            id: flows::flow_id(&realm_id, flow.alias),
            flow,
        })
        .find(|f| f.id == id)
        .ok_or_else(flow_not_found)
}

/// The executions of the flow `alias`, sub-flows expanded depth first (`view-realm`).
pub async fn executions(
    ops: Ops<'_>,
    realm: &str,
    alias: &str,
) -> Result<Vec<ExecutionRow>, AdminError> {
    let realm_id = realm_id(ops, realm).await?;
    let flow = flows::flow(alias).ok_or_else(|| AdminError::not_found("Flow not found"))?;
    let mut rows = Vec::new();
    walk(&realm_id, flow, 0, &mut rows);
    Ok(rows)
}

fn walk(realm_id: &str, flow: &'static Flow, level: usize, rows: &mut Vec<ExecutionRow>) {
    for (index, step) in flow.steps.iter().enumerate() {
        let sub = step.flow.and_then(flows::flow);
        rows.push(ExecutionRow {
            id: flows::execution_id(realm_id, flow.alias, index),
            parent_alias: flow.alias,
            parent_id: flows::flow_id(realm_id, flow.alias),
            step: *step,
            sub_flow_id: sub.map(|s| flows::flow_id(realm_id, s.alias)),
            level,
            index,
        });
        // Flows nest a few levels deep; the catalogue has no cycles (tested in core).
        if let Some(sub) = sub
            && level < 8
        {
            walk(realm_id, sub, level + 1, rows);
        }
    }
}

/// One execution by id, anywhere in the realm's flows (`view-realm`).
pub async fn execution(ops: Ops<'_>, realm: &str, id: &str) -> Result<ExecutionRow, AdminError> {
    let realm_id = realm_id(ops, realm).await?;
    let mut rows = Vec::new();
    for flow in flows::FLOWS.iter().filter(|f| f.top_level) {
        walk(&realm_id, flow, 0, &mut rows);
    }
    rows.into_iter()
        .find(|r| r.id == id)
        .ok_or_else(|| AdminError::not_found("Illegal execution"))
}

/// The authenticators this server runs, of one kind (`view-realm`).
pub async fn providers(
    ops: Ops<'_>,
    realm: &str,
    kind: flows::Kind,
) -> Result<Vec<&'static flows::Authenticator>, AdminError> {
    realm_id(ops, realm).await?;
    Ok(flows::AUTHENTICATORS
        .iter()
        .filter(|a| a.kind == kind)
        .collect())
}

/// Any change to flows, executions or authenticator configs (`manage-realm` first, as
/// Keycloak checks it): refused, since this server's flows are fixed.
pub async fn not_editable(ops: Ops<'_>, realm: &str) -> Result<(), AdminError> {
    target_realm(ops.state, ops.caller, realm, Right::ManageRealm).await?;
    Err(AdminError::NotImplemented(
        "Editing authentication flows is not supported by this server: its flows are fixed",
    ))
}
