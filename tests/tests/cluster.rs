//! Two instances on one PostgreSQL database behave as one: each caches realm snapshots,
//! verified credentials and docker logins, and a change made through one reaches the other's
//! caches within a second (LISTEN/NOTIFY), without any per-request query.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use portcullis_tests::{Server, ServerOptions, TempPostgres};
use serde_json::{Value, json};

const SHARED_BASE: &str = "http://portcullis.cluster.test";

fn realm_json() -> String {
    json!({
        "realm": "duo",
        "enabled": true,
        "groups": [{"name": "ci"}],
        "clients": [{"clientId": "app", "protocol": "openid-connect", "secret": "app-secret-1",
                     "publicClient": false, "directAccessGrantsEnabled": true},
                    {"clientId": "registry", "protocol": "docker-v2",
                     "protocolMappers": [{"name": "all", "protocol": "docker-v2",
                                          "protocolMapper": "docker-v2-allow-all-mapper",
                                          "config": {}}]}],
        "users": [{"username": "alice", "enabled": true,
                   "credentials": [{"type": "password", "value": "alice-password-1"}]}]
    })
    .to_string()
}

fn instance(database: &str, realm_files: &[(&str, String)]) -> Server {
    Server::start_opts(ServerOptions {
        realm_files,
        env: &[("PORTCULLIS_BASE_URL", SHARED_BASE)],
        database_url: Some(database),
        ..ServerOptions::default()
    })
}

