//! Stored rows as Keycloak's representations: the one place a row becomes JSON, for the admin
//! API's responses and for realm exports alike. Collections a representation nests (roles of a
//! group, credentials of a user, ...) are filled in by the caller, which knows how many it may
//! load.

use std::collections::BTreeMap;

use portcullis_core::broker::settings::{CLIENT_SECRET, SECRET_MASK};

use crate::entity::{
    client, identity_provider, identity_provider_mapper, protocol_mapper, realm, realm_group, role,
    user_entity,
};
use crate::error::StoreError;
use crate::queries::from_json;

use super::{
    ClientRepresentation, GroupRepresentation, IdentityProviderMapperRepresentation,
    IdentityProviderRepresentation, MultiMap, ProtocolMapperRepresentation, RealmRepresentation,
    RoleRepresentation, UserRepresentation,
};

/// The realm's top-level settings, without nested collections.
pub fn realm(row: &realm::Model) -> Result<RealmRepresentation, StoreError> {
    Ok(RealmRepresentation {
        id: Some(row.id.clone()),
        realm: Some(row.name.clone()),
        display_name: row.display_name.clone(),
        enabled: Some(row.enabled),
        access_token_lifespan: Some(row.access_token_lifespan),
        password_policy: row.password_policy.clone(),
        sso_session_idle_timeout: Some(row.sso_session_idle_timeout),
        sso_session_max_lifespan: Some(row.sso_session_max_lifespan),
        offline_session_idle_timeout: Some(row.offline_session_idle_timeout),
        access_code_lifespan: Some(row.access_code_lifespan),
        access_code_lifespan_login: Some(row.access_code_lifespan_login),
        revoke_refresh_token: Some(row.revoke_refresh_token),
        refresh_token_max_reuse: Some(row.refresh_token_max_reuse),
        oauth2_device_code_lifespan: Some(row.device_code_lifespan),
        oauth2_device_polling_interval: Some(row.device_polling_interval),
        brute_force_protected: Some(row.brute_force_protected),
        permanent_lockout: Some(row.permanent_lockout),
        failure_factor: Some(row.failure_factor),
        wait_increment_seconds: Some(row.wait_increment_seconds),
        max_failure_wait_seconds: Some(row.max_failure_wait_seconds),
        quick_login_check_milli_seconds: Some(row.quick_login_check_millis),
        minimum_quick_login_wait_seconds: Some(row.minimum_quick_login_wait_seconds),
        max_delta_time_seconds: Some(row.max_delta_time_seconds),
        admin_events_enabled: Some(row.admin_events_enabled),
        admin_events_details_enabled: Some(row.admin_events_details_enabled),
        not_before: Some(row.not_before),
        attributes: Some(from_json(&row.attributes, "realm attributes")?),
        ..Default::default()
    })
}

/// A realm's default role in brief, as `defaultRole` carries it.
pub fn default_role(role: &role::Model) -> RoleRepresentation {
    RoleRepresentation {
        id: Some(role.id.clone()),
        name: Some(role.name.clone()),
        description: role.description.clone(),
        composite: true,
        client_role: false,
        container_id: Some(role.realm_id.clone()),
        ..Default::default()
    }
}

/// A client with the given mappers (the secret included: callers that must hide it do).
pub fn client<'a>(
    row: &client::Model,
    mappers: impl IntoIterator<Item = &'a protocol_mapper::Model>,
) -> Result<ClientRepresentation, StoreError> {
    Ok(ClientRepresentation {
        id: Some(row.id.clone()),
        client_id: Some(row.client_id.clone()),
        name: row.name.clone(),
        description: row.description.clone(),
        protocol: Some(row.protocol.clone()),
        enabled: Some(row.enabled),
        public_client: Some(row.public_client),
        bearer_only: Some(row.bearer_only),
        secret: row.secret.clone(),
        redirect_uris: Some(from_json(&row.redirect_uris, "client redirect URIs")?),
        web_origins: Some(from_json(&row.web_origins, "client web origins")?),
        standard_flow_enabled: Some(row.standard_flow_enabled),
        direct_access_grants_enabled: Some(row.direct_access_grants_enabled),
        service_accounts_enabled: Some(row.service_accounts_enabled),
        consent_required: Some(row.consent_required),
        default_client_scopes: Some(from_json(&row.default_client_scopes, "client scopes")?),
        optional_client_scopes: Some(from_json(&row.optional_client_scopes, "client scopes")?),
        attributes: Some(from_json(&row.attributes, "client attributes")?),
        protocol_mappers: mappers.into_iter().map(mapper).collect::<Result<_, _>>()?,
        default_roles: None,
        full_scope_allowed: Some(row.full_scope_allowed),
        not_before: Some(row.not_before),
        client_authenticator_type: Some(row.client_authenticator_type.clone()),
        // The kept fields are another table's (`admin_extra`): the caller adds them.
        kept: serde_json::Map::new(),
    })
}

