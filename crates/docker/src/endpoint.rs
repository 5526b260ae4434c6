//! The HTTP side: the token endpoint (GET and the OAuth2 POST) and the registry configuration
//! downloads. Routes are relative to `{relative}/realms/{realm}/protocol/docker-v2`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, Weak};

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::header::USER_AGENT;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, PRAGMA};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use portcullis_core::jwk::ForeignJws;
use portcullis_core::model::{Client, RealmSnapshot};
use portcullis_core::resolve::ResolvedUser;
use portcullis_core::secrets::hash_secret;
use portcullis_store::DockerRefreshToken;
use portcullis_store::admin::DOCKER_CLI_CLIENT;
use portcullis_web::bearer::validate_access_token;
use portcullis_web::{
    AppState, Attempt, ClientIp, Credential, LoginEvent, Mount, Sources, Verification, Verified,
    WebError, basic_credentials,
};
use serde::Serialize;

use crate::PROTOCOL;
use crate::ci::CiPolicy;
use crate::error::DockerError;
use crate::issuers::IssuerKeys;
use crate::policy::{Narrowing, Policy};
use crate::refresh_cache::{RefreshCache, TOUCH_INTERVAL_SECS};
use crate::scope::{ResourceScope, parse_scopes};
use crate::token::{TokenRequest, TokenSettings, TokenSigner, new_refresh_token, rfc3339};

/// The protocol's routes, at the mount path and below.
pub(crate) fn routes(mount: &Mount, issuers: Arc<IssuerKeys>) -> Router<AppState> {
    Router::new()
        .route(&mount.at("/"), get(token_get).post(token_post))
        .route(&mount.at("/auth"), get(token_get).post(token_post))
        .route(&mount.at("/revoke"), post(revoke))
        .route(
            &mount.at("/clients/{client_id}/registry-config"),
            get(registry_config),
        )
        .route(
            &mount.at("/clients/{client_id}/bundle.pem"),
            get(bundle_pem),
        )
        .route(&mount.at("/clients/{client_id}/jwks.json"), get(jwks))
        .layer(Extension(Arc::new(Caches {
            clients: ClientCache::default(),
            refresh: crate::refresh_cache::new(),
            issuers,
        })))
}

/// What the token endpoint keeps between requests.
struct Caches {
    clients: ClientCache,
    refresh: RefreshCache,
    /// Trusted CI issuers' keys, shared with the console's "try it".
    issuers: Arc<IssuerKeys>,
}

/// Everything derived from one client of one realm snapshot: compiled rules, token settings and
/// the signer with its header bytes. Built once per snapshot, not per request.
#[derive(Debug)]
struct ClientContext {
    policy: Policy,
    ci: CiPolicy,
    settings: TokenSettings,
    signer: TokenSigner,
}

/// [`ClientContext`]s keyed by (realm id, client id), valid while the snapshot they were built
/// from is the current one. Holding a `Weak` keeps the old allocation's address from being
/// reused, so pointer equality is a sound "same snapshot" test.
#[derive(Default)]
struct ClientCache {
    entries: Mutex<HashMap<ClientKey, CachedContext>>,
}

/// (realm id, client id).
type ClientKey = (String, String);
/// A context and the snapshot it was built from.
type CachedContext = (Weak<RealmSnapshot>, Arc<ClientContext>);

impl ClientCache {
    fn get(
        &self,
        snapshot: &Arc<RealmSnapshot>,
        client: &Client,
    ) -> Result<Arc<ClientContext>, DockerError> {
        let key = (snapshot.realm.id.clone(), client.client_id.clone());
        {
            let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((built_from, context)) = entries.get(&key)
                && std::ptr::eq(built_from.as_ptr(), Arc::as_ptr(snapshot))
            {
                return Ok(context.clone());
            }
        }
        let settings = TokenSettings::for_client(&snapshot.realm, client);
        let context = Arc::new(ClientContext {
            policy: Policy::for_client(client),
            ci: CiPolicy::for_client(client),
            signer: TokenSigner::new(snapshot, &settings)?,
            settings,
        });
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.insert(key, (Arc::downgrade(snapshot), context.clone()));
        Ok(context)
    }
}

/// Request parameters in order, repeated keys kept (`scope` comes repeated).
struct Params(Vec<(String, String)>);

impl Params {
    fn parse(bytes: &[u8]) -> Result<Self, DockerError> {
        serde_urlencoded::from_bytes(bytes)
            .map(Self)
            .map_err(|_| DockerError::InvalidRequest("malformed form or query string"))
    }

