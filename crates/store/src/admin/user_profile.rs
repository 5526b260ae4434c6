//! A realm's declarative user profile, stored as Keycloak's `UPConfig` JSON. In realm files it
//! travels as Keycloak carries it: a component of type
//! `org.keycloak.userprofile.UserProfileProvider` (provider `declarative-user-profile`) whose
//! config `kc.user.profile.config` holds the JSON text.

use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, EntityTrait, IntoActiveModel};

use super::entity::user_profile_config;
use crate::error::StoreError;
use crate::representation::ComponentRepresentation;

/// The component type of Keycloak's user profile.
pub const COMPONENT_TYPE: &str = "org.keycloak.userprofile.UserProfileProvider";
/// The one provider of it.
pub const PROVIDER_ID: &str = "declarative-user-profile";
/// The config key holding the profile's JSON.
pub const CONFIG_KEY: &str = "kc.user.profile.config";

/// The component a realm export carries for a stored profile.
pub fn component(config: &str) -> ComponentRepresentation {
    let mut component = ComponentRepresentation {
        provider_id: Some(PROVIDER_ID.to_string()),
        ..Default::default()
    };
    component
        .config
        .insert(CONFIG_KEY.to_string(), vec![config.to_string()]);
    component
}

/// The profile JSON a realm file's components give, compacted; `None` when the file has no
/// user-profile component (the realm then uses Keycloak's default profile). A component of
/// another provider, or one whose config is not a JSON object with an `attributes` list, is
/// refused.
pub fn from_components(
    components: &std::collections::BTreeMap<String, Vec<ComponentRepresentation>>,
) -> Result<Option<String>, StoreError> {
    let Some(list) = components.get(COMPONENT_TYPE) else {
        return Ok(None);
    };
    let Some(component) = list.first() else {
        return Ok(None);
    };
    if list.len() > 1 {
        return Err(StoreError::Invalid(
            "the realm file has more than one user profile component".into(),
        ));
    }
    if component
        .provider_id
        .as_deref()
        .is_some_and(|p| p != PROVIDER_ID)
    {
        return Err(StoreError::Invalid(format!(
            "unsupported user profile provider; use {PROVIDER_ID}"
        )));
    }
    let Some(text) = component.config.get(CONFIG_KEY).and_then(|v| v.first()) else {
        return Ok(None);
    };
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        StoreError::Invalid(format!("the user profile in {CONFIG_KEY} is not JSON: {e}"))
    })?;
    if !value
        .get("attributes")
        .is_some_and(serde_json::Value::is_array)
    {
        return Err(StoreError::Invalid(format!(
            "the user profile in {CONFIG_KEY} has no attributes list"
        )));
    }
    Ok(Some(value.to_string()))
}

/// The stored profile of the realm, as JSON text; `None` when the realm uses the default.
pub async fn get<C: ConnectionTrait>(db: &C, realm_id: &str) -> Result<Option<String>, StoreError> {
    Ok(
        user_profile_config::Entity::find_by_id(realm_id.to_string())
            .one(db)
            .await?
            .map(|row| row.config),
    )
}

/// Stores (or replaces) the realm's profile.
pub async fn set<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    config: &str,
) -> Result<(), StoreError> {
    let row = user_profile_config::Model {
        realm_id: realm_id.to_string(),
        config: config.to_string(),
    };
    user_profile_config::Entity::insert(row.into_active_model())
        .on_conflict(
            OnConflict::column(user_profile_config::Column::RealmId)
                .update_column(user_profile_config::Column::Config)
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}
