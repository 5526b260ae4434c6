//! `/admin/realms/{realm}/users`: search, CRUD, passwords, credentials, groups, sessions.

use axum::extract::Path;
use portcullis_store::admin::Page;
use serde_json::{Value, json};

use super::{DEFAULT_MAX, Reply, no_content, ok, user_rep, user_reps};
use crate::auth::Right;
use crate::context::{created, target_realm};
use crate::error::AdminError;
use crate::extract::{Admin, AdminJson, Params, Rep};
use crate::ops::groups::{self, GroupQuery};
use crate::ops::user_profile;
use crate::ops::users::{self, NewUser, UserQuery, UserUpdate, password_input};
use crate::rep;
use crate::rep::known;
use crate::rep::user::UserFields;
use portcullis_store::representation::{CredentialRepresentation, UserRepresentation};

/// Keycloak's user search parameters.
fn user_query(params: &Params) -> Result<UserQuery, AdminError> {
    // `q` names the user's own columns (`email:...`) as Keycloak's search does, beside custom
    // attributes; a column given both ways is filtered by the query parameter.
    let (root, custom) = user_profile::split_query(params.attribute_query());
    let text = |name: &str| {
        params
            .get(name)
            .map(str::to_string)
            .or_else(|| root.get(name).cloned())
    };
    let page = params.page(DEFAULT_MAX)?;
    Ok(UserQuery {
        search: params.get("search").map(str::to_string),
        exact: params.flag("exact")?.unwrap_or(false),
        username: text("username"),
        email: text("email"),
        first_name: text("firstName"),
        last_name: text("lastName"),
        enabled: params.flag("enabled")?,
        email_verified: params.flag("emailVerified")?,
        attributes: custom,
        idp_alias: text("idpAlias"),
        idp_user_id: text("idpUserId"),
        brief: params.flag_or("briefRepresentation", false)?,
        first: page.first,
        max: page.max,
    })
}

pub async fn list(admin: Admin, Path(realm): Path<String>, params: Params) -> Reply {
    let query = user_query(&params)?;
    let ops = admin.ops();
    let users = users::search(ops, &realm, &query).await?;
    let realm_id = users
        .first()
        .map(|u| u.realm_id.as_str())
        .unwrap_or_default();
    let db = admin.state.store().connection();
    let mut reps = user_reps(db, realm_id, &users, query.brief).await?;
    if !query.brief && !users.is_empty() {
        let profile = user_profile::of_realm(db, realm_id).await?;
        reps.iter_mut()
            .for_each(|rep| profile.filter_representation(rep));
    }
    ok(reps)
}

/// `GET users/count`: a bare integer.
pub async fn count(admin: Admin, Path(realm): Path<String>, params: Params) -> Reply {
    let query = user_query(&params)?;
    ok(users::count(admin.ops(), &realm, &query).await?)
}

pub async fn create(
    admin: Admin,
    Path(realm): Path<String>,
    Rep(body, _): Rep<known::User>,
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
    let ops = admin.ops();
    let id = users::create(ops, &realm, new, body.clone()).await?;
    Ok(created(&admin.state, &realm, &["users", &id]))
}

/// `GET users/{id}`, with `userProfileMetadata=true` the profile's metadata beside it.
pub async fn get(admin: Admin, Path((realm, id)): Path<(String, String)>, params: Params) -> Reply {
    let with_metadata = params.flag_or("userProfileMetadata", false)?;
    let user = users::get(admin.ops(), &realm, &id).await?;
    let db = admin.state.store().connection();
    let mut rep = user_rep(db, &user.realm_id, &user, false).await?;
    let profile = user_profile::of_realm(db, &user.realm_id).await?;
    profile.filter_representation(&mut rep);
    if with_metadata && let Some(map) = rep.as_object_mut() {
        map.insert("userProfileMetadata".into(), profile.metadata());
    }
    ok(rep)
}

/// A partial update: fields the body leaves out keep their values.
pub async fn update(
    admin: Admin,
    Path((realm, id)): Path<(String, String)>,
    Rep(body, _): Rep<known::User>,
) -> Reply {
    // The realm and the right come first, so a caller without them learns nothing from the
    // body's errors.
    target_realm(&admin.state, &admin.caller, &realm, Right::ManageUsers).await?;
    let extras = rep::extras(&body, rep::user::MODELLED)?;
    let user: UserRepresentation = rep::parse(&body)?;
    let update = UserUpdate {
        password: password_input(&user.credentials)?,
        fields: UserFields::from_representation(user)?,
        extras,
    };
    let ops = admin.ops();
    users::update(ops, &realm, &id, update, body.clone()).await?;
    no_content()
}

