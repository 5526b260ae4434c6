//! A user's links to accounts at upstream identity providers: list, link, unlink; and where
//! the memberships identity-provider mappers gave the user come from.

use std::collections::HashSet;

use portcullis_store::admin;
use portcullis_store::admin::entity::user_federated_identity;
use portcullis_store::broker::{self, MembershipProvenance};
use portcullis_store::entity::realm;
use serde_json::Value;

use super::Ops;
use super::lookup::{conflict_on_duplicate, find_user};
use crate::auth::Right;
use crate::context::{Change, Event, Op, target_realm};
use crate::error::AdminError;
use crate::rep;

/// A link to make: the account `user_id` (required) at the upstream provider `provider`.
#[derive(Debug, Clone, Default)]
pub struct NewLink {
    pub provider: String,
    pub user_id: Option<String>,
    pub user_name: Option<String>,
}

/// The user's links, one per provider (`view-users`), to providers the realm has: as in
/// Keycloak, a link to an alias no provider of the realm carries (made by `POST` or an
/// import naming an unknown alias) is kept but not listed.
pub async fn list(
    ops: Ops<'_>,
    realm: &str,
    user_id: &str,
) -> Result<Vec<user_federated_identity::Model>, AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ViewUsers).await?;
    let db = ops.state.store().connection();
    find_user(db, &realm_row.id, user_id).await?;
    let configured: HashSet<String> = admin::identity_providers::list(db, &realm_row.id)
        .await?
        .into_iter()
        .map(|p| p.alias)
        .collect();
    let mut links = admin::federated::list(db, user_id).await?;
    links.retain(|l| configured.contains(&l.identity_provider));
    Ok(links)
}

/// Links the user to an upstream account (`manage-users`, and every right the user holds: a
/// link lets whoever owns the upstream account sign in as this user). A user has at most one
/// link per provider, and an upstream account belongs to at most one user: either is a
/// conflict.
pub async fn link(
    ops: Ops<'_>,
    realm: &str,
    user_id: &str,
    new: NewLink,
    representation: Value,
) -> Result<(), AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ManageUsers).await?;
    let provider = new.provider;
    let federated_user_id = new
        .user_id
        .ok_or_else(|| AdminError::BadRequest("userId is required".into()))?;
    let too_long = |s: &str| s.chars().count() > rep::user::MAX_NAME_LEN;
    if too_long(&federated_user_id) || too_long(&provider) {
        return Err(AdminError::BadRequest(
            "Identity provider link too long".into(),
        ));
    }
    let mut change = Change::begin(ops.state, ops.caller, realm_row.clone()).await?;
    change.require_may_manage_user(user_id)?;
    find_user(change.db(), &realm_row.id, user_id).await?;
    let linked = || AdminError::Conflict("User is already linked with provider".into());
    if admin::federated::find(change.db(), user_id, &provider)
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
    let path = format!("users/{user_id}/federated-identity/{provider}");
    let row = user_federated_identity::Model {
        user_id: user_id.to_string(),
        identity_provider: provider,
        realm_id: realm_row.id.clone(),
        federated_user_id,
        federated_username: new.user_name,
    };
    admin::federated::insert(change.db(), row)
        .await
        .map_err(conflict_on_duplicate(linked()))?;
    change.record(Event::new(Op::Create, "USER", path).with(representation));
    change.commit().await
}

/// The provenance of the user's group and role memberships that identity-provider mappers
/// made: provider, mapper, first and last seen (`view-users`, as the memberships themselves).
/// Memberships an admin made have none.
pub async fn provenance(
    ops: Ops<'_>,
    realm: &str,
    user_id: &str,
) -> Result<Vec<MembershipProvenance>, AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ViewUsers).await?;
    let db = ops.state.store().connection();
    find_user(db, &realm_row.id, user_id).await?;
    Ok(broker::provenance(db, user_id).await?)
}

/// Removes the user's link to a provider (`manage-users`, and every right the user holds: a
/// link may be the user's only way to sign in, so removing it can lock them out).
pub async fn unlink(
    ops: Ops<'_>,
    realm: &str,
    user_id: &str,
    provider: &str,
) -> Result<(), AdminError> {
    let realm_row = target_realm(ops.state, ops.caller, realm, Right::ManageUsers).await?;
    remove_link(ops, realm_row, user_id, provider, true).await
}

/// [`unlink`] for a user the caller may act for (checked by the caller).
pub(crate) async fn unlink_authorized(
    ops: Ops<'_>,
    realm_row: realm::Model,
    user_id: &str,
    provider: &str,
) -> Result<(), AdminError> {
    remove_link(ops, realm_row, user_id, provider, false).await
}

/// Deletes the link with its admin event; with `check_user_rights`, refused unless the caller
/// holds every right the user holds (a user removing their own link holds them all already).
async fn remove_link(
    ops: Ops<'_>,
    realm_row: realm::Model,
    user_id: &str,
    provider: &str,
    check_user_rights: bool,
) -> Result<(), AdminError> {
    let mut change = Change::begin(ops.state, ops.caller, realm_row.clone()).await?;
    if check_user_rights {
        change.require_may_manage_user(user_id)?;
    }
    find_user(change.db(), &realm_row.id, user_id).await?;
    if !admin::federated::delete(change.db(), user_id, provider).await? {
        return Err(AdminError::not_found("Link not found"));
    }
    change.user_changed(user_id);
    let path = format!("users/{user_id}/federated-identity/{provider}");
    change.record(Event::new(Op::Delete, "USER", path));
    change.commit().await
}
