//! Self-service: what a signed-in user does to their own account in the account console.
//!
//! Every operation acts on the user of a [`Me`], which only the signed-in user's live SSO
//! session makes, and on nothing else: ids that come from a form (a session, a docker login,
//! an app password, a linked provider) are looked up *among that user's own*, so another
//! user's id is "not found", exactly like an unknown one. The domain logic is the admin
//! operations' own ([`super::app_passwords`], [`super::users`], [`super::federated`],
//! [`super::access`]), run with the user as the caller: changes go through the same
//! transaction with its admin event ([`Change`]), whose rights check also guarantees that
//! nothing done here moves an admin right.

use std::net::IpAddr;
use std::sync::Arc;

use portcullis_core::model::{RealmSnapshot, User};
use portcullis_core::resolve::ResolvedUser;
use portcullis_store::admin::entity::user_federated_identity;
use portcullis_store::admin::{self, ACCOUNT_CONSOLE_CLIENT, grants};
use portcullis_store::entity::{docker_refresh_token, realm};
use portcullis_store::{AppPassword, SessionDevice, UserSession, app_passwords};
use portcullis_web::{AppState, Attempt, LoginEvent, Protocols, ScopeExplanation, Sources};
use portcullis_web::{Verification, WebError};
use serde_json::{Map, json};

use super::Ops;
use super::access;
use super::lookup::find_user;
use super::users::{PasswordOwner, UserUpdate, new_password, policy_of};
use crate::auth::Caller;
use crate::context::Change;
use crate::error::AdminError;
use crate::rep::user::{MAX_NAME_LEN, UserFields};

pub use super::access::Grant;
pub use super::app_passwords::{
    Created, Invalid, NewAppPassword, NewField, checked as check_app_password, docker_login_line,
};

/// Keycloak's texts for the password form.
const MISSING_PASSWORD: &str = "Please specify password.";
const PASSWORDS_DIFFER: &str = "Passwords don't match.";
const WRONG_PASSWORD: &str = "Invalid existing password.";
const TOO_MANY_ATTEMPTS: &str = "Too many failed attempts. Please wait a moment and try again.";
/// The realm attribute (Keycloak's realm setting) that lets users change their username.
const EDIT_USERNAME_ALLOWED: &str = "editUsernameAllowed";

/// A self-service request that failed: a field of the form was wrong (shown next to it), or
/// the operation was refused (an id that is not the user's own is "not found").
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("{message}")]
    Field {
        /// The form field's name.
        field: &'static str,
        message: String,
    },
    #[error(transparent)]
    Refused(#[from] AdminError),
}

impl AccountError {
    fn field(field: &'static str, message: impl Into<String>) -> Self {
        AccountError::Field {
            field,
            message: message.into(),
        }
    }
}

impl From<WebError> for AccountError {
    fn from(error: WebError) -> Self {
        AccountError::Refused(AdminError::Web(error))
    }
}

impl From<portcullis_store::StoreError> for AccountError {
    fn from(error: portcullis_store::StoreError) -> Self {
        AccountError::Refused(AdminError::Store(error))
    }
}

/// The signed-in user: made from their live SSO session, it is the only subject
/// self-service operations act on.
#[derive(Debug, Clone)]
pub struct Me {
    caller: Caller,
    session_id: String,
    user_agent: Option<String>,
}

impl Me {
    /// The user of `session` in `realm`. The session must be the browser's live SSO session
    /// (the login flow checks that) and `roles` its user's; `None` when they do not belong
    /// together or the user is gone or disabled.
    pub async fn signed_in(
        state: &AppState,
        realm: Arc<RealmSnapshot>,
        session: &UserSession,
        roles: ResolvedUser,
        ip: Option<IpAddr>,
        user_agent: Option<&str>,
    ) -> Result<Option<Me>, AdminError> {
        if session.ended || session.realm_id != realm.realm.id || session.user_id != roles.id {
            return Ok(None);
        }
        let user = state
            .store()
            .find_user_by_id(&realm.realm.id, &session.user_id)
            .await?
            .filter(|u| u.enabled);
        let Some(user) = user else {
            return Ok(None);
        };
        Ok(Some(Me {
            caller: Caller {
                realm,
                user,
                roles,
                client_id: Some(ACCOUNT_CONSOLE_CLIENT.to_string()),
                ip,
            },
            session_id: session.id.clone(),
            user_agent: user_agent.map(str::to_string),
        }))
    }

    pub fn user(&self) -> &User {
        &self.caller.user
    }

    pub fn realm(&self) -> &Arc<RealmSnapshot> {
        &self.caller.realm
    }