pub async fn delete(admin: Admin, Path((realm, id)): Path<(String, String)>) -> Reply {
    users::delete(admin.ops(), &realm, &id).await?;
    no_content()
}

/// `PUT users/{id}/reset-password` with a `CredentialRepresentation`.
pub async fn reset_password(
    admin: Admin,
    Path((realm, id)): Path<(String, String)>,
    Rep(body, _): Rep<known::Credential>,
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
    let ops = admin.ops();
    users::reset_password(ops, &realm, &id, value, temporary).await?;
    no_content()
}

/// `GET users/{id}/credentials`: metadata only, never the hash.
pub async fn credentials(admin: Admin, Path((realm, id)): Path<(String, String)>) -> Reply {
    let ops = admin.ops();
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
    admin: Admin,
    Path((realm, id, credential)): Path<(String, String, String)>,
) -> Reply {
    let ops = admin.ops();
    users::delete_credential(ops, &realm, &id, &credential).await?;
    no_content()
}

/// `GET users/{id}/groups` and its count: `search` (a part of the name), `first`, `max`.
fn member_query(params: &Params, paged: bool) -> Result<GroupQuery, AdminError> {
    let (page, brief) = match paged {
        true => (
            params.page(DEFAULT_MAX)?,
            params.flag_or("briefRepresentation", true)?,
        ),
        false => (Page::default(), true),
    };
    Ok(GroupQuery {
        search: params.get("search").map(str::to_string),
        brief,
        first: page.first,
        max: page.max,
        ..GroupQuery::default()
    })
}

pub async fn groups(
    admin: Admin,
    Path((realm, id)): Path<(String, String)>,
    params: Params,
) -> Reply {
    let query = member_query(&params, true)?;
    let ops = admin.ops();
    let listing = groups::of_user(ops, &realm, &id, &query).await?;
    ok(super::groups::group_reps(&admin.state, &listing, query.brief).await?)
}

pub async fn group_count(
    admin: Admin,
    Path((realm, id)): Path<(String, String)>,
    params: Params,
) -> Reply {
    let query = member_query(&params, false)?;
    let ops = admin.ops();
    let listing = groups::of_user(ops, &realm, &id, &query).await?;
    ok(json!({"count": listing.ids.len()}))
}

pub async fn join_group(
    admin: Admin,
    Path((realm, id, group)): Path<(String, String, String)>,
) -> Reply {
    let ops = admin.ops();
    users::membership(ops, &realm, &id, &group, true).await?;
    no_content()
}

pub async fn leave_group(
    admin: Admin,
    Path((realm, id, group)): Path<(String, String, String)>,
) -> Reply {
    let ops = admin.ops();
    users::membership(ops, &realm, &id, &group, false).await?;
    no_content()
}

/// `GET users/{id}/sessions`: the user's live SSO sessions.
pub async fn sessions(admin: Admin, Path((realm, id)): Path<(String, String)>) -> Reply {
    let ops = admin.ops();
    let live = users::sessions(ops, &realm, &id).await?;
    let user = users::get(ops, &realm, &id).await?;
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
pub async fn logout(admin: Admin, Path((realm, id)): Path<(String, String)>) -> Reply {
    users::logout(admin.ops(), &realm, &id).await?;
    no_content()
}

/// `GET users/profile`: the realm's declarative user profile (Keycloak's default until one is
/// stored).
pub async fn profile(admin: Admin, Path(realm): Path<String>) -> Reply {
    ok(user_profile::get(admin.ops(), &realm).await?)
}

/// `PUT users/profile`: stores the profile and answers it, as Keycloak does.
pub async fn update_profile(
    admin: Admin,
    Path(realm): Path<String>,
    AdminJson(body): AdminJson<Value>,
) -> Reply {
    let ops = admin.ops();
    ok(user_profile::update(ops, &realm, &body).await?)
}

/// `GET users/profile/metadata`: the profile as the admin's user form sees it.
pub async fn profile_metadata(admin: Admin, Path(realm): Path<String>) -> Reply {
    let config = user_profile::get(admin.ops(), &realm).await?;
    ok(config.metadata())
}
