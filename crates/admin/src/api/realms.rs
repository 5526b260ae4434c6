//! `/admin/realms` and `/admin/realms/{realm}`.

use std::collections::BTreeMap;

use axum::extract::Path;
use portcullis_store::admin;
use portcullis_store::representation::deserialize_reporting_unknown;
use serde_json::Value;

use super::{Reply, no_content, ok};
use crate::auth::Right;
use crate::context::created;
use crate::error::AdminError;
use crate::extract::{Admin, Params, Rep};
use crate::ops::realms;
use crate::rep;
use crate::rep::known;

/// The realms the caller administers (403 when none, as Keycloak answers).
pub async fn list(admin: Admin, params: Params) -> Reply {
    let brief = params.flag_or("briefRepresentation", false)?;
    let rows = realms::list(admin.ops()).await?;
    if rows.is_empty() {
        return Err(AdminError::Forbidden);
    }
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let extras = admin::extras::get_many(admin.state.store().connection(), &ids).await?;
    let empty = serde_json::Map::new();
    let db = admin.state.store();
    let mut reps = Vec::with_capacity(rows.len());
    for r in &rows {
        reps.push(match brief {
            true => rep::realm::brief(r),
            false => {
                rep::realm::with_default_role(db, r, extras.get(&r.id).unwrap_or(&empty)).await?
            }
        });
    }
    ok(reps)
}

/// `POST /admin/realms`: the realm-file importer, nested users, clients, roles and groups
/// included; `Location` ends with the realm name.
pub async fn create(admin: Admin, Rep(body, _): Rep<known::Realm>) -> Reply {
    let extras = rep::realm::extras(&body)?;
    let (representation, _ignored) =
        deserialize_reporting_unknown(body.clone()).map_err(|_| AdminError::unparsable())?;
    let ops = admin.ops();
    let name = realms::create(ops, representation, extras, summary(&body)).await?;
    Ok(created(&admin.state, &name, &[]))
}

/// The top-level fields of a realm body, for the admin event (nested collections can be huge).
pub fn summary(body: &Value) -> Value {
    let fields: BTreeMap<&String, &Value> = body
        .as_object()
        .map(|o| o.iter().filter(|(_, v)| !v.is_array()).collect())
        .unwrap_or_default();
    serde_json::json!(fields)
}

pub async fn get(admin: Admin, Path(realm): Path<String>) -> Reply {
    let ops = admin.ops();
    let (row, extras) = realms::get(ops, &realm, Right::Any).await?;
    ok(rep::realm::with_default_role(admin.state.store(), &row, &extras).await?)
}

/// Top-level settings only; nested users, clients and roles are ignored, as in Keycloak.
pub async fn update(
    admin: Admin,
    Path(realm): Path<String>,
    Rep(body, _): Rep<known::Realm>,
) -> Reply {
    let update = rep::parse(&body)?;
    let extras = rep::realm::extras(&body)?;
    let ops = admin.ops();
    realms::update(ops, &realm, &update, &extras, summary(&body)).await?;
    no_content()
}

pub async fn delete(admin: Admin, Path(realm): Path<String>) -> Reply {
    let ops = admin.ops();
    realms::delete(ops, &realm).await?;
    no_content()
}