    /// The SSO session the user is signed in with.
    pub fn session_id(&self) -> &str {
        &self.session_id
    }

    fn id(&self) -> &str {
        &self.caller.user.id
    }
}

/// The self-service operations of one signed-in user.
#[derive(Clone, Copy)]
pub struct SelfService<'a> {
    state: &'a AppState,
    me: &'a Me,
    protocols: &'a Protocols,
}

/// The user's profile as the account console shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub username: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// The realm lets users change their username.
    pub may_edit_username: bool,
    /// The user has a local password (brokered users may have none).
    pub has_password: bool,
}

/// A profile edit: empty fields clear; `username` only where the realm allows it.
#[derive(Debug, Clone, Default)]
pub struct ProfileUpdate {
    pub username: Option<String>,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
}

/// A password change.
#[derive(Debug, Clone, Default)]
pub struct PasswordChange {
    pub current: String,
    pub new: String,
    pub confirm: String,
    /// Also revoke every app password.
    pub revoke_app_passwords: bool,
}

/// A live SSO session of the user, with where it was started from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MySession {
    pub id: String,
    pub started: i64,
    pub last_access: i64,
    /// When it ends at the latest, idle or not (unix seconds).
    pub expires: i64,
    pub device: SessionDevice,
    /// The session this request is signed in with.
    pub current: bool,
}

/// A link to an account at an upstream identity provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub provider: String,
    pub user_id: String,
    pub username: Option<String>,
    /// Whether removing it leaves the user a way to sign in.
    pub removable: bool,
}

/// What the user may do in one registry, rule by rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryAccess {
    /// The registry's service name (its `clientId`).
    pub registry: String,
    /// The registry client's internal id.
    pub id: String,
    pub grants: Vec<Grant>,
}

impl<'a> SelfService<'a> {
    pub fn new(state: &'a AppState, me: &'a Me, protocols: &'a Protocols) -> Self {
        Self {
            state,
            me,
            protocols,
        }
    }

