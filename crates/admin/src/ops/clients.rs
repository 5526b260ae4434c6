//! Clients (create, find, a page, update, regenerate the secret, delete) and their protocol
//! mappers (a registry's access rules among them).

use std::collections::{BTreeMap, HashSet};

use portcullis_store::admin::{self, TextMatch};
use portcullis_store::entity::{client, protocol_mapper, role, user_entity};
use serde_json::{Map, Value};

use portcullis_core::model::{ProtocolMapper, RealmScopeType};
use portcullis_web::Protocols;

use super::Ops;
use super::lookup::{Db, conflict_on_duplicate, find_client, find_mapper};
use crate::auth::Right;
use crate::context::{Change, Event, Op, target_realm};
use crate::error::AdminError;
use crate::rep;
use crate::rep::client::{ClientFields, MapperFields};

/// A client to create.
#[derive(Debug, Clone, Default)]
pub struct NewClient {
    pub id: Option<String>,
    pub fields: ClientFields,
    pub mappers: Vec<MapperFields>,
    /// Representation fields this server keeps without modelling them.
    pub extras: Map<String, Value>,
}

/// Creates a client (`manage-clients`) of a protocol the server serves, with its mappers
/// (each judged by its protocol); returns its id.
pub async fn create(
    ops: Ops<'_>,
    realm: &str,
    new: NewClient,
    representation: Value,
) -> Result<String, AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ManageClients).await?;
    new.fields.check_protocol(ops.protocols)?;
    let mut extras = new.extras;
    let fields = new.fields.with_create_defaults(&mut extras);
    let client_id = fields
        .client_id
        .clone()
        .filter(|c| !c.trim().is_empty())
        .ok_or_else(|| AdminError::BadRequest("Client id is required".into()))?;
    let id = match new.id {
        Some(id) => {
            super::lookup::check_id(&id)?;
            id
        }
        None => admin::new_id(),
    };
    let mut change = Change::begin(ops.state, ops.caller, realm_row.clone()).await?;
    let exists = || AdminError::Conflict(format!("Client {client_id} already exists"));
    if admin::clients::find_by_client_id(change.db(), &realm_row.id, &client_id)
        .await?
        .is_some()
    {
        return Err(exists());
    }
    let protocol = fields.protocol_or_default();
    let defaults = admin::client_scopes::realm_names(
        change.db(),
        &realm_row.id,
        RealmScopeType::Default,
        &protocol,
    )
    .await?;
    let optional = admin::client_scopes::realm_names(
        change.db(),
        &realm_row.id,
        RealmScopeType::Optional,
        &protocol,
    )
    .await?;
    let row = fields.new_row(
        id.clone(),
        &realm_row.id,
        &client_id,
        ops.state.now(),
        (&defaults, &optional),
    )?;
    admin::clients::insert(change.db(), row.clone())
        .await
        .map_err(conflict_on_duplicate(exists()))?;
    insert_mappers(ops, change.db(), &row, &new.mappers).await?;
    if row.service_accounts_enabled {
        ensure_service_account(change.db(), &row, ops.state.now()).await?;
    }
    admin::extras::set(change.db(), &realm_row.id, &id, &extras).await?;
    change.record(Event::new(Op::Create, "CLIENT", format!("clients/{id}")).with(representation));
    change.commit().await?;
    Ok(id)
}

/// Inserts mappers, names unique within the client; returns their ids.
pub async fn insert_mappers<C: Db>(
    ops: Ops<'_>,
    db: &C,
    client: &client::Model,
    mappers: &[MapperFields],
) -> Result<Vec<String>, AdminError> {
    let mut names: HashSet<String> = admin::clients::mappers(db, &client.id)
        .await?
        .into_iter()
        .map(|m| m.name)
        .collect();
    let mut ids = Vec::new();
    for fields in mappers {
        let id = match &fields.id {
            Some(id) => {
                super::lookup::check_id(id)?;
                id.clone()
            }
            None => admin::new_id(),
        };
        let row = mapper_row(ops.protocols, fields, client, id.clone())?;
        if !names.insert(row.name.clone()) {
            return Err(AdminError::Conflict(
                "Protocol mapper exists with same name".into(),
            ));
        }
        admin::clients::insert_mapper(db, row).await?;
        ids.push(id);
    }
    Ok(ids)
}

