//! The real application router on a fresh database, and requests to it.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, header, request};
use portcullis_core::clock::{Clock as _, FixedClock};
use portcullis_core::keys::Algorithm;
use portcullis_store::{Store, parse_realm_json};
use portcullis_web::{AppState, Urls};
use serde_json::{Value, json};
use tower::ServiceExt as _;

use crate::{BASE_URL, NOW, RELATIVE_PATH, Reply, TestDatabase};

/// The largest body a test reads.
const BODY_LIMIT: usize = 1 << 24;
/// How long minted access tokens live.
const MINTED_LIFESPAN: i64 = 300;

/// How a [`TestApp`] is set up; from [`TestApp::builder`].
#[must_use]
pub struct TestAppBuilder {
    realms: Vec<Value>,
    master_admin: Option<(String, String)>,
    clock: Arc<FixedClock>,
    base_url: String,
    relative_path: String,
    peer: Option<SocketAddr>,
}

impl TestAppBuilder {
    /// A realm to import, as Keycloak realm JSON. Realms are imported in the order given.
    pub fn realm(mut self, realm: Value) -> Self {
        self.realms.push(realm);
        self
    }

    pub fn realms(mut self, realms: impl IntoIterator<Item = Value>) -> Self {
        self.realms.extend(realms);
        self
    }

    /// Creates `master` with this admin user first, as the binary does on first start.
    pub fn master_admin(mut self, username: &str, password: &str) -> Self {
        self.master_admin = Some((username.into(), password.into()));
        self
    }

    /// Starts the clock at `unix` (default [`NOW`]).
    pub fn now(mut self, unix: i64) -> Self {
        self.clock = Arc::new(FixedClock::at(unix));
        self
    }

    /// Uses the test's own clock.
    pub fn clock(mut self, clock: Arc<FixedClock>) -> Self {
        self.clock = clock;
        self
    }

    /// The public base URL (default [`BASE_URL`]), without a trailing slash.
    pub fn base_url(mut self, base_url: &str) -> Self {
        self.base_url = base_url.into();
        self
    }

    /// The relative path everything is served under (default [`RELATIVE_PATH`]; may be empty).
    pub fn relative_path(mut self, relative_path: &str) -> Self {
        self.relative_path = relative_path.into();
        self
    }

    /// The peer address every request comes from unless it names its own (see [`with_peer`]).
    /// Without one, requests carry no connect info, as when a router is driven directly.
    pub fn peer(mut self, addr: &str) -> Self {
        self.peer = Some(parse_addr(addr));
        self
    }

    /// Creates the database, bootstraps `master`, imports the realms and builds the router.
    pub async fn build(self) -> TestApp {
        let database = TestDatabase::create().await;
        let store = database.connect().await;
        let now = self.clock.now_unix();
        if let Some((username, password)) = &self.master_admin {
            store
                .bootstrap_master(username, password, now)
                .await
                .expect("bootstrapping master");
        }
        for realm in &self.realms {
            import(&store, realm, now).await;
        }
        let urls = Urls {
            base_url: self.base_url,
            relative_path: self.relative_path,
        };
        let state = app_state(store.clone(), self.clock.clone(), urls);
        let router = portcullis::router(state.clone(), &state.urls().relative_path);
        TestApp {
            router,
            state,
            store,
            clock: self.clock,
            peer: self.peer,
            master_admin: self.master_admin.map(|(username, _)| username),
            database,
        }
    }
}

/// The application state of a test app: the one place the kit constructs [`AppState`].
fn app_state(store: Store, clock: Arc<FixedClock>, urls: Urls) -> AppState {
    AppState::new(store, clock, urls)
}

async fn import(store: &Store, realm: &Value, now: i64) {
    let name = realm["realm"].as_str().unwrap_or("?").to_owned();
    let rep = parse_realm_json(&realm.to_string())
        .unwrap_or_else(|e| panic!("realm {name} does not parse: {e}"));
    store
        .import_realm(rep, false, now)
        .await
        .unwrap_or_else(|e| panic!("importing realm {name}: {e}"));
}