    fn ops(&self) -> Ops<'a> {
        Ops::new(self.state, &self.me.caller, self.protocols)
    }

    async fn realm_row(&self) -> Result<realm::Model, AdminError> {
        admin::realms::find_by_name(self.state.store().connection(), &self.me.realm().realm.name)
            .await?
            .ok_or_else(|| AdminError::not_found("Realm not found."))
    }

    /// A login event of the user's, from this console.
    fn event(&self, kind: &'static str, error: Option<&str>) -> LoginEvent {
        LoginEvent {
            realm: self.me.realm().realm.name.clone(),
            kind,
            client_id: Some(ACCOUNT_CONSOLE_CLIENT.to_string()),
            user_id: Some(self.me.id().to_string()),
            username: Some(self.me.user().username.clone()),
            session_id: Some(self.me.session_id.clone()),
            ip_address: self.me.caller.ip.map(|ip| ip.to_string()),
            error: error.map(str::to_string),
            ..LoginEvent::default()
        }
    }

    async fn has_password(&self) -> Result<bool, AdminError> {
        let db = self.state.store().connection();
        let credentials = admin::users::credentials(db, self.me.id()).await?;
        Ok(credentials.iter().any(|c| c.credential_type == "password"))
    }

    fn may_edit_username(&self, extras: &Map<String, serde_json::Value>) -> bool {
        extras
            .get(EDIT_USERNAME_ALLOWED)
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false)
    }

    /// The user's profile.
    pub async fn profile(&self) -> Result<Profile, AdminError> {
        let db = self.state.store().connection();
        let realm_row = self.realm_row().await?;
        let row = find_user(db, &realm_row.id, self.me.id()).await?;
        let extras = admin::extras::get(db, &realm_row.id).await?;
        Ok(Profile {
            username: row.username,
            email: row.email,
            email_verified: row.email_verified,
            first_name: row.first_name,
            last_name: row.last_name,
            may_edit_username: self.may_edit_username(&extras),
            has_password: self.has_password().await?,
        })
    }

    /// Changes the user's names and e-mail (and username, where the realm allows it). A new
    /// e-mail is not verified; a username or e-mail another user has is refused at its field.
    pub async fn update_profile(&self, update: ProfileUpdate) -> Result<(), AccountError> {
        let db = self.state.store().connection();
        let realm_row = self.realm_row().await?;
        let current = find_user(db, &realm_row.id, self.me.id()).await?;
        let extras = admin::extras::get(db, &realm_row.id).await?;
        let clear = |value: &str| {
            let value = value.trim();
            (!value.is_empty()).then(|| value.to_string())
        };
        let username = update
            .username
            .as_deref()
            .map(|u| u.trim().to_lowercase())
            .filter(|u| *u != current.username);
        if let Some(username) = &username {
            if !self.may_edit_username(&extras) {
                return Err(AccountError::field(
                    "username",
                    "This realm does not let you change your username.",
                ));
            }
            if username.is_empty() {
                return Err(AccountError::field("username", "Please specify username."));
            }
        }
        for (field, value) in [
            ("firstName", &update.first_name),
            ("lastName", &update.last_name),
        ] {
            if value.trim().chars().count() > MAX_NAME_LEN || value.chars().any(char::is_control) {
                return Err(AccountError::field(field, "Please give a shorter name."));
            }
        }
        let email = clear(&update.email).map(|e| e.to_lowercase());
        let email_changed = email != current.email;
        let fields = UserFields {
            username: username.clone(),
            email: Some(email.clone()),
            first_name: Some(clear(&update.first_name)),
            last_name: Some(clear(&update.last_name)),
            email_verified: email_changed.then_some(false),
            ..UserFields::default()
        };
        if let Err(e) = fields.validate() {
            return Err(match e {
                AdminError::InvalidField { field: "email", .. } => {
                    AccountError::field("email", "Please give a valid e-mail address.")
                }
                AdminError::InvalidField {
                    field: "username", ..
                } => AccountError::field("username", "Please give a valid username."),
                other => AccountError::Refused(other),
            });
        }
        let representation = json!({
            "username": username,
            "email": email,
            "firstName": fields.first_name,
            "lastName": fields.last_name,
        });
        let change = UserUpdate {
            fields,
            password: None,
            extras: Map::new(),
        };
        let result = super::users::update_authorized(
            self.ops(),
            realm_row,
            self.me.id(),
            change,
            representation,
        )
        .await;
        match result {
            Ok(()) => {}
            Err(AdminError::Conflict(message)) if message.contains("username") => {
                return Err(AccountError::field("username", "Username already exists."));
            }
            Err(AdminError::Conflict(message)) if message.contains("email") => {
                return Err(AccountError::field("email", "Email already exists."));
            }
            // The realm's user profile refused a value: shown next to the field.
            Err(AdminError::Profile(errors)) => {
                let field = errors.first().and_then(|e| {
                    ["username", "email", "firstName", "lastName"]
                        .into_iter()
                        .find(|f| *f == e.field)
                });
                return Err(match field {
                    Some(field @ ("firstName" | "lastName")) => AccountError::field(
                        field,
                        "Please give a name without special characters such as < > & \" $ % ! # ? ; * / \\ ^ ( ) { } [ ] | @ =.",
                    ),
                    Some(field) => AccountError::field(field, "Please give a valid value."),
                    None => AccountError::Refused(AdminError::Profile(errors)),
                });
            }
            Err(other) => return Err(other.into()),
        }
        self.state.record_event(self.event("UPDATE_PROFILE", None));
        if email_changed {
            self.state.record_event(self.event("UPDATE_EMAIL", None));
        }
        Ok(())
    }

    /// Changes the user's password: the current one must be right (a wrong one counts as a
    /// failed login), the new one must pass the realm's policy. Every other session of the
    /// user ends, with every refresh and offline token and docker login the old password
    /// earned; this session stays, and so do the app passwords unless asked otherwise. Users
    /// without a local password (brokered ones) have none to change.
    pub async fn change_password(&self, change: PasswordChange) -> Result<(), AccountError> {
        if !self.has_password().await? {
            return Err(AdminError::BadRequest(
                "You sign in through an identity provider and have no password here.".into(),
            )
            .into());
        }
        if change.current.is_empty() {
            return Err(AccountError::field("password", MISSING_PASSWORD));
        }
        if change.new.is_empty() {
            return Err(AccountError::field("password-new", MISSING_PASSWORD));
        }
        if change.confirm != change.new {
            return Err(AccountError::field("password-confirm", PASSWORDS_DIFFER));
        }
        let me = self.me;
        let verification = self
            .state
            .authenticate(Attempt {
                realm: me.realm(),
                username: &me.user().username,
                secret: &change.current,
                client: me.caller.ip,
                user_agent: me.user_agent.as_deref(),
                sources: Sources::PASSWORD,
            })
            .await?;
        match verification {
            Verification::Verified(verified) if verified.user.id == me.id() => {}
            Verification::RateLimited { .. } => {
                let event = self.event("UPDATE_PASSWORD_ERROR", Some("too_many_attempts"));
                self.state.record_event(event);
                return Err(AccountError::field("password", TOO_MANY_ATTEMPTS));
            }
            _ => {
                let event = self.event("UPDATE_PASSWORD_ERROR", Some("invalid_user_credentials"));
                self.state.record_event(event);
                return Err(AccountError::field("password", WRONG_PASSWORD));
            }
        }
        let realm_row = self.realm_row().await?;
        let db = self.state.store().connection();
        let row = find_user(db, &realm_row.id, me.id()).await?;
        let owner = PasswordOwner::of(&row, true);
        let password =
            match new_password(self.state, &policy_of(&realm_row), &change.new, owner).await {
                Ok(password) => password,
                Err(AdminError::InvalidRequest { description, .. }) => {
                    let event = self.event("UPDATE_PASSWORD_ERROR", Some("invalid_password"));
                    self.state.record_event(event);
                    return Err(AccountError::field("password-new", description));
                }
                Err(other) => return Err(other.into()),
            };
        let now = self.state.now();
        let mut tx = Change::begin(self.state, &me.caller, realm_row.clone()).await?;
        admin::users::set_password(tx.db(), me.id(), &password, now).await?;
        admin::users::end_other_sign_ins(tx.db(), &realm_row.id, me.id(), &me.session_id).await?;
        if change.revoke_app_passwords {
            admin::users::revoke_app_passwords(tx.db(), &realm_row.id, me.id(), now).await?;
        }
        tx.user_changed(me.id());
        tx.commit().await?;
        // Docker logins ended: the docker endpoint's cache of live ones forgets them.
        self.state.invalidate_credentials();
        self.state.record_event(self.event("UPDATE_PASSWORD", None));
        Ok(())
    }

    /// The user's live SSO sessions, newest first, the current one marked.
    pub async fn sessions(&self) -> Result<Vec<MySession>, AdminError> {
        let realm = &self.me.realm().realm;
        let now = self.state.now();
        let mut sessions: Vec<MySession> = self
            .state
            .store()
            .list_user_session_devices(&realm.id, self.me.id())
            .await?
            .into_iter()
            .filter(|(s, _)| realm.session_alive(s.ended, s.created_at, s.last_seen_at, now))
            .filter(|(s, _)| !self.me.user().revoked_before(s.created_at))
            .map(|(s, device)| MySession {
                current: s.id == self.me.session_id,
                expires: (s
                    .last_seen_at
                    .saturating_add(realm.sso_session_idle_timeout))
                .min(s.created_at.saturating_add(realm.sso_session_max_lifespan)),
                id: s.id,
                started: s.created_at,
                last_access: s.last_seen_at,
                device,
            })
            .collect();
        sessions.sort_by_key(|s| std::cmp::Reverse((s.current, s.started)));
        Ok(sessions)
    }

    /// Ends one of the user's sessions (another user's is "not found").
    pub async fn end_session(&self, id: &str) -> Result<(), AdminError> {
        let realm_row = self.realm_row().await?;
        super::users::end_session_authorized(self.ops(), realm_row, self.me.id(), id).await?;
        let mut event = self.event("LOGOUT", None);
        event.session_id = Some(id.to_string());
        self.state.record_event(event);
        Ok(())
    }

    /// Ends every session of the user but this one; returns how many.
    pub async fn end_other_sessions(&self) -> Result<usize, AdminError> {
        let others: Vec<String> = self
            .sessions()
            .await?
            .into_iter()
            .filter(|s| !s.current)
            .map(|s| s.id)
            .collect();
        for id in &others {
            self.end_session(id).await?;
        }
        Ok(others.len())
    }

    /// Signs the user out: ends this session.
    pub async fn sign_out(&self) -> Result<(), AdminError> {
        self.end_session(&self.me.session_id.clone()).await
    }

    /// The user's live docker logins (the identity tokens `docker login` stored), oldest
    /// first.
    pub async fn docker_logins(&self) -> Result<Vec<docker_refresh_token::Model>, AdminError> {
        let db = self.state.store().connection();
        let realm_id = &self.me.realm().realm.id;
        let now = self.state.now();
        Ok(grants::docker_logins(db, realm_id, Some(self.me.id()), None, now).await?)
    }

    /// Revokes one of the user's docker logins (another user's is "not found").
    pub async fn revoke_docker_login(&self, id: &str) -> Result<(), AdminError> {
        let realm_row = self.realm_row().await?;
        access::revoke_login_authorized(self.ops(), realm_row, id, Some(self.me.id())).await
    }

    /// The user's app passwords, newest first, revoked and expired ones included.
    pub async fn app_passwords(&self) -> Result<Vec<AppPassword>, AdminError> {
        let db = self.state.store().connection();
        let realm_id = &self.me.realm().realm.id;
        Ok(app_passwords::list(db, realm_id, self.me.id()).await?)
    }

    /// Creates an app password for the user; its secret is returned once. A wrong field is
    /// reported at its field.
    pub async fn create_app_password(&self, new: NewAppPassword) -> Result<Created, AccountError> {
        let now = self.state.now();
        if let Err(invalid) = check_app_password(self.me.realm(), &new, now) {
            let field = match invalid.field {
                NewField::Name => "name",
                NewField::ExpiresAt => "expires",
                NewField::Registry => "registry",
                NewField::Repositories => "repositories",
                NewField::Actions => "actions",
            };
            return Err(AccountError::field(field, invalid.message));
        }
        let realm_row = self.realm_row().await?;
        Ok(
            super::app_passwords::create_authorized(self.ops(), realm_row, self.me.id(), new)
                .await?,
        )
    }

    /// Revokes one of the user's app passwords (another user's is "not found").
    pub async fn revoke_app_password(&self, id: &str) -> Result<(), AdminError> {
        let realm_row = self.realm_row().await?;
        super::app_passwords::revoke_authorized(self.ops(), realm_row, self.me.id(), id).await
    }

    /// The registries (docker-v2 clients) of the realm, by service name.
    pub fn registries(&self) -> Vec<String> {
        match self.protocols.with_access_rules() {
            Some(protocol) => access::registries_of(self.me.realm(), protocol)
                .into_iter()
                .map(|r| r.client.client_id)
                .collect(),
            None => Vec::new(),
        }
    }

    /// The user's links to upstream identity providers.
    pub async fn links(&self) -> Result<Vec<Link>, AdminError> {
        let db = self.state.store().connection();
        let rows: Vec<user_federated_identity::Model> =
            admin::federated::list(db, self.me.id()).await?;
        let has_password = self.has_password().await?;
        let removable = has_password || rows.len() > 1;
        Ok(rows
            .into_iter()
            .map(|r| Link {
                provider: r.identity_provider,
                user_id: r.federated_user_id,
                username: r.federated_username,
                removable,
            })
            .collect())
    }

    /// Removes the user's link to a provider, unless it is their last way to sign in (no
    /// password and no other link).
    pub async fn unlink(&self, provider: &str) -> Result<(), AdminError> {
        let links = self.links().await?;
        let link = links
            .iter()
            .find(|l| l.provider == provider)
            .ok_or_else(|| AdminError::not_found("Link not found"))?;
        if !link.removable {
            return Err(AdminError::BadRequest(format!(
                "{provider} is your only way to sign in: set a password or link another \
                 provider first."
            )));
        }
        let realm_row = self.realm_row().await?;
        super::federated::unlink_authorized(self.ops(), realm_row, self.me.id(), provider).await?;
        let mut event = self.event("REMOVE_FEDERATED_IDENTITY", None);
        event
            .details
            .insert("identity_provider", provider.to_string());
        self.state.record_event(event);
        Ok(())
    }

    /// What the user may pull and push in each registry of the realm, with the rule that
    /// grants it and how the user holds the rule's subject.
    pub fn registry_access(&self) -> Result<Vec<RegistryAccess>, AdminError> {
        let protocol = access::rules_protocol(self.ops())?;
        let registries = access::registries_of(self.me.realm(), protocol);
        Ok(registries
            .iter()
            .map(|registry| RegistryAccess {
                registry: registry.client.client_id.clone(),
                id: registry.client.id.clone(),
                grants: access::grants_of(
                    self.me.realm(),
                    self.me.user(),
                    std::slice::from_ref(registry),
                ),
            })
            .collect())
    }

    /// What the user gets for `repository` in the registry `registry_id` (every action
    /// asked for), rule by rule: the token endpoint's own evaluation.
    pub fn try_repository(
        &self,
        registry_id: &str,
        repository: &str,
    ) -> Result<ScopeExplanation, AccountError> {
        let protocol = access::rules_protocol(self.ops())?;
        let registry = access::registries_of(self.me.realm(), protocol)
            .into_iter()
            .find(|r| r.client.id == registry_id)
            .ok_or_else(|| AccountError::field("registry", "Choose one of the registries."))?;
        let repository = repository.trim();
        if repository.is_empty() || repository.contains(char::is_whitespace) {
            return Err(AccountError::field(
                "repository",
                "Give a repository name such as team-a/api.",
            ));
        }
        let scope = format!("repository:{repository}:pull,push,delete");
        let mut explained = protocol
            .explain_access(&registry.client, Some(&self.me.caller.roles), &[&scope])
            .map_err(|message| AccountError::field("repository", message))?;
        explained
            .pop()
            .ok_or_else(|| AccountError::field("repository", "Nothing to explain."))
    }
}
