//! `/admin/realms/{realm}/users`: search, CRUD, passwords, credentials, groups, sessions.

use axum::Extension;
use axum::extract::{Path, State};
use portcullis_store::admin::users::UserFilter;
use portcullis_store::admin::{self, TextMatch};
use portcullis_web::{AppState, Protocols};
use serde_json::{Value, json};

use super::{DEFAULT_MAX, Reply, find_user, no_content, ok, user_rep, user_reps};
use crate::auth::{Caller, Right};
use crate::context::{created, target_realm};
use crate::error::AdminError;
use crate::extract::{AdminJson, Params};
use crate::ops::Ops;
use crate::ops::users::{self, NewUser, UserUpdate, password_input};
use crate::rep;
use crate::rep::group::GroupTree;
use crate::rep::user::UserFields;
use portcullis_store::representation::{CredentialRepresentation, UserRepresentation};

/// Keycloak's user search parameters. Service accounts are found only by the field filters.
fn user_filter(params: &Params) -> Result<UserFilter, AdminError> {
    let exact = params.flag("exact")?.unwrap_or(false);
    let field = |name: &str| {
        params.get(name).map(|v| match exact {
            true => TextMatch::Exact(v.to_string()),
            false => TextMatch::Contains(v.to_string()),
        })
    };
    let search = params.get("search").map(|s| match exact {
        true => TextMatch::Exact(s.to_string()),
        false => TextMatch::keycloak_search(s),
    });
    let mut filter = UserFilter {
        search,
        username: field("username"),
        email: field("email"),
        first_name: field("firstName"),
        last_name: field("lastName"),
        enabled: params.flag("enabled")?,
        email_verified: params.flag("emailVerified")?,
        attributes: params.attribute_query(),
        idp_alias: params.get("idpAlias").map(str::to_string),
        idp_user_id: params.get("idpUserId").map(str::to_string),
        include_service_accounts: false,
    };
    filter.include_service_accounts = filter.search.is_none()
        && (filter.username.is_some() || filter.email.is_some() || filter.idp_alias.is_some());
    Ok(filter)
}

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(realm): Path<String>,
    params: Params,
) -> Reply {
    let row = target_realm(&state, &caller, &realm, Right::QueryUsers).await?;
    let db = state.store().connection();
    let filter = user_filter(&params)?;
    let users = admin::users::search(db, &row.id, &filter, params.page(DEFAULT_MAX)?).await?;
    let brief = params.flag_or("briefRepresentation", false)?;
    ok(user_reps(db, &row.id, &users, brief).await?)
}

/// `GET users/count`: a bare integer.
pub async fn count(
    State(state): State<AppState>,
    caller: Caller,
    Path(realm): Path<String>,
    params: Params,
) -> Reply {
    let row = target_realm(&state, &caller, &realm, Right::QueryUsers).await?;
    let filter = user_filter(&params)?;
    ok(admin::users::count(state.store().connection(), &row.id, &filter).await?)
}

pub async fn create(
    State(state): State<AppState>,
    Extension(protocols): Extension<Protocols>,
    caller: Caller,
    Path(realm): Path<String>,
    AdminJson(body): AdminJson<Value>,
) -> Reply {
    let extras = rep::extras(&body, rep::user::MODELLED)?;
    let user: UserRepresentation = rep::parse(&body)?;
    let new = NewUser {
        id: rep::text(&user.id),
        groups: user.groups.clone(),
        password: password_input(&user.credentials)?,
        fields: UserFields::from_representation(user)?,
        extras,
    };
    let ops = Ops::new(&state, &caller, &protocols);
    let id = users::create(ops, &realm, new, body.clone()).await?;
    Ok(created(&state, &realm, &["users", &id]))
}

pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path((realm, id)): Path<(String, String)>,
) -> Reply {
    let realm_row = target_realm(&state, &caller, &realm, Right::ViewUsers).await?;
    let db = state.store().connection();
    let user = find_user(db, &realm_row.id, &id).await?;
    ok(user_rep(db, &realm_row.id, &user, false).await?)
}

