//! Role mappings of users (`/users/{id}/role-mappings`) and groups
//! (`/groups/{id}/role-mappings`): list, add, remove, and the `composite` (effective) and
//! `available` views, realm and per client.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Extension, Router};
use portcullis_store::admin::{self, roles::Holder};
use portcullis_store::entity::role;
use portcullis_web::{AppState, Protocols};
use serde_json::{Value, json};

use super::{Reply, find_client, no_content, ok, role_reps};
use crate::auth::{Caller, Right};
use crate::context::target_realm;
use crate::extract::AdminJson;
use crate::ops::Ops;
use crate::ops::mappings::{self, check_holder as check};
use crate::rep::role::role_refs;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    User,
    Group,
}

impl Kind {
    fn holder(self, id: &str) -> Holder<'_> {
        match self {
            Kind::User => Holder::User(id),
            Kind::Group => Holder::Group(id),
        }
    }
}

/// Realm roles, or the roles of the client with this internal id.
#[derive(Debug, Clone, Copy)]
enum Scope<'a> {
    Realm,
    Client(&'a str),
}

impl Scope<'_> {
    fn contains(&self, role: &role::Model) -> bool {
        match self {
            Scope::Realm => role.client_pk.is_none(),
            Scope::Client(pk) => role.client_pk.as_deref() == Some(*pk),
        }
    }
}

/// Which view of the mappings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum View {
    Direct,
    Effective,
    Available,
}

pub fn routes(realm: &str) -> Router<AppState> {
    let mut router = Router::new();
    for kind in ["users", "groups"] {
        let r = |path: &str| format!("{realm}/{kind}/{{id}}/role-mappings{path}");
        let (all, realm_direct, realm_effective, realm_available) = match kind {
            "users" => (
                get(all_user),
                get(realm_user)
                    .post(add_realm_user)
                    .delete(remove_realm_user),
                get(effective_realm_user),
                get(available_realm_user),
            ),
            _ => (
                get(all_group),
                get(realm_group)
                    .post(add_realm_group)
                    .delete(remove_realm_group),
                get(effective_realm_group),
                get(available_realm_group),
            ),
        };
        let (client_direct, client_effective, client_available) = match kind {
            "users" => (
                get(client_user)
                    .post(add_client_user)
                    .delete(remove_client_user),
                get(effective_client_user),
                get(available_client_user),
            ),
            _ => (
                get(client_group)
                    .post(add_client_group)
                    .delete(remove_client_group),
                get(effective_client_group),
                get(available_client_group),
            ),
        };
        router = router
            .route(&r(""), all)
            .route(&r("/realm"), realm_direct)
            .route(&r("/realm/composite"), realm_effective)
            .route(&r("/realm/available"), realm_available)
            .route(&r("/clients/{client}"), client_direct)
            .route(&r("/clients/{client}/composite"), client_effective)
            .route(&r("/clients/{client}/available"), client_available);
    }
    router
}

macro_rules! handlers {
    ($kind:expr, $all:ident, $realm:ident, $add_realm:ident, $remove_realm:ident,
     $eff_realm:ident, $avail_realm:ident, $client:ident, $add_client:ident,
     $remove_client:ident, $eff_client:ident, $avail_client:ident) => {
        pub async fn $all(
            State(state): State<AppState>,
            caller: Caller,
            Path((realm, id)): Path<(String, String)>,
        ) -> Reply {
            all_mappings(&state, &caller, &realm, $kind, &id).await
        }
        pub async fn $realm(
            State(state): State<AppState>,
            caller: Caller,
            Path((realm, id)): Path<(String, String)>,
        ) -> Reply {
            view(&state, &caller, &realm, $kind, &id, None, View::Direct).await
        }
        pub async fn $eff_realm(
            State(state): State<AppState>,
            caller: Caller,
            Path((realm, id)): Path<(String, String)>,
        ) -> Reply {
            view(&state, &caller, &realm, $kind, &id, None, View::Effective).await
        }
        pub async fn $avail_realm(
            State(state): State<AppState>,
            caller: Caller,
            Path((realm, id)): Path<(String, String)>,
        ) -> Reply {
            view(&state, &caller, &realm, $kind, &id, None, View::Available).await
        }
        pub async fn $add_realm(
            State(state): State<AppState>,
            Extension(protocols): Extension<Protocols>,
            caller: Caller,
            Path((realm, id)): Path<(String, String)>,
            AdminJson(body): AdminJson<Value>,
        ) -> Reply {
            change(
                Ops::new(&state, &caller, &protocols),
                &realm,
                $kind,
                &id,
                None,
                body,
                true,
            )
            .await
        }
        pub async fn $remove_realm(
            State(state): State<AppState>,
            Extension(protocols): Extension<Protocols>,
            caller: Caller,
            Path((realm, id)): Path<(String, String)>,
            AdminJson(body): AdminJson<Value>,
        ) -> Reply {
            change(
                Ops::new(&state, &caller, &protocols),
                &realm,
                $kind,
                &id,
                None,
                body,
                false,
            )
            .await
        }
        pub async fn $client(
            State(state): State<AppState>,
            caller: Caller,
            Path((realm, id, client)): Path<(String, String, String)>,
        ) -> Reply {
            view(
                &state,
                &caller,
                &realm,
                $kind,
                &id,
                Some(&client),
                View::Direct,
            )
            .await
        }
        pub async fn $eff_client(
            State(state): State<AppState>,
            caller: Caller,
            Path((realm, id, client)): Path<(String, String, String)>,
        ) -> Reply {
            view(
                &state,
                &caller,
                &realm,
                $kind,
                &id,
                Some(&client),
                View::Effective,
            )
            .await
        }
        pub async fn $avail_client(
            State(state): State<AppState>,
            caller: Caller,
            Path((realm, id, client)): Path<(String, String, String)>,
        ) -> Reply {
            view(
                &state,
                &caller,
                &realm,
                $kind,
                &id,
                Some(&client),
                View::Available,
            )
            .await
        }
        pub async fn $add_client(
            State(state): State<AppState>,
            Extension(protocols): Extension<Protocols>,
            caller: Caller,
            Path((realm, id, client)): Path<(String, String, String)>,
            AdminJson(body): AdminJson<Value>,
        ) -> Reply {
            change(
                Ops::new(&state, &caller, &protocols),
                &realm,
                $kind,
                &id,
                Some(&client),
                body,
                true,
            )
            .await
        }
        pub async fn $remove_client(
            State(state): State<AppState>,
            Extension(protocols): Extension<Protocols>,
            caller: Caller,
            Path((realm, id, client)): Path<(String, String, String)>,
            AdminJson(body): AdminJson<Value>,
        ) -> Reply {
            change(
                Ops::new(&state, &caller, &protocols),
                &realm,
                $kind,
                &id,
                Some(&client),
                body,
                false,
            )
            .await
        }
    };
}

