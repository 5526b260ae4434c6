//! A brokered login on the database: the linked user, or the first-login policy's outcome
//! carried out (a user created, a link made), and then the provider's mappers applied, every
//! membership reconciled with what the upstream asserts now, in one transaction.
//!
//! After a [`Outcome::SignedIn`] the caller drops the user's cached logins and roles
//! (`AppState::invalidate_user`): memberships may have changed.

use portcullis_core::broker::UpstreamIdentity;
use portcullis_core::broker::mappers::evaluate;
use portcullis_core::model::{IdentityProvider, RealmSnapshot};
use portcullis_store::Store;
use portcullis_store::admin::entity::user_federated_identity;
use portcullis_store::admin::{self, ConnectionTrait};
use portcullis_store::broker::{self, Reconciled};
use portcullis_store::entity::user_entity;

use crate::error::BrokerError;
use crate::first_login::{
    Decision, LocalUser, Matches, NewUser, Refusal, decide, username_candidates,
};

/// One upstream login to carry out.
#[derive(Debug, Clone, Copy)]
pub struct BrokeredLogin<'a> {
    pub realm: &'a RealmSnapshot,
    pub provider: &'a IdentityProvider,
    pub identity: &'a UpstreamIdentity,
    pub now: i64,
}

/// Whether a first login that would create or link an account is carried out, or only
/// described so the user can review it (and the registry access it brings) first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstLogin {
    Review,
    CarryOut,
    /// Carried out as the user confirmed it on the review page. The identity is as old as
    /// that page, so it only ever makes the first login: an account linked meanwhile (the
    /// form posted twice, or replayed later) is signed in without its claims, which may be
    /// stale — a group the upstream has since taken away must not come back.
    Confirmed,
}

/// A first login the user has not confirmed yet: nothing is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// A new account with this username.
    Create { username: String },
    /// The upstream account linked to this existing one (trusted, verified e-mail).
    Link { user_id: String, username: String },
}

/// What became of the login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Signed in as this user.
    SignedIn {
        user_id: String,
        /// The user was created by this login.
        created: bool,
        /// The upstream account was linked by this login.
        linked: bool,
        reconciled: Reconciled,
    },
    /// A first login to show the user before it is carried out ([`FirstLogin::Review`]).
    Review(Plan),
    /// The existing account must be proven (its password) before the link is made
    /// ([`link_confirmed`]).
    ConfirmLink {
        user_id: String,
        username: String,
    },
    Refused(Refusal),
}

