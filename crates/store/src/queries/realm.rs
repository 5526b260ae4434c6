//! Realm-level reads: the rows of a realm and the [`RealmSnapshot`] built from them.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use portcullis_core::keys::{Algorithm, KeyMaterial, SigningKey};
use portcullis_core::model::{
    BruteForcePolicy, Client, FirstLoginPolicy, Group, IdentityProvider, IdentityProviderMapper,
    ProtocolMapper, Realm, RealmSnapshot, Role,
};
use portcullis_core::password::PasswordPolicy;
use sea_orm::sea_query::Query;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::from_json;
use crate::entity::{
    client, client_scope, composite_role, group_role, identity_provider, identity_provider_mapper,
    protocol_mapper, realm, realm_group, realm_key, role,
};
use crate::error::StoreError;

/// Every row of a realm except users, as stored.
pub(crate) struct RealmRows {
    pub realm: realm::Model,
    pub roles: Vec<role::Model>,
    pub clients: Vec<client::Model>,
    pub mappers: Vec<protocol_mapper::Model>,
    /// By name.
    pub client_scopes: Vec<client_scope::Model>,
    pub composites: Vec<composite_role::Model>,
    pub groups: Vec<realm_group::Model>,
    pub group_roles: Vec<group_role::Model>,
    /// Enabled and disabled, highest priority first.
    pub keys: Vec<realm_key::Model>,
    /// By alias.
    pub identity_providers: Vec<identity_provider::Model>,
    /// By name.
    pub identity_provider_mappers: Vec<identity_provider_mapper::Model>,
    /// Registered required actions.
    pub required_actions: Vec<portcullis_core::required_action::RequiredAction>,
    /// The realm representation's fields kept as written (events settings among them).
    pub extras: serde_json::Map<String, serde_json::Value>,
    /// The stored user profile (`UPConfig` JSON); `None` for Keycloak's default.
    pub user_profile: Option<String>,
}

pub(crate) async fn realm_by_name<C: ConnectionTrait>(
    db: &C,
    name: &str,
) -> Result<Option<realm::Model>, StoreError> {
    Ok(realm::Entity::find()
        .filter(realm::Column::Name.eq(name))
        .one(db)
        .await?)
}

pub(crate) async fn realm_names<C: ConnectionTrait>(db: &C) -> Result<Vec<String>, StoreError> {
    Ok(realm::Entity::find()
        .select_only()
        .column(realm::Column::Name)
        .order_by_asc(realm::Column::Name)
        .into_tuple()
        .all(db)
        .await?)
}

/// Deletes a realm; the foreign keys' `ON DELETE CASCADE` removes everything in it.
pub(crate) async fn delete_realm<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
) -> Result<(), StoreError> {
    realm::Entity::delete_by_id(realm_id.to_string())
        .exec(db)
        .await?;
    Ok(())
}

pub(crate) async fn load_rows<C: ConnectionTrait>(
    db: &C,
    name: &str,
) -> Result<Option<RealmRows>, StoreError> {
    let Some(realm) = realm_by_name(db, name).await? else {
        return Ok(None);
    };
    let id = realm.id.clone();
    let role_ids = Query::select()
        .column(role::Column::Id)
        .from(role::Entity)
        .and_where(role::Column::RealmId.eq(&id))
        .to_owned();
    let client_ids = Query::select()
        .column(client::Column::Id)
        .from(client::Entity)
        .and_where(client::Column::RealmId.eq(&id))
        .to_owned();
    let group_ids = Query::select()
        .column(realm_group::Column::Id)
        .from(realm_group::Entity)
        .and_where(realm_group::Column::RealmId.eq(&id))
        .to_owned();
    Ok(Some(RealmRows {
        roles: role::Entity::find()
            .filter(role::Column::RealmId.eq(&id))
            .order_by_asc(role::Column::Name)
            .order_by_asc(role::Column::Id)
            .all(db)
            .await?,
        clients: client::Entity::find()
            .filter(client::Column::RealmId.eq(&id))
            .order_by_asc(client::Column::ClientId)
            .all(db)
            .await?,
        mappers: protocol_mapper::Entity::find()
            .filter(protocol_mapper::Column::ClientPk.in_subquery(client_ids))
            .order_by_asc(protocol_mapper::Column::Name)
            .order_by_asc(protocol_mapper::Column::Id)
            .all(db)
            .await?,
        client_scopes: client_scope::Entity::find()
            .filter(client_scope::Column::RealmId.eq(&id))
            .order_by_asc(client_scope::Column::Name)
            .all(db)
            .await?,
        composites: composite_role::Entity::find()
            .filter(composite_role::Column::CompositeId.in_subquery(role_ids))
            .all(db)
            .await?,
        groups: realm_group::Entity::find()
            .filter(realm_group::Column::RealmId.eq(&id))
            .order_by_asc(realm_group::Column::Name)
            .order_by_asc(realm_group::Column::Id)
            .all(db)
            .await?,
        group_roles: group_role::Entity::find()
            .filter(group_role::Column::GroupId.in_subquery(group_ids))
            .all(db)
            .await?,
        keys: realm_key::Entity::find()
            .filter(realm_key::Column::RealmId.eq(&id))
            .order_by_desc(realm_key::Column::Priority)
            .order_by_desc(realm_key::Column::CreatedAt)
            .order_by_asc(realm_key::Column::Id)
            .all(db)
            .await?,
        identity_providers: identity_provider::Entity::find()
            .filter(identity_provider::Column::RealmId.eq(&id))
            .order_by_asc(identity_provider::Column::Alias)
            .all(db)
            .await?,
        identity_provider_mappers: identity_provider_mapper::Entity::find()
            .filter(identity_provider_mapper::Column::RealmId.eq(&id))
            .order_by_asc(identity_provider_mapper::Column::Name)
            .order_by_asc(identity_provider_mapper::Column::Id)
            .all(db)
            .await?,
        required_actions: crate::admin::realm_settings::required_actions(db, &id).await?,
        extras: crate::admin::extras::get(db, &id).await?,
        user_profile: crate::admin::user_profile::get(db, &id).await?,
        realm,
    }))
}

