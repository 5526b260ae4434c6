//! `partial-export` and `partialImport`: JSON adapters over [`realms::partial_export`] and
//! [`import::partial_import`].

use axum::Extension;
use axum::extract::{Path, State};
use portcullis_store::representation::PartialImportRepresentation;
use portcullis_web::{AppState, Protocols};
use serde_json::json;

use super::{Reply, ok};
use crate::auth::{Caller, Right};
use crate::context::target_realm;
use crate::extract::{Params, Rep};
use crate::ops::{Ops, import, realms};
use crate::rep;
use crate::rep::known;

/// `POST partial-export?exportClients=&exportGroupsAndRoles=`: the realm's settings, and on
/// request its roles, groups and clients, secrets masked, never users or keys.
pub async fn export(
    State(state): State<AppState>,
    Extension(protocols): Extension<Protocols>,
    caller: Caller,
    Path(realm): Path<String>,
    params: Params,
) -> Reply {
    let with_clients = params.flag_or("exportClients", false)?;
    let with_groups_and_roles = params.flag_or("exportGroupsAndRoles", false)?;
    let ops = Ops::new(&state, &caller, &protocols);
    let export = realms::partial_export(ops, &realm, with_clients, with_groups_and_roles).await?;
    let db = state.store();
    let mut out = rep::realm::with_default_role(db, &export.realm, &export.extras).await?;
    let Some(map) = out.as_object_mut() else {
        return ok(out);
    };
    if let Some((roles, groups)) = export.roles_and_groups {
        map.insert("roles".into(), json!(roles));
        map.insert("groups".into(), json!(groups));
    }
    if let Some(clients) = export.clients {
        map.insert("clients".into(), json!(clients));
    }
    if !export.components.is_empty() {
        map.insert("components".into(), json!(export.components));
    }
    ok(out)
}

pub async fn import(
    State(state): State<AppState>,
    Extension(protocols): Extension<Protocols>,
    caller: Caller,
    Path(realm): Path<String>,
    Rep(body, _): Rep<known::PartialImport>,
) -> Reply {
    // The realm and the right come first, so a caller without them learns nothing from the
    // body's errors.
    target_realm(&state, &caller, &realm, Right::ManageRealm).await?;
    let request: PartialImportRepresentation = rep::parse(&body)?;
    let ops = Ops::new(&state, &caller, &protocols);
    ok(import::partial_import(ops, &realm, request, &body).await?)
}
