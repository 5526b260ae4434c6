//! Realm roles (`/roles`), client roles (`/clients/{id}/roles`) and both by id
//! (`/roles-by-id`): CRUD, composites, and the users and groups holding a role.

use axum::Router;
use axum::extract::Path;
use axum::routing::get;
use portcullis_store::admin::TextMatch;
use portcullis_store::entity::role;
use portcullis_web::AppState;
use serde_json::Value;

use super::{DEFAULT_MAX, Reply, no_content, ok, role_reps, user_reps};
use crate::auth::Right;
use crate::context::{created, target_realm};
use crate::extract::{Admin, Params, Rep};
use crate::ops::Ops;
use crate::ops::roles::{self, Composites, Container, Locator};
use crate::rep;
use crate::rep::known;
use crate::rep::role::{RoleFields, role_refs};
use portcullis_store::representation::RoleRepresentation;

pub fn routes(realm: &str) -> Router<AppState> {
    let r = |path: &str| format!("{realm}{path}");
    let client = |path: &str| format!("{realm}/clients/{{id}}/roles{path}");
    let by_id = |path: &str| format!("{realm}/roles-by-id/{{id}}{path}");
    Router::new()
        .route(&r("/roles"), get(list_realm).post(create_realm))
        .route(&client(""), get(list_client).post(create_client))
        .route(
            &r("/roles/{name}"),
            get(get_realm).put(update_realm).delete(delete_realm),
        )
        .route(
            &client("/{name}"),
            get(get_client).put(update_client).delete(delete_client),
        )
        .route(&by_id(""), get(get_id).put(update_id).delete(delete_id))
        .route(
            &r("/roles/{name}/composites"),
            get(composites_realm)
                .post(add_composites_realm)
                .delete(remove_composites_realm),
        )
        .route(
            &client("/{name}/composites"),
            get(composites_client)
                .post(add_composites_client)
                .delete(remove_composites_client),
        )
        .route(
            &by_id("/composites"),
            get(composites_id)
                .post(add_composites_id)
                .delete(remove_composites_id),
        )
        .route(
            &r("/roles/{name}/composites/realm"),
            get(realm_composites_realm),
        )
        .route(
            &client("/{name}/composites/realm"),
            get(realm_composites_client),
        )
        .route(&by_id("/composites/realm"), get(realm_composites_id))
        .route(
            &r("/roles/{name}/composites/clients/{of}"),
            get(client_composites_realm),
        )
        .route(
            &client("/{name}/composites/clients/{of}"),
            get(client_composites_client),
        )
        .route(
            &by_id("/composites/clients/{of}"),
            get(client_composites_id),
        )
        .route(&r("/roles/{name}/users"), get(users_realm))
        .route(&client("/{name}/users"), get(users_client))
        .route(&r("/roles/{name}/groups"), get(groups_realm))
        .route(&client("/{name}/groups"), get(groups_client))
}

// The same operation under the three ways of naming a role.
macro_rules! by_locator {
    ($op:ident, $realm_fn:ident, $client_fn:ident, $id_fn:ident $(, $arg:ident : $ty:ty)*) => {
        pub async fn $realm_fn(
            admin: Admin,
            Path((realm, name)): Path<(String, String)>,
            $($arg: $ty),*
        ) -> Reply {
            let ops = admin.ops();
            $op(ops, &realm, Locator::Name { client: None, name } $(, $arg)*).await
        }

        pub async fn $client_fn(
            admin: Admin,
            Path((realm, client, name)): Path<(String, String, String)>,
            $($arg: $ty),*
        ) -> Reply {
            let ops = admin.ops();
            let locator = Locator::Name { client: Some(client), name };
            $op(ops, &realm, locator $(, $arg)*).await
        }

        #[allow(dead_code)]
        pub async fn $id_fn(
            admin: Admin,
            Path((realm, id)): Path<(String, String)>,
            $($arg: $ty),*
        ) -> Reply {
            let ops = admin.ops();
            $op(ops, &realm, Locator::Id(id) $(, $arg)*).await
        }
    };
}