/// A partial update: fields the body leaves out keep their values.
pub async fn update(
    State(state): State<AppState>,
    Extension(protocols): Extension<Protocols>,
    caller: Caller,
    Path((realm, id)): Path<(String, String)>,
    AdminJson(body): AdminJson<Value>,
) -> Reply {
    // The realm and the right come first, so a caller without them learns nothing from the
    // body's errors.
    target_realm(&state, &caller, &realm, Right::ManageUsers).await?;
    let extras = rep::extras(&body, rep::user::MODELLED)?;
    let user: UserRepresentation = rep::parse(&body)?;
    let update = UserUpdate {
        password: password_input(&user.credentials)?,
        fields: UserFields::from_representation(user)?,
        extras,
    };
    let ops = Ops::new(&state, &caller, &protocols);
    users::update(ops, &realm, &id, update, body.clone()).await?;
    no_content()
}

pub async fn delete(
    State(state): State<AppState>,
    Extension(protocols): Extension<Protocols>,
    caller: Caller,
    Path((realm, id)): Path<(String, String)>,
) -> Reply {
    users::delete(Ops::new(&state, &caller, &protocols), &realm, &id).await?;
    no_content()
}

/// `PUT users/{id}/reset-password` with a `CredentialRepresentation`.
pub async fn reset_password(
    State(state): State<AppState>,
    Extension(protocols): Extension<Protocols>,
    caller: Caller,
    Path((realm, id)): Path<(String, String)>,
    AdminJson(body): AdminJson<Value>,
) -> Reply {
    let credential: CredentialRepresentation = rep::parse(&body)?;
    if credential
        .credential_type
        .as_deref()
        .is_some_and(|t| t != "password")
    {
        return Err(AdminError::InvalidRequest {
            error: "invalid_request",
            description: "No password provided".into(),
        });
    }
    let value = credential.value.unwrap_or_default();
    let temporary = credential.temporary.unwrap_or(false);
    let ops = Ops::new(&state, &caller, &protocols);
    users::reset_password(ops, &realm, &id, value, temporary).await?;
    no_content()
}

/// `GET users/{id}/credentials`: metadata only, never the hash.
pub async fn credentials(
    State(state): State<AppState>,
    Extension(protocols): Extension<Protocols>,
    caller: Caller,
    Path((realm, id)): Path<(String, String)>,
) -> Reply {
    let ops = Ops::new(&state, &caller, &protocols);
    let reps: Vec<CredentialRepresentation> = users::credentials(ops, &realm, &id)
        .await?
        .into_iter()
        .map(|c| CredentialRepresentation {
            id: Some(c.id),
            credential_type: Some(c.kind),
            user_label: c.label,
            created_date: Some(c.created_at.saturating_mul(1000)),
            credential_data: Some(c.data),
            ..Default::default()
        })
        .collect();
    ok(reps)
}

pub async fn delete_credential(
    State(state): State<AppState>,
    Extension(protocols): Extension<Protocols>,
    caller: Caller,
    Path((realm, id, credential)): Path<(String, String, String)>,
) -> Reply {
    let ops = Ops::new(&state, &caller, &protocols);
    users::delete_credential(ops, &realm, &id, &credential).await?;
    no_content()
}

/// The groups the user is a direct member of, by path.
async fn member_groups(
    state: &AppState,
    realm_id: &str,
    user_id: &str,
    params: &Params,
) -> Result<(GroupTree, Vec<String>), AdminError> {
    let db = state.store().connection();
    let tree = GroupTree::new(admin::groups::all(db, realm_id).await?);
    let search = params
        .get("search")
        .map(|s| TextMatch::Contains(s.to_string()));
    let mut ids: Vec<String> = admin::users::group_ids(db, user_id)
        .await?
        .into_iter()
        .filter(|g| {
            let name = tree.get(g).map(|g| g.name.as_str()).unwrap_or("");
            search.as_ref().is_none_or(|m| m.matches(name))
        })
        .collect();
    ids.sort_by_key(|g| tree.path(g));
    Ok((tree, ids))
}