/// Group id -> `/a/b` path. A parent cycle (corrupt data) ends the walk instead of looping.
pub(crate) fn group_paths(groups: &[realm_group::Model]) -> HashMap<String, String> {
    let by_id: HashMap<&str, &realm_group::Model> =
        groups.iter().map(|g| (g.id.as_str(), g)).collect();
    groups
        .iter()
        .map(|group| {
            let mut names = vec![group.name.as_str()];
            let mut next = group.parent_id.as_deref();
            while let Some(parent) = next.and_then(|id| by_id.get(id)) {
                if names.len() > groups.len() {
                    break;
                }
                names.push(parent.name.as_str());
                next = parent.parent_id.as_deref();
            }
            names.reverse();
            (group.id.clone(), format!("/{}", names.join("/")))
        })
        .collect()
}

impl RealmRows {
    /// The realm as request handlers see it: no users, enabled keys parsed.
    pub(crate) fn into_snapshot(self) -> Result<RealmSnapshot, StoreError> {
        let mut realm = domain_realm(&self.realm)?;
        realm.identity_providers =
            domain_identity_providers(&self.identity_providers, &self.identity_provider_mappers)?;
        realm.disabled_required_actions = self
            .required_actions
            .iter()
            .filter(|a| !a.enabled)
            .map(|a| a.alias.clone())
            .collect();
        let events =
            crate::admin::realm_settings::EventsConfig::of_realm(&self.realm, &self.extras);
        realm.events_enabled = events.events_enabled;
        realm.enabled_event_types = events.enabled_event_types;
        Ok(RealmSnapshot {
            realm,
            roles: domain_roles(&self.roles, &self.clients, &self.composites),
            groups: domain_groups(&self.groups, &self.group_roles),
            clients: domain_clients(&self.clients, &self.mappers)?,
            client_scopes: self
                .client_scopes
                .iter()
                .map(crate::client_scopes::from_row)
                .collect::<Result<_, _>>()?,
            keys: signing_keys(&self.keys, &self.realm.name)?,
        })
    }
}

/// A realm's roles (with the `clientId` owning each client role and their composites) and its
/// groups (with paths and role mappings): what decides a subject's roles.
pub(crate) async fn load_role_graph<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
) -> Result<(Vec<Role>, Vec<Group>), StoreError> {
    let role_ids = Query::select()
        .column(role::Column::Id)
        .from(role::Entity)
        .and_where(role::Column::RealmId.eq(realm_id))
        .to_owned();
    let group_ids = Query::select()
        .column(realm_group::Column::Id)
        .from(realm_group::Entity)
        .and_where(realm_group::Column::RealmId.eq(realm_id))
        .to_owned();
    let roles = role::Entity::find()
        .filter(role::Column::RealmId.eq(realm_id))
        .all(db)
        .await?;
    let clients = client::Entity::find()
        .filter(client::Column::RealmId.eq(realm_id))
        .all(db)
        .await?;
    let composites = composite_role::Entity::find()
        .filter(composite_role::Column::CompositeId.in_subquery(role_ids))
        .all(db)
        .await?;
    let groups = realm_group::Entity::find()
        .filter(realm_group::Column::RealmId.eq(realm_id))
        .all(db)
        .await?;
    let group_roles = group_role::Entity::find()
        .filter(group_role::Column::GroupId.in_subquery(group_ids))
        .all(db)
        .await?;
    Ok((
        domain_roles(&roles, &clients, &composites),
        domain_groups(&groups, &group_roles),
    ))
}

