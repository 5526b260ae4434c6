//! `/admin/realms/{realm}/users/{id}/federated-identity`: a user's links to accounts at
//! upstream identity providers.

use axum::extract::{Path, State};
use portcullis_store::admin;
use portcullis_store::admin::entity::user_federated_identity;
use portcullis_web::AppState;
use serde_json::{Value, json};

use super::{Reply, find_user, no_content, ok};
use crate::auth::{Caller, Right};
use crate::context::{Change, Event, Op, target_realm};
use crate::error::AdminError;
use crate::extract::AdminJson;
use crate::rep;

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path((realm, id)): Path<(String, String)>,
) -> Reply {
    let realm_row = target_realm(&state, &caller, &realm, Right::ViewUsers).await?;
    let db = state.store().connection();
    find_user(db, &realm_row.id, &id).await?;
    let links: Vec<Value> = admin::federated::list(db, &id)
        .await?
        .into_iter()
        .map(|l| {
            json!({"identityProvider": l.identity_provider, "userId": l.federated_user_id,
                   "userName": l.federated_username})
        })
        .collect();
    ok(links)
}

/// `POST …/federated-identity/{provider}` `{userId, userName}`: 204; 409 when the user already
/// has a link to the provider or the account is linked to someone else.
pub async fn link(
    State(state): State<AppState>,
    caller: Caller,
    Path((realm, id, provider)): Path<(String, String, String)>,
    AdminJson(body): AdminJson<Value>,
) -> Reply {
    let realm_row = target_realm(&state, &caller, &realm, Right::ManageUsers).await?;
    let object = rep::object(&body)?;
    let federated_user_id = object
        .text("userId")?
        .ok_or_else(|| AdminError::BadRequest("userId is required".into()))?;
    let too_long = |s: &str| s.chars().count() > rep::user::MAX_NAME_LEN;
    if too_long(&federated_user_id) || too_long(&provider) {
        return Err(AdminError::BadRequest(
            "Identity provider link too long".into(),
        ));
    }
    let mut change = Change::begin(&state, &caller, realm_row.clone()).await?;
    // A link lets whoever owns the upstream account sign in as this user.
    change.require_may_manage_user(&id)?;
    find_user(change.db(), &realm_row.id, &id).await?;
    let linked = || AdminError::Conflict("User is already linked with provider".into());
    if admin::federated::find(change.db(), &id, &provider)
        .await?
        .is_some()
    {
        return Err(linked());
    }
    let taken = admin::federated::find_by_account(
        change.db(),
        &realm_row.id,
        &provider,
        &federated_user_id,
    )
    .await?;
    if taken.is_some() {
        return Err(AdminError::Conflict(
            "The identity provider account is linked to another user".into(),
        ));
    }
    let row = user_federated_identity::Model {
        user_id: id.clone(),
        identity_provider: provider.clone(),
        realm_id: realm_row.id.clone(),
        federated_user_id,
        federated_username: object.text("userName")?,
    };
    admin::federated::insert(change.db(), row)
        .await
        .map_err(super::conflict_on_duplicate(linked()))?;
    let path = format!("users/{id}/federated-identity/{provider}");
    change.record(Event::new(Op::Create, "USER", path).with(body.clone()));
    change.commit().await?;
    no_content()
}

pub async fn unlink(
    State(state): State<AppState>,
    caller: Caller,
    Path((realm, id, provider)): Path<(String, String, String)>,
) -> Reply {
    let realm_row = target_realm(&state, &caller, &realm, Right::ManageUsers).await?;
    let mut change = Change::begin(&state, &caller, realm_row.clone()).await?;
    find_user(change.db(), &realm_row.id, &id).await?;
    if !admin::federated::delete(change.db(), &id, &provider).await? {
        return Err(AdminError::not_found("Link not found"));
    }
    change.user_changed(&id);
    let path = format!("users/{id}/federated-identity/{provider}");
    change.record(Event::new(Op::Delete, "USER", path));
    change.commit().await?;
    no_content()
}
