//! A realm's upstream identity providers and their mappers: list, find, create, update
//! (a new alias included: users' links follow it), delete. Reading needs
//! `view-identity-providers`, changing `manage-identity-providers` (Keycloak's rights; both
//! inside `realm-admin`).
//!
//! A mapper hands out roles and groups at every upstream login, so configuring one needs the
//! admin rights those roles and groups carry. Deleting a mapper or a provider removes the
//! memberships only it asserted: nothing asserts them any more.

use std::collections::BTreeSet;

use portcullis_core::broker::mappers::MapperRule;
use portcullis_core::broker::settings::CLIENT_SECRET;
use portcullis_store::admin::{self, TextMatch, identity_providers as idp};
use portcullis_store::entity::{identity_provider, identity_provider_mapper};
use portcullis_store::representation::{
    IdentityProviderMapperRepresentation, IdentityProviderRepresentation,
};
use serde_json::{Map, Value, json};

use super::Ops;
use super::lookup::{Db, conflict_on_duplicate};
use crate::auth::Right;
use crate::context::{Change, Event, Op, target_realm};
use crate::error::AdminError;
use crate::rep;

const PROVIDER: &str = "IDENTITY_PROVIDER";
const MAPPER: &str = "IDENTITY_PROVIDER_MAPPER";

fn provider_path(alias: &str) -> String {
    format!("identity-provider/instances/{alias}")
}

fn mapper_path(alias: &str, id: &str) -> String {
    format!("identity-provider/instances/{alias}/mappers/{id}")
}

fn invalid(problems: Vec<String>) -> AdminError {
    AdminError::BadRequest(problems.join("; "))
}

async fn find_provider<C: Db>(
    db: &C,
    realm_id: &str,
    alias: &str,
) -> Result<identity_provider::Model, AdminError> {
    idp::find(db, realm_id, alias)
        .await?
        .ok_or_else(|| AdminError::not_found("Could not find identity provider"))
}

async fn find_mapper<C: Db>(
    db: &C,
    provider_id: &str,
    id: &str,
) -> Result<identity_provider_mapper::Model, AdminError> {
    idp::mapper(db, provider_id, id)
        .await?
        .ok_or_else(|| AdminError::not_found("Model not found"))
}

/// Keycloak's provider search (`GET instances`).
#[derive(Debug, Clone, Default)]
pub struct ProviderQuery {
    /// `search`: Keycloak's grammar over the alias (prefix, `*` wildcard, `"exact"`).
    pub search: Option<String>,
    pub first: u64,
    pub max: Option<u64>,
}

/// The realm's providers matching `query`, by alias (`view-identity-providers`).
pub async fn list(
    ops: Ops<'_>,
    realm: &str,
    query: &ProviderQuery,
) -> Result<Vec<identity_provider::Model>, AdminError> {
    let realm_row =
        target_realm(ops.state, ops.caller, realm, Right::ViewIdentityProviders).await?;
    let db = ops.state.store().connection();
    let matcher = query
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(TextMatch::keycloak_search);
    let rows: Vec<_> = idp::list(db, &realm_row.id)
        .await?
        .into_iter()
        .filter(|p| matcher.as_ref().is_none_or(|m| m.matches(&p.alias)))
        .collect();
    let page = admin::Page {
        first: query.first,
        max: query.max,
    };
    Ok(page.slice(rows))
}

/// One provider by alias (or internal id), with the representation fields kept for it
/// (`view-identity-providers`).
pub async fn find(
    ops: Ops<'_>,
    realm: &str,
    alias: &str,
) -> Result<(identity_provider::Model, Map<String, Value>), AdminError> {
    let realm_row =
        target_realm(ops.state, ops.caller, realm, Right::ViewIdentityProviders).await?;
    let db = ops.state.store().connection();
    let row = find_provider(db, &realm_row.id, alias).await?;
    let extras = admin::extras::get(db, &row.id).await?;
    Ok((row, extras))
}

