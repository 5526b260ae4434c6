//! `/admin/realms/{realm}/identity-provider`: upstream identity providers (`instances`) and
//! their mappers, in Keycloak's shapes; client secrets read back as `**********`.

use axum::extract::{Path, State};
use portcullis_core::broker::mappers::mapper_types as known_mapper_types;
use portcullis_core::broker::settings::provider_type_name;
use portcullis_store::representation::{
    IdentityProviderMapperRepresentation, IdentityProviderRepresentation,
};
use portcullis_web::AppState;
use serde_json::{Map, Value, json};

use super::{DEFAULT_MAX, Reply, no_content, ok};
use crate::auth::{Caller, Right};
use crate::context::{created, target_realm};
use crate::error::AdminError;
use crate::extract::{Admin, Params, Rep};
use crate::ops::identity_providers::{self as ops_idp, ProviderQuery};
use crate::rep;
use crate::rep::known;

/// `GET instances?search=&briefRepresentation=&first=&max=` (at most 100 unless `max`).
pub async fn list(admin: Admin, Path(realm): Path<String>, params: Params) -> Reply {
    let brief = params.flag_or("briefRepresentation", false)?;
    let page = params.page(DEFAULT_MAX)?;
    let query = ProviderQuery {
        search: params.get("search").map(str::to_string),
        first: page.first,
        max: page.max,
    };
    let ops = admin.ops();
    let rows = ops_idp::list(ops, &realm, &query).await?;
    if brief {
        return ok(rows
            .iter()
            .map(rep::identity_provider::brief)
            .collect::<Vec<_>>());
    }
    let db = admin.state.store().connection();
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let extras = portcullis_store::admin::extras::get_many(db, &ids).await?;
    let empty = Map::new();
    let reps = rows
        .iter()
        .map(|row| {
            rep::identity_provider::representation(row, extras.get(&row.id).unwrap_or(&empty))
        })
        .collect::<Result<Vec<_>, _>>()?;
    ok(reps)
}

/// `POST instances`: 201 with the new provider's URL; 409 for a taken alias.
pub async fn create(
    admin: Admin,
    Path(realm): Path<String>,
    Rep(body, _): Rep<known::IdentityProvider>,
) -> Reply {
    let provider: IdentityProviderRepresentation = read_body(&admin, &realm, &body).await?;
    let extras = rep::extras(&body, rep::identity_provider::MODELLED)?;
    let ops = admin.ops();
    let alias = ops_idp::create(ops, &realm, &provider, &extras, body.clone()).await?;
    Ok(created(
        &admin.state,
        &realm,
        &["identity-provider", "instances", &alias],
    ))
}

/// A create or update body, as `T`. The realm and the right are checked first, so a caller
/// without them learns nothing from the body's errors.
async fn read_body<T: serde::de::DeserializeOwned>(
    admin: &Admin,
    realm: &str,
    body: &Value,
) -> Result<T, AdminError> {
    target_realm(
        &admin.state,
        &admin.caller,
        realm,
        Right::ManageIdentityProviders,
    )
    .await?;
    rep::parse(body)
}

pub async fn get(admin: Admin, Path((realm, alias)): Path<(String, String)>) -> Reply {
    let ops = admin.ops();
    let (row, extras) = ops_idp::find(ops, &realm, &alias).await?;
    ok(rep::identity_provider::representation(&row, &extras)?)
}

pub async fn update(
    admin: Admin,
    Path((realm, alias)): Path<(String, String)>,
    Rep(body, _): Rep<known::IdentityProvider>,
) -> Reply {
    let provider: IdentityProviderRepresentation = read_body(&admin, &realm, &body).await?;
    let extras = rep::extras(&body, rep::identity_provider::MODELLED)?;
    let ops = admin.ops();
    ops_idp::update(ops, &realm, &alias, &provider, &extras, body.clone()).await?;
    no_content()
}

pub async fn delete(admin: Admin, Path((realm, alias)): Path<(String, String)>) -> Reply {
    let ops = admin.ops();
    ops_idp::delete(ops, &realm, &alias).await?;
    no_content()
}

pub async fn mappers(admin: Admin, Path((realm, alias)): Path<(String, String)>) -> Reply {
    let ops = admin.ops();
    let (provider, rows) = ops_idp::mappers(ops, &realm, &alias).await?;
    let reps = rows
        .iter()
        .map(|m| rep::identity_provider::mapper(m, &provider.alias))
        .collect::<Result<Vec<_>, _>>()?;
    ok(reps)
}

/// `POST …/mappers`: 201 with the new mapper's URL.
pub async fn create_mapper(
    admin: Admin,
    Path((realm, alias)): Path<(String, String)>,
    Rep(body, _): Rep<known::IdentityProviderMapper>,
) -> Reply {
    let mapper: IdentityProviderMapperRepresentation = read_body(&admin, &realm, &body).await?;
    let ops = admin.ops();
    let id = ops_idp::create_mapper(ops, &realm, &alias, &mapper, body.clone()).await?;
    Ok(created(
        &admin.state,
        &realm,
        &["identity-provider", "instances", &alias, "mappers", &id],
    ))
}

pub async fn get_mapper(
    admin: Admin,
    Path((realm, alias, id)): Path<(String, String, String)>,
) -> Reply {
    let ops = admin.ops();
    let (provider, mapper) = ops_idp::mapper(ops, &realm, &alias, &id).await?;
    ok(rep::identity_provider::mapper(&mapper, &provider.alias)?)
}

pub async fn update_mapper(
    admin: Admin,
    Path((realm, alias, id)): Path<(String, String, String)>,
    Rep(body, _): Rep<known::IdentityProviderMapper>,
) -> Reply {
    let mapper: IdentityProviderMapperRepresentation = read_body(&admin, &realm, &body).await?;
    let ops = admin.ops();
    ops_idp::update_mapper(ops, &realm, &alias, &id, &mapper, body.clone()).await?;
    no_content()
}

pub async fn delete_mapper(
    admin: Admin,
    Path((realm, alias, id)): Path<(String, String, String)>,
) -> Reply {
    let ops = admin.ops();
    ops_idp::delete_mapper(ops, &realm, &alias, &id).await?;
    no_content()
}

/// `GET …/mapper-types`: Keycloak's `{id: IdentityProviderMapperTypeRepresentation}`.
pub async fn mapper_types(admin: Admin, Path((realm, alias)): Path<(String, String)>) -> Reply {
    let ops = admin.ops();
    ops_idp::require_visible(ops, &realm, &alias).await?;
    let types: Map<String, Value> = known_mapper_types()
        .into_iter()
        .map(|t| {
            let properties: Vec<Value> = t
                .properties
                .iter()
                .map(|(name, label, kind)| json!({"name": name, "label": label, "type": kind}))
                .collect();
            (
                t.id.to_string(),
                json!({"id": t.id, "name": t.name, "category": t.category,
                       "helpText": t.help_text, "properties": properties}),
            )
        })
        .collect();
    ok(types)
}

/// `GET identity-provider/providers/{providerId}`: the provider types this server brokers
/// to; another is 400, as in Keycloak.
pub async fn provider_type(
    State(state): State<AppState>,
    caller: Caller,
    Path((realm, provider_id)): Path<(String, String)>,
) -> Reply {
    target_realm(&state, &caller, &realm, Right::ViewIdentityProviders).await?;
    let name = provider_type_name(&provider_id).ok_or_else(|| {
        AdminError::BadRequest(format!("Unknown identity provider type {provider_id}"))
    })?;
    ok(json!({"id": provider_id, "name": name}))
}
