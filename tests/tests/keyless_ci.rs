//! Keyless CI end to end: the real server, the Debian `docker-registry` and skopeo pushing with
//! an OIDC token as the password. The CI platforms are real OIDC providers: a second realm of
//! Portcullis (`ci`) issuing client-credentials tokens whose claims come from its protocol
//! mappers, and npm `oidc-provider` issuing JWT access tokens for a resource indicator. The
//! registry's keyless rules are added through the admin REST API; tokens with the wrong
//! audience, from an untrusted issuer, signed by an unknown key, or whose claims match no rule
//! push nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Duration;

use portcullis_tests::registry::{Registry, Skopeo, assert_denied, assert_ok, oci_image};
use portcullis_tests::{Server, TempDir, e2e_required, require, workspace_root};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const SERVICE: &str = "registry.e2e";
const TEST: &str = "skopeo_pushes_with_ci_tokens_of_trusted_issuers";

fn ci_client(client_id: &str, claims: &[(&str, &str)], audience: &str) -> Value {
    let mut mappers: Vec<Value> = claims
        .iter()
        .map(|(name, value)| {
            json!({"name": name, "protocol": "openid-connect",
                   "protocolMapper": "oidc-hardcoded-claim-mapper",
                   "config": {"claim.name": name, "claim.value": value,
                              "jsonType.label": "String", "access.token.claim": "true"}})
        })
        .collect();
    mappers.push(json!({"name": "audience", "protocol": "openid-connect",
                        "protocolMapper": "oidc-audience-mapper",
                        "config": {"included.custom.audience": audience,
                                   "access.token.claim": "true"}}));
    json!({"clientId": client_id, "secret": format!("{client_id}-secret"),
           "publicClient": false, "serviceAccountsEnabled": true,
           "standardFlowEnabled": false, "protocolMappers": mappers})
}

fn realms() -> Vec<(&'static str, String)> {
    let main = [("repository", "acme/api"), ("ref", "refs/heads/main")];
    let ci = json!({
        "realm": "ci",
        "enabled": true,
        "clients": [
            ci_client("api-main", &main, SERVICE),
            ci_client("evil", &[("repository", "evil/api"), ("ref", "refs/heads/main")], SERVICE),
            ci_client("wrong-audience", &main, "https://github.com/acme"),
        ]
    });
    let e2e = json!({
        "realm": "e2e",
        "enabled": true,
        "clients": [{"clientId": SERVICE, "protocol": "docker-v2", "enabled": true}]
    });
    vec![("ci.json", ci.to_string()), ("e2e.json", e2e.to_string())]
}

/// The admin API of realm `e2e` as master's admin.
struct Admin {
    http: reqwest::Client,
    token: String,
    base: String,
}

impl Admin {
    async fn new(server: &Server) -> Admin {
        Admin {
            http: reqwest::Client::new(),
            token: server.admin_token().await,
            base: server.url("/auth/admin/realms/e2e"),
        }
    }