/// Polls `check` until it holds; the time it took, or a panic after `within`.
async fn within<F, Fut>(within: Duration, what: &str, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while started.elapsed() < within {
        if check().await {
            return started.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{what}: not within {within:?}");
}

async fn docker_status(server: &Server, service: &str, password: &str) -> u16 {
    docker_status_as(server, "alice", service, password).await
}

async fn docker_status_as(server: &Server, user: &str, service: &str, password: &str) -> u16 {
    reqwest::Client::new()
        .get(server.url("/auth/realms/duo/protocol/docker-v2/auth"))
        .query(&[("service", service)])
        .basic_auth(user, Some(password))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn docker_refresh(server: &Server, token: &str) -> u16 {
    reqwest::Client::new()
        .post(server.url("/auth/realms/duo/protocol/docker-v2/auth"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", token),
            ("service", "registry"),
            ("client_id", "docker"),
        ])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// `POST` an OIDC endpoint of the realm as the confidential client `app`.
async fn oidc_post(server: &Server, endpoint: &str, form: &[(&str, &str)]) -> reqwest::Response {
    reqwest::Client::new()
        .post(server.url(&format!(
            "/auth/realms/duo/protocol/openid-connect/{endpoint}"
        )))
        .basic_auth("app", Some("app-secret-1"))
        .form(form)
        .send()
        .await
        .unwrap()
}

/// A password grant for alice by `app`: the refresh token and the session id.
async fn oidc_sign_in(server: &Server) -> (String, String) {
    let form = [
        ("grant_type", "password"),
        ("username", "alice"),
        ("password", "alice-password-1"),
        ("scope", "openid"),
    ];
    let tokens: Value = oidc_post(server, "token", &form)
        .await
        .json()
        .await
        .unwrap();
    (
        tokens["refresh_token"].as_str().unwrap().to_string(),
        tokens["session_state"].as_str().unwrap().to_string(),
    )
}

async fn oidc_refresh(server: &Server, token: &str) -> u16 {
    let form = [("grant_type", "refresh_token"), ("refresh_token", token)];
    oidc_post(server, "token", &form).await.status().as_u16()
}

struct Admin {
    http: reqwest::Client,
    token: String,
}

impl Admin {
    async fn of(server: &Server) -> Admin {
        let http = reqwest::Client::new();
        let token = server.admin_token().await;
        Admin { http, token }
    }

    async fn send(
        &self,
        method: reqwest::Method,
        url: String,
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut request = self.http.request(method, url).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn two_instances_share_every_change_within_a_second() {
    let Some(database) = TempPostgres::create("two_instances_share_every_change_within_a_second")
    else {
        return;
    };
    let a = instance(&database.url, &[("duo.json", realm_json())]);
    let b = instance(&database.url, &[]);
    let second = Duration::from_secs(1);

    // A docker login made on B, revoked through A's admin API: B refuses it.
    let tokens: Value = reqwest::Client::new()
        .post(b.url("/auth/realms/duo/protocol/docker-v2/auth"))
        .form(&[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", "alice-password-1"),
            ("service", "registry"),
            ("client_id", "docker"),
            ("access_type", "offline"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_string();
    assert_eq!(
        docker_refresh(&b, &refresh).await,
        200,
        "B caches the login"
    );
    let admin = Admin::of(&a).await;
    let users: Value = admin
        .send(
            reqwest::Method::GET,
            a.url("/auth/admin/realms/duo/users?username=alice&exact=true"),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    let alice = users[0]["id"].as_str().unwrap().to_string();
    let clients: Value = admin
        .send(
            reqwest::Method::GET,
            a.url("/auth/admin/realms/duo/clients?clientId=registry"),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    let registry = clients[0]["id"].as_str().unwrap().to_string();
    let sessions: Value = admin
        .send(
            reqwest::Method::GET,
            a.url(&format!(
                "/auth/admin/realms/duo/users/{alice}/offline-sessions/{registry}"
            )),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    let login = sessions[0]["id"].as_str().unwrap();
    let revoked = admin
        .send(
            reqwest::Method::DELETE,
            a.url(&format!(
                "/auth/admin/realms/duo/sessions/{login}?isOffline=true"
            )),
            None,
        )
        .await;
    assert_eq!(revoked.status().as_u16(), 204);
    let took = within(second, "B refuses the revoked docker login", || {
        let (b, refresh) = (&b, refresh.clone());
        async move { docker_refresh(b, &refresh).await == 401 }
    })
    .await;
    eprintln!("revoked docker login refused on B after {took:?}");

    // A user disabled through A: B, which has her password cached, refuses her.
    assert_eq!(docker_status(&b, "registry", "alice-password-1").await, 200);
    let disabled = admin
        .send(
            reqwest::Method::PUT,
            a.url(&format!("/auth/admin/realms/duo/users/{alice}")),
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(disabled.status().as_u16(), 204);
    let took = within(second, "B refuses the disabled user", || async {
        docker_status(&b, "registry", "alice-password-1").await == 401
    })
    .await;
    eprintln!("disabled user refused on B after {took:?}");

    // A registry created through A is known to B, whose realm snapshot is cached.
    let enabled = admin
        .send(
            reqwest::Method::PUT,
            a.url(&format!("/auth/admin/realms/duo/users/{alice}")),
            Some(json!({"enabled": true})),
        )
        .await;
    assert_eq!(enabled.status().as_u16(), 204);
    assert_eq!(
        docker_status(&b, "late", "alice-password-1").await,
        400,
        "unknown service"
    );
    let created = admin
        .send(
            reqwest::Method::POST,
            a.url("/auth/admin/realms/duo/clients"),
            Some(json!({"clientId": "late", "protocol": "docker-v2"})),
        )
        .await;
    assert_eq!(created.status().as_u16(), 201);
    let took = within(second, "B knows the new registry", || async {
        docker_status(&b, "late", "alice-password-1").await == 200
    })
    .await;
    eprintln!("new client known on B after {took:?}");

    // The listening connections are cut, and a change is made while nobody listens: B
    // reconnects and, having possibly missed notices, drops everything it cached.
    assert_eq!(docker_status(&b, "registry", "alice-password-1").await, 200);
    let cut = std::process::Command::new("psql")
        .args([
            database.url.as_str(),
            "-q",
            "-t",
            "-c",
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE datname = current_database() AND query LIKE 'LISTEN%'",
        ])
        .output()
        .unwrap();
    let cut = String::from_utf8_lossy(&cut.stdout).trim().to_string();
    assert_eq!(cut, "2", "both instances' listeners were cut");
    let disabled = admin
        .send(
            reqwest::Method::PUT,
            a.url(&format!("/auth/admin/realms/duo/users/{alice}")),
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(disabled.status().as_u16(), 204);
    let took = within(
        Duration::from_secs(5),
        "B catches up after reconnecting",
        || async { docker_status(&b, "registry", "alice-password-1").await == 401 },
    )
    .await;
    eprintln!("missed change applied on B after {took:?}");
    assert!(
        b.log()
            .contains("lost the connection hearing other instances' changes")
    );
}

/// An app password created and revoked through A, used on B: B, which has it cached, refuses it
/// within a second of the revocation.
#[tokio::test(flavor = "multi_thread")]
async fn an_app_password_revoked_on_one_instance_is_refused_on_the_other() {
    let Some(database) =
        TempPostgres::create("an_app_password_revoked_on_one_instance_is_refused_on_the_other")
    else {
        return;
    };
    let a = instance(&database.url, &[("duo.json", realm_json())]);
    let b = instance(&database.url, &[]);
    let admin = Admin::of(&a).await;
    let users: Value = admin
        .send(
            reqwest::Method::GET,
            a.url("/auth/admin/realms/duo/users?username=alice&exact=true"),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    let alice = users[0]["id"].as_str().unwrap().to_string();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let passwords = a.url(&format!(
        "/auth/admin/realms/duo/users/{alice}/app-passwords"
    ));
    let made: Value = admin
        .send(
            reqwest::Method::POST,
            passwords.clone(),
            Some(json!({"name": "ci", "expiresAt": now + 600})),
        )
        .await
        .json()
        .await
        .unwrap();
    let secret = made["secret"].as_str().unwrap().to_string();
    assert_eq!(
        docker_status(&b, "registry", &secret).await,
        200,
        "B caches it"
    );
    let revoked = admin
        .send(
            reqwest::Method::DELETE,
            format!("{passwords}/{}", made["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(revoked.status().as_u16(), 204);
    let took = within(
        Duration::from_secs(1),
        "B refuses the revoked app password",
        || {
            let (b, secret) = (&b, secret.clone());
            async move { docker_status(b, "registry", &secret).await == 401 }
        },
    )
    .await;
    eprintln!("revoked app password refused on B after {took:?}");
}

/// A robot rotated (grace 0) and then revoked through A, used on B: B, which has each secret
/// cached, refuses the rotated-out secret and then the revoked robot within a second.
#[tokio::test(flavor = "multi_thread")]
async fn a_robot_rotated_or_revoked_on_one_instance_is_refused_on_the_other() {
    let Some(database) =
        TempPostgres::create("a_robot_rotated_or_revoked_on_one_instance_is_refused_on_the_other")
    else {
        return;
    };
    let a = instance(&database.url, &[("duo.json", realm_json())]);
    let b = instance(&database.url, &[]);
    let admin = Admin::of(&a).await;
    let group: Value = admin
        .send(
            reqwest::Method::GET,
            a.url("/auth/admin/realms/duo/group-by-path/ci"),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    let robots = a.url(&format!(
        "/auth/admin/realms/duo/groups/{}/robots",
        group["id"].as_str().unwrap()
    ));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let made: Value = admin
        .send(
            reqwest::Method::POST,
            robots.clone(),
            Some(json!({"name": "builder", "expiresAt": now + 600})),
        )
        .await
        .json()
        .await
        .unwrap();
    let one = format!("{robots}/{}", made["id"].as_str().unwrap());
    let first = made["secret"].as_str().unwrap().to_string();
    let status = |secret: String| {
        let b = &b;
        async move { docker_status_as(b, "robot.builder", "registry", &secret).await }
    };
    assert_eq!(status(first.clone()).await, 200, "B caches it");
    let rotated: Value = admin
        .send(
            reqwest::Method::POST,
            format!("{one}/rotate"),
            Some(json!({"gracePeriodSeconds": 0})),
        )
        .await
        .json()
        .await
        .unwrap();
    let second = rotated["secret"].as_str().unwrap().to_string();
    let took = within(
        Duration::from_secs(1),
        "B refuses the rotated-out secret",
        || {
            let first = first.clone();
            async move { status(first).await == 401 }
        },
    )
    .await;
    eprintln!("rotated-out robot secret refused on B after {took:?}");
    assert_eq!(status(second.clone()).await, 200, "B takes the new one");
    let revoked = admin
        .send(reqwest::Method::POST, format!("{one}/revoke"), None)
        .await;
    assert_eq!(revoked.status().as_u16(), 204);
    let took = within(
        Duration::from_secs(1),
        "B refuses the revoked robot",
        || {
            let second = second.clone();
            async move { status(second).await == 401 }
        },
    )
    .await;
    eprintln!("revoked robot refused on B after {took:?}");
}

/// Refresh-token rows and sessions are cached per instance: a refresh token revoked, signed out
/// or whose session an admin ended through A is refused by B, which had it cached, within a
/// second.
#[tokio::test(flavor = "multi_thread")]
async fn an_oidc_grant_ended_on_one_instance_is_refused_on_the_other() {
    let Some(database) =
        TempPostgres::create("an_oidc_grant_ended_on_one_instance_is_refused_on_the_other")
    else {
        return;
    };
    let a = instance(&database.url, &[("duo.json", realm_json())]);
    let b = instance(&database.url, &[]);
    let second = Duration::from_secs(1);

    let (refresh, _) = oidc_sign_in(&b).await;
    assert_eq!(oidc_refresh(&b, &refresh).await, 200, "B caches the grant");
    assert_eq!(oidc_refresh(&b, &refresh).await, 200);
    let revoked = oidc_post(&a, "revoke", &[("token", refresh.as_str())]).await;
    assert_eq!(revoked.status().as_u16(), 200);
    let took = within(second, "B refuses the revoked refresh token", || {
        let (b, refresh) = (&b, refresh.clone());
        async move { oidc_refresh(b, &refresh).await == 400 }
    })
    .await;
    eprintln!("revoked refresh token refused on B after {took:?}");

    let (refresh, _) = oidc_sign_in(&b).await;
    assert_eq!(oidc_refresh(&b, &refresh).await, 200);
    let logout = oidc_post(&a, "logout", &[("refresh_token", refresh.as_str())]).await;
    assert_eq!(logout.status().as_u16(), 204);
    let took = within(second, "B refuses the signed-out refresh token", || {
        let (b, refresh) = (&b, refresh.clone());
        async move { oidc_refresh(b, &refresh).await == 400 }
    })
    .await;
    eprintln!("signed-out refresh token refused on B after {took:?}");

    let (refresh, session) = oidc_sign_in(&b).await;
    assert_eq!(oidc_refresh(&b, &refresh).await, 200);
    let admin = Admin::of(&a).await;
    let ended = admin
        .send(
            reqwest::Method::DELETE,
            a.url(&format!("/auth/admin/realms/duo/sessions/{session}")),
            None,
        )
        .await;
    assert_eq!(ended.status().as_u16(), 204);
    let took = within(
        second,
        "B refuses the refresh token of the ended session",
        || {
            let (b, refresh) = (&b, refresh.clone());
            async move { oidc_refresh(b, &refresh).await == 400 }
        },
    )
    .await;
    eprintln!("refresh token of an ended session refused on B after {took:?}");
}
