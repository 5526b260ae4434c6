//! Realm-wide administration beside the realm's settings: its key metadata, events settings,
//! default groups, cache clearing, ending every sign-in, revocation pushes, session counts per
//! client, and who the console's caller is.

use std::collections::BTreeMap;

use portcullis_store::admin::{self, realm_settings, realm_settings::EventsConfig};
use portcullis_store::entity::realm_group;
use serde_json::json;

use super::Ops;
use super::keys::{self, KeyInfo};
use super::lookup;
use crate::auth::Right;
use crate::context::{Change, Event, Op, target_realm};
use crate::error::AdminError;

/// The realm's keys, signing keys first, with the realm's id (`view-realm`).
pub async fn keys(ops: Ops<'_>, realm: &str) -> Result<(String, Vec<KeyInfo>), AdminError> {
    let row = target_realm(ops.state, ops.caller, realm, Right::ViewRealm).await?;
    Ok((row.id, keys::list(ops, realm).await?))
}

/// The realm's events settings (`view-events`).
pub async fn events_config(ops: Ops<'_>, realm: &str) -> Result<EventsConfig, AdminError> {
    let row = target_realm(ops.state, ops.caller, realm, Right::ViewEvents).await?;
    let extras = admin::extras::get(ops.state.store().connection(), &row.id).await?;
    Ok(EventsConfig::of_realm(&row, &extras))
}

/// Changes to the events settings; absent fields keep their values.
#[derive(Debug, Clone, Default)]
pub struct EventsUpdate {
    pub events_enabled: Option<bool>,
    /// `Some(None)`: no expiration of its own.
    pub events_expiration: Option<Option<i64>>,
    pub events_listeners: Option<Vec<String>>,
    pub enabled_event_types: Option<Vec<String>>,
    pub admin_events_enabled: Option<bool>,
    pub admin_events_details_enabled: Option<bool>,
}

/// The event listeners this server has: `jboss-logging` is its log.
const LISTENERS: [&str; 1] = ["jboss-logging"];

/// Saves the realm's events settings (`manage-events`); they take effect for the next event.
pub async fn set_events_config(
    ops: Ops<'_>,
    realm: &str,
    update: EventsUpdate,
) -> Result<EventsConfig, AdminError> {
    let row = target_realm(ops.state, ops.caller, realm, Right::ManageEvents).await?;
    if let Some(unknown) = update
        .events_listeners
        .iter()
        .flatten()
        .find(|l| !LISTENERS.contains(&l.as_str()))
    {
        return Err(AdminError::BadRequest(format!(
            "Event listener {unknown} not supported by this server"
        )));
    }
    if let Some(Some(secs)) = update.events_expiration
        && secs < 0
    {
        return Err(AdminError::BadRequest(
            "eventsExpiration must not be negative".into(),
        ));
    }
    let mut change = Change::begin(ops.state, ops.caller, row.clone()).await?;
    let mut extras = admin::extras::get(change.db(), &row.id).await?;
    let mut config = EventsConfig::of_realm(&row, &extras);
    if let Some(v) = update.events_enabled {
        config.events_enabled = v;
    }
    if let Some(v) = update.events_expiration {
        config.events_expiration = v;
    }
    if let Some(v) = update.events_listeners {
        config.events_listeners = v;
    }
    if let Some(v) = update.enabled_event_types {
        config.enabled_event_types = v;
    }
    if let Some(v) = update.admin_events_enabled {
        config.admin_events_enabled = v;
    }
    if let Some(v) = update.admin_events_details_enabled {
        config.admin_events_details_enabled = v;
    }
    config.write_to(&mut extras);
    admin::extras::set(change.db(), &row.id, &row.id, &extras).await?;
    admin::realms::update(
        change.db(),
        portcullis_store::entity::realm::Model {
            admin_events_enabled: config.admin_events_enabled,
            admin_events_details_enabled: config.admin_events_details_enabled,
            ..row.clone()
        },
    )
    .await?;
    change.record(
        Event::new(Op::Update, "REALM", "events/config").with(json!({
            "eventsEnabled": config.events_enabled,
            "adminEventsEnabled": config.admin_events_enabled,
        })),
    );
    change.commit().await?;
    Ok(config)
}

