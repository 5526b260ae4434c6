//! The test kit's app with `master` (admin `admin`) and realm `acme`, a fixed clock, a master
//! admin token, and requests to the admin API as that admin.

use std::ops::Deref;

use axum::body::Body;
use axum::http::{Method, StatusCode, header};
use portcullis_testkit::{JSON, Reply, TestApp, bearer, request};
use serde_json::{Value, json};

pub const NOW: i64 = 1_795_000_000;
pub const BASE: &str = "http://id.test";
pub const ADMIN: &str = "/auth/admin";

pub struct App {
    app: TestApp,
    /// A master admin token.
    pub admin: String,
}

impl Deref for App {
    type Target = TestApp;

    fn deref(&self) -> &TestApp {
        &self.app
    }
}

fn acme() -> Value {
    json!({
        "realm": "acme",
        "enabled": true,
        // Admin events are off by default, as in Keycloak; these tests read them.
        "adminEventsEnabled": true, "adminEventsDetailsEnabled": true,
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
    let app = TestApp::builder()
        .master_admin("admin", "admin-pw")
        .realm(acme())
        .now(NOW)
        .base_url(BASE)
        .build()
        .await;
    let admin = app.admin_token().await;
    App { app, admin }
}

impl App {
    /// A request with a JSON content type; `path` is under `/auth/admin/` unless it starts
    /// with `/`.
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
        let auth = token.map(bearer);
        let request = request(method, &uri, auth.as_deref())
            .header(header::CONTENT_TYPE, JSON)
            .body(body.unwrap_or_else(Body::empty))
            .unwrap();
        self.app.send(request).await
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

    /// The id of a user of `realm` by username, through the API.
    pub async fn user_id(&self, realm: &str, username: &str) -> String {
        let reply = self
            .get(&format!(
                "realms/{realm}/users?username={username}&exact=true"
            ))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.value());
        reply.json()[0]["id"].as_str().unwrap().to_string()
    }

    /// The internal id of a client of `realm`.
    pub async fn client_uuid(&self, realm: &str, client_id: &str) -> String {
        let reply = self
            .get(&format!("realms/{realm}/clients?clientId={client_id}"))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.value());
        reply.json()[0]["id"].as_str().unwrap().to_string()
    }

    /// Keycloak's default user profile with `unmanagedAttributePolicy: ENABLED`, so admins may
    /// write attributes the profile does not name.
    pub async fn allow_unmanaged_attributes(&self, realm: &str) {
        let path = format!("realms/{realm}/users/profile");
        let mut profile = self.get(&path).await.value();
        profile["unmanagedAttributePolicy"] = json!("ENABLED");
        let reply = self.put(&path, profile).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.value());
    }

    /// The admin events of a realm, newest first.
    pub async fn events(&self, realm: &str) -> Vec<Value> {
        let reply = self.get(&format!("realms/{realm}/admin-events")).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.value());
        reply.json().as_array().unwrap().clone()
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
