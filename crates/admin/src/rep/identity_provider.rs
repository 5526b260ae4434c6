//! Identity providers and their mappers as the admin API shows them.

use portcullis_store::entity::{identity_provider, identity_provider_mapper};
use portcullis_store::representation::from_row::{self, Secret};
use serde_json::{Map, Value, json};

use crate::error::AdminError;

/// The representation fields Portcullis models; the rest of a body is kept as written, as a
/// realm file's import keeps it.
pub const MODELLED: &[&str] = portcullis_store::representation::IDENTITY_PROVIDER_FIELDS_NOT_KEPT;

/// A provider as Keycloak shows it: its defaults for what Portcullis does not model, the
/// fields kept as written, then the modelled ones (the secret masked).
pub fn representation(
    row: &identity_provider::Model,
    extras: &Map<String, Value>,
) -> Result<Value, AdminError> {
    let modelled = serde_json::to_value(from_row::identity_provider(row, Secret::Masked)?)
        .map_err(|e| AdminError::Internal(e.to_string()))?;
    let defaults = json!({
        "updateProfileFirstLoginMode": "on",
        "storeToken": false,
        "addReadTokenRoleOnCreate": false,
        "authenticateByDefault": false,
        "config": {},
    });
    Ok(super::compose(defaults, extras, modelled))
}

pub fn brief(row: &identity_provider::Model) -> Value {
    json!({
        "alias": row.alias,
        "displayName": row.display_name,
        "internalId": row.id,
        "providerId": row.provider_id,
        "enabled": row.enabled,
        "hideOnLogin": row.hide_on_login,
    })
}

pub fn mapper(row: &identity_provider_mapper::Model, alias: &str) -> Result<Value, AdminError> {
    serde_json::to_value(from_row::identity_provider_mapper(row, alias)?)
        .map_err(|e| AdminError::Internal(e.to_string()))
}