by_locator!(get_role, get_realm, get_client, get_id);
by_locator!(update_role, update_realm, update_client, update_id, body: Rep<known::Role>);
by_locator!(delete_role, delete_realm, delete_client, delete_id);
by_locator!(
    list_composites,
    composites_realm,
    composites_client,
    composites_id,
    params: Params
);
by_locator!(add_composites, add_composites_realm, add_composites_client, add_composites_id, body: Rep<known::Role>);
by_locator!(remove_composites, remove_composites_realm, remove_composites_client, remove_composites_id, body: Rep<known::Role>);
by_locator!(
    realm_composites,
    realm_composites_realm,
    realm_composites_client,
    realm_composites_id
);
by_locator!(holders, users_realm, users_client, users_id, params: Params);
by_locator!(holding_groups, groups_realm, groups_client, groups_id, params: Params);

pub async fn client_composites_realm(
    admin: Admin,
    Path((realm, name, of)): Path<(String, String, String)>,
) -> Reply {
    let locator = Locator::Name { client: None, name };
    let ops = admin.ops();
    client_composites(ops, &realm, locator, &of).await
}

pub async fn client_composites_client(
    admin: Admin,
    Path((realm, client, name, of)): Path<(String, String, String, String)>,
) -> Reply {
    let locator = Locator::Name {
        client: Some(client),
        name,
    };
    let ops = admin.ops();
    client_composites(ops, &realm, locator, &of).await
}

pub async fn client_composites_id(
    admin: Admin,
    Path((realm, id, of)): Path<(String, String, String)>,
) -> Reply {
    let ops = admin.ops();
    client_composites(ops, &realm, Locator::Id(id), &of).await
}

pub async fn list_realm(admin: Admin, Path(realm): Path<String>, params: Params) -> Reply {
    let ops = admin.ops();
    list(ops, &realm, None, &params).await
}

pub async fn list_client(
    admin: Admin,
    Path((realm, client)): Path<(String, String)>,
    params: Params,
) -> Reply {
    let ops = admin.ops();
    list(ops, &realm, Some(&client), &params).await
}

pub async fn create_realm(
    admin: Admin,
    Path(realm): Path<String>,
    Rep(body, _): Rep<known::Role>,
) -> Reply {
    let ops = admin.ops();
    create(ops, &realm, None, body).await
}

pub async fn create_client(
    admin: Admin,
    Path((realm, client)): Path<(String, String)>,
    Rep(body, _): Rep<known::Role>,
) -> Reply {
    let ops = admin.ops();
    create(ops, &realm, Some(&client), body).await
}

async fn list(ops: Ops<'_>, realm: &str, client: Option<&str>, params: &Params) -> Reply {
    let search = params
        .get("search")
        .map(|s| TextMatch::Contains(s.to_string()));
    let page = params.page(None)?;
    // Keycloak lists roles in brief unless asked otherwise: no `attributes`.
    let brief = params.flag_or("briefRepresentation", true)?;
    let rows = roles::list(ops, realm, client, search, page).await?;
    let realm_id = rows
        .first()
        .map(|r| r.realm_id.as_str())
        .unwrap_or_default();
    let mut out = role_reps(ops.state.store().connection(), realm_id, &rows).await?;
    if brief {
        for rep in &mut out {
            if let Some(map) = rep.as_object_mut() {
                map.remove("attributes");
            }
        }
    }
    ok(out)
}

async fn create(ops: Ops<'_>, realm: &str, client: Option<&str>, body: Value) -> Reply {
    target_realm(ops.state, ops.caller, realm, Right::Any).await?;
    let role: RoleRepresentation = rep::parse(&body)?;
    let id = rep::text(&role.id);
    let fields = RoleFields::from_representation(role)?;
    let (container, name) = roles::create(ops, realm, client, id, fields, body.clone()).await?;
    let location = match &container {
        Container::Realm => vec!["roles", name.as_str()],
        Container::Client(c) => vec!["clients", c.id.as_str(), "roles", name.as_str()],
    };
    Ok(created(ops.state, realm, &location))
}

async fn get_role(ops: Ops<'_>, realm: &str, locator: Locator) -> Reply {
    let role = roles::get(ops, realm, &locator).await?.role;
    let db = ops.state.store().connection();
    let mut reps = role_reps(db, &role.realm_id, std::slice::from_ref(&role)).await?;
    ok(reps.pop())
}