fn parse_addr(addr: &str) -> SocketAddr {
    addr.parse()
        .unwrap_or_else(|e| panic!("{addr:?} is no socket address: {e}"))
}

/// The real application (`portcullis::router`) on its own database, with a clock the test moves.
/// The database is removed when the app is dropped.
pub struct TestApp {
    pub router: Router,
    pub state: AppState,
    pub store: Store,
    pub clock: Arc<FixedClock>,
    peer: Option<SocketAddr>,
    master_admin: Option<String>,
    // Last, so that it is dropped after everything using it.
    database: TestDatabase,
}

impl TestApp {
    pub fn builder() -> TestAppBuilder {
        TestAppBuilder {
            realms: Vec::new(),
            master_admin: None,
            clock: Arc::new(FixedClock::at(NOW)),
            base_url: BASE_URL.into(),
            relative_path: RELATIVE_PATH.into(),
            peer: None,
        }
    }

    /// An app with these realms and every default.
    pub async fn with_realms(realms: impl IntoIterator<Item = Value>) -> TestApp {
        Self::builder().realms(realms).build().await
    }

    /// The clock's time.
    pub fn now(&self) -> i64 {
        self.clock.now_unix()
    }

    pub fn base_url(&self) -> &str {
        &self.state.urls().base_url
    }

    pub fn relative_path(&self) -> &str {
        &self.state.urls().relative_path
    }

    /// `{base}{relative}/realms/{realm}`.
    pub fn issuer(&self, realm: &str) -> String {
        self.state.issuer(realm)
    }

    pub fn database(&self) -> &TestDatabase {
        &self.database
    }

    /// Imports another realm (Keycloak realm JSON) at the clock's time.
    pub async fn import_realm(&self, realm: &Value) {
        import(&self.store, realm, self.now()).await;
    }