/// Adds mappers to a client (`manage-clients`), all or none; returns their ids.
pub async fn add_mappers(
    ops: Ops<'_>,
    realm: &str,
    client_id: &str,
    mappers: &[MapperFields],
    event_path: &str,
    representation: Value,
) -> Result<Vec<String>, AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ManageClients).await?;
    let mut change = Change::begin(ops.state, ops.caller, realm_row.clone()).await?;
    let client = find_client(change.db(), &realm_row.id, client_id).await?;
    let ids = insert_mappers(ops, change.db(), &client, mappers).await?;
    let path = match event_path {
        "" => match ids.as_slice() {
            [one] => format!("clients/{client_id}/protocol-mappers/models/{one}"),
            _ => format!("clients/{client_id}/protocol-mappers/add-models"),
        },
        given => given.to_string(),
    };
    change.record(Event::new(Op::Create, "PROTOCOL_MAPPER", path).with(representation));
    change.commit().await?;
    Ok(ids)
}

/// Replaces one of a client's mappers (`manage-clients`): `fields` are stored under the same
/// id (a field not given keeps its value), judged by the client's protocol as a new mapper
/// is; a name another of the client's mappers has is a conflict.
pub async fn replace_mapper(
    ops: Ops<'_>,
    realm: &str,
    client_id: &str,
    mapper_id: &str,
    fields: &MapperFields,
    representation: Value,
) -> Result<(), AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ManageClients).await?;
    let mut change = Change::begin(ops.state, ops.caller, realm_row.clone()).await?;
    let client = find_client(change.db(), &realm_row.id, client_id).await?;
    let current = find_mapper(change.db(), &client.id, mapper_id).await?;
    let merged = MapperFields {
        id: None,
        name: fields.name.clone().or(Some(current.name.clone())),
        protocol: fields.protocol.clone().or(Some(current.protocol.clone())),
        mapper_type: fields
            .mapper_type
            .clone()
            .or(Some(current.mapper_type.clone())),
        config: match &fields.config {
            Some(config) => Some(config.clone()),
            None => Some(rep::stored(&current.config, "protocol mapper config")?),
        },
    };
    let row = mapper_row(ops.protocols, &merged, &client, current.id.clone())?;
    let clash = admin::clients::mappers(change.db(), &client.id)
        .await?
        .into_iter()
        .any(|m| m.name == row.name && m.id != row.id);
    if clash {
        return Err(AdminError::Conflict(
            "Protocol mapper exists with same name".into(),
        ));
    }
    admin::clients::update_mapper(change.db(), row).await?;
    let path = format!("clients/{client_id}/protocol-mappers/models/{mapper_id}");
    change.record(Event::new(Op::Update, "PROTOCOL_MAPPER", path).with(representation));
    change.commit().await
}

/// Deletes one of a client's mappers (`manage-clients`).
pub async fn delete_mapper(
    ops: Ops<'_>,
    realm: &str,
    client_id: &str,
    mapper_id: &str,
) -> Result<(), AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ManageClients).await?;
    let mut change = Change::begin(ops.state, ops.caller, realm_row.clone()).await?;
    let client = find_client(change.db(), &realm_row.id, client_id).await?;
    let row = find_mapper(change.db(), &client.id, mapper_id).await?;
    admin::clients::delete_mapper(change.db(), &row.id).await?;
    let path = format!("clients/{client_id}/protocol-mappers/models/{mapper_id}");
    change.record(Event::new(Op::Delete, "PROTOCOL_MAPPER", path));
    change.commit().await
}

