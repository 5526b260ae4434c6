//! A realm's required actions (`authentication/required-actions`): listing them, turning them
//! on and off, making them default for new users, ordering, registering and unregistering.
//! What they do is enforced where users sign in: a pending action the realm turned off is
//! ignored ([`portcullis_core::resolve::resolve_user`]), a default action is given to every new
//! user ([`admin::realm_settings::apply_new_user_defaults`]).

use std::collections::BTreeMap;

use portcullis_core::required_action::{self, RequiredAction};
use portcullis_store::admin::realm_settings;
use serde_json::json;

use super::Ops;
use crate::auth::Right;
use crate::context::{Change, Event, Op, target_realm};
use crate::error::AdminError;

/// Keycloak's message for an unknown alias.
const NOT_FOUND: &str = "Failed to find required action";

/// Keycloak's answers for a required action that takes no configuration (Keycloak 25+'s
/// `required-actions/{alias}/config` and `config-description`).
const NOT_CONFIGURABLE: &str = "RequiredAction is not configurable";
const NO_CONFIGURABLE_PROVIDER: &str = "Could not find configurable RequiredAction provider";

/// The fields of an update; absent ones keep their values.
#[derive(Debug, Clone, Default)]
pub struct ActionUpdate {
    pub name: Option<String>,
    pub enabled: Option<bool>,
    pub default_action: Option<bool>,
    pub priority: Option<i64>,
    pub config: Option<BTreeMap<String, String>>,
}

/// The realm's registered required actions, by priority (`view-realm`).
pub async fn list(ops: Ops<'_>, realm: &str) -> Result<Vec<RequiredAction>, AdminError> {
    let row = target_realm(ops.state, ops.caller, realm, Right::ViewRealm).await?;
    Ok(realm_settings::required_actions(ops.state.store().connection(), &row.id).await?)
}

/// One registered action (`view-realm`).
pub async fn get(ops: Ops<'_>, realm: &str, alias: &str) -> Result<RequiredAction, AdminError> {
    list(ops, realm)
        .await?
        .into_iter()
        .find(|a| a.alias == alias)
        .ok_or_else(|| AdminError::not_found(NOT_FOUND))
}

/// The actions this server knows that the realm has not registered: `(providerId, name)`
/// (`view-realm`).
pub async fn unregistered(ops: Ops<'_>, realm: &str) -> Result<Vec<(String, String)>, AdminError> {
    let registered = list(ops, realm).await?;
    Ok(required_action::known()
        .filter(|(id, _)| !registered.iter().any(|a| a.provider_id == *id))
        .map(|(id, name)| (id.to_string(), name.to_string()))
        .collect())
}

/// Runs `edit` on the realm's registered actions in one change (`manage-realm`).
async fn edit(
    ops: Ops<'_>,
    realm: &str,
    event: Event,
    edit: impl FnOnce(&mut Vec<RequiredAction>) -> Result<(), AdminError>,
) -> Result<(), AdminError> {
    let row = target_realm(ops.state, ops.caller, realm, Right::ManageRealm).await?;
    let mut change = Change::begin(ops.state, ops.caller, row.clone()).await?;
    let mut actions = realm_settings::required_actions(change.db(), &row.id).await?;
    edit(&mut actions)?;
    realm_settings::set_required_actions(change.db(), &row.id, &actions).await?;
    change.record(event);
    change.commit().await
}

fn find<'a>(
    actions: &'a mut [RequiredAction],
    alias: &str,
) -> Result<&'a mut RequiredAction, AdminError> {
    actions
        .iter_mut()
        .find(|a| a.alias == alias)
        .ok_or_else(|| AdminError::not_found(NOT_FOUND))
}

/// Updates a registered action (`manage-realm`). A disabled action cannot be a default one.
pub async fn update(
    ops: Ops<'_>,
    realm: &str,
    alias: &str,
    update: ActionUpdate,
) -> Result<(), AdminError> {
    let event = Event::new(
        Op::Update,
        "REQUIRED_ACTION",
        format!("authentication/required-actions/{alias}"),
    );
    edit(ops, realm, event, |actions| {
        let action = find(actions, alias)?;
        if let Some(name) = update.name.filter(|n| !n.trim().is_empty()) {
            action.name = name;
        }
        if let Some(enabled) = update.enabled {
            action.enabled = enabled;
        }
        if let Some(default_action) = update.default_action {
            action.default_action = default_action;
        }
        if let Some(priority) = update.priority {
            action.priority = priority;
        }
        if let Some(config) = update.config {
            action.config = config;
        }
        if action.default_action && !action.enabled {
            return Err(AdminError::BadRequest(
                "A disabled required action cannot be a default action".into(),
            ));
        }
        Ok(())
    })
    .await
}