fn domain_roles(
    roles: &[role::Model],
    clients: &[client::Model],
    composites: &[composite_role::Model],
) -> Vec<Role> {
    let client_ids: HashMap<&str, &str> = clients
        .iter()
        .map(|c| (c.id.as_str(), c.client_id.as_str()))
        .collect();
    let mut children: HashMap<&str, Vec<String>> = HashMap::new();
    for c in composites {
        children
            .entry(&c.composite_id)
            .or_default()
            .push(c.child_id.clone());
    }
    roles
        .iter()
        .map(|r| Role {
            id: r.id.clone(),
            name: r.name.clone(),
            description: r.description.clone(),
            client_id: r
                .client_pk
                .as_deref()
                .and_then(|pk| client_ids.get(pk))
                .map(|c| c.to_string()),
            composite_ids: children.remove(r.id.as_str()).unwrap_or_default(),
        })
        .collect()
}

fn domain_realm(row: &realm::Model) -> Result<Realm, StoreError> {
    Ok(Realm {
        id: row.id.clone(),
        name: row.name.clone(),
        display_name: row.display_name.clone(),
        enabled: row.enabled,
        access_token_lifespan: row.access_token_lifespan,
        password_policy: row
            .password_policy
            .as_deref()
            .map(PasswordPolicy::from_keycloak)
            .unwrap_or_default(),
        attributes: from_json(&row.attributes, "realm attributes")?,
        sso_session_idle_timeout: row.sso_session_idle_timeout,
        sso_session_max_lifespan: row.sso_session_max_lifespan,
        offline_session_idle_timeout: row.offline_session_idle_timeout,
        access_code_lifespan: row.access_code_lifespan,
        access_code_lifespan_login: row.access_code_lifespan_login,
        revoke_refresh_token: row.revoke_refresh_token,
        refresh_token_max_reuse: row.refresh_token_max_reuse,
        device_code_lifespan: row.device_code_lifespan,
        device_polling_interval: row.device_polling_interval,
        brute_force: BruteForcePolicy {
            enabled: row.brute_force_protected,
            permanent_lockout: row.permanent_lockout,
            max_failures: row.failure_factor,
            wait_increment_secs: row.wait_increment_seconds,
            max_wait_secs: row.max_failure_wait_seconds,
            quick_login_check_millis: row.quick_login_check_millis,
            minimum_quick_login_wait_secs: row.minimum_quick_login_wait_seconds,
            max_delta_time_secs: row.max_delta_time_seconds,
        },
        identity_providers: Vec::new(),
        not_before: row.not_before,
        ..Realm::default()
    })
}

fn domain_identity_providers(
    providers: &[identity_provider::Model],
    mappers: &[identity_provider_mapper::Model],
) -> Result<Vec<IdentityProvider>, StoreError> {
    let mut by_provider: HashMap<&str, Vec<IdentityProviderMapper>> = HashMap::new();
    for m in mappers {
        by_provider
            .entry(&m.identity_provider_id)
            .or_default()
            .push(IdentityProviderMapper {
                id: m.id.clone(),
                name: m.name.clone(),
                mapper_type: m.mapper_type.clone(),
                config: from_json(&m.config, "identity provider mapper config")?,
            });
    }
    providers
        .iter()
        .map(|p| {
            Ok(IdentityProvider {
                id: p.id.clone(),
                alias: p.alias.clone(),
                display_name: p.display_name.clone(),
                provider_id: p.provider_id.clone(),
                enabled: p.enabled,
                hide_on_login: p.hide_on_login,
                trust_email: p.trust_email,
                link_only: p.link_only,
                first_login: FirstLoginPolicy::parse(&p.first_login_policy).unwrap_or_default(),
                config: from_json(&p.config, "identity provider config")?,
                mappers: by_provider.remove(p.id.as_str()).unwrap_or_default(),
            })
        })
        .collect()
}