pub async fn groups(
    State(state): State<AppState>,
    caller: Caller,
    Path((realm, id)): Path<(String, String)>,
    params: Params,
) -> Reply {
    let realm_row = target_realm(&state, &caller, &realm, Right::ViewUsers).await?;
    find_user(state.store().connection(), &realm_row.id, &id).await?;
    let (tree, ids) = member_groups(&state, &realm_row.id, &id, &params).await?;
    let brief = params.flag_or("briefRepresentation", true)?;
    let page = params.page(DEFAULT_MAX)?;
    let reps =
        super::groups::group_reps(&state, &realm_row.id, &tree, &page.slice(ids), brief).await?;
    ok(reps)
}

pub async fn group_count(
    State(state): State<AppState>,
    caller: Caller,
    Path((realm, id)): Path<(String, String)>,
    params: Params,
) -> Reply {
    let realm_row = target_realm(&state, &caller, &realm, Right::ViewUsers).await?;
    find_user(state.store().connection(), &realm_row.id, &id).await?;
    let (_, ids) = member_groups(&state, &realm_row.id, &id, &params).await?;
    ok(json!({"count": ids.len()}))
}

pub async fn join_group(
    State(state): State<AppState>,
    Extension(protocols): Extension<Protocols>,
    caller: Caller,
    Path((realm, id, group)): Path<(String, String, String)>,
) -> Reply {
    let ops = Ops::new(&state, &caller, &protocols);
    users::membership(ops, &realm, &id, &group, true).await?;
    no_content()
}

pub async fn leave_group(
    State(state): State<AppState>,
    Extension(protocols): Extension<Protocols>,
    caller: Caller,
    Path((realm, id, group)): Path<(String, String, String)>,
) -> Reply {
    let ops = Ops::new(&state, &caller, &protocols);
    users::membership(ops, &realm, &id, &group, false).await?;
    no_content()
}

/// `GET users/{id}/sessions`: the user's live SSO sessions.
pub async fn sessions(
    State(state): State<AppState>,
    Extension(protocols): Extension<Protocols>,
    caller: Caller,
    Path((realm, id)): Path<(String, String)>,
) -> Reply {
    let ops = Ops::new(&state, &caller, &protocols);
    let live = users::sessions(ops, &realm, &id).await?;
    let realm_row = target_realm(&state, &caller, &realm, Right::ViewUsers).await?;
    let user = find_user(state.store().connection(), &realm_row.id, &id).await?;
    let reps: Vec<Value> = live
        .into_iter()
        .map(|s| {
            json!({
                "id": s.id,
                "username": user.username,
                "userId": user.id,
                "ipAddress": "",
                "start": s.created_at.saturating_mul(1000),
                "lastAccess": s.last_seen_at.saturating_mul(1000),
                "rememberMe": false,
                "clients": {},
            })
        })
        .collect();
    ok(reps)
}

/// `POST users/{id}/logout`: ends every session, refresh and offline token and docker login
/// of the user, and every access token issued before now (the user's `notBefore`).
pub async fn logout(
    State(state): State<AppState>,
    Extension(protocols): Extension<Protocols>,
    caller: Caller,
    Path((realm, id)): Path<(String, String)>,
) -> Reply {
    users::logout(Ops::new(&state, &caller, &protocols), &realm, &id).await?;
    no_content()
}

/// `GET users/profile`: the declarative user profile, with the attributes Portcullis models.
pub async fn profile(
    State(state): State<AppState>,
    caller: Caller,
    Path(realm): Path<String>,
) -> Reply {
    target_realm(&state, &caller, &realm, Right::Any).await?;
    let attribute = |name: &str, display: &str| {
        json!({"name": name, "displayName": display, "permissions": {"view": ["admin", "user"],
               "edit": ["admin", "user"]}, "multivalued": false})
    };
    let mut username = attribute("username", "${username}");
    if let Some(map) = username.as_object_mut() {
        map.insert("required".into(), json!({"roles": ["admin", "user"]}));
    }
    let attributes = vec![
        username,
        attribute("email", "${email}"),
        attribute("firstName", "${firstName}"),
        attribute("lastName", "${lastName}"),
    ];
    ok(json!({
        "attributes": attributes,
        "groups": [{"name": "user-metadata", "displayHeader": "User metadata",
                    "displayDescription": "Attributes, which refer to user metadata"}],
        "unmanagedAttributePolicy": "ENABLED",
    }))
}
