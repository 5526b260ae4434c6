//! Realm settings kept beside the realm row (migration `m20261206_000031_realm_admin`): the
//! required actions a realm registered and its default groups.

use portcullis_core::required_action::{self, RequiredAction};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::error::StoreError;
use crate::queries::{from_json, insert_all, to_json};

/// `realm_required_action`: one row per registered required action, once the realm changed any.
pub mod realm_required_action {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "realm_required_action")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub realm_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub alias: String,
        pub name: String,
        pub provider_id: String,
        pub enabled: bool,
        pub default_action: bool,
        pub priority: i64,
        /// A JSON object of strings.
        pub config: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `realm_default_group`: the groups every new user of the realm joins.
pub mod realm_default_group {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "realm_default_group")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub realm_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub group_id: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Whether the realm ever changed its required actions (it has rows); a realm that did not
/// has Keycloak's defaults.
async fn stored_actions<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
) -> Result<Vec<realm_required_action::Model>, StoreError> {
    Ok(realm_required_action::Entity::find()
        .filter(realm_required_action::Column::RealmId.eq(realm_id))
        .order_by_asc(realm_required_action::Column::Priority)
        .order_by_asc(realm_required_action::Column::Alias)
        .all(db)
        .await?)
}

/// The realm's registered required actions, by priority. The realm's marker row for "every
/// action unregistered" is a row with an empty alias, never returned.
pub async fn required_actions<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
) -> Result<Vec<RequiredAction>, StoreError> {
    let rows = stored_actions(db, realm_id).await?;
    if rows.is_empty() {
        return Ok(required_action::sorted(required_action::defaults()));
    }
    let actions = rows
        .into_iter()
        .filter(|row| !row.alias.is_empty())
        .map(|row| {
            Ok(RequiredAction {
                config: from_json(&row.config, "required action config")?,
                alias: row.alias,
                name: row.name,
                provider_id: row.provider_id,
                enabled: row.enabled,
                default_action: row.default_action,
                priority: row.priority,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(required_action::sorted(actions))
}

/// Replaces the realm's registered required actions.
pub async fn set_required_actions<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    actions: &[RequiredAction],
) -> Result<(), StoreError> {
    realm_required_action::Entity::delete_many()
        .filter(realm_required_action::Column::RealmId.eq(realm_id))
        .exec(db)
        .await?;
    let mut rows = actions
        .iter()
        .map(|a| {
            Ok(realm_required_action::Model {
                realm_id: realm_id.to_string(),
                alias: a.alias.clone(),
                name: a.name.clone(),
                provider_id: a.provider_id.clone(),
                enabled: a.enabled,
                default_action: a.default_action,
                priority: a.priority,
                config: to_json(&a.config)?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    if rows.is_empty() {
        // Every action unregistered: a marker row keeps the realm from falling back to the
        // defaults.
        rows.push(realm_required_action::Model {
            realm_id: realm_id.to_string(),
            alias: String::new(),
            name: String::new(),
            provider_id: String::new(),
            enabled: false,
            default_action: false,
            priority: 0,
            config: "{}".into(),
        });
    }
    insert_all::<realm_required_action::Entity, _>(db, rows).await?;
    Ok(())
}

/// The ids of the realm's default groups.
pub async fn default_groups<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
) -> Result<Vec<String>, StoreError> {
    Ok(realm_default_group::Entity::find()
        .filter(realm_default_group::Column::RealmId.eq(realm_id))
        .all(db)
        .await?
        .into_iter()
        .map(|row| row.group_id)
        .collect())
}

/// Makes a group a default group; `false` when it already was.
pub async fn add_default_group<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    group_id: &str,
) -> Result<bool, StoreError> {
    if default_groups(db, realm_id)
        .await?
        .iter()
        .any(|g| g == group_id)
    {
        return Ok(false);
    }
    let row = realm_default_group::Model {
        realm_id: realm_id.to_string(),
        group_id: group_id.to_string(),
    };
    insert_all::<realm_default_group::Entity, _>(db, vec![row]).await?;
    Ok(true)
}

/// Stops a group being a default group; `false` when it was not one.
pub async fn remove_default_group<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    group_id: &str,
) -> Result<bool, StoreError> {
    let result = realm_default_group::Entity::delete_many()
        .filter(realm_default_group::Column::RealmId.eq(realm_id))
        .filter(realm_default_group::Column::GroupId.eq(group_id))
        .exec(db)
        .await?;
    Ok(result.rows_affected > 0)
}

/// What every new user of a realm gets (Keycloak's `addUser` with defaults): the realm's
/// default role, membership of the default groups and the enabled default required actions. Called by every path that creates
/// a user except imports, which carry their users as they were (as Keycloak's import does).
pub async fn apply_new_user_defaults<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    user: &mut crate::entity::user_entity::Model,
) -> Result<(), StoreError> {
    super::users::grant_default_role(db, realm_id, &user.id).await?;
    for group_id in default_groups(db, realm_id).await? {
        super::users::join_group(db, &user.id, &group_id).await?;
    }
    let defaults: Vec<String> = required_actions(db, realm_id)
        .await?
        .into_iter()
        .filter(|a| a.enabled && a.default_action)
        .map(|a| a.alias)
        .collect();
    if !defaults.is_empty() {
        let mut actions: Vec<String> = from_json(&user.required_actions, "required actions")?;
        for alias in defaults {
            if !actions.contains(&alias) {
                actions.push(alias);
            }
        }
        user.required_actions = to_json(&actions)?;
        super::users::update(db, user.clone()).await?;
    }
    Ok(())
}

/// Keycloak's `RealmEventsConfigRepresentation`, kept among the realm representation's fields
/// (so `GET` on the realm and `GET events/config` agree).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventsConfig {
    /// Login and token events are recorded. This server records them unless turned off.
    pub events_enabled: bool,
    /// Seconds; `None`: kept for the server's retention.
    pub events_expiration: Option<i64>,
    pub events_listeners: Vec<String>,
    /// Empty: the types Keycloak saves by default
    /// ([`portcullis_core::model::EVENT_TYPES_NOT_SAVED_BY_DEFAULT`]).
    pub enabled_event_types: Vec<String>,
    pub admin_events_enabled: bool,
    pub admin_events_details_enabled: bool,
}

/// The representation's names of the [`EventsConfig`] fields.
pub const EVENTS_ENABLED: &str = "eventsEnabled";
pub const EVENTS_EXPIRATION: &str = "eventsExpiration";
pub const EVENTS_LISTENERS: &str = "eventsListeners";
pub const ENABLED_EVENT_TYPES: &str = "enabledEventTypes";
pub const ADMIN_EVENTS_ENABLED: &str = "adminEventsEnabled";
pub const ADMIN_EVENTS_DETAILS_ENABLED: &str = "adminEventsDetailsEnabled";

impl EventsConfig {
    /// The settings a realm that never changed them has.
    pub fn defaults() -> Self {
        Self {
            events_enabled: true,
            events_expiration: None,
            events_listeners: vec!["jboss-logging".into()],
            enabled_event_types: Vec::new(),
            admin_events_enabled: false,
            admin_events_details_enabled: false,
        }
    }

    /// The settings of a realm: its kept representation fields (defaults for the absent ones)
    /// and the admin-event flags, which are the realm row's own columns.
    pub fn of_realm(
        row: &crate::entity::realm::Model,
        extras: &serde_json::Map<String, serde_json::Value>,
    ) -> Self {
        let d = Self::defaults();
        let flag = |key: &str, default: bool| {
            extras
                .get(key)
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(default)
        };
        let strings = |key: &str, default: Vec<String>| match extras.get(key) {
            Some(serde_json::Value::Array(items)) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            _ => default,
        };
        Self {
            events_enabled: flag(EVENTS_ENABLED, d.events_enabled),
            events_expiration: extras
                .get(EVENTS_EXPIRATION)
                .and_then(serde_json::Value::as_i64),
            events_listeners: strings(EVENTS_LISTENERS, d.events_listeners),
            enabled_event_types: strings(ENABLED_EVENT_TYPES, d.enabled_event_types),
            admin_events_enabled: row.admin_events_enabled,
            admin_events_details_enabled: row.admin_events_details_enabled,
        }
    }

    /// Writes the settings into a realm's kept representation fields.
    pub fn write_to(&self, extras: &mut serde_json::Map<String, serde_json::Value>) {
        use serde_json::json;
        extras.insert(EVENTS_ENABLED.into(), json!(self.events_enabled));
        match self.events_expiration {
            Some(secs) => extras.insert(EVENTS_EXPIRATION.into(), json!(secs)),
            None => extras.remove(EVENTS_EXPIRATION),
        };
        extras.insert(EVENTS_LISTENERS.into(), json!(self.events_listeners));
        extras.insert(ENABLED_EVENT_TYPES.into(), json!(self.enabled_event_types));
        // The admin-event flags are the realm row's own columns (`realm::Model`), not kept
        // representation fields: drop copies an older version kept here.
        extras.remove(ADMIN_EVENTS_ENABLED);
        extras.remove(ADMIN_EVENTS_DETAILS_ENABLED);
    }
}

/// Ends every sign-in of the realm (`logout-all`): every SSO session, every online and offline
/// refresh token, every docker login. Returns how many sessions were live.
pub async fn end_all_sign_ins<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
) -> Result<u64, StoreError> {
    use crate::entity::{docker_refresh_token, oidc_refresh_token, user_session};
    use sea_orm::sea_query::Expr;
    let ended = user_session::Entity::update_many()
        .col_expr(user_session::Column::Ended, Expr::value(true))
        .filter(user_session::Column::RealmId.eq(realm_id))
        .filter(user_session::Column::Ended.eq(false))
        .exec(db)
        .await?
        .rows_affected;
    oidc_refresh_token::Entity::update_many()
        .col_expr(oidc_refresh_token::Column::Revoked, Expr::value(true))
        .filter(oidc_refresh_token::Column::RealmId.eq(realm_id))
        .filter(oidc_refresh_token::Column::Revoked.eq(false))
        .exec(db)
        .await?;
    docker_refresh_token::Entity::update_many()
        .col_expr(docker_refresh_token::Column::Revoked, Expr::value(true))
        .filter(docker_refresh_token::Column::RealmId.eq(realm_id))
        .filter(docker_refresh_token::Column::Revoked.eq(false))
        .exec(db)
        .await?;
    Ok(ended)
}

/// Live sessions per client (`clientId`): `(active, offline)`, where an active session is a
/// live SSO session holding a live online refresh token of the client, and an offline session
/// is a live offline token (or tokens of one offline session). Clients without any are left out.
pub async fn client_session_counts<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
    now: i64,
) -> Result<std::collections::BTreeMap<String, (u64, u64)>, StoreError> {
    use std::collections::{BTreeMap, BTreeSet, HashSet};

    use crate::entity::{oidc_refresh_token, user_session};
    let tokens = oidc_refresh_token::Entity::find()
        .filter(oidc_refresh_token::Column::RealmId.eq(realm_id))
        .filter(oidc_refresh_token::Column::Revoked.eq(false))
        .filter(oidc_refresh_token::Column::ExpiresAt.gt(now))
        .all(db)
        .await?;
    let live: HashSet<String> = user_session::Entity::find()
        .filter(user_session::Column::RealmId.eq(realm_id))
        .filter(user_session::Column::Ended.eq(false))
        .all(db)
        .await?
        .into_iter()
        .map(|s| s.id)
        .collect();
    let mut active: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut offline: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for token in tokens {
        if token.offline {
            let session = token.session_id.clone().unwrap_or_else(|| token.id.clone());
            offline.entry(token.client_id).or_default().insert(session);
        } else if let Some(session) = token.session_id.filter(|s| live.contains(s)) {
            active.entry(token.client_id).or_default().insert(session);
        }
    }
    let mut counts: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for (client, sessions) in active {
        counts.entry(client).or_default().0 = sessions.len() as u64;
    }
    for (client, sessions) in offline {
        counts.entry(client).or_default().1 = sessions.len() as u64;
    }
    Ok(counts)
}

/// Deletes every login and token event of the realm (`DELETE events`).
pub async fn clear_login_events<C: ConnectionTrait>(
    db: &C,
    realm_id: &str,
) -> Result<(), StoreError> {
    use crate::entity::login_event;
    login_event::Entity::delete_many()
        .filter(login_event::Column::RealmId.eq(realm_id))
        .exec(db)
        .await?;
    Ok(())
}