    /// The internal id of a realm; panics when there is no such realm.
    pub async fn realm_id(&self, realm: &str) -> String {
        self.store
            .load_realm_snapshot(realm)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("no realm {realm}"))
            .realm
            .id
    }

    /// The id of a user; panics when there is no such user.
    pub async fn user_id(&self, realm: &str, username: &str) -> String {
        let realm_id = self.realm_id(realm).await;
        self.store
            .find_user_by_username(&realm_id, username)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("no user {username} in {realm}"))
            .0
            .id
    }

    /// A JWS of `claims` signed with the realm's active `alg` key, its header naming the key by
    /// its RFC 7638 thumbprint (as OIDC tokens do).
    pub async fn sign(&self, realm: &str, alg: Algorithm, claims: &Value) -> String {
        let snapshot = self
            .store
            .load_realm_snapshot(realm)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("no realm {realm}"));
        let key = snapshot
            .signing_key(alg)
            .unwrap_or_else(|| panic!("realm {realm} has no {} key", alg.as_str()));
        let header = json!({"alg": alg.as_str(), "typ": "JWT", "kid": key.thumbprint_kid()});
        key.sign_jws(header.to_string().as_bytes(), claims.to_string().as_bytes())
            .unwrap()
    }

    /// An access token of `username` in `realm` as the token endpoint would mint it for the
    /// admin CLI: RS256, with `jti`, `iat`, `exp` (five minutes on), `typ` `Bearer`, `iss`,
    /// `sub` and `azp` `admin-cli`.
    pub async fn access_token(&self, realm: &str, username: &str) -> String {
        self.access_token_with(realm, username, json!({})).await
    }

    /// [`TestApp::access_token`] with claims overridden by `extra` (`null` removes a claim).
    pub async fn access_token_with(&self, realm: &str, username: &str, extra: Value) -> String {
        let now = self.now();
        let mut claims = json!({
            "jti": uuid::Uuid::new_v4().to_string(),
            "iss": self.issuer(realm),
            "sub": self.user_id(realm, username).await,
            "typ": "Bearer",
            "iat": now,
            "exp": now + MINTED_LIFESPAN,
            "azp": "admin-cli",
        });
        let object = claims.as_object_mut().unwrap();
        for (k, v) in extra.as_object().expect("extra claims are an object") {
            if v.is_null() {
                object.remove(k);
            } else {
                object.insert(k.clone(), v.clone());
            }
        }
        self.sign(realm, Algorithm::Rs256, &claims).await
    }

    /// An access token of the `master` admin made by [`TestAppBuilder::master_admin`].
    pub async fn admin_token(&self) -> String {
        let username = self
            .master_admin
            .clone()
            .expect("the app was built without TestAppBuilder::master_admin");
        self.access_token("master", &username).await
    }

    /// Sends a request through the router and reads the response. The request comes from the
    /// app's peer address unless it carries its own connect info.
    pub async fn send(&self, mut request: Request<Body>) -> Reply {
        if let Some(peer) = self.peer
            && request
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .is_none()
        {
            request.extensions_mut().insert(ConnectInfo(peer));
        }
        // As the binary serves it: trailing slashes trimmed before routing.
        let app = tower::Layer::layer(
            &tower_http::normalize_path::NormalizePathLayer::trim_trailing_slash(),
            self.router.clone(),
        );
        let response = app.oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), BODY_LIMIT)
            .await
            .expect("reading the response body");
        Reply {
            status,
            headers,
            body,
        }
    }

    /// `GET` with an optional `Authorization` value (see [`crate::basic`], [`crate::bearer`]).
    pub async fn get(&self, path: &str, auth: Option<&str>) -> Reply {
        self.send(
            request(Method::GET, path, auth)
                .body(Body::empty())
                .unwrap(),
        )
        .await
    }

    /// `DELETE` without a body.
    pub async fn delete(&self, path: &str, auth: Option<&str>) -> Reply {
        self.send(
            request(Method::DELETE, path, auth)
                .body(Body::empty())
                .unwrap(),
        )
        .await
    }

    /// `POST` of an `application/x-www-form-urlencoded` body: pairs such as
    /// `&[("grant_type", "password")]`.
    pub async fn post_form(&self, path: &str, auth: Option<&str>, form: &[(&str, &str)]) -> Reply {
        let body = serde_urlencoded::to_string(form).expect("a form");
        self.send_body(Method::POST, path, auth, FORM, body).await
    }

    /// `POST` of a JSON body.
    pub async fn post_json(&self, path: &str, auth: Option<&str>, body: &Value) -> Reply {
        self.send_body(Method::POST, path, auth, JSON, body.to_string())
            .await
    }

    /// `PUT` of a JSON body.
    pub async fn put_json(&self, path: &str, auth: Option<&str>, body: &Value) -> Reply {
        self.send_body(Method::PUT, path, auth, JSON, body.to_string())
            .await
    }

    /// Any method with a body of the given content type.
    pub async fn send_body(
        &self,
        method: Method,
        path: &str,
        auth: Option<&str>,
        content_type: &str,
        body: impl Into<Body>,
    ) -> Reply {
        let request = request(method, path, auth)
            .header(header::CONTENT_TYPE, content_type)
            .body(body.into())
            .unwrap();
        self.send(request).await
    }
}

/// `application/x-www-form-urlencoded`.
pub const FORM: &str = "application/x-www-form-urlencoded";
/// `application/json`.
pub const JSON: &str = "application/json";

/// A request builder for `method` and `uri` with an optional `Authorization` value.
pub fn request(method: Method, uri: &str, auth: Option<&str>) -> request::Builder {
    let builder = Request::builder().method(method).uri(uri);
    match auth {
        Some(auth) => builder.header(header::AUTHORIZATION, auth),
        None => builder,
    }
}

/// The request as if it came from `addr` (`"192.0.2.9:1000"`): the connect info the server
/// gives handlers, which login rate limiting keys on.
pub fn with_peer(mut request: Request<Body>, addr: &str) -> Request<Body> {
    request
        .extensions_mut()
        .insert(ConnectInfo(parse_addr(addr)));
    request
}