async fn update_role(
    ops: Ops<'_>,
    realm: &str,
    locator: Locator,
    Rep(body, _): Rep<known::Role>,
) -> Reply {
    target_realm(ops.state, ops.caller, realm, Right::Any).await?;
    let fields = RoleFields::read(&body)?;
    roles::update(ops, realm, &locator, fields, body.clone()).await?;
    no_content()
}

async fn delete_role(ops: Ops<'_>, realm: &str, locator: Locator) -> Reply {
    roles::delete(ops, realm, &locator).await?;
    no_content()
}

/// Keycloak's composite lists: brief roles (no `attributes`). `roles-by-id/{id}/composites`
/// reads `search`, `first` and `max`, as Keycloak's `RoleByIdResource` does; the by-name paths
/// take no query parameters in Keycloak and list every composite.
async fn list_composites(ops: Ops<'_>, realm: &str, locator: Locator, params: Params) -> Reply {
    let narrowed = matches!(locator, Locator::Id(_))
        && ["search", "first", "max"]
            .iter()
            .any(|p| params.get(p).is_some());
    let found = if narrowed {
        let page = params.page(None)?;
        roles::composites_page(ops, realm, &locator, params.get("search"), page).await?
    } else {
        roles::composites(ops, realm, &locator, Composites::All).await?
    };
    brief_reps(ops, &found).await
}

async fn realm_composites(ops: Ops<'_>, realm: &str, locator: Locator) -> Reply {
    brief_reps(
        ops,
        &roles::composites(ops, realm, &locator, Composites::Realm).await?,
    )
    .await
}

async fn client_composites(ops: Ops<'_>, realm: &str, locator: Locator, client: &str) -> Reply {
    let which = Composites::Client(client);
    brief_reps(ops, &roles::composites(ops, realm, &locator, which).await?).await
}

/// Keycloak's brief roles: `id`, `name`, `description`, `composite`, `clientRole`,
/// `containerId`.
async fn brief_reps(ops: Ops<'_>, rows: &[role::Model]) -> Reply {
    let realm_id = rows
        .first()
        .map(|r| r.realm_id.as_str())
        .unwrap_or_default();
    let mut out = role_reps(ops.state.store().connection(), realm_id, rows).await?;
    for rep in &mut out {
        if let Some(map) = rep.as_object_mut() {
            map.remove("attributes");
        }
    }
    ok(out)
}

async fn add_composites(
    ops: Ops<'_>,
    realm: &str,
    locator: Locator,
    Rep(body, _): Rep<known::Role>,
) -> Reply {
    change_composites(ops, realm, locator, body, true).await
}

async fn remove_composites(
    ops: Ops<'_>,
    realm: &str,
    locator: Locator,
    Rep(body, _): Rep<known::Role>,
) -> Reply {
    change_composites(ops, realm, locator, body, false).await
}

async fn change_composites(
    ops: Ops<'_>,
    realm: &str,
    locator: Locator,
    body: Value,
    add: bool,
) -> Reply {
    target_realm(ops.state, ops.caller, realm, Right::Any).await?;
    let refs = role_refs(&body)?;
    roles::change_composites(ops, realm, &locator, &refs, add, body.clone()).await?;
    no_content()
}

/// Users with a direct mapping to the role.
async fn holders(ops: Ops<'_>, realm: &str, locator: Locator, params: Params) -> Reply {
    let page = params.page(DEFAULT_MAX)?;
    let brief = params.flag_or("briefRepresentation", true)?;
    let users = roles::direct_users(ops, realm, &locator, page).await?;
    let realm_id = users
        .first()
        .map(|u| u.realm_id.as_str())
        .unwrap_or_default();
    ok(user_reps(ops.state.store().connection(), realm_id, &users, brief).await?)
}

/// Groups with a direct mapping to the role.
async fn holding_groups(ops: Ops<'_>, realm: &str, locator: Locator, params: Params) -> Reply {
    let page = params.page(DEFAULT_MAX)?;
    let brief = params.flag_or("briefRepresentation", true)?;
    let listing = roles::direct_groups(ops, realm, &locator, page).await?;
    ok(super::groups::group_reps(ops.state, &listing, brief).await?)
}