    /// Adds a keyless CI rule to the registry's client.
    async fn trust(&self, name: &str, issuer: &str, claims: &str, repository: &str) {
        let clients: Value = self
            .http
            .get(format!("{}/clients?clientId={SERVICE}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let id = clients[0]["id"].as_str().unwrap();
        let rule = json!({"name": name, "protocol": "docker-v2",
                          "protocolMapper": "docker-v2-ci-token-mapper",
                          "config": {"issuer": issuer, "audience": SERVICE, "claims": claims,
                                     "repository": repository, "actions": "push"}});
        let response = self
            .http
            .post(format!(
                "{}/clients/{id}/protocol-mappers/models",
                self.base
            ))
            .bearer_auth(&self.token)
            .json(&rule)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status().as_u16(),
            201,
            "{:?}",
            response.text().await
        );
    }
}

/// A client-credentials access token from `token_url`.
async fn client_token(token_url: &str, client_id: &str, extra: &[(&str, &str)]) -> String {
    let mut form = vec![("grant_type", "client_credentials")];
    form.extend_from_slice(extra);
    let response = reqwest::Client::new()
        .post(token_url)
        .basic_auth(client_id, Some(format!("{client_id}-secret")))
        .form(&form)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert!(status.is_success(), "{token_url} for {client_id}: {body}");
    body["access_token"].as_str().unwrap().to_string()
}

/// npm `oidc-provider` as a CI token issuer; killed when dropped.
struct OidcProvider {
    issuer: String,
    _child: Child,
}

impl OidcProvider {
    async fn start(clients: Value) -> Option<OidcProvider> {
        let interop = workspace_root().join("tests/interop");
        if !interop.join("node_modules/oidc-provider").is_dir() {
            let why = "npm packages not installed (npm ci --prefix tests/interop)";
            assert!(!e2e_required(), "{TEST}: {why}");
            eprintln!("SKIPPED the oidc-provider part of {TEST}: {why}");
            return None;
        }
        let mut child = Command::new("node")
            .arg(interop.join("ci-oidc-provider.mjs"))
            .env("AUDIENCE", SERVICE)
            .env("CLIENTS", clients.to_string())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .ok()?;
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .expect("oidc-provider starts within 20 s")
            .unwrap()
            .expect("oidc-provider prints its issuer");
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let ready: Value = serde_json::from_str(&line).unwrap();
        Some(OidcProvider {
            issuer: ready["issuer"].as_str().unwrap().to_string(),
            _child: child,
        })
    }
}

fn ci(token: &str) -> String {
    format!("ci:{token}")
}

fn push(
    skopeo: &Skopeo,
    image: &Path,
    registry: &Registry,
    name: &str,
    token: &str,
) -> std::process::Output {
    skopeo.push(image, &registry.image(name), Some(&ci(token)))
}

#[tokio::test(flavor = "multi_thread")]
async fn skopeo_pushes_with_ci_tokens_of_trusted_issuers() {
    if require("docker-registry", TEST).is_none()
        || require("skopeo", TEST).is_none()
        || require("tar", TEST).is_none()
    {
        return;
    }
    let server = Server::start(&realms());
    let registry = Registry::for_client(&server, "e2e", SERVICE).await;
    let work = TempDir::new("image");
    let image = oci_image(work.path());
    let skopeo = Skopeo::new();
    let admin = Admin::new(&server).await;
    let portcullis_issuer = server.url("/auth/realms/ci");
    let token_url = server.url("/auth/realms/ci/protocol/openid-connect/token");

    let main = client_token(&token_url, "api-main", &[]).await;
    assert_denied(
        "a token of an issuer the registry does not trust yet",
        &push(&skopeo, &image, &registry, "acme/api/app:v0", &main),
    );

    admin
        .trust(
            "acme/api main",
            &portcullis_issuer,
            "repository=acme/api, ref=refs/heads/main",
            "acme/api/**",
        )
        .await;
    assert_ok(
        "the main branch of acme/api pushes with its CI token",
        &push(&skopeo, &image, &registry, "acme/api/app:v1", &main),
    );
    assert_ok(
        "the same token again (CI jobs reuse theirs)",
        &push(&skopeo, &image, &registry, "acme/api/app:v2", &main),
    );
    assert_ok(
        "and reads it back",
        &skopeo.inspect(&registry.image("acme/api/app:v1"), Some(&ci(&main))),
    );
    assert_denied(
        "outside the rule's repositories",
        &push(&skopeo, &image, &registry, "other/app:v1", &main),
    );
    let evil = client_token(&token_url, "evil", &[]).await;
    assert_denied(
        "claims matching no rule",
        &push(&skopeo, &image, &registry, "acme/api/app:evil", &evil),
    );
    let forged = {
        // The claims of the good token, signed by a key the issuer does not publish.
        use base64::Engine as _;
        let payload = main.split('.').nth(1).unwrap();
        let claims = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap();
        let material =
            portcullis_core::keys::KeyMaterial::generate_rsa(2048, "forger", 1_795_000_000)
                .unwrap();
        let key = portcullis_core::keys::SigningKey::from_material(&material).unwrap();
        let header = json!({"alg": "RS256", "typ": "JWT", "kid": key.thumbprint_kid()});
        key.sign_jws(header.to_string().as_bytes(), &claims)
            .unwrap()
    };
    assert_denied(
        "the same claims signed by a key the issuer does not publish",
        &push(&skopeo, &image, &registry, "acme/api/app:forged", &forged),
    );
    let wrong = client_token(&token_url, "wrong-audience", &[]).await;
    assert_denied(
        "a token for another audience",
        &push(&skopeo, &image, &registry, "acme/api/app:wrong", &wrong),
    );

    // A third-party issuer: oidc-provider's JWT access tokens for the registry's resource.
    let clients = json!({
        "gitlab-api": {"project_path": "acme/api", "ref": "main", "ref_protected": "true"},
        "gitlab-fork": {"project_path": "fork/api", "ref": "main", "ref_protected": "false"},
    });
    let Some(provider) = OidcProvider::start(clients).await else {
        return;
    };
    let resource = format!("https://{SERVICE}");
    let provider_token_url = format!("{}/token", provider.issuer);
    let extra = [("resource", resource.as_str()), ("scope", "push")];
    let gitlab = client_token(&provider_token_url, "gitlab-api", &extra).await;
    assert_denied(
        "oidc-provider is not trusted yet",
        &push(&skopeo, &image, &registry, "acme/api/gl:v0", &gitlab),
    );
    admin
        .trust(
            "gitlab acme/api protected main",
            &provider.issuer,
            "project_path=acme/api, ref=main, ref_protected=true",
            "acme/api/**",
        )
        .await;
    assert_ok(
        "oidc-provider's token for acme/api pushes",
        &push(&skopeo, &image, &registry, "acme/api/gl:v1", &gitlab),
    );
    let fork = client_token(&provider_token_url, "gitlab-fork", &extra).await;
    assert_denied(
        "a fork's token matches no rule",
        &push(&skopeo, &image, &registry, "acme/api/gl:fork", &fork),
    );
}
