//! The shape every admin request takes: find the target realm in Keycloak's order of checks,
//! make the change in one transaction with its admin event, refuse a change that leaves
//! `master` without an administrator, commit, then drop what the caches hold about it.

use axum::http::header::LOCATION;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use portcullis_core::authority::{Footprint, HeldRights, Subject};
use portcullis_store::admin::entity::admin_event;
use portcullis_store::admin::{self, DatabaseTransaction};
use portcullis_store::entity::realm;
use portcullis_store::{ADMIN_ROLE, MASTER_REALM};
use portcullis_web::AppState;
use serde_json::Value;

use crate::auth::{Caller, Right};
use crate::error::AdminError;

/// The target realm, after Keycloak's checks in Keycloak's order: a token from a realm other
/// than `master` and the target is 403 before the lookup, an unknown realm 404, a missing right
/// 403.
pub async fn target_realm(
    state: &AppState,
    caller: &Caller,
    name: &str,
    right: Right,
) -> Result<realm::Model, AdminError> {
    if !caller.may_address(name) {
        return Err(AdminError::Forbidden);
    }
    let realm = admin::realms::find_by_name(state.store().connection(), name)
        .await?
        .ok_or_else(|| AdminError::not_found("Realm not found."))?;
    caller.require(name, right)?;
    Ok(realm)
}

/// Keycloak's admin event operation types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Create,
    Update,
    Delete,
    Action,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Op::Create => "CREATE",
            Op::Update => "UPDATE",
            Op::Delete => "DELETE",
            Op::Action => "ACTION",
        }
    }
}

/// One admin event: what was done to which resource (`resource_path` below the realm, e.g.
/// `users/<id>`), with the representation sent, if any.
#[derive(Debug, Clone)]
pub struct Event {
    pub op: Op,
    /// Keycloak's `ResourceType`: `USER`, `CLIENT`, `REALM_ROLE_MAPPING`, ...
    pub resource: &'static str,
    pub path: String,
    pub representation: Option<Value>,
}

impl Event {
    pub fn new(op: Op, resource: &'static str, path: impl Into<String>) -> Self {
        Self {
            op,
            resource,
            path: path.into(),
            representation: None,
        }
    }

    pub fn with(mut self, representation: Value) -> Self {
        self.representation = Some(representation);
        self
    }
}

/// A change to one realm: a transaction, the events it will record and the caches it will
/// invalidate. Dropping it without [`Change::commit`] rolls everything back.
///
/// It also enforces the rule on admin rights (Keycloak's `canMapRole`, applied to every path at
/// once): the admin rights every role, group and user of the realm holds are read when the
/// change begins and again before it commits, and a change that gives or takes away a right
/// the caller does not hold itself is refused with 403, whatever the request did to get there
/// (a role mapping, a composite, a group membership or move, a rename, an import, a deletion).
pub struct Change<'a> {
    state: &'a AppState,
    caller: &'a Caller,
    /// The realm changed; `None` until [`Change::set_realm`] for a realm being created.
    realm: Option<realm::Model>,
    txn: DatabaseTransaction,
    events: Vec<Event>,
    users: Vec<String>,
    other_realm_names: Vec<String>,
    /// The caller's rights over the realm and the realm's rights before the change; `None`
    /// for master admins (who hold every right) and for realms being created or deleted.
    rights: Option<(HeldRights, Footprint)>,
}

impl<'a> Change<'a> {
    pub async fn begin(
        state: &'a AppState,
        caller: &'a Caller,
        realm: realm::Model,
    ) -> Result<Self, AdminError> {
        let mut change = Self::begin_without_realm(state, caller).await?;
        let held = caller.held_rights(&realm.name);
        if !held.holds_everything() {
            let before = admin::authority::footprint(change.db(), &realm).await?;
            change.rights = Some((held, before));
        }
        change.realm = Some(realm);
        Ok(change)
    }

    /// A change that creates its realm; [`Change::set_realm`] once it exists.
    pub async fn begin_without_realm(
        state: &'a AppState,
        caller: &'a Caller,
    ) -> Result<Self, AdminError> {
        Ok(Self {
            txn: state.store().begin().await?,
            state,
            caller,
            realm: None,
            events: Vec::new(),
            users: Vec::new(),
            other_realm_names: Vec::new(),
            rights: None,
        })
    }