/// Carries out a login: signs in the linked user, or decides the first login and, unless it
/// is only to be reviewed, carries it out; applies the mappers.
pub async fn sign_in(
    store: &Store,
    login: BrokeredLogin<'_>,
    first_login: FirstLogin,
) -> Result<Outcome, BrokerError> {
    let realm_id = login.realm.realm.id.as_str();
    let txn = store.begin().await?;
    let linked = broker::linked_user(
        &txn,
        realm_id,
        &login.provider.alias,
        &login.identity.subject,
    )
    .await?;
    if let Some(user) = linked {
        if !user.enabled {
            return Ok(Outcome::Refused(Refusal::Disabled));
        }
        if first_login == FirstLogin::Confirmed {
            return Ok(Outcome::SignedIn {
                user_id: user.id,
                created: false,
                linked: false,
                reconciled: Reconciled::default(),
            });
        }
        let reconciled = apply_mappers(&txn, login, &user).await?;
        txn.commit()
            .await
            .map_err(portcullis_store::StoreError::from)?;
        return Ok(Outcome::SignedIn {
            user_id: user.id,
            created: false,
            linked: false,
            reconciled,
        });
    }
    if login.provider.link_only {
        return Ok(Outcome::Refused(Refusal::LinkOnly));
    }
    let matches = matches(&txn, login).await?;
    let decision = decide(
        login.provider.first_login,
        login.provider.trust_email,
        login.identity,
        &login.provider.alias,
        &matches,
    );
    let outcome = match decision {
        Decision::Refuse(why) => return Ok(Outcome::Refused(why)),
        Decision::ConfirmLink { user_id, username } => {
            return Ok(Outcome::ConfirmLink { user_id, username });
        }
        Decision::LinkNow { user_id } => {
            let user = admin::users::find(&txn, realm_id, &user_id)
                .await?
                .ok_or_else(|| BrokerError::Upstream("the account to link is gone".into()))?;
            if first_login == FirstLogin::Review {
                return Ok(Outcome::Review(Plan::Link {
                    user_id: user.id,
                    username: user.username,
                }));
            }
            link(&txn, login, &user.id).await?;
            let reconciled = apply_mappers(&txn, login, &user).await?;
            Outcome::SignedIn {
                user_id: user.id,
                created: false,
                linked: true,
                reconciled,
            }
        }
        Decision::Create(new) => {
            if first_login == FirstLogin::Review {
                let username = free_username(&txn, login, &new.username).await?;
                return Ok(Outcome::Review(Plan::Create { username }));
            }
            let user = create_user(&txn, login, new).await?;
            link(&txn, login, &user.id).await?;
            let reconciled = apply_mappers(&txn, login, &user).await?;
            Outcome::SignedIn {
                user_id: user.id,
                created: true,
                linked: true,
                reconciled,
            }
        }
    };
    txn.commit()
        .await
        .map_err(portcullis_store::StoreError::from)?;
    Ok(outcome)
}

/// Links the upstream account to `user_id` once its owner proved the account, and signs in
/// as it (mappers applied). The match is checked again: the account must still be enabled,
/// unlinked to this provider, and the upstream account unlinked.
pub async fn link_confirmed(
    store: &Store,
    login: BrokeredLogin<'_>,
    user_id: &str,
) -> Result<Outcome, BrokerError> {
    let realm_id = login.realm.realm.id.as_str();
    let txn = store.begin().await?;
    let Some(user) = admin::users::find(&txn, realm_id, user_id).await? else {
        return Ok(Outcome::Refused(Refusal::NoAccount));
    };
    if !user.enabled {
        return Ok(Outcome::Refused(Refusal::Disabled));
    }
    let taken = broker::linked_user(
        &txn,
        realm_id,
        &login.provider.alias,
        &login.identity.subject,
    )
    .await?
    .is_some();
    let already = admin::federated::find(&txn, &user.id, &login.provider.alias)
        .await?
        .is_some();
    if taken || already {
        return Ok(Outcome::Refused(Refusal::AlreadyLinked));
    }
    link(&txn, login, &user.id).await?;
    let reconciled = apply_mappers(&txn, login, &user).await?;
    txn.commit()
        .await
        .map_err(portcullis_store::StoreError::from)?;
    Ok(Outcome::SignedIn {
        user_id: user.id,
        created: false,
        linked: true,
        reconciled,
    })
}

async fn local_user<C: ConnectionTrait>(
    db: &C,
    row: user_entity::Model,
    alias: &str,
) -> Result<LocalUser, BrokerError> {
    let has_password = admin::users::credentials(db, &row.id)
        .await?
        .iter()
        .any(|c| c.credential_type == "password");
    let linked_to_provider = admin::federated::find(db, &row.id, alias).await?.is_some();
    Ok(LocalUser {
        id: row.id,
        username: row.username,
        enabled: row.enabled,
        email_verified: row.email_verified,
        has_password,
        linked_to_provider,
        service_account: row.service_account_client_pk.is_some(),
    })
}