/// One client by its internal id (`view-clients`).
pub async fn find(ops: Ops<'_>, realm: &str, id: &str) -> Result<client::Model, AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ViewClients).await?;
    find_client(ops.state.store().connection(), &realm_row.id, id).await
}

/// Keycloak's client search (`GET clients`).
#[derive(Debug, Clone, Default)]
pub struct ClientQuery {
    /// `clientId`: matched whole (case-sensitive) unless `search`.
    pub client_id: Option<String>,
    /// `search`: `client_id` is a part of the `clientId` (any case).
    pub search: bool,
    /// `q`: attribute `key:value` pairs, all of which must hold.
    pub attributes: Vec<(String, String)>,
    pub first: u64,
    pub max: Option<u64>,
}

/// The clients a search found, and whether the caller may see their secrets.
pub struct ClientList {
    pub clients: Vec<client::Model>,
    /// `view-clients` (a caller with only `query-clients` sees no secrets).
    pub secrets_visible: bool,
}

/// The realm's clients matching `query`, by `clientId`, a page of them (`query-clients`).
pub async fn search(
    ops: Ops<'_>,
    realm: &str,
    query: &ClientQuery,
) -> Result<ClientList, AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::QueryClients).await?;
    let db = ops.state.store().connection();
    let matcher = query.client_id.as_ref().map(|c| match query.search {
        true => TextMatch::Contains(c.clone()),
        false => TextMatch::Exact(c.clone()),
    });
    let mut rows = Vec::new();
    for row in admin::clients::list(db, &realm_row.id).await? {
        let id_ok = match &matcher {
            Some(TextMatch::Exact(c)) => row.client_id == *c,
            Some(m) => m.matches(&row.client_id),
            None => true,
        };
        let stored: BTreeMap<String, String> = rep::stored(&row.attributes, "client attributes")?;
        let attributes_ok = query
            .attributes
            .iter()
            .all(|(k, v)| stored.get(k).is_some_and(|s| s == v));
        if id_ok && attributes_ok {
            rows.push(row);
        }
    }
    let page = admin::Page {
        first: query.first,
        max: query.max,
    };
    Ok(ClientList {
        clients: page.slice(rows),
        secrets_visible: ops.caller.can(realm, Right::ViewClients),
    })
}

/// The service-account user of a client (`view-clients`); a client without service accounts
/// is a bad request.
pub async fn service_account_user(
    ops: Ops<'_>,
    realm: &str,
    id: &str,
) -> Result<user_entity::Model, AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ViewClients).await?;
    let db = ops.state.store().connection();
    let row = find_client(db, &realm_row.id, id).await?;
    if !row.service_accounts_enabled {
        return Err(AdminError::BadRequest(format!(
            "Service account not enabled for the client '{}'",
            row.client_id
        )));
    }
    admin::clients::service_account(db, &row.id)
        .await?
        .ok_or_else(|| AdminError::not_found("Service account user not found"))
}

/// One of a client's mappers (`view-clients`).
pub async fn mapper(
    ops: Ops<'_>,
    realm: &str,
    id: &str,
    mapper_id: &str,
) -> Result<protocol_mapper::Model, AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ViewClients).await?;
    let db = ops.state.store().connection();
    let client = find_client(db, &realm_row.id, id).await?;
    find_mapper(db, &client.id, mapper_id).await
}

/// One page of the realm's clients of `protocol` (`query-clients`): those whose `clientId`
/// contains `query` (all for an empty one), by `clientId`, after `after`, at most `limit`.
pub async fn page(
    ops: Ops<'_>,
    realm: &str,
    protocol: &str,
    query: &str,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<client::Model>, AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::QueryClients).await?;
    let query = query.trim();
    let search = (!query.is_empty()).then(|| TextMatch::Contains(query.to_string()));
    let db = ops.state.store().connection();
    Ok(
        admin::clients::page_after(db, &realm_row.id, protocol, search.as_ref(), after, limit)
            .await?,
    )
}

