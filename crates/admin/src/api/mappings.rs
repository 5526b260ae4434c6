//! Role mappings of users (`/users/{id}/role-mappings`) and groups
//! (`/groups/{id}/role-mappings`): list, add, remove, and the `composite` (effective) and
//! `available` views, realm and per client.

use axum::Router;
use axum::extract::Path;
use axum::routing::get;
use portcullis_store::admin::roles::Holder;
use portcullis_web::AppState;
use serde_json::Value;

use super::{Reply, no_content, ok, role_reps};
use crate::auth::Right;
use crate::context::target_realm;
use crate::extract::{Admin, Rep};
use crate::ops::Ops;
use crate::ops::mappings::{self, Scope, View};
use crate::rep::known;
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
        pub async fn $all(admin: Admin, Path((realm, id)): Path<(String, String)>) -> Reply {
            let ops = admin.ops();
            all_mappings(ops, &realm, $kind, &id).await
        }
        pub async fn $realm(admin: Admin, Path((realm, id)): Path<(String, String)>) -> Reply {
            let ops = admin.ops();
            view(ops, &realm, $kind, &id, None, View::Direct).await
        }
        pub async fn $eff_realm(admin: Admin, Path((realm, id)): Path<(String, String)>) -> Reply {
            let ops = admin.ops();
            view(ops, &realm, $kind, &id, None, View::Effective).await
        }
        pub async fn $avail_realm(
            admin: Admin,
            Path((realm, id)): Path<(String, String)>,
        ) -> Reply {
            let ops = admin.ops();
            view(ops, &realm, $kind, &id, None, View::Available).await
        }
        pub async fn $add_realm(
            admin: Admin,
            Path((realm, id)): Path<(String, String)>,
            Rep(body, _): Rep<known::Role>,
        ) -> Reply {
            change(admin.ops(), &realm, $kind, &id, None, body, true).await
        }
        pub async fn $remove_realm(
            admin: Admin,
            Path((realm, id)): Path<(String, String)>,
            Rep(body, _): Rep<known::Role>,
        ) -> Reply {
            change(admin.ops(), &realm, $kind, &id, None, body, false).await
        }
        pub async fn $client(
            admin: Admin,
            Path((realm, id, client)): Path<(String, String, String)>,
        ) -> Reply {
            let ops = admin.ops();
            view(ops, &realm, $kind, &id, Some(&client), View::Direct).await
        }
        pub async fn $eff_client(
            admin: Admin,
            Path((realm, id, client)): Path<(String, String, String)>,
        ) -> Reply {
            let ops = admin.ops();
            view(ops, &realm, $kind, &id, Some(&client), View::Effective).await
        }
        pub async fn $avail_client(
            admin: Admin,
            Path((realm, id, client)): Path<(String, String, String)>,
        ) -> Reply {
            let ops = admin.ops();
            view(ops, &realm, $kind, &id, Some(&client), View::Available).await
        }
        pub async fn $add_client(
            admin: Admin,
            Path((realm, id, client)): Path<(String, String, String)>,
            Rep(body, _): Rep<known::Role>,
        ) -> Reply {
            change(admin.ops(), &realm, $kind, &id, Some(&client), body, true).await
        }
        pub async fn $remove_client(
            admin: Admin,
            Path((realm, id, client)): Path<(String, String, String)>,
            Rep(body, _): Rep<known::Role>,
        ) -> Reply {
            change(admin.ops(), &realm, $kind, &id, Some(&client), body, false).await
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
async fn all_mappings(ops: Ops<'_>, realm: &str, kind: Kind, id: &str) -> Reply {
    let roles = mappings::direct(ops, realm, kind.holder(id)).await?;
    let realm_id = roles
        .first()
        .map(|r| r.realm_id.clone())
        .unwrap_or_default();
    let db = ops.state.store().connection();
    ok(super::mappings_rep(db, &realm_id, roles).await?)
}

/// Direct, effective or available roles of one scope.
async fn view(
    ops: Ops<'_>,
    realm: &str,
    kind: Kind,
    id: &str,
    client: Option<&str>,
    view: View,
) -> Reply {
    let scope = client.map_or(Scope::Realm, Scope::Client);
    let roles = mappings::scoped(ops, realm, kind.holder(id), scope, view).await?;
    let realm_id = roles
        .first()
        .map(|r| r.realm_id.as_str())
        .unwrap_or_default();
    ok(role_reps(ops.state.store().connection(), realm_id, &roles).await?)
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
