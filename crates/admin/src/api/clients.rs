//! `/admin/realms/{realm}/clients`: CRUD, secrets, service accounts and protocol mappers
//! (docker-v2 access rules are validated here, so a bad rule never reaches the token
//! endpoint).

use std::collections::BTreeMap;

use axum::Extension;
use axum::extract::{Path, State};
use portcullis_store::admin::{self, TextMatch};
use portcullis_store::entity::client;
use portcullis_web::{AppState, Protocols};
use serde_json::{Value, json};

use super::{Db, Reply, find_client, no_content, ok, user_rep};
use crate::auth::{Caller, Right};
use crate::context::{created, target_realm};
use crate::error::AdminError;
use crate::extract::{AdminJson, Params};
use crate::ops::Ops;
use crate::ops::clients::{self, NewClient};
use crate::ops::lookup::find_mapper;
use crate::rep;
use crate::rep::client::{ClientFields, MapperFields, mapper_representation};
use portcullis_store::representation::{ClientRepresentation, ProtocolMapperRepresentation};

/// Representations of clients with their mappers and extras.
async fn client_reps<C: Db>(
    db: &C,
    rows: &[client::Model],
    include_secret: bool,
) -> Result<Vec<Value>, AdminError> {
    let ids: Vec<String> = rows.iter().map(|c| c.id.clone()).collect();
    let extras = admin::extras::get_many(db, &ids).await?;
    let empty = serde_json::Map::new();
    let mut reps = Vec::with_capacity(rows.len());
    for row in rows {
        let mappers = admin::clients::mappers(db, &row.id).await?;
        let extras = extras.get(&row.id).unwrap_or(&empty);
        reps.push(rep::client::representation(
            row,
            &mappers,
            extras,
            include_secret,
        )?);
    }
    Ok(reps)
}

/// `GET clients?clientId=&search=&first=&max=&q=`: `clientId` matches exactly unless
/// `search=true`.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(realm): Path<String>,
    params: Params,
) -> Reply {
    let realm_row = target_realm(&state, &caller, &realm, Right::QueryClients).await?;
    let db = state.store().connection();
    let search = params.flag_or("search", false)?;
    let matcher = params.get("clientId").map(|c| match search {
        true => TextMatch::Contains(c.to_string()),
        false => TextMatch::Exact(c.to_string()),
    });
    let attributes = params.attribute_query();
    let mut rows = Vec::new();
    for row in admin::clients::list(db, &realm_row.id).await? {
        let id_ok = match &matcher {
            Some(TextMatch::Exact(c)) => row.client_id == *c,
            Some(m) => m.matches(&row.client_id),
            None => true,
        };
        let stored: BTreeMap<String, String> = rep::stored(&row.attributes, "client attributes")?;
        let attributes_ok = attributes
            .iter()
            .all(|(k, v)| stored.get(k).is_some_and(|s| s == v));
        if id_ok && attributes_ok {
            rows.push(row);
        }
    }
    let rows = params.page(None)?.slice(rows);
    let include_secret = caller.can(&realm, Right::ViewClients);
    ok(client_reps(db, &rows, include_secret).await?)
}

pub async fn create(
    State(state): State<AppState>,
    Extension(protocols): Extension<Protocols>,
    caller: Caller,
    Path(realm): Path<String>,
    AdminJson(body): AdminJson<Value>,
) -> Reply {
    let extras = rep::extras(&body, rep::client::MODELLED)?;
    let mut client: ClientRepresentation = rep::parse(&body)?;
    let mappers = std::mem::take(&mut client.protocol_mappers)
        .into_iter()
        .map(MapperFields::from_representation)
        .collect::<Result<_, _>>()?;
    let new = NewClient {
        id: rep::text(&client.id),
        fields: ClientFields::from_representation(client)?,
        mappers,
        extras,
    };
    let ops = Ops::new(&state, &caller, &protocols);
    let id = clients::create(ops, &realm, new, body.clone()).await?;
    Ok(created(&state, &realm, &["clients", &id]))
}

pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path((realm, id)): Path<(String, String)>,
) -> Reply {
    let realm_row = target_realm(&state, &caller, &realm, Right::ViewClients).await?;
    let db = state.store().connection();
    let row = find_client(db, &realm_row.id, &id).await?;
    let mut reps = client_reps(db, std::slice::from_ref(&row), true).await?;
    ok(reps.pop())
}

/// A partial update; `protocolMappers` in the body are ignored (they have their own endpoints).
pub async fn update(
    State(state): State<AppState>,
    Extension(protocols): Extension<Protocols>,
    caller: Caller,
    Path((realm, id)): Path<(String, String)>,
    AdminJson(body): AdminJson<Value>,
) -> Reply {
    // The realm and the right come first, so a caller without them learns nothing from the
    // body's errors.
    target_realm(&state, &caller, &realm, Right::ManageClients).await?;
    let fields = ClientFields::read(&body)?;
    let extras = rep::extras(&body, rep::client::MODELLED)?;
    let ops = Ops::new(&state, &caller, &protocols);
    clients::update(ops, &realm, &id, fields, extras, body.clone()).await?;
    no_content()
}

pub async fn delete(
    State(state): State<AppState>,
    Extension(protocols): Extension<Protocols>,
    caller: Caller,
    Path((realm, id)): Path<(String, String)>,
) -> Reply {
    clients::delete(Ops::new(&state, &caller, &protocols), &realm, &id).await?;
    no_content()
}

fn secret_rep(secret: Option<&str>) -> Value {
    match secret {
        Some(value) => json!({"type": "secret", "value": value}),
        None => json!({"type": "secret"}),
    }
}