/// A partial update of a client (`manage-clients`): the given fields replace the stored ones,
/// `extras` merge into the stored extras (a null removes one). A `clientId` another client has
/// is a conflict; a client made confidential gets a secret, one given service accounts its
/// service-account user.
pub async fn update(
    ops: Ops<'_>,
    realm: &str,
    id: &str,
    fields: ClientFields,
    extras: Map<String, Value>,
    representation: Value,
) -> Result<(), AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ManageClients).await?;
    fields.check_protocol(ops.protocols)?;
    let mut change = Change::begin(ops.state, ops.caller, realm_row.clone()).await?;
    let mut row = find_client(change.db(), &realm_row.id, id).await?;
    if let Some(client_id) = fields.client_id.as_ref().filter(|c| **c != row.client_id) {
        if client_id.trim().is_empty() {
            return Err(AdminError::BadRequest("Client id is required".into()));
        }
        let taken =
            admin::clients::find_by_client_id(change.db(), &realm_row.id, client_id).await?;
        if taken.is_some() {
            return Err(AdminError::Conflict(format!(
                "Client {client_id} already exists"
            )));
        }
    }
    fields.apply(&mut row)?;
    if !row.public_client && row.secret.is_none() {
        row.secret = Some(admin::clients::new_secret()?);
    }
    let exists = AdminError::Conflict(format!("Client {} already exists", row.client_id));
    admin::clients::update(change.db(), row.clone())
        .await
        .map_err(conflict_on_duplicate(exists))?;
    if row.service_accounts_enabled {
        ensure_service_account(change.db(), &row, ops.state.now()).await?;
    }
    let stored = admin::extras::get(change.db(), id).await?;
    let extras = rep::merge_extras(stored, &extras);
    admin::extras::set(change.db(), &realm_row.id, id, &extras).await?;
    change.record(Event::new(Op::Update, "CLIENT", format!("clients/{id}")).with(representation));
    change.commit().await
}

/// Gives a confidential client a new secret (`manage-clients`) and returns it; the old one
/// stops working at once. Public clients have none.
pub async fn regenerate_secret(ops: Ops<'_>, realm: &str, id: &str) -> Result<String, AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ManageClients).await?;
    let mut change = Change::begin(ops.state, ops.caller, realm_row.clone()).await?;
    let mut row = find_client(change.db(), &realm_row.id, id).await?;
    if row.public_client {
        return Err(AdminError::BadRequest(
            "Public clients have no secret".into(),
        ));
    }
    let secret = admin::clients::new_secret()?;
    row.secret = Some(secret.clone());
    admin::clients::update(change.db(), row).await?;
    let path = format!("clients/{id}/client-secret");
    change.record(Event::new(Op::Action, "CLIENT", path));
    change.commit().await?;
    Ok(secret)
}

/// Keycloak's client `push-revocation` (`manage-clients`): sends the client's `notBefore` to
/// its management URL (`adminUrl`). It does not move `notBefore` (an update of the client
/// does; tokens issued to it before then are refused at once, on every instance). This server
/// does not call clients back, so a client with a management URL is reported as failed.
/// Returns the management URLs that were not reached.
pub async fn push_revocation(
    ops: Ops<'_>,
    realm: &str,
    id: &str,
) -> Result<Vec<String>, AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ManageClients).await?;
    let db = ops.state.store().connection();
    find_client(db, &realm_row.id, id).await?;
    let extras = admin::extras::get(db, id).await?;
    let failed: Vec<String> = extras
        .get("adminUrl")
        .and_then(Value::as_str)
        .filter(|u| !u.trim().is_empty())
        .map(str::to_string)
        .into_iter()
        .collect();
    let mut change = Change::begin(ops.state, ops.caller, realm_row.clone()).await?;
    let path = format!("clients/{id}/push-revocation");
    change.record(Event::new(Op::Action, "CLIENT", path));
    change.commit().await?;
    Ok(failed)
}