    /// The first non-empty value of `key`.
    fn first(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, v)| k == key && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> {
        self.0
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn flag(&self, key: &str, expected: &str) -> bool {
        self.first(key)
            .is_some_and(|v| v.eq_ignore_ascii_case(expected))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Get,
    Post,
}

/// Client-chosen labels are cut to this many characters in the log.
const MAX_LOGGED_LABEL: usize = 64;
/// Requested and granted scopes are cut to this many characters in the log.
const MAX_LOGGED_SCOPES: usize = 512;

/// What the one log line per request says; filled in as the request is understood.
struct Audit {
    realm: String,
    /// `realm`, cut for the log.
    logged_realm: String,
    method: Method,
    service: String,
    client_label: String,
    grant: String,
    user: String,
    /// The id of the user the token is for, once known.
    user_id: Option<String>,
    /// The peer address: logged, and the key of the per-address login rate limit.
    client: Option<IpAddr>,
    /// The scopes asked for and granted, so an operator can see why a push was denied.
    requested: String,
    granted: String,
    /// `password`, `app_password`, `robot` or `refresh_token`, once known; and the app
    /// password's or robot's id.
    credential: &'static str,
    app_password: Option<String>,
    robot: Option<String>,
    /// A CI token's issuer and the names of the keyless rules it matched.
    ci_issuer: Option<String>,
    ci_rules: Option<String>,
}

async fn token_get(
    State(state): State<AppState>,
    Extension(cache): Extension<Arc<Caches>>,
    Path(path): Path<HashMap<String, String>>,
    ClientIp(client): ClientIp,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let query = query.unwrap_or_default();
    let request = Request {
        path,
        method: Method::Get,
        client,
        headers,
    };
    token(state, cache, request, query.as_bytes()).await
}

/// The body is read whole by axum, chunked or not (containers/image sends it chunked).
async fn token_post(
    State(state): State<AppState>,
    Extension(cache): Extension<Arc<Caches>>,
    Path(path): Path<HashMap<String, String>>,
    ClientIp(client): ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request = Request {
        path,
        method: Method::Post,
        client,
        headers,
    };
    token(state, cache, request, &body).await
}

/// What a token request carries besides its parameters.
struct Request {
    path: HashMap<String, String>,
    method: Method,
    client: Option<IpAddr>,
    headers: HeaderMap,
}

async fn token(
    state: AppState,
    cache: Arc<Caches>,
    request: Request,
    raw_params: &[u8],
) -> Response {
    let Request {
        path,
        method,
        client,
        headers,
    } = request;
    let mut audit = Audit {
        realm: path.get("realm").cloned().unwrap_or_default(),
        logged_realm: label(path.get("realm").map(String::as_str).unwrap_or_default()),
        method,
        service: String::new(),
        client_label: String::new(),
        grant: String::new(),
        user: String::new(),
        user_id: None,
        client,
        requested: String::new(),
        granted: String::new(),
        credential: "",
        app_password: None,
        robot: None,
        ci_issuer: None,
        ci_rules: None,
    };
    let result = match Params::parse(raw_params) {
        Ok(params) => handle(&state, &cache, &headers, &params, &mut audit).await,
        Err(e) => Err(e),
    };
    let (response, outcome) = match result {
        Ok(response) => (response, "issued"),
        Err(error) => {
            let outcome = error.outcome();
            (error.into_response(), outcome)
        }
    };
    tracing::info!(
        realm = ?audit.logged_realm,
        method = ?audit.method,
        service = ?audit.service,
        client_id = ?audit.client_label,
        grant = ?audit.grant,
        user = ?audit.user,
        client = ?audit.client,
        requested = ?audit.requested,
        granted = ?audit.granted,
        status = response.status().as_u16(),
        outcome,
        "docker-v2 token request"
    );
    state.record_event(audit.event(outcome));
    response
}

impl Audit {
    /// The request as a login event: `DOCKER_TOKEN` with the scopes asked for and granted, or
    /// `DOCKER_TOKEN_ERROR` with why it failed.
    fn event(&self, outcome: &str) -> LoginEvent {
        let issued = outcome == "issued";
        let text = |value: &str| (!value.is_empty()).then(|| value.to_string());
        let mut details = std::collections::BTreeMap::new();
        for (key, value) in [
            ("scope_requested", &self.requested),
            ("scope_granted", &self.granted),
            ("grant_type", &self.grant),
        ] {
            if !value.is_empty() {
                details.insert(key, value.clone());
            }
        }
        if !self.credential.is_empty() {
            details.insert("credential", self.credential.to_string());
        }
        if let Some(id) = &self.app_password {
            details.insert("app_password_id", id.clone());
        }
        if let Some(id) = &self.robot {
            details.insert("robot_id", id.clone());
        }
        if let Some(issuer) = &self.ci_issuer {
            details.insert("ci_issuer", issuer.clone());
        }
        if let Some(rules) = &self.ci_rules {
            details.insert("ci_rules", rules.clone());
        }
        LoginEvent {
            realm: self.realm.clone(),
            kind: if issued {
                "DOCKER_TOKEN"
            } else {
                "DOCKER_TOKEN_ERROR"
            },
            client_id: text(&self.service),
            user_id: self.user_id.clone(),
            username: text(&self.user),
            session_id: None,
            ip_address: self.client.map(|ip| ip.to_string()),
            error: (!issued).then(|| outcome.to_string()),
            details,
        }
    }
}

/// Who is asking, with which credential, and what happens with refresh tokens in the answer.
struct Principal {
    user: Option<Arc<ResolvedUser>>,
    /// `None` for anonymous requests and refresh grants.
    credential: Option<Credential>,
    refresh: Refresh,
    /// A CI job with an accepted token: what its rules grant, and nothing else.
    keyless: Option<Keyless>,
}

/// What an accepted CI token earns.
struct Keyless {
    /// The token's `sub`, as the registry token's subject.
    subject: String,
    granted: Vec<ResourceScope>,
}

impl Principal {
    fn anonymous_or(verified: Option<Verified>, refresh: Refresh) -> Self {
        match verified {
            Some(Verified { user, credential }) => Principal {
                user: Some(user),
                credential: Some(credential),
                refresh,
                keyless: None,
            },
            None => Principal {
                user: None,
                credential: None,
                refresh,
                keyless: None,
            },
        }
    }
}

enum Refresh {
    None,
    /// Mint a new refresh token for the user.
    Issue,
    /// Hand back the refresh token the client presented.
    Echo(String),
}

async fn handle(
    state: &AppState,
    cache: &Caches,
    headers: &HeaderMap,
    params: &Params,
    audit: &mut Audit,
) -> Result<Response, DockerError> {
    audit.client_label = label(params.first("client_id").unwrap_or_default());
    let snapshot = state
        .realm(&audit.realm)
        .await?
        .filter(|s| s.realm.enabled)
        .ok_or(DockerError::RealmNotFound)?;
    let service = params.first("service").ok_or(DockerError::MissingService)?;
    audit.service = label(service);
    let client = docker_client(&snapshot, service)
        .filter(|c| c.enabled)
        .ok_or_else(|| DockerError::InvalidClient(service.to_owned()))?;
    let scopes = parse_scopes(params.all("scope"))?;
    audit.requested = logged_scopes(&scopes);
    let context = cache.clients.get(&snapshot, client)?;
    let keyless = KeylessCheck {
        policy: &context.ci,
        keys: &cache.issuers,
        scopes: &scopes,
    };
    if let Some(principal) = keyless
        .principal(state, &snapshot, headers, params, audit)
        .await?
    {
        return respond(
            state, &snapshot, &context, service, &scopes, principal, audit,
        )
        .await;
    }
    let principal = match audit.method {
        Method::Get => get_principal(state, &snapshot, headers, params, &scopes, audit).await?,
        Method::Post => {
            let request = PostRequest {
                headers,
                params,
                scopes: &scopes,
                refresh: &cache.refresh,
            };
            post_principal(state, &snapshot, request, audit).await?
        }
    };
    let user = principal.user.as_deref();
    audit.user = user.map(|u| label(&u.username)).unwrap_or_default();
    audit.user_id = user.map(|u| u.id.clone());
    respond(
        state, &snapshot, &context, service, &scopes, principal, audit,
    )
    .await
}

/// Grants, signs, and stores a refresh token when one was asked for.
async fn respond(
    state: &AppState,
    snapshot: &RealmSnapshot,
    context: &ClientContext,
    service: &str,
    scopes: &[ResourceScope],
    principal: Principal,
    audit: &mut Audit,
) -> Result<Response, DockerError> {
    let user = principal.user.as_deref();
    let mut subject = user.map_or("", |u| u.username.as_str());
    let mut granted = match &principal.keyless {
        Some(keyless) => {
            subject = &keyless.subject;
            keyless.granted.clone()
        }
        None => context.policy.authorize(user, scopes),
    };
    let mut refresh = principal.refresh;
    if let (Some(restriction), Some(user)) = (
        principal
            .credential
            .as_ref()
            .and_then(Credential::restriction),
        user,
    ) {
        // The owner's current rights (the same evaluation as a password login; for a robot,
        // a member's of its group), narrowed by the app password's or robot's own
        // restriction; and never a refresh token, so that what it grants is decided afresh,
        // under its expiry, rotation and revocation, on every request.
        granted = Narrowing::compile(restriction).narrow(user, granted);
        refresh = Refresh::None;
    }
    audit.granted = granted_scope(&granted);
    let now = state.now();
    let issuer = state.issuer(&snapshot.realm.name);
    let request = TokenRequest {
        issuer: &issuer,
        subject,
        audience: service,
        access: &granted,
    };
    let token = context.signer.issue(&request, now)?;
    let refresh_token = match (refresh, user) {
        (Refresh::Issue, Some(user)) => {
            let login = Login {
                user,
                service,
                address: audit.client,
            };
            Some(store_refresh_token(state, snapshot, login, &context.settings, now).await?)
        }
        (Refresh::Echo(token), Some(_)) => Some(token),
        _ => None,
    };
    let body = TokenBody {
        token: &token,
        access_token: &token,
        expires_in: context.signer.lifespan(),
        issued_at: rfc3339(now)?,
        scope: (audit.method == Method::Post).then(|| audit.granted.clone()),
        refresh_token,
    };
    Ok(no_store(Json(body).into_response()))
}

/// A docker-v2 client of the realm by `clientId` (= the registry's `service`).
fn docker_client<'a>(snapshot: &'a RealmSnapshot, client_id: &str) -> Option<&'a Client> {
    snapshot
        .client(client_id)
        .filter(|c| c.protocol == PROTOCOL)
}