/// Creates a provider (`manage-identity-providers`); returns its alias. A taken alias is a
/// conflict; every problem with the config is one 400.
pub async fn create(
    ops: Ops<'_>,
    realm: &str,
    provider: &IdentityProviderRepresentation,
    extras: &Map<String, Value>,
    representation: Value,
) -> Result<String, AdminError> {
    let realm_row =
        target_realm(ops.state, ops.caller, realm, Right::ManageIdentityProviders).await?;
    let fields = provider.fields(None).map_err(invalid)?;
    let alias = fields.alias.clone();
    let mut change = Change::begin(ops.state, ops.caller, realm_row.clone()).await?;
    let exists = || AdminError::Conflict(format!("Identity Provider {alias} already exists"));
    if idp::find(change.db(), &realm_row.id, &alias)
        .await?
        .is_some()
    {
        return Err(exists());
    }
    let id = match rep::text(&provider.internal_id) {
        Some(id) => {
            super::lookup::check_id(&id)?;
            id
        }
        None => admin::new_id(),
    };
    let row = fields.into_row(id.clone(), &realm_row.id, ops.state.now())?;
    idp::insert(change.db(), row)
        .await
        .map_err(conflict_on_duplicate(exists()))?;
    admin::extras::set(change.db(), &realm_row.id, &id, extras).await?;
    change.record(Event::new(Op::Create, PROVIDER, provider_path(&alias)).with(representation));
    change.commit().await?;
    Ok(alias)
}

/// Replaces a provider's settings (`manage-identity-providers`), as Keycloak's PUT does:
/// absent flags take their defaults, a `clientSecret` of `**********` keeps the stored
/// secret. A new alias renames it (users' links follow); a taken one is a conflict.
pub async fn update(
    ops: Ops<'_>,
    realm: &str,
    alias: &str,
    provider: &IdentityProviderRepresentation,
    extras: &Map<String, Value>,
    representation: Value,
) -> Result<(), AdminError> {
    let realm_row =
        target_realm(ops.state, ops.caller, realm, Right::ManageIdentityProviders).await?;
    let mut change = Change::begin(ops.state, ops.caller, realm_row.clone()).await?;
    let current = find_provider(change.db(), &realm_row.id, alias).await?;
    let stored: std::collections::BTreeMap<String, String> =
        rep::stored(&current.config, "identity provider config")?;
    let mut body = provider.clone();
    if rep::text(&body.alias).is_none() {
        body.alias = Some(current.alias.clone());
    }
    let fields = body
        .fields(stored.get(CLIENT_SECRET).map(String::as_str))
        .map_err(invalid)?;
    let new_alias = fields.alias.clone();
    let exists = || AdminError::Conflict(format!("Identity Provider {new_alias} already exists"));
    if new_alias != current.alias {
        if idp::find(change.db(), &realm_row.id, &new_alias)
            .await?
            .is_some_and(|other| other.id != current.id)
        {
            return Err(exists());
        }
        idp::rename_links(change.db(), &realm_row.id, &current.alias, &new_alias).await?;
    }
    let row = fields.into_row(current.id.clone(), &realm_row.id, current.created_at)?;
    idp::update(change.db(), row)
        .await
        .map_err(conflict_on_duplicate(exists()))?;
    let kept = admin::extras::get(change.db(), &current.id).await?;
    admin::extras::set(
        change.db(),
        &realm_row.id,
        &current.id,
        &rep::merge_extras(kept, extras),
    )
    .await?;
    change.record(
        Event::new(Op::Update, PROVIDER, provider_path(&current.alias)).with(representation),
    );
    change.commit().await
}

/// Deletes a provider (`manage-identity-providers`) with its mappers, the memberships only
/// they asserted, and every user's link to it.
pub async fn delete(ops: Ops<'_>, realm: &str, alias: &str) -> Result<(), AdminError> {
    let realm_row =
        target_realm(ops.state, ops.caller, realm, Right::ManageIdentityProviders).await?;
    let mut change = Change::begin(ops.state, ops.caller, realm_row.clone()).await?;
    let row = find_provider(change.db(), &realm_row.id, alias).await?;
    let mapper_ids: Vec<String> = idp::mappers(change.db(), &row.id)
        .await?
        .into_iter()
        .map(|m| m.id)
        .collect();
    let mut users = BTreeSet::new();
    let removed = idp::remove_asserted_memberships(change.db(), &mapper_ids, &mut users).await?;
    idp::delete(change.db(), &row).await?;
    admin::extras::delete(change.db(), &row.id).await?;
    for user in &users {
        change.user_changed(user);
    }
    change.record(
        Event::new(Op::Delete, PROVIDER, provider_path(&row.alias)).with(json!({
            "removedGroupMemberships": removed.groups,
            "removedRoleMappings": removed.roles,
        })),
    );
    change.commit().await
}

/// A provider and its mappers, by name (`view-identity-providers`).
pub async fn mappers(
    ops: Ops<'_>,
    realm: &str,
    alias: &str,
) -> Result<
    (
        identity_provider::Model,
        Vec<identity_provider_mapper::Model>,
    ),
    AdminError,