/// Deletes a client (`manage-clients`) with its roles, mappers and service-account user; the
/// rights check in [`Change`] refuses it when that takes away admin rights the caller lacks.
pub async fn delete(ops: Ops<'_>, realm: &str, id: &str) -> Result<(), AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ManageClients).await?;
    let mut change = Change::begin(ops.state, ops.caller, realm_row.clone()).await?;
    find_client(change.db(), &realm_row.id, id).await?;
    admin::clients::delete(change.db(), id).await?;
    admin::extras::delete(change.db(), id).await?;
    change.record(Event::new(Op::Delete, "CLIENT", format!("clients/{id}")));
    change.commit().await
}

/// A client's mappers (`view-clients`), by name; only those of `protocol` when given.
pub async fn mappers(
    ops: Ops<'_>,
    realm: &str,
    id: &str,
    protocol: Option<&str>,
) -> Result<Vec<protocol_mapper::Model>, AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ViewClients).await?;
    let db = ops.state.store().connection();
    let client = find_client(db, &realm_row.id, id).await?;
    let mut mappers = admin::clients::mappers(db, &client.id).await?;
    mappers.retain(|m| protocol.is_none_or(|p| m.protocol == p));
    Ok(mappers)
}

/// One page of a client's roles (`view-clients`), by name, after `after`, at most `limit`.
pub async fn roles(
    ops: Ops<'_>,
    realm: &str,
    id: &str,
    after: Option<&str>,
    limit: u64,
) -> Result<Vec<role::Model>, AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ViewClients).await?;
    let db = ops.state.store().connection();
    let client = find_client(db, &realm_row.id, id).await?;
    Ok(admin::clients::roles_after(db, &client.id, after, limit).await?)
}

/// Keycloak names a client's service-account user `service-account-<clientId>`.
const SERVICE_ACCOUNT_PREFIX: &str = "service-account-";

/// Rejects a mapper the client's protocol cannot use: an access rule (docker-v2) must parse
/// and must belong to a client of its protocol; the protocols judge ([`Protocols`]).
pub fn validate_mapper(
    protocols: &Protocols,
    client_protocol: &str,
    mapper: &ProtocolMapper,
) -> Result<(), AdminError> {
    if mapper.mapper_type.trim().is_empty() {
        return Err(AdminError::BadRequest(
            "Protocol mapper type (protocolMapper) is required".into(),
        ));
    }
    let strict = protocols.checks_mappers_strictly(client_protocol);
    if !strict && !protocols.checks_mappers_strictly(&mapper.protocol) {
        return Ok(());
    }
    if mapper.protocol != client_protocol {
        return Err(AdminError::BadRequest(format!(
            "Protocol mapper '{}' is for {}, but the client speaks {client_protocol}",
            mapper.name, mapper.protocol
        )));
    }
    let problems = protocols
        .find(client_protocol)
        .map(|p| p.mapper_problems(mapper))
        .unwrap_or_default();
    if problems.is_empty() {
        return Ok(());
    }
    Err(AdminError::BadRequest(format!(
        "Invalid {client_protocol} mapper '{}': {}",
        mapper.name,
        problems.join("; ")
    )))
}

/// A mapper row from a body, validated against the client.
pub fn mapper_row(
    protocols: &Protocols,
    fields: &MapperFields,
    client: &client::Model,
    id: String,
) -> Result<protocol_mapper::Model, AdminError> {
    let mapper_type = fields.mapper_type.clone().unwrap_or_default();
    let row = protocol_mapper::Model {
        id,
        client_pk: client.id.clone(),
        name: fields.name.clone().unwrap_or_else(|| mapper_type.clone()),
        protocol: fields
            .protocol
            .clone()
            .unwrap_or_else(|| client.protocol.clone()),
        mapper_type,
        config: rep::to_column(&fields.config.clone().unwrap_or_default())?,
    };
    validate_mapper(protocols, &client.protocol, &MapperFields::to_domain(&row)?)?;
    Ok(row)
}