/// A token's `sub` is cut to this many characters for the registry token and the log.
const MAX_CI_SUBJECT: usize = 200;

/// The keyless CI path: a password shaped like a signed JWT is a CI token, never a user's
/// password, so it never reaches the authenticator (no password hashing, no brute-force
/// accounting against whatever username the job sends), and any other password never pays
/// for this check beyond a split on dots.
struct KeylessCheck<'a> {
    policy: &'a CiPolicy,
    keys: &'a IssuerKeys,
    scopes: &'a [ResourceScope],
}

impl KeylessCheck<'_> {
    /// `Some` when the request presents a CI token that is accepted; `None` when it presents
    /// no CI token; an error when it presents one that is refused.
    async fn principal(
        &self,
        state: &AppState,
        snapshot: &RealmSnapshot,
        headers: &HeaderMap,
        params: &Params,
        audit: &mut Audit,
    ) -> Result<Option<Principal>, DockerError> {
        let presented = match (audit.method, params.first("grant_type")) {
            (Method::Get, _) | (Method::Post, None) => {
                basic_credentials(headers).and_then(Result::ok)
            }
            (Method::Post, Some("password")) => params
                .first("username")
                .map(|u| {
                    let password = params.first("password").unwrap_or_default();
                    (u.to_owned(), password.to_owned())
                })
                .or_else(|| basic_credentials(headers)?.ok()),
            (Method::Post, Some(_)) => None,
        };
        let Some((username, password)) = presented else {
            return Ok(None);
        };
        let Some(jws) = ForeignJws::parse(&password) else {
            return Ok(None);
        };
        audit.credential = "ci_token";
        audit.grant = match audit.method {
            Method::Get => "basic".into(),
            Method::Post => params.first("grant_type").unwrap_or("basic").to_owned(),
        };
        let subject: String = jws
            .claims
            .get("sub")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .chars()
            .take(MAX_CI_SUBJECT)
            .collect();
        audit.user = label(&subject);
        audit.ci_issuer = jws
            .claims
            .get("iss")
            .and_then(serde_json::Value::as_str)
            .map(label);
        match self
            .keys
            .check(self.policy, &jws, &username, state.now())
            .await
        {
            Ok(evaluation) => {
                let rules: Vec<&str> = evaluation.matched().map(|r| r.name.as_str()).collect();
                audit.ci_rules = Some(rules.join(", "));
                Ok(Some(Principal {
                    user: None,
                    credential: None,
                    refresh: Refresh::None,
                    keyless: Some(Keyless {
                        subject,
                        granted: evaluation.authorize(self.scopes),
                    }),
                }))
            }
            Err(refusal) => {
                tracing::info!(realm = %snapshot.realm.name, reason = %refusal, "CI token refused");
                Err(DockerError::CiToken {
                    realm: snapshot.realm.name.clone(),
                    refusal,
                })
            }
        }
    }
}

