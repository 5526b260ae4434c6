//! `/admin/realms/{realm}/clients`: CRUD, secrets, service accounts and protocol mappers
//! (docker-v2 access rules are validated here, so a bad rule never reaches the token
//! endpoint).

use axum::extract::Path;
use portcullis_store::admin;
use portcullis_store::entity::{client, protocol_mapper};
use serde_json::{Value, json};

use super::{Db, Reply, no_content, ok, user_rep};
use crate::auth::Right;
use crate::context::{created, target_realm};
use crate::error::AdminError;
use crate::extract::{Admin, Params, Rep};
use crate::ops::clients::{self, ClientQuery, NewClient};
use crate::rep;
use crate::rep::client::{ClientFields, MapperFields, mapper_representation};
use crate::rep::known;
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
pub async fn list(admin: Admin, Path(realm): Path<String>, params: Params) -> Reply {
    let search = params.flag_or("search", false)?;
    let page = params.page(None)?;
    let query = ClientQuery {
        client_id: params.get("clientId").map(str::to_string),
        search,
        attributes: params.attribute_query(),
        first: page.first,
        max: page.max,
    };
    let found = clients::search(admin.ops(), &realm, &query).await?;
    let db = admin.state.store().connection();
    ok(client_reps(db, &found.clients, found.secrets_visible).await?)
}

pub async fn create(
    admin: Admin,
    Path(realm): Path<String>,
    Rep(body, _): Rep<known::Client>,
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
    let ops = admin.ops();
    let id = clients::create(ops, &realm, new, body.clone()).await?;
    Ok(created(&admin.state, &realm, &["clients", &id]))
}

pub async fn get(admin: Admin, Path((realm, id)): Path<(String, String)>) -> Reply {
    let row = clients::find(admin.ops(), &realm, &id).await?;
    let db = admin.state.store().connection();
    let mut reps = client_reps(db, std::slice::from_ref(&row), true).await?;
    ok(reps.pop())
}

/// A partial update; `protocolMappers` in the body are ignored (they have their own endpoints).
pub async fn update(
    admin: Admin,
    Path((realm, id)): Path<(String, String)>,
    Rep(body, _): Rep<known::Client>,
) -> Reply {
    // The realm and the right come first, so a caller without them learns nothing from the
    // body's errors.
    target_realm(&admin.state, &admin.caller, &realm, Right::ManageClients).await?;
    let fields = ClientFields::read(&body)?;
    let extras = rep::extras(&body, rep::client::MODELLED)?;
    let ops = admin.ops();
    clients::update(ops, &realm, &id, fields, extras, body.clone()).await?;
    no_content()
}

pub async fn delete(admin: Admin, Path((realm, id)): Path<(String, String)>) -> Reply {
    clients::delete(admin.ops(), &realm, &id).await?;
    no_content()
}

fn secret_rep(secret: Option<&str>) -> Value {
    match secret {
        Some(value) => json!({"type": "secret", "value": value}),
        None => json!({"type": "secret"}),
    }
}

pub async fn secret(admin: Admin, Path((realm, id)): Path<(String, String)>) -> Reply {
    let row = clients::find(admin.ops(), &realm, &id).await?;
    ok(secret_rep(row.secret.as_deref()))
}

/// `POST clients/{id}/client-secret`: a new secret, returned in the same shape as `GET`.
pub async fn regenerate_secret(admin: Admin, Path((realm, id)): Path<(String, String)>) -> Reply {
    let ops = admin.ops();
    let secret = clients::regenerate_secret(ops, &realm, &id).await?;
    ok(secret_rep(Some(&secret)))
}

/// `POST clients/{id}/push-revocation`: Keycloak's `GlobalRequestResult`.
pub async fn push_revocation(admin: Admin, Path((realm, id)): Path<(String, String)>) -> Reply {
    let ops = admin.ops();
    let failed = clients::push_revocation(ops, &realm, &id).await?;
    ok(json!({"successRequests": [], "failedRequests": failed}))
}

pub async fn service_account(admin: Admin, Path((realm, id)): Path<(String, String)>) -> Reply {
    let ops = admin.ops();
    let user = clients::service_account_user(ops, &realm, &id).await?;
    ok(user_rep(
        admin.state.store().connection(),
        &user.realm_id,
        &user,
        false,
    )
    .await?)
}

pub async fn mappers(admin: Admin, Path((realm, id)): Path<(String, String)>) -> Reply {
    let ops = admin.ops();
    mapper_reps(clients::mappers(ops, &realm, &id, None).await?)
}

pub async fn mappers_of_protocol(
    admin: Admin,
    Path((realm, id, protocol)): Path<(String, String, String)>,
) -> Reply {
    let ops = admin.ops();
    mapper_reps(clients::mappers(ops, &realm, &id, Some(&protocol)).await?)
}

fn mapper_reps(rows: Vec<protocol_mapper::Model>) -> Reply {
    let reps = rows
        .iter()
        .map(mapper_representation)
        .collect::<Result<Vec<_>, _>>()?;
    ok(reps)
}

pub async fn create_mapper(
    admin: Admin,
    Path((realm, id)): Path<(String, String)>,
    Rep(body, _): Rep<known::ProtocolMapper>,
) -> Reply {
    let fields = [MapperFields::read(&body)?];
    let ops = admin.ops();
    let ids = clients::add_mappers(ops, &realm, &id, &fields, "", body.clone()).await?;
    let mapper_id = ids
        .into_iter()
        .next()
        .ok_or_else(|| AdminError::Internal("no mapper created".into()))?;
    Ok(created(
        &admin.state,
        &realm,
        &["clients", &id, "protocol-mappers", "models", &mapper_id],
    ))
}

/// `POST protocol-mappers/add-models`: several mappers at once, all or none.
pub async fn add_mappers(
    admin: Admin,
    Path((realm, id)): Path<(String, String)>,
    Rep(body, _): Rep<known::ProtocolMapper>,
) -> Reply {
    let reps: Vec<ProtocolMapperRepresentation> = rep::parse(&body)?;
    let fields = reps
        .into_iter()
        .map(MapperFields::from_representation)
        .collect::<Result<Vec<_>, _>>()?;
    let path = format!("clients/{id}/protocol-mappers/add-models");
    let ops = admin.ops();
    clients::add_mappers(ops, &realm, &id, &fields, &path, body.clone()).await?;
    no_content()
}

pub async fn get_mapper(
    admin: Admin,
    Path((realm, id, mapper)): Path<(String, String, String)>,
) -> Reply {
    let ops = admin.ops();
    let row = clients::mapper(ops, &realm, &id, &mapper).await?;
    ok(mapper_representation(&row)?)
}

/// A partial update: what the body leaves out keeps its value.
pub async fn update_mapper(
    admin: Admin,
    Path((realm, id, mapper)): Path<(String, String, String)>,
    Rep(body, _): Rep<known::ProtocolMapper>,
) -> Reply {
    // The realm and the right come first, so a caller without them learns nothing from the
    // body's errors.
    target_realm(&admin.state, &admin.caller, &realm, Right::ManageClients).await?;
    let fields = MapperFields::read(&body)?;
    let ops = admin.ops();
    clients::replace_mapper(ops, &realm, &id, &mapper, &fields, body.clone()).await?;
    no_content()
}

pub async fn delete_mapper(
    admin: Admin,
    Path((realm, id, mapper)): Path<(String, String, String)>,
) -> Reply {
    let ops = admin.ops();
    clients::delete_mapper(ops, &realm, &id, &mapper).await?;
    no_content()
}
