//! The admin router on a temporary SQLite file with `master` (admin `admin`) and realm `acme`,
//! a fixed clock, tokens minted with the realms' keys, and requests through `oneshot`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use portcullis_core::clock::FixedClock;
use portcullis_core::keys::Algorithm;
use portcullis_store::{Store, parse_realm_json};
use portcullis_web::{AppState, Urls};
use serde_json::{Value, json};
use tower::ServiceExt as _;

pub const NOW: i64 = 1_795_000_000;
pub const BASE: &str = "http://id.test";
pub const ADMIN: &str = "/auth/admin";

/// Removes the temporary database when a test ends.
pub struct TempDb(std::path::PathBuf);

impl Drop for TempDb {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut path = self.0.clone().into_os_string();
            path.push(suffix);
            let _ = std::fs::remove_file(path);
        }
    }
}

pub struct App {
    pub router: Router,
    pub store: Store,
    pub clock: Arc<FixedClock>,
    /// A master admin token.
    pub admin: String,
    _db: TempDb,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn location(&self) -> String {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    }

    /// The last segment of `Location`: the id tools take.
    pub fn created_id(&self) -> String {
        assert_eq!(self.status, StatusCode::CREATED, "{}", self.body);
        self.location()
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string()
    }
}

fn acme() -> Value {
    json!({
        "realm": "acme",
        "enabled": true,
        "roles": {
            "realm": [
                {"name": "dev"},
                {"name": "lead", "composite": true, "composites": {"realm": ["dev"]}}
            ]
        },
        "groups": [{"name": "eng", "realmRoles": ["dev"], "subGroups": [{"name": "platform"}]}],
        "users": [
            {"username": "alice", "enabled": true, "email": "alice@acme.test",
             "credentials": [{"type": "password", "value": "alice-pw"}]},
            {"username": "viewer", "enabled": true,
             "clientRoles": {"realm-management": ["view-users"]}},
            {"username": "boss", "enabled": true,
             "clientRoles": {"realm-management": ["realm-admin"]}},
            {"username": "nobody", "enabled": true}
        ],
        "clients": [
            {"clientId": "web", "publicClient": true, "redirectUris": ["http://web.test/*"]}
        ]
    })
}

pub async fn app() -> App {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let path = std::env::temp_dir().join(format!(
        "portcullis-admin-{}-{}.db",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    ));
    let db = TempDb(path.clone());
    let store = Store::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    store
        .bootstrap_master("admin", "admin-pw", NOW)
        .await
        .unwrap();
    let rep = parse_realm_json(&acme().to_string()).unwrap();
    store.import_realm(rep, false, NOW).await.unwrap();
    let clock = Arc::new(FixedClock::at(NOW));
    let urls = Urls {
        base_url: BASE.into(),
        relative_path: "/auth".into(),
    };
    let state = AppState::new(store.clone(), clock.clone(), urls);
    let router = portcullis_admin::routes("/auth").with_state(state);
    let mut app = App {
        router,
        store,
        clock,
        admin: String::new(),
        _db: db,
    };
    app.admin = app.token("master", "admin").await;
    app
}

impl App {
    /// An access token of `username` in `realm`, as the OIDC provider would mint it.
    pub async fn token(&self, realm: &str, username: &str) -> String {
        self.token_with(realm, username, json!({})).await
    }

    /// A token whose claims are overridden by `extra` (`null` removes a claim).
    pub async fn token_with(&self, realm: &str, username: &str, extra: Value) -> String {
        let snapshot = self
            .store
            .load_realm_snapshot(realm)
            .await
            .unwrap()
            .unwrap();
        let (user, _) = self
            .store
            .find_user_by_username(&snapshot.realm.id, username)
            .await
            .unwrap()
            .unwrap();
        let mut claims = json!({
            "iss": format!("{BASE}/auth/realms/{realm}"),
            "sub": user.id,
            "typ": "Bearer",
            "exp": NOW + 300,
            "iat": NOW,
            "azp": "admin-cli",
            "jti": uuid_like(username),
        });
        for (k, v) in extra.as_object().unwrap() {
            if v.is_null() {
                claims.as_object_mut().unwrap().remove(k);
            } else {
                claims[k] = v.clone();
            }
        }
        let key = snapshot.signing_key(Algorithm::Rs256).unwrap();
        let header = json!({"alg": "RS256", "typ": "JWT", "kid": key.thumbprint_kid()});
        key.sign_jws(header.to_string().as_bytes(), claims.to_string().as_bytes())
            .unwrap()
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Body>,
    ) -> Reply {
        let uri = if path.starts_with('/') {
            path.to_string()
        } else {
            format!("{ADMIN}/{path}")
        };
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let request = request
            .header(header::CONTENT_TYPE, "application/json")
            .body(body.unwrap_or_else(Body::empty))
            .unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 24)
            .await
            .unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    /// As the master admin.
    pub async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, Some(&self.admin), None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.send_json(Method::POST, path, body).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Reply {
        self.send_json(Method::PUT, path, body).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.send(Method::DELETE, path, Some(&self.admin), None)
            .await
    }

    pub async fn delete_with(&self, path: &str, body: Value) -> Reply {
        self.send_json(Method::DELETE, path, body).await
    }

    pub async fn send_json(&self, method: Method, path: &str, body: Value) -> Reply {
        let body = Body::from(body.to_string());
        self.send(method, path, Some(&self.admin), Some(body)).await
    }

    /// The id of a user of `realm` by username.
    pub async fn user_id(&self, realm: &str, username: &str) -> String {
        let reply = self
            .get(&format!(
                "realms/{realm}/users?username={username}&exact=true"
            ))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        reply.body[0]["id"].as_str().unwrap().to_string()
    }

    /// The internal id of a client of `realm`.
    pub async fn client_uuid(&self, realm: &str, client_id: &str) -> String {
        let reply = self
            .get(&format!("realms/{realm}/clients?clientId={client_id}"))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        reply.body[0]["id"].as_str().unwrap().to_string()
    }

    /// The admin events of a realm, newest first.
    pub async fn events(&self, realm: &str) -> Vec<Value> {
        let reply = self.get(&format!("realms/{realm}/admin-events")).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        reply.body.as_array().unwrap().clone()
    }
}

/// The names in a list of representations.
pub fn names(list: &Value, key: &str) -> Vec<String> {
    let mut names: Vec<String> = list
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .filter_map(|v| v[key].as_str().map(str::to_string))
        .collect();
    names.sort();
    names
}

/// A token id unique per call, as the validator requires one.
fn uuid_like(username: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("{username}-{}", NEXT.fetch_add(1, Ordering::SeqCst))
}