/// GET: Basic credentials, or anonymous; `offline_token=true` asks for a refresh token.
async fn get_principal(
    state: &AppState,
    snapshot: &RealmSnapshot,
    headers: &HeaderMap,
    params: &Params,
    scopes: &[ResourceScope],
    audit: &mut Audit,
) -> Result<Principal, DockerError> {
    audit.grant = "basic".into();
    let service = params.first("service").unwrap_or_default();
    let verified = basic_user(state, snapshot, headers, service, scopes, audit).await?;
    let refresh = if params.flag("offline_token", "true") {
        Refresh::Issue
    } else {
        Refresh::None
    };
    Ok(Principal::anonymous_or(verified, refresh))
}

/// What a POST grant looks at.
struct PostRequest<'a> {
    headers: &'a HeaderMap,
    params: &'a Params,
    scopes: &'a [ResourceScope],
    refresh: &'a RefreshCache,
}

/// POST: the OAuth2 password and refresh-token grants, and the token exchange of `docker-cli`
/// access tokens. Without a grant type the request is treated like a GET (Basic credentials or
/// anonymous), as docker_auth does.
async fn post_principal(
    state: &AppState,
    snapshot: &Arc<RealmSnapshot>,
    request: PostRequest<'_>,
    audit: &mut Audit,
) -> Result<Principal, DockerError> {
    let PostRequest {
        headers,
        params,
        scopes,
        refresh: refresh_cache,
    } = request;
    let offline = params.flag("access_type", "offline");
    let grant = params.first("grant_type");
    audit.grant = grant.unwrap_or("basic").to_owned();
    let service = params.first("service").unwrap_or_default();
    let verified = match grant {
        None => basic_user(state, snapshot, headers, service, scopes, audit).await?,
        Some("password") => Some(password_grant(state, snapshot, headers, params, audit).await?),
        Some("refresh_token") => {
            audit.credential = "refresh_token";
            let (user, token) =
                refresh_grant(state, snapshot, params, refresh_cache, audit.client).await?;
            let refresh = if offline {
                Refresh::Echo(token)
            } else {
                Refresh::None
            };
            return Ok(Principal {
                user: Some(user),
                credential: None,
                refresh,
                keyless: None,
            });
        }
        Some(TOKEN_EXCHANGE) => {
            audit.credential = "token_exchange";
            let user = exchange_grant(state, snapshot, params).await?;
            return Ok(Principal {
                user: Some(user),
                credential: None,
                refresh: Refresh::Issue,
                keyless: None,
            });
        }
        Some(other) => return Err(DockerError::UnsupportedGrantType(other.to_owned())),
    };
    let refresh = if offline {
        Refresh::Issue
    } else {
        Refresh::None
    };
    Ok(Principal::anonymous_or(verified, refresh))
}