    /// The change deletes its realm: nobody's rights elsewhere change, so they are not compared.
    pub fn deleting_realm(&mut self) {
        self.rights = None;
    }

    /// 403 unless the caller holds every admin right the user holds (as the change began): an
    /// admin may not take over, lock out or disarm an account more powerful than its own.
    pub fn require_may_manage_user(&self, user_id: &str) -> Result<(), AdminError> {
        let Some((held, before)) = &self.rights else {
            return Ok(());
        };
        let rights = before.rights_of(&Subject::User(user_id.to_string()));
        let missing = held.missing(&rights);
        if missing.is_empty() {
            return Ok(());
        }
        tracing::info!(caller = %self.caller.user.id, user = %user_id, missing = %list(&missing), "admin refused: the user holds rights the caller lacks");
        Err(AdminError::Forbidden)
    }

    /// 403 unless the caller holds every admin right these roles and groups carry (as the
    /// change began): whoever configures a mapper that hands them out at upstream logins
    /// hands out those rights.
    pub fn require_may_hand_out(
        &self,
        roles: &[String],
        groups: &[String],
    ) -> Result<(), AdminError> {
        let Some((held, before)) = &self.rights else {
            return Ok(());
        };
        let subjects = roles
            .iter()
            .map(|r| Subject::Role(r.clone()))
            .chain(groups.iter().map(|g| Subject::Group(g.clone())));
        let mut missing = std::collections::BTreeSet::new();
        for subject in subjects {
            missing.extend(held.missing(&before.rights_of(&subject)));
        }
        if missing.is_empty() {
            return Ok(());
        }
        tracing::info!(caller = %self.caller.user.id, missing = %list(&missing), "admin refused: a mapper would hand out rights the caller lacks");
        Err(AdminError::Forbidden)
    }

    /// Refuses the change when it gave or took away a right the caller does not hold.
    async fn check_rights(&self) -> Result<(), AdminError> {
        let (Some((held, before)), Some(realm)) = (&self.rights, &self.realm) else {
            return Ok(());
        };
        let after = admin::authority::footprint(&self.txn, realm).await?;
        let missing = held.missing(&before.changed_rights(&after));
        if missing.is_empty() {
            return Ok(());
        }
        tracing::info!(caller = %self.caller.user.id, realm = %realm.name, missing = %list(&missing), "admin refused: the change grants or removes rights the caller lacks");
        Err(AdminError::Forbidden)
    }

    pub fn set_realm(&mut self, realm: realm::Model) {
        self.realm = Some(realm);
    }

    /// The transaction every query of the request runs in.
    pub fn db(&self) -> &DatabaseTransaction {
        &self.txn
    }

    /// A user whose password, status or existence changed: their cached logins go.
    pub fn user_changed(&mut self, id: &str) {
        self.users.push(id.to_string());
    }

    /// A realm whose name the change freed (a rename): its cached snapshot goes too.
    pub fn realm_renamed_from(&mut self, old_name: &str) {
        self.other_realm_names.push(old_name.to_string());
    }

    pub fn record(&mut self, event: Event) {
        self.events.push(event);
    }

    /// Records the events, checks that `master` keeps an enabled `admin`, commits and
    /// invalidates the caches.
    pub async fn commit(self) -> Result<(), AdminError> {
        self.check_rights().await?;
        let now_ms = self.state.now().saturating_mul(1000);
        let (realm_id, realm_name) = match &self.realm {
            Some(r) => (r.id.as_str(), r.name.as_str()),
            None => ("", ""),
        };
        if !realm_id.is_empty() && !self.events.is_empty() {
            // The realm's own settings decide whether admin events are kept, and with their
            // representations or not (`adminEventsEnabled`, `adminEventsDetailsEnabled`).
            let extras = admin::extras::get(&self.txn, realm_id).await?;
            let config = admin::realm_settings::EventsConfig::of(&extras);
            if config.admin_events_enabled {
                for event in &self.events {
                    let mut row = event_row(self.caller, realm_id, event, now_ms);
                    if !config.admin_events_details_enabled {
                        row.representation = None;
                    }
                    admin::events::record(&self.txn, row).await?;
                }
            }
        }
        if realm_name == MASTER_REALM {
            let holders =
                admin::realms::enabled_holders_of_realm_role(&self.txn, MASTER_REALM, ADMIN_ROLE)
                    .await?;
            if holders == 0 {
                return Err(AdminError::Conflict(
                    "The master realm must keep at least one enabled administrator".into(),
                ));
            }
        }
        self.txn
            .commit()
            .await
            .map_err(portcullis_store::StoreError::from)?;
        for name in self
            .other_realm_names
            .iter()
            .map(String::as_str)
            .chain([realm_name])
        {
            self.state.invalidate_realm(name);
        }
        for user in &self.users {
            self.state.invalidate_user(realm_name, user);
        }
        Ok(())
    }
}