async fn matches<C: ConnectionTrait>(
    db: &C,
    login: BrokeredLogin<'_>,
) -> Result<Matches, BrokerError> {
    let realm_id = login.realm.realm.id.as_str();
    let alias = login.provider.alias.as_str();
    let by_email = match &login.identity.email {
        Some(email) => admin::users::find_by_email(db, realm_id, &email.to_lowercase()).await?,
        None => None,
    };
    let by_username = match &login.identity.username {
        Some(username) => {
            admin::users::find_by_username(db, realm_id, &username.to_lowercase()).await?
        }
        None => None,
    };
    Ok(Matches {
        by_email: match by_email {
            Some(row) => Some(local_user(db, row, alias).await?),
            None => None,
        },
        by_username: match by_username {
            Some(row) => Some(local_user(db, row, alias).await?),
            None => None,
        },
    })
}

async fn create_user<C: ConnectionTrait>(
    db: &C,
    login: BrokeredLogin<'_>,
    new: NewUser,
) -> Result<user_entity::Model, BrokerError> {
    let realm_id = login.realm.realm.id.as_str();
    let username = free_username(db, login, &new.username).await?;
    let email = match new.email.map(|e| e.to_lowercase()) {
        Some(e) => admin::users::find_by_email(db, realm_id, &e)
            .await?
            .is_none()
            .then_some(e),
        None => None,
    };
    let row = user_entity::Model {
        id: admin::new_id(),
        realm_id: realm_id.to_string(),
        username,
        email_verified: email.is_some() && new.email_verified,
        email,
        first_name: new.first_name,
        last_name: new.last_name,
        enabled: true,
        attributes: "{}".into(),
        created_at: login.now,
        service_account_client_pk: None,
        not_before: 0,
        required_actions: "[]".into(),
    };
    admin::users::insert(db, row.clone()).await?;
    let mut row = row;
    admin::realm_settings::apply_new_user_defaults(db, realm_id, &mut row).await?;
    tracing::info!(realm = %login.realm.realm.name, provider = %login.provider.alias, user = %row.id, "broker: user created at first login");
    Ok(row)
}

/// The first of the candidates for `preferred` that no user of the realm has.
async fn free_username<C: ConnectionTrait>(
    db: &C,
    login: BrokeredLogin<'_>,
    preferred: &str,
) -> Result<String, BrokerError> {
    let realm_id = login.realm.realm.id.as_str();
    for candidate in username_candidates(preferred, &login.provider.alias) {
        if admin::users::find_by_username(db, realm_id, &candidate)
            .await?
            .is_none()
        {
            return Ok(candidate);
        }
    }
    Err(BrokerError::NotAllowed(format!(
        "No free username near '{preferred}'; ask an administrator to create the account."
    )))
}

async fn link<C: ConnectionTrait>(
    db: &C,
    login: BrokeredLogin<'_>,
    user_id: &str,
) -> Result<(), BrokerError> {
    admin::federated::insert(
        db,
        user_federated_identity::Model {
            user_id: user_id.to_string(),
            identity_provider: login.provider.alias.clone(),
            realm_id: login.realm.realm.id.clone(),
            federated_user_id: login.identity.subject.clone(),
            federated_username: login.identity.username.clone(),
        },
    )
    .await?;
    Ok(())
}

/// The provider's mappers applied: memberships reconciled, managed attributes set.
async fn apply_mappers<C: ConnectionTrait>(
    db: &C,
    login: BrokeredLogin<'_>,
    user: &user_entity::Model,
) -> Result<Reconciled, BrokerError> {
    let asserted = evaluate(login.realm, login.provider, &login.identity.claims);
    for skipped in &asserted.skipped {
        tracing::warn!(realm = %login.realm.realm.name, provider = %login.provider.alias, "broker: {skipped}");
    }
    let reconciled = broker::reconcile(
        db,
        broker::Login {
            realm_id: &login.realm.realm.id,
            user_id: &user.id,
            provider_id: &login.provider.id,
            now: login.now,
        },
        &asserted.groups,
        &asserted.roles,
    )
    .await?;
    broker::apply_attributes(db, user, &asserted.attributes).await?;
    Ok(reconciled)
}