pub fn mapper(row: &protocol_mapper::Model) -> Result<ProtocolMapperRepresentation, StoreError> {
    Ok(ProtocolMapperRepresentation {
        id: Some(row.id.clone()),
        name: Some(row.name.clone()),
        protocol: Some(row.protocol.clone()),
        protocol_mapper: Some(row.mapper_type.clone()),
        consent_required: false,
        config: Some(from_json(&row.config, "protocol mapper config")?),
    })
}

/// A role; `containerId` is the realm id, or the client's internal id for a client role.
/// Composites by name are the caller's to add.
pub fn role(
    row: &role::Model,
    composite: bool,
    realm_id: &str,
) -> Result<RoleRepresentation, StoreError> {
    Ok(RoleRepresentation {
        id: Some(row.id.clone()),
        name: Some(row.name.clone()),
        description: row.description.clone(),
        composite,
        composites: None,
        client_role: row.client_pk.is_some(),
        container_id: Some(row.client_pk.as_deref().unwrap_or(realm_id).to_string()),
        attributes: Some(from_json(&row.attributes, "role attributes")?),
    })
}

/// A group at `path`; attributes, role mappings and children are the caller's to add.
pub fn group(row: &realm_group::Model, path: Option<String>) -> GroupRepresentation {
    GroupRepresentation {
        id: Some(row.id.clone()),
        name: Some(row.name.clone()),
        path,
        ..Default::default()
    }
}

/// A group's attributes.
pub fn group_attributes(row: &realm_group::Model) -> Result<MultiMap, StoreError> {
    from_json(&row.attributes, "group attributes")
}

/// A user's profile: names, flags, attributes (when any), required actions and `notBefore`.
pub fn user(row: &user_entity::Model) -> Result<UserRepresentation, StoreError> {
    let attributes: MultiMap = from_json(&row.attributes, "user attributes")?;
    Ok(UserRepresentation {
        id: Some(row.id.clone()),
        created_timestamp: Some(row.created_at.saturating_mul(1000)),
        username: Some(row.username.clone()),
        enabled: Some(row.enabled),
        email_verified: Some(row.email_verified),
        first_name: row.first_name.clone(),
        last_name: row.last_name.clone(),
        email: row.email.clone(),
        attributes: Some(attributes).filter(|a| !a.is_empty()),
        required_actions: Some(from_json(&row.required_actions, "required actions")?),
        not_before: Some(row.not_before),
        ..Default::default()
    })
}

/// Whether an identity provider's client secret is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secret {
    /// As stored: a full realm export, which must import back into a working realm.
    Clear,
    /// As `**********`: everything an admin reads.
    Masked,
}

/// An identity provider as Keycloak represents it.
pub fn identity_provider(
    row: &identity_provider::Model,
    secret: Secret,
) -> Result<IdentityProviderRepresentation, StoreError> {
    let mut config: BTreeMap<String, String> = from_json(&row.config, "identity provider config")?;
    if secret == Secret::Masked
        && let Some(value) = config.get_mut(CLIENT_SECRET)
    {
        *value = SECRET_MASK.to_string();
    }
    Ok(IdentityProviderRepresentation {
        alias: Some(row.alias.clone()),
        display_name: row.display_name.clone(),
        internal_id: Some(row.id.clone()),
        provider_id: Some(row.provider_id.clone()),
        enabled: Some(row.enabled),
        trust_email: Some(row.trust_email),
        link_only: Some(row.link_only),
        hide_on_login: Some(row.hide_on_login),
        first_broker_login_flow_alias: Some(row.first_login_policy.clone()),
        config: Some(config),
        // The kept fields are another table's (`admin_extra`): the caller adds them.
        kept: serde_json::Map::new(),
    })
}

/// A mapper of the provider `alias` as Keycloak represents it.
pub fn identity_provider_mapper(
    row: &identity_provider_mapper::Model,
    alias: &str,
) -> Result<IdentityProviderMapperRepresentation, StoreError> {
    Ok(IdentityProviderMapperRepresentation {
        id: Some(row.id.clone()),
        name: Some(row.name.clone()),
        identity_provider_alias: Some(alias.to_string()),
        identity_provider_mapper: Some(row.mapper_type.clone()),
        config: Some(from_json(&row.config, "identity provider mapper config")?),
    })
}