> {
    let realm_row =
        target_realm(ops.state, ops.caller, realm, Right::ViewIdentityProviders).await?;
    let db = ops.state.store().connection();
    let provider = find_provider(db, &realm_row.id, alias).await?;
    let mappers = idp::mappers(db, &provider.id).await?;
    Ok((provider, mappers))
}

/// One of a provider's mappers (`view-identity-providers`).
pub async fn mapper(
    ops: Ops<'_>,
    realm: &str,
    alias: &str,
    id: &str,
) -> Result<(identity_provider::Model, identity_provider_mapper::Model), AdminError> {
    let realm_row =
        target_realm(ops.state, ops.caller, realm, Right::ViewIdentityProviders).await?;
    let db = ops.state.store().connection();
    let provider = find_provider(db, &realm_row.id, alias).await?;
    let mapper = find_mapper(db, &provider.id, id).await?;
    Ok((provider, mapper))
}

/// A role as mappers name it (`name`, or `clientId.name`), read in the change's
/// transaction; a realm role wins over a client role of the same spelling.
async fn role_named<C: Db>(
    db: &C,
    realm_id: &str,
    name: &str,
) -> Result<Option<String>, AdminError> {
    if let Some(role) = admin::roles::by_name(db, realm_id, None, name).await? {
        return Ok(Some(role.id));
    }
    for (i, _) in name.match_indices('.') {
        let (client_id, role) = (&name[..i], &name[i + 1..]);
        let Some(client) = admin::clients::find_by_client_id(db, realm_id, client_id).await? else {
            continue;
        };
        if let Some(role) = admin::roles::by_name(db, realm_id, Some(&client.id), role).await? {
            return Ok(Some(role.id));
        }
    }
    Ok(None)
}

/// The roles and groups (ids) a mapper rule can hand out, read in the change's transaction;
/// a role or group it names that does not exist is a 400.
pub async fn reach<C: Db>(
    db: &C,
    realm_id: &str,
    rule: &MapperRule,
) -> Result<(Vec<String>, Vec<String>), AdminError> {
    let groups_by_path = || async {
        let groups = admin::groups::all(db, realm_id).await?;
        Ok::<_, AdminError>(
            admin::groups::paths(&groups)
                .into_iter()
                .map(|(id, path)| (path, id))
                .collect::<std::collections::BTreeMap<String, String>>(),
        )
    };
    let normalized = |path: &str| format!("/{}", path.trim().trim_matches('/'));
    match rule {
        MapperRule::HardcodedRole { role } | MapperRule::ClaimToRole { role, .. } => {
            match role_named(db, realm_id, role).await? {
                Some(id) => Ok((vec![id], Vec::new())),
                None => Err(AdminError::BadRequest(format!(
                    "role '{role}' does not exist"
                ))),
            }
        }
        MapperRule::HardcodedGroup { group } => {
            match groups_by_path().await?.get(&normalized(group)) {
                Some(id) => Ok((Vec::new(), vec![id.clone()])),
                None => Err(AdminError::BadRequest(format!(
                    "group '{group}' does not exist"
                ))),
            }
        }
        MapperRule::UpstreamGroups { parent, .. } => {
            let paths = groups_by_path().await?;
            if !parent.is_empty() && !paths.contains_key(parent) {
                return Err(AdminError::BadRequest(format!(
                    "group '{parent}' does not exist"
                )));
            }
            let prefix = format!("{parent}/");
            let groups = paths
                .into_iter()
                .filter(|(path, _)| path.starts_with(&prefix))
                .map(|(_, id)| id)
                .collect();
            Ok((Vec::new(), groups))
        }
        MapperRule::ClaimToAttribute { .. } => Ok((Vec::new(), Vec::new())),
    }
}

/// The mapper a body describes, for `provider`: its fields checked, what it names existing,
/// and the caller allowed to hand out what it reaches.
async fn checked_mapper(
    change: &Change<'_>,
    provider: &identity_provider::Model,
    body: &IdentityProviderMapperRepresentation,
) -> Result<portcullis_store::representation::identity_provider::MapperFields, AdminError> {
    if let Some(other) = rep::text(&body.identity_provider_alias)
        && other != provider.alias
    {
        return Err(AdminError::BadRequest(format!(
            "The mapper's identityProviderAlias '{other}' is not '{}'",
            provider.alias
        )));
    }
    let fields = body.fields().map_err(invalid)?;
    let (roles, groups) = reach(change.db(), &provider.realm_id, &fields.rule).await?;
    change.require_may_hand_out(&roles, &groups)?;
    Ok(fields)
}