/// The user of an `Authorization: Basic` header; None (anonymous) without one.
async fn basic_user(
    state: &AppState,
    snapshot: &RealmSnapshot,
    headers: &HeaderMap,
    service: &str,
    scopes: &[ResourceScope],
    audit: &mut Audit,
) -> Result<Option<Verified>, DockerError> {
    let unauthorized = || DockerError::Unauthorized {
        realm: snapshot.realm.name.clone(),
        detail: scopes.to_vec(),
    };
    let (username, password) = match basic_credentials(headers) {
        None => return Ok(None),
        Some(Err(())) => return Err(unauthorized()),
        Some(Ok(credentials)) => credentials,
    };
    let presented = Presented {
        username: &username,
        secret: &password,
        service,
        headers,
    };
    verify(state, snapshot, presented, audit, unauthorized)
        .await
        .map(Some)
}

/// `grant_type=password`: `username` and `password` form fields, else Basic credentials.
async fn password_grant(
    state: &AppState,
    snapshot: &RealmSnapshot,
    headers: &HeaderMap,
    params: &Params,
    audit: &mut Audit,
) -> Result<Verified, DockerError> {
    let from_form = params.first("username").map(|u| {
        let password = params.first("password").unwrap_or_default();
        (u.to_owned(), password.to_owned())
    });
    let (username, password) = match from_form.or_else(|| basic_credentials(headers)?.ok()) {
        Some(credentials) => credentials,
        None => {
            return Err(DockerError::InvalidRequest(
                "username and password are required",
            ));
        }
    };
    let presented = Presented {
        username: &username,
        secret: &password,
        service: params.first("service").unwrap_or_default(),
        headers,
    };
    let invalid = || DockerError::InvalidGrant {
        realm: snapshot.realm.name.clone(),
        reason: "invalid username or password",
    };
    verify(state, snapshot, presented, audit, invalid).await
}

/// A username and secret as a request presents them.
struct Presented<'a> {
    username: &'a str,
    secret: &'a str,
    /// The registry asked for: an app password limited to another one is refused.
    service: &'a str,
    headers: &'a HeaderMap,
}

/// Verifies a password or an app password through the authenticator; `refused` is the error
/// for bad credentials (401 on GET, `invalid_grant` on POST).
async fn verify(
    state: &AppState,
    snapshot: &RealmSnapshot,
    presented: Presented<'_>,
    audit: &mut Audit,
    refused: impl Fn() -> DockerError,
) -> Result<Verified, DockerError> {
    audit.user = label(presented.username);
    let is_app_password = portcullis_core::app_password::looks_like_app_password(presented.secret);
    let is_robot = portcullis_core::robot::looks_like_robot_secret(presented.secret)
        && portcullis_core::robot::name_of_login(presented.username).is_some();
    audit.credential = if is_robot {
        "robot"
    } else if is_app_password {
        "app_password"
    } else {
        "password"
    };
    let user_agent = presented
        .headers
        .get(USER_AGENT)
        .and_then(|v| v.to_str().ok());
    let attempt = Attempt {
        realm: snapshot,
        username: presented.username,
        secret: presented.secret,
        client: audit.client,
        user_agent,
        sources: Sources::DOCKER,
    };
    let verified = match state.authenticate(attempt).await? {
        Verification::Verified(verified) if verified.user.is_set_up() => verified,
        Verification::Verified(_) => return Err(DockerError::NotSetUp),
        Verification::Refused => return Err(refused()),
        Verification::RateLimited { retry_after_secs } => {
            return Err(DockerError::RateLimited { retry_after_secs });
        }
    };
    match &verified.credential {
        Credential::AppPassword { id, .. } => audit.app_password = Some(id.clone()),
        Credential::Robot(robot) => audit.robot = Some(robot.id.clone()),
        Credential::Password => {}
    }
    let limited_elsewhere = verified
        .credential
        .restriction()
        .and_then(|r| r.service.as_deref())
        .is_some_and(|only| only != presented.service);
    if limited_elsewhere {
        tracing::info!(realm = %snapshot.realm.name, credential = audit.credential, "app password or robot refused: limited to another registry");
        return Err(refused());
    }
    Ok(verified)
}