/// Deletes the realm's login and token events (`manage-events`).
pub async fn clear_login_events(ops: Ops<'_>, realm: &str) -> Result<(), AdminError> {
    let row = target_realm(ops.state, ops.caller, realm, Right::ManageEvents).await?;
    // Events still queued would be written after the deletion.
    ops.state.flush_events().await;
    let change = Change::begin(ops.state, ops.caller, row.clone()).await?;
    realm_settings::clear_login_events(change.db(), &row.id).await?;
    change.commit().await
}

/// The realm's default groups with their paths (`view-realm`).
pub async fn default_groups(
    ops: Ops<'_>,
    realm: &str,
) -> Result<(crate::rep::group::GroupTree, Vec<realm_group::Model>), AdminError> {
    let row = target_realm(ops.state, ops.caller, realm, Right::ViewRealm).await?;
    let db = ops.state.store().connection();
    let ids = realm_settings::default_groups(db, &row.id).await?;
    let tree = crate::rep::group::GroupTree::new(admin::groups::all(db, &row.id).await?);
    let mut groups: Vec<realm_group::Model> =
        ids.iter().filter_map(|id| tree.get(id)).cloned().collect();
    groups.sort_by_key(|g| tree.path(&g.id));
    Ok((tree, groups))
}

/// Makes a group a default group (`manage-realm`), or stops it being one.
pub async fn set_default_group(
    ops: Ops<'_>,
    realm: &str,
    group_id: &str,
    default: bool,
) -> Result<(), AdminError> {
    let row = target_realm(ops.state, ops.caller, realm, Right::ManageRealm).await?;
    let mut change = Change::begin(ops.state, ops.caller, row.clone()).await?;
    let group = lookup::find_group(change.db(), &row.id, group_id)
        .await
        .map_err(|_| AdminError::not_found("Group not found"))?;
    let changed = if default {
        realm_settings::add_default_group(change.db(), &row.id, &group.id).await?
    } else {
        realm_settings::remove_default_group(change.db(), &row.id, &group.id).await?
    };
    if !default && !changed {
        return Err(AdminError::not_found("Default group not found"));
    }
    if changed {
        let op = if default { Op::Create } else { Op::Delete };
        change.record(Event::new(
            op,
            "REALM",
            format!("default-groups/{}", group.id),
        ));
    }
    change.commit().await
}

/// Which cache to clear; each drops what this process caches about the realm and tells the
/// other instances to do the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cache {
    /// The realm snapshot: settings, roles, groups, clients, keys.
    Realm,
    /// Verified credentials and users looked up by id.
    Users,
    /// The parsed signing keys (they live in the realm snapshot).
    Keys,
}

/// Clears one of the realm's caches here and on every instance (`manage-realm`).
pub async fn clear_cache(ops: Ops<'_>, realm: &str, cache: Cache) -> Result<(), AdminError> {
    let row = target_realm(ops.state, ops.caller, realm, Right::ManageRealm).await?;
    let path = match cache {
        Cache::Realm => "clear-realm-cache",
        Cache::Users => "clear-user-cache",
        Cache::Keys => "clear-keys-cache",
    };
    let mut change = Change::begin(ops.state, ops.caller, row.clone()).await?;
    change.record(Event::new(Op::Action, "REALM", path));
    // Committing drops the realm's snapshot, its verified credentials and its users looked
    // up by id, here and (through the change notices) on every other instance.
    change.commit().await?;
    if cache == Cache::Users {
        // Caches kept outside the state (docker logins) compare the epoch this moves.
        ops.state.invalidate_credentials();
    }
    tracing::info!(realm = %row.name, cache = path, "cache cleared by an admin");
    Ok(())
}

/// Ends every session, refresh token, offline token and docker login of the realm
/// (`manage-users`). Returns how many SSO sessions were live.
pub async fn logout_all(ops: Ops<'_>, realm: &str) -> Result<u64, AdminError> {
    let row = target_realm(ops.state, ops.caller, realm, Right::ManageUsers).await?;
    let mut change = Change::begin(ops.state, ops.caller, row.clone()).await?;
    let ended = realm_settings::end_all_sign_ins(change.db(), &row.id).await?;
    change.record(Event::new(Op::Action, "REALM", "logout-all"));
    change.commit().await?;
    ops.state.invalidate_credentials();
    tracing::info!(realm = %row.name, sessions = ended, "every sign-in of the realm ended by an admin");
    Ok(ended)
}

