//! `/admin/realms/{realm}/users/{id}/federated-identity`: a user's links to accounts at
//! upstream identity providers.

use axum::extract::Path;
use portcullis_store::representation::FederatedIdentityRepresentation;

use super::{Reply, no_content, ok};
use crate::auth::Right;
use crate::context::target_realm;
use crate::extract::{Admin, Rep};
use crate::ops::federated::{self, NewLink};
use crate::rep;
use crate::rep::known;

pub async fn list(admin: Admin, Path((realm, id)): Path<(String, String)>) -> Reply {
    let ops = admin.ops();
    let links: Vec<FederatedIdentityRepresentation> = federated::list(ops, &realm, &id)
        .await?
        .into_iter()
        .map(|l| FederatedIdentityRepresentation {
            identity_provider: Some(l.identity_provider),
            user_id: Some(l.federated_user_id),
            user_name: l.federated_username,
        })
        .collect();
    ok(links)
}

/// `POST …/federated-identity/{provider}` `{userId, userName}`: 204; 409 when the user already
/// has a link to the provider or the account is linked to someone else.
pub async fn link(
    admin: Admin,
    Path((realm, id, provider)): Path<(String, String, String)>,
    Rep(body, _): Rep<known::FederatedIdentity>,
) -> Reply {
    // The realm and the right come first, so a caller without them learns nothing from the
    // body's errors.
    target_realm(&admin.state, &admin.caller, &realm, Right::ManageUsers).await?;
    let link: FederatedIdentityRepresentation = rep::parse(&body)?;
    let new = NewLink {
        provider,
        user_id: rep::text(&link.user_id),
        user_name: rep::text(&link.user_name),
    };
    let ops = admin.ops();
    federated::link(ops, &realm, &id, new, body.clone()).await?;
    no_content()
}

pub async fn unlink(
    admin: Admin,
    Path((realm, id, provider)): Path<(String, String, String)>,
) -> Reply {
    let ops = admin.ops();
    federated::unlink(ops, &realm, &id, &provider).await?;
    no_content()
}