/// `a, b, c` for a log line.
fn list<T: std::fmt::Display>(items: &std::collections::BTreeSet<T>) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn event_row(caller: &Caller, realm_id: &str, event: &Event, now_ms: i64) -> admin_event::Model {
    let auth_client = caller.client_id.as_deref().map(|azp| {
        caller
            .realm
            .client(azp)
            .map_or_else(|| azp.to_string(), |c| c.id.clone())
    });
    admin_event::Model {
        // UUID v7 ids grow with time, so events of the same millisecond keep their order.
        id: uuid::Uuid::now_v7().to_string(),
        realm_id: realm_id.to_string(),
        time: now_ms,
        operation_type: event.op.as_str().to_string(),
        resource_type: event.resource.to_string(),
        resource_path: event.path.clone(),
        representation: event.representation.clone().map(|mut v| {
            scrub_secrets(&mut v);
            v.to_string()
        }),
        error: None,
        auth_realm_id: Some(caller.realm.realm.id.clone()),
        auth_client_id: auth_client,
        auth_user_id: Some(caller.user.id.clone()),
        ip_address: caller.ip.map(|ip| ip.to_string()),
    }
}

/// Keys whose values never go into an admin event.
const SECRET_KEYS: [&str; 5] = [
    "credentials",
    "secret",
    "password",
    "clientSecret",
    "secretData",
];

/// Removes passwords and secrets from a representation before it is stored as an event.
pub fn scrub_secrets(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for key in SECRET_KEYS {
                map.remove(key);
            }
            if map.get("type").and_then(Value::as_str) == Some("password") {
                map.remove("value");
            }
            map.values_mut().for_each(scrub_secrets);
        }
        Value::Array(items) => items.iter_mut().for_each(scrub_secrets),
        _ => {}
    }
}

/// `201 Created` with `Location: {base}{relative}/admin/realms/{realm}/{segments...}`, each
/// segment percent-encoded; tools take the new id from the last segment.
pub fn created(state: &AppState, realm: &str, segments: &[&str]) -> Response {
    let mut url = format!(
        "{}{}/admin/realms/{}",
        state.urls().base_url,
        state.urls().relative_path,
        encode_segment(realm)
    );
    for segment in segments {
        url.push('/');
        url.push_str(&encode_segment(segment));
    }
    let mut response = StatusCode::CREATED.into_response();
    if let Ok(value) = HeaderValue::from_str(&url) {
        response.headers_mut().insert(LOCATION, value);
    }
    response
}

/// Percent-encodes a path segment: everything but RFC 3986 unreserved characters and the
/// sub-delimiters, `:` and `@`.
pub fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        let keep = byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&byte);
        if keep {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn encodes_path_segments() {
        let cases = [
            ("alice", "alice"),
            ("my role", "my%20role"),
            ("a/b?c#d%", "a%2Fb%3Fc%23d%25"),
            ("ünï", "%C3%BCn%C3%AF"),
            ("x:y@z", "x:y@z"),
        ];
        for (input, want) in cases {
            assert_eq!(encode_segment(input), want, "{input}");
        }
    }

    #[test]
    fn scrubs_secrets_from_events() {
        let mut rep = json!({
            "username": "alice",
            "credentials": [{"type": "password", "value": "pw"}],
            "nested": [{"secret": "s", "keep": 1}],
            "attributes": {"value": ["fine"]},
        });
        scrub_secrets(&mut rep);
        assert_eq!(
            rep,
            json!({"username": "alice", "nested": [{"keep": 1}], "attributes": {"value": ["fine"]}})
        );
        let mut credential = json!({"type": "password", "value": "pw", "temporary": true});
        scrub_secrets(&mut credential);
        assert_eq!(credential, json!({"type": "password", "temporary": true}));
    }
}