/// `grant_type=refresh_token`. The same token keeps working until it expires or is revoked:
/// docker keeps resending the one it got at login (moby/moby#39718), so nothing rotates.
async fn refresh_grant(
    state: &AppState,
    snapshot: &RealmSnapshot,
    params: &Params,
    cache: &RefreshCache,
    client: Option<IpAddr>,
) -> Result<(Arc<ResolvedUser>, String), DockerError> {
    let presented = params
        .first("refresh_token")
        .ok_or(DockerError::InvalidRequest("refresh_token is required"))?;
    let service = params.first("service").unwrap_or_default();
    let invalid = || DockerError::InvalidGrant {
        realm: snapshot.realm.name.clone(),
        reason: "the refresh token is invalid, expired or revoked",
    };
    let now = state.now();
    let hash = hash_secret(presented);
    // Read before the lookup: an invalidation racing with it leaves the entry already stale.
    let epoch = state.cache_epoch();
    let stored = match cache.get(&hash, now, epoch) {
        Some(stored) => stored,
        None => {
            let stored = state
                .store()
                .find_docker_refresh_token(&hash)
                .await
                .map_err(WebError::from)?
                .ok_or_else(invalid)?;
            cache.put(&hash, stored.clone(), now, epoch);
            stored
        }
    };
    let usable = !stored.revoked
        && stored.expires_at > now
        && stored.service == service
        && stored.realm_id == snapshot.realm.id;
    if !usable {
        return Err(invalid());
    }
    let user = state
        .resolve_user_by_id(snapshot, &stored.user_id)
        .await?
        .ok_or_else(invalid)?;
    // Logged out, re-passworded or disabled since the docker login: it is dead, even if the
    // user was enabled again.
    if stored.created_at < user.not_before {
        return Err(invalid());
    }
    if now - stored.last_used_at >= TOUCH_INTERVAL_SECS {
        let address = client.map(|ip| ip.to_string());
        match state
            .store()
            .touch_docker_refresh_token(&stored.id, now, address.as_deref())
            .await
        {
            Ok(()) => cache.update(&hash, |row| row.last_used_at = now),
            // Bookkeeping only: the grant itself is sound, so do not fail it.
            Err(error) => {
                tracing::warn!(error = %error, "recording docker refresh token use failed")
            }
        }
    }
    Ok((user, presented.to_owned()))
}

/// RFC 8693's grant type.
const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// The only subject token type the exchange takes.
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

/// `grant_type=urn:ietf:params:oauth:grant-type:token-exchange` (RFC 8693): an access token the
/// realm issued to `docker-cli` (through the device grant, so the user signed in with whatever
/// the realm offers) becomes a docker token and a new docker identity token for the registry,
/// a docker login like one made with a password. Only `docker-cli`'s tokens are taken: a token
/// another application holds must not turn into a long-lived registry credential. The one
/// access-token validator decides whether it is live (signature and issuer of this realm, not
/// expired, not revoked, user enabled and not logged out since, session alive).
async fn exchange_grant(
    state: &AppState,
    snapshot: &Arc<RealmSnapshot>,
    params: &Params,
) -> Result<Arc<ResolvedUser>, DockerError> {
    let subject = params
        .first("subject_token")
        .ok_or(DockerError::InvalidRequest("subject_token is required"))?;
    if params.first("subject_token_type") != Some(ACCESS_TOKEN_TYPE) {
        return Err(DockerError::InvalidRequest(
            "subject_token_type must be urn:ietf:params:oauth:token-type:access_token",
        ));
    }
    if params
        .first("client_id")
        .is_some_and(|client| client != DOCKER_CLI_CLIENT)
    {
        return Err(DockerError::ExchangeRefused(
            "only the docker-cli client may exchange tokens",
        ));
    }
    let valid = match validate_access_token(state, snapshot, subject).await? {
        Ok(valid) => valid,
        Err(reason) => return Err(DockerError::ExchangeRefused(reason)),
    };
    if valid.client_id != DOCKER_CLI_CLIENT {
        return Err(DockerError::ExchangeRefused(
            "the subject token was not issued to docker-cli",
        ));
    }
    let user = state
        .resolve_user_by_id(snapshot, &valid.user.id)
        .await?
        .ok_or(DockerError::ExchangeRefused(
            portcullis_web::bearer::USER_GONE,
        ))?;
    if !user.is_set_up() {
        return Err(DockerError::NotSetUp);
    }
    Ok(user)
}

/// `POST revoke` with `token=<docker identity token>` (RFC 7009's shape): ends that docker login
/// on every instance. Holding the token is the proof of ownership, as for a refresh grant, so
/// `docker-credential-portcullis erase` needs nothing else. Unknown, expired, revoked or another
/// realm's tokens get the same 200, so the answer tells nothing.
async fn revoke(
    State(state): State<AppState>,
    Path(path): Path<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let realm = path.get("realm").map(String::as_str).unwrap_or_default();
    match revoke_token(&state, realm, &body).await {
        Ok(revoked) => {
            tracing::info!(realm = %label(realm), revoked, "docker-v2 revocation request");
            no_store(axum::http::StatusCode::OK.into_response())
        }
        Err(error) => {
            tracing::info!(realm = %label(realm), outcome = error.outcome(), "docker-v2 revocation request");
            error.into_response()
        }
    }
}

async fn revoke_token(state: &AppState, realm: &str, body: &[u8]) -> Result<bool, DockerError> {
    let snapshot = state
        .realm(realm)
        .await?
        .filter(|s| s.realm.enabled)
        .ok_or(DockerError::RealmNotFound)?;
    let params = Params::parse(body)?;
    let token = params
        .first("token")
        .ok_or(DockerError::InvalidRequest("token is required"))?;
    let stored = state
        .store()
        .find_docker_refresh_token(&hash_secret(token))
        .await
        .map_err(WebError::from)?;
    let Some(stored) = stored.filter(|t| t.realm_id == snapshot.realm.id && !t.revoked) else {
        return Ok(false);
    };
    let revoked = state
        .store()
        .revoke_docker_refresh_token(&snapshot.realm.id, &stored.id)
        .await
        .map_err(WebError::from)?;
    if revoked > 0 {
        // Cached records of it (here and on every instance) are dropped with the epoch.
        state.invalidate_credentials();
    }
    Ok(revoked > 0)
}