pub async fn secret(
    State(state): State<AppState>,
    caller: Caller,
    Path((realm, id)): Path<(String, String)>,
) -> Reply {
    let realm_row = target_realm(&state, &caller, &realm, Right::ViewClients).await?;
    let row = find_client(state.store().connection(), &realm_row.id, &id).await?;
    ok(secret_rep(row.secret.as_deref()))
}

/// `POST clients/{id}/client-secret`: a new secret, returned in the same shape as `GET`.
pub async fn regenerate_secret(
    State(state): State<AppState>,
    Extension(protocols): Extension<Protocols>,
    caller: Caller,
    Path((realm, id)): Path<(String, String)>,
) -> Reply {
    let ops = Ops::new(&state, &caller, &protocols);
    let secret = clients::regenerate_secret(ops, &realm, &id).await?;
    ok(secret_rep(Some(&secret)))
}

pub async fn service_account(
    State(state): State<AppState>,
    caller: Caller,
    Path((realm, id)): Path<(String, String)>,
) -> Reply {
    let realm_row = target_realm(&state, &caller, &realm, Right::ViewClients).await?;
    let db = state.store().connection();
    let row = find_client(db, &realm_row.id, &id).await?;
    if !row.service_accounts_enabled {
        return Err(AdminError::BadRequest(format!(
            "Service account not enabled for the client '{}'",
            row.client_id
        )));
    }
    let user = admin::clients::service_account(db, &row.id)
        .await?
        .ok_or_else(|| AdminError::not_found("Service account user not found"))?;
    ok(user_rep(db, &realm_row.id, &user, false).await?)
}

pub async fn mappers(
    State(state): State<AppState>,
    caller: Caller,
    Path((realm, id)): Path<(String, String)>,
) -> Reply {
    mappers_where(&state, &caller, &realm, &id, None).await
}

pub async fn mappers_of_protocol(
    State(state): State<AppState>,
    caller: Caller,
    Path((realm, id, protocol)): Path<(String, String, String)>,
) -> Reply {
    mappers_where(&state, &caller, &realm, &id, Some(&protocol)).await
}

async fn mappers_where(
    state: &AppState,
    caller: &Caller,
    realm: &str,
    id: &str,
    protocol: Option<&str>,
) -> Reply {
    let realm_row = target_realm(state, caller, realm, Right::ViewClients).await?;
    let db = state.store().connection();
    let row = find_client(db, &realm_row.id, id).await?;
    let reps = admin::clients::mappers(db, &row.id)
        .await?
        .iter()
        .filter(|m| protocol.is_none_or(|p| m.protocol == p))
        .map(mapper_representation)
        .collect::<Result<Vec<_>, _>>()?;
    ok(reps)
}

pub async fn create_mapper(
    State(state): State<AppState>,
    Extension(protocols): Extension<Protocols>,
    caller: Caller,
    Path((realm, id)): Path<(String, String)>,
    AdminJson(body): AdminJson<Value>,
) -> Reply {
    let fields = [MapperFields::read(&body)?];
    let ops = Ops::new(&state, &caller, &protocols);
    let ids = clients::add_mappers(ops, &realm, &id, &fields, "", body.clone()).await?;
    let mapper_id = ids
        .into_iter()
        .next()
        .ok_or_else(|| AdminError::Internal("no mapper created".into()))?;
    Ok(created(
        &state,
        &realm,
        &["clients", &id, "protocol-mappers", "models", &mapper_id],
    ))
}

/// `POST protocol-mappers/add-models`: several mappers at once, all or none.
pub async fn add_mappers(
    State(state): State<AppState>,
    Extension(protocols): Extension<Protocols>,
    caller: Caller,
    Path((realm, id)): Path<(String, String)>,
    AdminJson(body): AdminJson<Value>,
) -> Reply {
    let reps: Vec<ProtocolMapperRepresentation> = rep::parse(&body)?;
    let fields = reps
        .into_iter()
        .map(MapperFields::from_representation)
        .collect::<Result<Vec<_>, _>>()?;
    let path = format!("clients/{id}/protocol-mappers/add-models");
    let ops = Ops::new(&state, &caller, &protocols);
    clients::add_mappers(ops, &realm, &id, &fields, &path, body.clone()).await?;
    no_content()
}

pub async fn get_mapper(
    State(state): State<AppState>,
    caller: Caller,
    Path((realm, id, mapper)): Path<(String, String, String)>,
) -> Reply {
    let realm_row = target_realm(&state, &caller, &realm, Right::ViewClients).await?;
    let db = state.store().connection();
    let client = find_client(db, &realm_row.id, &id).await?;
    let row = find_mapper(db, &client.id, &mapper).await?;
    ok(mapper_representation(&row)?)
}

/// A partial update: what the body leaves out keeps its value.
pub async fn update_mapper(
    State(state): State<AppState>,
    Extension(protocols): Extension<Protocols>,
    caller: Caller,
    Path((realm, id, mapper)): Path<(String, String, String)>,
    AdminJson(body): AdminJson<Value>,
) -> Reply {
    // The realm and the right come first, so a caller without them learns nothing from the
    // body's errors.
    target_realm(&state, &caller, &realm, Right::ManageClients).await?;
    let fields = MapperFields::read(&body)?;
    let ops = Ops::new(&state, &caller, &protocols);
    clients::replace_mapper(ops, &realm, &id, &mapper, &fields, body.clone()).await?;
    no_content()
}

pub async fn delete_mapper(
    State(state): State<AppState>,
    Extension(protocols): Extension<Protocols>,
    caller: Caller,
    Path((realm, id, mapper)): Path<(String, String, String)>,
) -> Reply {
    let ops = Ops::new(&state, &caller, &protocols);
    clients::delete_mapper(ops, &realm, &id, &mapper).await?;
    no_content()
}