handlers!(
    Kind::User,
    all_user,
    realm_user,
    add_realm_user,
    remove_realm_user,
    effective_realm_user,
    available_realm_user,
    client_user,
    add_client_user,
    remove_client_user,
    effective_client_user,
    available_client_user
);
handlers!(
    Kind::Group,
    all_group,
    realm_group,
    add_realm_group,
    remove_realm_group,
    effective_realm_group,
    available_realm_group,
    client_group,
    add_client_group,
    remove_client_group,
    effective_client_group,
    available_client_group
);

/// `GET …/role-mappings`: `{realmMappings, clientMappings: {clientId: {id, client, mappings}}}`,
/// each key left out when empty, as Keycloak does.
async fn all_mappings(
    state: &AppState,
    caller: &Caller,
    realm: &str,
    kind: Kind,
    id: &str,
) -> Reply {
    let realm_row = target_realm(state, caller, realm, Right::ViewUsers).await?;
    let db = state.store().connection();
    check(db, &realm_row.id, kind.holder(id)).await?;
    let ids = admin::roles::mapped_ids(db, kind.holder(id)).await?;
    let roles = admin::roles::by_ids(db, &realm_row.id, &ids).await?;
    let (realm_roles, client_roles): (Vec<_>, Vec<_>) =
        roles.into_iter().partition(|r| r.client_pk.is_none());
    let mut out = serde_json::Map::new();
    if !realm_roles.is_empty() {
        out.insert(
            "realmMappings".into(),
            json!(role_reps(db, &realm_row.id, &realm_roles).await?),
        );
    }
    let clients = super::client_ids(db, &realm_row.id).await?;
    let mut by_client: BTreeMap<String, (String, Vec<role::Model>)> = BTreeMap::new();
    for role in client_roles {
        let Some(pk) = role.client_pk.clone() else {
            continue;
        };
        let client_id = clients.get(&pk).cloned().unwrap_or_default();
        by_client
            .entry(client_id)
            .or_insert((pk, Vec::new()))
            .1
            .push(role);
    }
    if !by_client.is_empty() {
        let mut mappings = serde_json::Map::new();
        for (client_id, (pk, roles)) in by_client {
            let reps = role_reps(db, &realm_row.id, &roles).await?;
            mappings.insert(
                client_id.clone(),
                json!({"id": pk, "client": client_id, "mappings": reps}),
            );
        }
        out.insert("clientMappings".into(), Value::Object(mappings));
    }
    ok(Value::Object(out))
}

/// Direct, effective or available roles of one scope.
async fn view(
    state: &AppState,
    caller: &Caller,
    realm: &str,
    kind: Kind,
    id: &str,
    client: Option<&str>,
    view: View,
) -> Reply {
    let realm_row = target_realm(state, caller, realm, Right::ViewUsers).await?;
    let db = state.store().connection();
    check(db, &realm_row.id, kind.holder(id)).await?;
    if let Some(client) = client {
        find_client(db, &realm_row.id, client).await?;
    }
    let scope = client.map_or(Scope::Realm, Scope::Client);
    let roles: Vec<role::Model> = match view {
        View::Direct => {
            let ids = admin::roles::mapped_ids(db, kind.holder(id)).await?;
            admin::roles::by_ids(db, &realm_row.id, &ids).await?
        }
        View::Effective | View::Available => {
            let snapshot = super::snapshot(state, realm).await?;
            let effective = super::effective_roles(db, &snapshot, kind.holder(id)).await?;
            let held: Vec<String> = snapshot
                .roles
                .iter()
                .filter(|r| effective.has_role(&r.qualified_name()) == (view == View::Effective))
                .map(|r| r.id.clone())
                .collect();
            admin::roles::by_ids(db, &realm_row.id, &held).await?
        }
    };
    let roles: Vec<role::Model> = roles.into_iter().filter(|r| scope.contains(r)).collect();
    ok(role_reps(db, &realm_row.id, &roles).await?)
}

/// Adds or removes mappings. The body lists role representations; each must name a role of
/// the scope (by id, or by name), else 404 as in Keycloak.
async fn change(
    ops: Ops<'_>,
    realm: &str,
    kind: Kind,
    id: &str,
    client: Option<&str>,
    body: Value,
    add: bool,
) -> Reply {
    target_realm(ops.state, ops.caller, realm, Right::ManageUsers).await?;
    let refs = role_refs(&body)?;
    let holder = kind.holder(id);
    mappings::change(ops, realm, holder, client, refs, add, body.clone()).await?;
    no_content()
}