/// Who a new docker login is for.
struct Login<'a> {
    user: &'a ResolvedUser,
    service: &'a str,
    address: Option<IpAddr>,
}

/// Mints and stores (by hash) a refresh token bound to the user, realm and service; the user's
/// oldest logins to the service beyond the client's bound are revoked.
async fn store_refresh_token(
    state: &AppState,
    snapshot: &RealmSnapshot,
    login: Login<'_>,
    settings: &TokenSettings,
    now: i64,
) -> Result<String, DockerError> {
    let (token, token_hash) = new_refresh_token();
    let record = DockerRefreshToken {
        id: uuid::Uuid::new_v4().to_string(),
        token_hash,
        realm_id: snapshot.realm.id.clone(),
        user_id: login.user.id.clone(),
        service: login.service.to_owned(),
        created_at: now,
        last_used_at: now,
        expires_at: now.saturating_add(settings.refresh_lifespan),
        revoked: false,
        last_address: login.address.map(|ip| ip.to_string()),
    };
    let revoked = state
        .store()
        .insert_docker_refresh_token(&record, settings.max_logins, now)
        .await
        .map_err(WebError::from)?;
    if revoked > 0 {
        tracing::info!(realm = %snapshot.realm.name, user = %login.user.id, service = login.service, revoked, "oldest docker logins revoked: the user reached the client's bound");
        state.invalidate_credentials();
    }
    Ok(token)
}

/// The token response: `token` and `access_token` both (spec and OAuth2 clients read either),
/// `scope` on POST only.
#[derive(Serialize)]
struct TokenBody<'a> {
    token: &'a str,
    access_token: &'a str,
    expires_in: i64,
    issued_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
}