/// Registers an action this server knows (`manage-realm`), enabled, after the others.
pub async fn register(
    ops: Ops<'_>,
    realm: &str,
    provider_id: &str,
    name: Option<String>,
) -> Result<(), AdminError> {
    let Some((id, known_name)) = required_action::known().find(|(id, _)| *id == provider_id) else {
        return Err(AdminError::not_found(
            "Failed to find required action provider",
        ));
    };
    let event = Event::new(
        Op::Create,
        "REQUIRED_ACTION",
        format!("authentication/required-actions/{id}"),
    )
    .with(json!({"providerId": id}));
    edit(ops, realm, event, |actions| {
        if actions.iter().any(|a| a.alias == id) {
            return Err(AdminError::Conflict(format!(
                "Required action {id} is already registered"
            )));
        }
        let priority = actions
            .iter()
            .map(|a| a.priority)
            .max()
            .map_or(10, |p| p.saturating_add(10));
        actions.push(RequiredAction {
            alias: id.to_string(),
            name: name
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| known_name.to_string()),
            provider_id: id.to_string(),
            enabled: true,
            default_action: false,
            priority,
            config: BTreeMap::new(),
        });
        Ok(())
    })
    .await
}

/// Unregisters an action (`manage-realm`); users who carry it keep it pending.
pub async fn unregister(ops: Ops<'_>, realm: &str, alias: &str) -> Result<(), AdminError> {
    let event = Event::new(
        Op::Delete,
        "REQUIRED_ACTION",
        format!("authentication/required-actions/{alias}"),
    );
    edit(ops, realm, event, |actions| {
        find(actions, alias)?;
        actions.retain(|a| a.alias != alias);
        Ok(())
    })
    .await
}

/// Moves an action one place up (`raise`) or down in the order (`manage-realm`).
pub async fn reorder(
    ops: Ops<'_>,
    realm: &str,
    alias: &str,
    raise: bool,
) -> Result<(), AdminError> {
    let event = Event::new(
        Op::Update,
        "REQUIRED_ACTION",
        format!(
            "authentication/required-actions/{alias}/{}",
            if raise {
                "raise-priority"
            } else {
                "lower-priority"
            }
        ),
    );
    edit(ops, realm, event, |actions| {
        if required_action::move_action(actions, alias, raise) {
            Ok(())
        } else {
            Err(AdminError::not_found(NOT_FOUND))
        }
    })
    .await
}

/// `required-actions/{alias}/config-description` (`view-realm`). None of this server's required
/// actions reads a configuration, so every alias answers as Keycloak does for an action without
/// one: 404 `Could not find configurable RequiredAction provider`. Like Keycloak, the alias is
/// not looked up first.
pub async fn config_description(ops: Ops<'_>, realm: &str, alias: &str) -> Result<(), AdminError> {
    target_realm(ops.state, ops.caller, realm, Right::ViewRealm).await?;
    tracing::debug!(alias, "required action without configuration");
    Err(AdminError::not_found(NO_CONFIGURABLE_PROVIDER))
}

/// `GET` (`view-realm`), `PUT` and `DELETE` (`manage-realm`)
/// `required-actions/{alias}/config`: 400 `RequiredAction is not configurable`, Keycloak's answer
/// for an action without configuration, which every action of this server is.
pub async fn config(ops: Ops<'_>, realm: &str, alias: &str, write: bool) -> Result<(), AdminError> {
    let right = if write {
        Right::ManageRealm
    } else {
        Right::ViewRealm
    };
    target_realm(ops.state, ops.caller, realm, right).await?;
    tracing::debug!(alias, "required action without configuration");
    Err(AdminError::Rejected(NOT_CONFIGURABLE))
}