/// Adds a mapper to a provider (`manage-identity-providers`); returns its id. A name the
/// provider's other mappers have is a conflict.
pub async fn create_mapper(
    ops: Ops<'_>,
    realm: &str,
    alias: &str,
    body: &IdentityProviderMapperRepresentation,
    representation: Value,
) -> Result<String, AdminError> {
    let realm_row =
        target_realm(ops.state, ops.caller, realm, Right::ManageIdentityProviders).await?;
    let mut change = Change::begin(ops.state, ops.caller, realm_row.clone()).await?;
    let provider = find_provider(change.db(), &realm_row.id, alias).await?;
    let fields = checked_mapper(&change, &provider, body).await?;
    let clash = || {
        AdminError::Conflict(format!(
            "Identity Provider Mapper {} already exists",
            fields.name
        ))
    };
    let taken = idp::mappers(change.db(), &provider.id)
        .await?
        .iter()
        .any(|m| m.name == fields.name);
    if taken {
        return Err(clash());
    }
    let id = match rep::text(&body.id) {
        Some(id) => {
            super::lookup::check_id(&id)?;
            id
        }
        None => admin::new_id(),
    };
    let conflict = clash();
    let row = fields.into_row(id.clone(), &realm_row.id, &provider.id)?;
    idp::insert_mapper(change.db(), row)
        .await
        .map_err(conflict_on_duplicate(conflict))?;
    change.record(
        Event::new(Op::Create, MAPPER, mapper_path(&provider.alias, &id)).with(representation),
    );
    change.commit().await?;
    Ok(id)
}

/// Replaces a mapper (`manage-identity-providers`); its memberships are reconciled with the
/// new rule at each user's next login.
pub async fn update_mapper(
    ops: Ops<'_>,
    realm: &str,
    alias: &str,
    id: &str,
    body: &IdentityProviderMapperRepresentation,
    representation: Value,
) -> Result<(), AdminError> {
    let realm_row =
        target_realm(ops.state, ops.caller, realm, Right::ManageIdentityProviders).await?;
    let mut change = Change::begin(ops.state, ops.caller, realm_row.clone()).await?;
    let provider = find_provider(change.db(), &realm_row.id, alias).await?;
    let current = find_mapper(change.db(), &provider.id, id).await?;
    // A body without a name keeps the mapper's.
    let named = match rep::text(&body.name) {
        Some(_) => body.clone(),
        None => IdentityProviderMapperRepresentation {
            name: Some(current.name.clone()),
            ..body.clone()
        },
    };
    let fields = checked_mapper(&change, &provider, &named).await?;
    let clash = || {
        AdminError::Conflict(format!(
            "Identity Provider Mapper {} already exists",
            fields.name
        ))
    };
    let taken = idp::mappers(change.db(), &provider.id)
        .await?
        .iter()
        .any(|m| m.name == fields.name && m.id != current.id);
    if taken {
        return Err(clash());
    }
    let conflict = clash();
    let row = fields.into_row(current.id.clone(), &realm_row.id, &provider.id)?;
    idp::update_mapper(change.db(), row)
        .await
        .map_err(conflict_on_duplicate(conflict))?;
    change.record(
        Event::new(Op::Update, MAPPER, mapper_path(&provider.alias, id)).with(representation),
    );
    change.commit().await
}

/// Deletes a mapper (`manage-identity-providers`) and the memberships only it asserted.
pub async fn delete_mapper(
    ops: Ops<'_>,
    realm: &str,
    alias: &str,
    id: &str,
) -> Result<(), AdminError> {
    let realm_row =
        target_realm(ops.state, ops.caller, realm, Right::ManageIdentityProviders).await?;
    let mut change = Change::begin(ops.state, ops.caller, realm_row.clone()).await?;
    let provider = find_provider(change.db(), &realm_row.id, alias).await?;
    let row = find_mapper(change.db(), &provider.id, id).await?;
    let mut users = BTreeSet::new();
    let removed =
        idp::remove_asserted_memberships(change.db(), std::slice::from_ref(&row.id), &mut users)
            .await?;
    idp::delete_mapper(change.db(), &row.id).await?;
    for user in &users {
        change.user_changed(user);
    }
    change.record(
        Event::new(Op::Delete, MAPPER, mapper_path(&provider.alias, id)).with(json!({
            "removedGroupMemberships": removed.groups,
            "removedRoleMappings": removed.roles,
        })),
    );
    change.commit().await
}

/// The provider exists and the caller may see it (`view-identity-providers`): for
/// `mapper-types`, which lists the same types for every provider.
pub async fn require_visible(ops: Ops<'_>, realm: &str, alias: &str) -> Result<(), AdminError> {
    find(ops, realm, alias).await.map(|_| ())
}