/// Creates the client's service-account user if it has none.
pub async fn ensure_service_account<C: Db>(
    db: &C,
    client: &client::Model,
    now: i64,
) -> Result<(), AdminError> {
    if admin::clients::service_account(db, &client.id)
        .await?
        .is_some()
    {
        return Ok(());
    }
    let username = format!("{SERVICE_ACCOUNT_PREFIX}{}", client.client_id).to_lowercase();
    if admin::users::find_by_username(db, &client.realm_id, &username)
        .await?
        .is_some()
    {
        return Err(AdminError::Conflict(
            "User exists with same username".into(),
        ));
    }
    let user = user_entity::Model {
        id: admin::new_id(),
        realm_id: client.realm_id.clone(),
        username,
        email: None,
        email_verified: false,
        first_name: None,
        last_name: None,
        enabled: true,
        attributes: "{}".into(),
        created_at: now,
        service_account_client_pk: Some(client.id.clone()),
        not_before: 0,
        required_actions: "[]".into(),
    };
    let user_id = user.id.clone();
    admin::users::insert(db, user).await?;
    admin::users::grant_default_role(db, &client.realm_id, &user_id).await?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use portcullis_core::model::Client;
    use portcullis_web::AppState;
    use portcullis_web::{AccessRule, MapperType, Protocol};

    /// A protocol with access rules that accepts only mappers of type `rule`.
    struct Rules;

    impl Protocol for Rules {
        fn name(&self) -> &'static str {
            "rules"
        }
        fn routes(&self, _mount: &portcullis_web::Mount) -> axum::Router<AppState> {
            axum::Router::new()
        }
        fn mapper_types(&self) -> Vec<MapperType> {
            Vec::new()
        }
        fn mapper_problems(&self, mapper: &ProtocolMapper) -> Vec<String> {
            match mapper.mapper_type.as_str() {
                "rule" => Vec::new(),
                other => vec![format!("unknown type {other}")],
            }
        }
        fn access_rules(&self, _client: &Client) -> Option<Vec<AccessRule>> {
            Some(Vec::new())
        }
    }

    /// A protocol that keeps whatever mappers it is given.
    struct Lenient;

    impl Protocol for Lenient {
        fn name(&self) -> &'static str {
            "lenient"
        }
        fn routes(&self, _mount: &portcullis_web::Mount) -> axum::Router<AppState> {
            axum::Router::new()
        }
        fn mapper_types(&self) -> Vec<MapperType> {
            Vec::new()
        }
    }

    fn mapper(protocol: &str, mapper_type: &str) -> ProtocolMapper {
        ProtocolMapper {
            id: "m".into(),
            name: "rule".into(),
            protocol: protocol.into(),
            mapper_type: mapper_type.into(),
            config: Default::default(),
        }
    }

    #[test]
    fn protocols_with_access_rules_judge_their_mappers() {
        let protocols = Protocols::new(vec![Box::new(Rules), Box::new(Lenient)]);
        let rows = [
            ("rules", mapper("rules", "rule"), true),
            ("rules", mapper("rules", "other"), false),
            ("rules", mapper("lenient", "anything"), false),
            ("lenient", mapper("rules", "rule"), false),
            ("lenient", mapper("lenient", "anything"), true),
            ("lenient", mapper("lenient", " "), false),
            ("rules", mapper("rules", ""), false),
        ];
        for (client, m, valid) in rows {
            assert_eq!(
                validate_mapper(&protocols, client, &m).is_ok(),
                valid,
                "{client} {} {}",
                m.protocol,
                m.mapper_type
            );
        }
    }
}
