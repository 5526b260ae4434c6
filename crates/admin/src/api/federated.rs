//! `/admin/realms/{realm}/users/{id}/federated-identity`: a user's links to accounts at
//! upstream identity providers.

use axum::Extension;
use axum::extract::{Path, State};
use portcullis_web::{AppState, Protocols};
use serde_json::{Value, json};

use super::{Reply, no_content, ok};
use crate::auth::Caller;
use crate::extract::AdminJson;
use crate::ops::Ops;
use crate::ops::federated::{self, NewLink};
use crate::rep;

pub async fn list(
    State(state): State<AppState>,
    Extension(protocols): Extension<Protocols>,
    caller: Caller,
    Path((realm, id)): Path<(String, String)>,
) -> Reply {
    let ops = Ops::new(&state, &caller, &protocols);
    let links: Vec<Value> = federated::list(ops, &realm, &id)
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
    Extension(protocols): Extension<Protocols>,
    caller: Caller,
    Path((realm, id, provider)): Path<(String, String, String)>,
    AdminJson(body): AdminJson<Value>,
) -> Reply {
    let object = rep::object(&body)?;
    let new = NewLink {
        provider,
        user_id: object.text("userId")?,
        user_name: object.text("userName")?,
    };
    let ops = Ops::new(&state, &caller, &protocols);
    federated::link(ops, &realm, &id, new, body.clone()).await?;
    no_content()
}

pub async fn unlink(
    State(state): State<AppState>,
    Extension(protocols): Extension<Protocols>,
    caller: Caller,
    Path((realm, id, provider)): Path<(String, String, String)>,
) -> Reply {
    let ops = Ops::new(&state, &caller, &protocols);
    federated::unlink(ops, &realm, &id, &provider).await?;
    no_content()
}