fn domain_groups(groups: &[realm_group::Model], group_roles: &[group_role::Model]) -> Vec<Group> {
    let paths = group_paths(groups);
    let mut roles: HashMap<&str, Vec<String>> = HashMap::new();
    for gr in group_roles {
        roles
            .entry(&gr.group_id)
            .or_default()
            .push(gr.role_id.clone());
    }
    groups
        .iter()
        .map(|g| Group {
            id: g.id.clone(),
            name: g.name.clone(),
            parent_id: g.parent_id.clone(),
            path: paths
                .get(&g.id)
                .cloned()
                .unwrap_or_else(|| format!("/{}", g.name)),
            role_ids: roles.remove(g.id.as_str()).unwrap_or_default(),
        })
        .collect()
}

fn domain_clients(
    clients: &[client::Model],
    mappers: &[protocol_mapper::Model],
) -> Result<Vec<Client>, StoreError> {
    let mut by_client: HashMap<&str, Vec<ProtocolMapper>> = HashMap::new();
    for m in mappers {
        by_client
            .entry(&m.client_pk)
            .or_default()
            .push(ProtocolMapper {
                id: m.id.clone(),
                name: m.name.clone(),
                protocol: m.protocol.clone(),
                mapper_type: m.mapper_type.clone(),
                config: from_json(&m.config, "protocol mapper config")?,
            });
    }
    clients
        .iter()
        .map(|c| {
            Ok(Client {
                id: c.id.clone(),
                client_id: c.client_id.clone(),
                protocol: c.protocol.clone(),
                enabled: c.enabled,
                public_client: c.public_client,
                secret: c.secret.clone(),
                redirect_uris: from_json(&c.redirect_uris, "client redirect URIs")?,
                attributes: from_json::<BTreeMap<String, String>>(
                    &c.attributes,
                    "client attributes",
                )?,
                protocol_mappers: by_client.remove(c.id.as_str()).unwrap_or_default(),
                name: c.name.clone(),
                consent_required: c.consent_required,
                standard_flow_enabled: c.standard_flow_enabled,
                direct_access_grants_enabled: c.direct_access_grants_enabled,
                service_accounts_enabled: c.service_accounts_enabled,
                bearer_only: c.bearer_only,
                web_origins: from_json(&c.web_origins, "client web origins")?,
                default_client_scopes: from_json(&c.default_client_scopes, "client scopes")?,
                optional_client_scopes: from_json(&c.optional_client_scopes, "client scopes")?,
                full_scope_allowed: c.full_scope_allowed,
                scope_role_ids: from_json(&c.scope_role_ids, "client scope mappings")?,
                not_before: c.not_before,
                authenticator_type: c.client_authenticator_type.clone(),
            })
        })
        .collect()
}

/// Stored key rows as key material (the certificate is kept as stored).
pub(crate) fn key_material(row: &realm_key::Model) -> Result<KeyMaterial, StoreError> {
    let algorithm = Algorithm::parse(&row.algorithm).ok_or_else(|| {
        StoreError::Invalid(format!(
            "stored key {} has unknown algorithm {}",
            row.id, row.algorithm
        ))
    })?;
    Ok(KeyMaterial {
        algorithm,
        private_key_pkcs8: row.private_key.clone(),
        certificate_der: row.certificate.clone(),
    })
}

/// Enabled keys, highest priority first (the rows come ordered).
fn signing_keys(
    rows: &[realm_key::Model],
    realm: &str,
) -> Result<Vec<Arc<SigningKey>>, StoreError> {
    rows.iter()
        .filter(|row| row.enabled)
        .map(|row| {
            let key = SigningKey::from_material(&key_material(row)?).map_err(|e| {
                tracing::error!(realm, key = %row.id, error = %e, "stored signing key does not parse");
                StoreError::Key(e)
            })?;
            Ok(Arc::new(key))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(id: &str, parent: Option<&str>, name: &str) -> realm_group::Model {
        realm_group::Model {
            id: id.into(),
            realm_id: "r".into(),
            parent_id: parent.map(Into::into),
            name: name.into(),
            attributes: "{}".into(),
        }
    }

    #[test]
    fn computes_group_paths() {
        let groups = [
            group("c", Some("b"), "platform"),
            group("a", None, "teams"),
            group("b", Some("a"), "eng"),
            group("d", None, "ops"),
            group("x", Some("missing"), "orphan"),
            group("y", Some("z"), "loop-y"),
            group("z", Some("y"), "loop-z"),
        ];
        let paths = group_paths(&groups);
        let cases = [
            ("a", "/teams"),
            ("b", "/teams/eng"),
            ("c", "/teams/eng/platform"),
            ("d", "/ops"),
            ("x", "/orphan"),
        ];
        for (id, want) in cases {
            assert_eq!(paths[id], want, "group {id}");
        }
        assert!(paths["y"].ends_with("/loop-y"), "cycles terminate");
    }
}