/// The granted scope, space-joined `type:name:actions`, resources granted nothing left out.
fn granted_scope(granted: &[ResourceScope]) -> String {
    granted
        .iter()
        .filter(|s| !s.actions.is_empty())
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// The realm snapshot and docker-v2 client named by a configuration download's path.
async fn client_for_download(
    state: &AppState,
    path: &HashMap<String, String>,
) -> Result<(Arc<RealmSnapshot>, Client), DockerError> {
    let realm = path.get("realm").map(String::as_str).unwrap_or_default();
    let snapshot = state
        .realm(realm)
        .await?
        .ok_or(DockerError::RealmNotFound)?;
    let client_id = path
        .get("client_id")
        .map(String::as_str)
        .unwrap_or_default();
    let client = docker_client(&snapshot, client_id)
        .cloned()
        .ok_or(DockerError::ClientNotFound)?;
    Ok((snapshot, client))
}

/// An `auth: token:` block for the registry's `config.yml`, with every URL filled in.
async fn registry_config(
    State(state): State<AppState>,
    Path(path): Path<HashMap<String, String>>,
) -> Result<Response, DockerError> {
    let (snapshot, client) = client_for_download(&state, &path).await?;
    let settings = TokenSettings::for_client(&snapshot.realm, &client);
    let issuer = state.issuer(&snapshot.realm.name);
    let yaml = render_registry_config(&issuer, &snapshot.realm.name, &client.client_id, &settings);
    let content_type = HeaderValue::from_static("text/yaml; charset=utf-8");
    Ok(([(CONTENT_TYPE, content_type)], yaml).into_response())
}

pub(crate) fn render_registry_config(
    issuer: &str,
    realm: &str,
    client_id: &str,
    settings: &TokenSettings,
) -> String {
    let downloads = format!(
        "{issuer}/protocol/{PROTOCOL}/clients/{}",
        path_segment(client_id)
    );
    let file = format!(
        "/etc/docker/registry/{}-{}",
        file_stem(realm),
        file_stem(client_id)
    );
    let quoted = |s: &str| serde_json::to_string(s).unwrap_or_default();
    format!(
        "# Token authentication for the docker registry {client}, realm {realm_q}.\n\
         # Save the certificate bundle next to config.yml (registry 2.8 and 3.x):\n\
         #   curl -o {file}.pem {downloads}/bundle.pem\n\
         # Registry 3.x can use a JWKS file instead (or as well):\n\
         #   curl -o {file}-jwks.json {downloads}/jwks.json\n\
         auth:\n  token:\n    \
         realm: {token_url}\n    \
         service: {client}\n    \
         issuer: {issuer_q}\n    \
         rootcertbundle: {pem}\n    \
         # jwks: {jwks}\n    \
         signingalgorithms: [{alg}]\n",
        client = quoted(client_id),
        realm_q = quoted(realm),
        token_url = quoted(&format!("{issuer}/protocol/{PROTOCOL}/auth")),
        issuer_q = quoted(issuer),
        pem = quoted(&format!("{file}.pem")),
        jwks = quoted(&format!("{file}-jwks.json")),
        alg = settings.algorithm.as_str(),
    )
}

/// Every realm key's certificate: a registry's `rootcertbundle`. All keys, so that a bundle
/// installed before a rotation keeps verifying tokens of the newer key (read only at start).
async fn bundle_pem(
    State(state): State<AppState>,
    Path(path): Path<HashMap<String, String>>,
) -> Result<Response, DockerError> {
    let (snapshot, _client) = client_for_download(&state, &path).await?;
    let pem: String = snapshot.keys.iter().map(|k| k.certificate_pem()).collect();
    let content_type = HeaderValue::from_static("application/x-pem-file");
    Ok(([(CONTENT_TYPE, content_type)], pem).into_response())
}

/// A JWKS for registry 3's `jwks` setting; each key's `kid` is the one this client's tokens
/// carry in their header (libtrust or thumbprint), so the lookup by `kid` succeeds.
async fn jwks(
    State(state): State<AppState>,
    Path(path): Path<HashMap<String, String>>,
) -> Result<Response, DockerError> {
    let (snapshot, client) = client_for_download(&state, &path).await?;
    let settings = TokenSettings::for_client(&snapshot.realm, &client);
    let keys: Vec<serde_json::Value> = snapshot
        .keys
        .iter()
        .map(|key| {
            let kid = match settings.kid_format {
                crate::token::KidFormat::Libtrust => key.libtrust_kid(),
                crate::token::KidFormat::Thumbprint => key.thumbprint_kid(),
            };
            key.public_jwk(kid)
        })
        .collect();
    Ok(Json(serde_json::json!({ "keys": keys })).into_response())
}

/// A client id as one URL path segment (RFC 3986 unreserved characters kept).
pub(crate) fn path_segment(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Requested scopes for the log: space-joined, cut to a few hundred characters.
fn logged_scopes(scopes: &[ResourceScope]) -> String {
    let joined = scopes
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" ");
    joined.chars().take(MAX_LOGGED_SCOPES).collect()
}

/// A client-chosen value cut to [`MAX_LOGGED_LABEL`] characters for the log (which escapes it).
fn label(value: &str) -> String {
    value.chars().take(MAX_LOGGED_LABEL).collect()
}

/// A name made safe for a file name suggestion.
fn file_stem(value: &str) -> String {
    value
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use portcullis_core::keys::{Algorithm, KeyMaterial, SigningKey};
    use portcullis_core::model::Realm;

    use super::*;

    fn snapshot(kid_format: &str) -> Arc<RealmSnapshot> {
        let material = KeyMaterial::generate(Algorithm::Es256, "acme", 1_795_000_000).expect("key");
        let key = Arc::new(SigningKey::from_material(&material).expect("parse"));
        let client = Client {
            id: "c".into(),
            client_id: "registry".into(),
            protocol: PROTOCOL.into(),
            enabled: true,
            public_client: true,
            secret: None,
            redirect_uris: vec![],
            attributes: BTreeMap::from([
                ("access.token.signed.response.alg".into(), "ES256".into()),
                ("docker.token.kid.format".into(), kid_format.into()),
            ]),
            protocol_mappers: vec![],
            ..Client::default()
        };
        Arc::new(RealmSnapshot {
            realm: Realm {
                id: "r".into(),
                name: "acme".into(),
                display_name: None,
                enabled: true,
                access_token_lifespan: 300,
                password_policy: Default::default(),
                attributes: BTreeMap::new(),
                ..Realm::default()
            },
            roles: vec![],
            groups: vec![],
            clients: vec![client],
            client_scopes: Vec::new(),
            keys: vec![key],
        })
    }

    #[test]
    fn client_contexts_live_as_long_as_their_snapshot() {
        let cache = ClientCache::default();
        let first = snapshot("libtrust");
        let client = first.client("registry").expect("client");
        let a = cache.get(&first, client).expect("context");
        let b = cache.get(&first, client).expect("context");
        assert!(Arc::ptr_eq(&a, &b), "same snapshot, same context");
        assert_eq!(a.signer.kid(), first.keys[0].libtrust_kid());

        let second = snapshot("thumbprint");
        let client = second.client("registry").expect("client");
        let c = cache.get(&second, client).expect("context");
        assert!(!Arc::ptr_eq(&a, &c), "a new snapshot rebuilds the context");
        assert_eq!(c.signer.kid(), second.keys[0].thumbprint_kid());
    }

    #[test]
    fn params_keep_repeats_and_order() {
        let params =
            Params::parse(b"scope=a&service=reg&scope=b%20c&service=other&empty=").expect("parses");
        assert_eq!(params.all("scope").collect::<Vec<_>>(), ["a", "b c"]);
        assert_eq!(params.first("service"), Some("reg"));
        assert_eq!(params.first("empty"), None);
        assert!(
            Params::parse(b"offline_token=TRUE")
                .expect("parses")
                .flag("offline_token", "true")
        );
    }

    #[test]
    fn granted_scope_skips_empty_grants() {
        let granted = parse_scopes(["repository:a:pull,push repository:b: registry:catalog:*"])
            .expect("valid");
        assert_eq!(
            granted_scope(&granted),
            "repository:a:pull,push registry:catalog:*"
        );
    }

    #[test]
    fn names_for_urls_and_files() {
        let rows = [
            ("registry", "registry", "registry"),
            (
                "reg.example.test:5000",
                "reg.example.test%3A5000",
                "reg.example.test_5000",
            ),
            ("a b/c", "a%20b%2Fc", "a_b_c"),
        ];
        for (input, segment, stem) in rows {
            assert_eq!(path_segment(input), segment);
            assert_eq!(file_stem(input), stem);
        }
    }
}
