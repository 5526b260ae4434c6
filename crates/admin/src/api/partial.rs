//! `partial-export` and `partialImport`: JSON adapters over [`realms::partial_export`] and
//! [`import::partial_import`].

use axum::extract::Path;
use portcullis_store::representation::PartialImportRepresentation;
use serde_json::json;

use super::{Reply, ok};
use crate::auth::Right;
use crate::context::target_realm;
use crate::extract::{Admin, Params, Rep};
use crate::ops::{import, realms};
use crate::rep;
use crate::rep::known;

/// `POST partial-export?exportClients=&exportGroupsAndRoles=`: the realm's settings, and on
/// request its roles, groups and clients, secrets masked, never users or keys.
pub async fn export(admin: Admin, Path(realm): Path<String>, params: Params) -> Reply {
    let with_clients = params.flag_or("exportClients", false)?;
    let with_groups_and_roles = params.flag_or("exportGroupsAndRoles", false)?;
    let ops = admin.ops();
    let export = realms::partial_export(ops, &realm, with_clients, with_groups_and_roles).await?;
    let db = admin.state.store();
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
    admin: Admin,
    Path(realm): Path<String>,
    Rep(body, _): Rep<known::PartialImport>,
) -> Reply {
    // The realm and the right come first, so a caller without them learns nothing from the
    // body's errors.
    target_realm(&admin.state, &admin.caller, &realm, Right::ManageRealm).await?;
    let request: PartialImportRepresentation = rep::parse(&body)?;
    let ops = admin.ops();
    ok(import::partial_import(ops, &realm, request, &body).await?)
}