/// Keycloak's `push-revocation` (`manage-realm`): sends the realm's `notBefore` to every client
/// with a management URL (`adminUrl`). This server does not call clients back, so every such
/// client is reported as failed; clients without one need nothing. Returns the management URLs.
pub async fn push_revocation(ops: Ops<'_>, realm: &str) -> Result<Vec<String>, AdminError> {
    let row = target_realm(ops.state, ops.caller, realm, Right::ManageRealm).await?;
    let db = ops.state.store().connection();
    let clients = lookup::client_ids(db, &row.id).await?;
    let ids: Vec<String> = clients.keys().cloned().collect();
    let extras = admin::extras::get_many(db, &ids).await?;
    let mut urls: Vec<String> = extras
        .values()
        .filter_map(|e| e.get("adminUrl").and_then(|v| v.as_str()))
        .filter(|u| !u.trim().is_empty())
        .map(str::to_string)
        .collect();
    urls.sort();
    urls.dedup();
    let mut change = Change::begin(ops.state, ops.caller, row.clone()).await?;
    change.record(Event::new(Op::Action, "REALM", "push-revocation"));
    change.commit().await?;
    Ok(urls)
}

/// Live sessions per client: `(client uuid, clientId, active, offline)` (`view-realm`).
pub async fn client_session_stats(
    ops: Ops<'_>,
    realm: &str,
) -> Result<Vec<(String, String, u64, u64)>, AdminError> {
    let row = target_realm(ops.state, ops.caller, realm, Right::ViewRealm).await?;
    let db = ops.state.store().connection();
    let counts = realm_settings::client_session_counts(db, &row.id, ops.state.now()).await?;
    let by_client_id: BTreeMap<String, String> = lookup::client_ids(db, &row.id)
        .await?
        .into_iter()
        .map(|(uuid, client_id)| (client_id, uuid))
        .collect();
    Ok(counts
        .into_iter()
        .filter_map(|(client_id, (active, offline))| {
            let uuid = by_client_id.get(&client_id)?.clone();
            Some((uuid, client_id, active, offline))
        })
        .collect())
}

/// Keycloak's WhoAmI for the admin console.
#[derive(Debug, Clone)]
pub struct WhoAmI {
    pub user_id: String,
    pub realm: String,
    pub display_name: String,
    pub locale: Option<String>,
    pub create_realm: bool,
    /// Realm name -> the admin roles held there.
    pub realm_access: BTreeMap<String, Vec<String>>,
}

/// Who the caller is, for the admin console of `realm` (the realm that issued the token).
pub async fn whoami(ops: Ops<'_>, realm: &str) -> Result<WhoAmI, AdminError> {
    let caller = ops.caller;
    if caller.realm_name() != realm {
        return Err(AdminError::Unauthorized("token of another realm"));
    }
    let names: Vec<String> = if caller.realm_name() == portcullis_store::MASTER_REALM {
        admin::realms::list(ops.state.store().connection())
            .await?
            .into_iter()
            .map(|r| r.name)
            .collect()
    } else {
        vec![caller.realm_name().to_string()]
    };
    let realm_access = names
        .into_iter()
        .filter_map(|name| {
            let roles: Vec<String> = caller.admin_role_names(&name).into_iter().collect();
            (!roles.is_empty()).then_some((name, roles))
        })
        .collect();
    let user = &caller.user;
    let full_name = [user.first_name.as_deref(), user.last_name.as_deref()]
        .into_iter()
        .flatten()
        .filter(|s| !s.trim().is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let locale = user
        .attributes
        .get("locale")
        .and_then(|values| values.first())
        .cloned();
    Ok(WhoAmI {
        user_id: user.id.clone(),
        realm: caller.realm_name().to_string(),
        display_name: if full_name.is_empty() {
            user.username.clone()
        } else {
            full_name
        },
        locale,
        create_realm: caller.can_create_realms(),
        realm_access,
    })
}
