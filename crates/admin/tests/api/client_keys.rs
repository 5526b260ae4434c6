//! `clients/{id}/certificates/{attr}`: generate, read, upload, download; and a generated key
//! authenticating the client with `private_key_jwt`.

use axum::body::Body;
use axum::http::{Method, StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use portcullis_testkit::{bearer, request};
use serde_json::{Value, json};

use crate::common::{App, app};

fn keys_realm() -> Value {
    json!({
        "realm": "keys",
        "enabled": true,
        "clients": [{"clientId": "svc", "publicClient": false, "serviceAccountsEnabled": true,
                     "clientAuthenticatorType": "client-jwt"}],
        "users": [
            {"username": "viewer", "enabled": true,
             "clientRoles": {"realm-management": ["view-clients"]}}
        ]
    })
}

async fn multipart(
    app: &App,
    path: &str,
    token: &str,
    format: &str,
    file: &str,
) -> portcullis_testkit::Reply {
    let body = format!(
        "--B0und\r\nContent-Disposition: form-data; name=\"keystoreFormat\"\r\n\r\n{format}\r\n\
         --B0und\r\nContent-Disposition: form-data; name=\"file\"; filename=\"k.pem\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n{file}\r\n--B0und--\r\n"
    );
    let auth = bearer(token);
    let req = request(Method::POST, &format!("/auth/admin/{path}"), Some(&auth))
        .header(header::CONTENT_TYPE, "multipart/form-data; boundary=B0und")
        .body(Body::from(body))
        .unwrap();
    let kit: &portcullis_testkit::TestApp = app;
    kit.send(req).await
}

#[tokio::test]
async fn generate_read_upload_download() {
    let app = app().await;
    app.import_realm(&keys_realm()).await;
    let svc = app.client_uuid("keys", "svc").await;
    let base = format!("realms/keys/clients/{svc}/certificates/jwt.credential");
    let empty = app.get(&base).await;
    assert_eq!(empty.status, StatusCode::OK);
    assert_eq!(empty.value(), json!({}));

    let generated = app.post(&format!("{base}/generate"), json!({})).await;
    assert_eq!(generated.status, StatusCode::OK, "{}", generated.text());
    let generated = generated.value();
    let private_key = generated["privateKey"].as_str().unwrap();
    let certificate = generated["certificate"].as_str().unwrap().to_string();
    assert!(
        STANDARD.decode(private_key).unwrap().len() > 1000,
        "RSA PKCS#8"
    );
    let stored = app.get(&base).await.value();
    assert_eq!(
        stored,
        json!({"certificate": certificate}),
        "the private key is not kept"
    );
    let client = app.get(&format!("realms/keys/clients/{svc}")).await.value();
    assert_eq!(
        client["attributes"]["jwt.credential.certificate"],
        certificate
    );

    // Download as PEM, upload that PEM back, and a public key.
    let download = |format: &'static str| {
        let app = &app;
        let path = format!("{base}/download");
        async move { app.post(&path, json!({"format": format})).await }
    };
    let pem = download("Certificate PEM").await;
    assert_eq!(pem.status, StatusCode::OK);
    let pem = pem.text();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\n"), "{pem}");
    let public = download("Public Key PEM").await.text();
    assert!(
        public.starts_with("-----BEGIN PUBLIC KEY-----\n"),
        "{public}"
    );
    assert_eq!(download("JKS").await.status, StatusCode::BAD_REQUEST);

    let reply = multipart(
        &app,
        &format!("{base}/upload-certificate"),
        &app.admin,
        "Certificate PEM",
        &pem,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.value()["certificate"], certificate);
    let reply = multipart(
        &app,
        &format!("{base}/upload"),
        &app.admin,
        "Public Key PEM",
        &public,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let stored = app.get(&base).await.value();
    assert!(stored.get("certificate").is_none(), "{stored}");
    assert!(stored["publicKey"].is_string());
    let reply = multipart(
        &app,
        &format!("{base}/upload"),
        &app.admin,
        "Certificate PEM",
        "junk",
    )
    .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);

    // A view-clients admin reads but does not change; unknown clients are 404.
    let viewer = app.access_token("keys", "viewer").await;
    let reply = app.send(Method::GET, &base, Some(&viewer), None).await;
    assert_eq!(reply.status, StatusCode::OK);
    let reply = app
        .send(
            Method::POST,
            &format!("{base}/generate"),
            Some(&viewer),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let reply = multipart(
        &app,
        &format!("{base}/upload"),
        &viewer,
        "Public Key PEM",
        &public,
    )
    .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let reply = app
        .get("realms/keys/clients/nope/certificates/jwt.credential")
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn installation_providers() {
    let app = app().await;
    app.import_realm(&json!({
        "realm": "inst",
        "enabled": true,
        "clients": [
            {"clientId": "web", "publicClient": false, "secret": "web-secret",
             "redirectUris": ["http://web.test/*"]},
            {"clientId": "spa", "publicClient": true, "redirectUris": ["http://spa.test/*"]},
            {"clientId": "registry", "protocol": "docker-v2", "publicClient": true}
        ],
        "users": [{"username": "nobody", "enabled": true}]
    }))
    .await;
    let web = app.client_uuid("inst", "web").await;
    let spa = app.client_uuid("inst", "spa").await;
    let registry = app.client_uuid("inst", "registry").await;
    let get = |id: &str, provider: &str| {
        let path = format!("realms/inst/clients/{id}/installation/providers/{provider}");
        let app = &app;
        async move { app.get(&path).await }
    };
    let json_file = get(&web, "keycloak-oidc-keycloak-json").await;
    assert_eq!(json_file.status, StatusCode::OK);
    assert_eq!(
        json_file.value(),
        json!({"realm": "inst", "auth-server-url": "http://id.test/auth/",
               "ssl-required": "external", "resource": "web",
               "credentials": {"secret": "web-secret"}, "confidential-port": 0})
    );
    let public = get(&spa, "keycloak-oidc-keycloak-json").await.value();
    assert_eq!(public["public-client"], true);
    assert!(public.get("credentials").is_none());

    let config = get(&registry, "docker-v2-registry-config-file").await;
    assert_eq!(config.status, StatusCode::OK);
    assert_eq!(
        config.text(),
        "auth:\n  token:\n    realm: http://id.test/auth/realms/inst/protocol/docker-v2/auth\n    \
         service: registry\n    issuer: http://id.test/auth/realms/inst\n"
    );
    let vars = get(&registry, "docker-v2-variable-override").await.text();
    assert_eq!(
        vars,
        "-e REGISTRY_AUTH_TOKEN_REALM=http://id.test/auth/realms/inst/protocol/docker-v2/auth \\\n\
         -e REGISTRY_AUTH_TOKEN_SERVICE=registry \\\n\
         -e REGISTRY_AUTH_TOKEN_ISSUER=http://id.test/auth/realms/inst \\\n"
    );
    let zip = get(&registry, "docker-v2-docker-compose-yaml").await;
    assert_eq!(zip.status, StatusCode::OK);
    assert_eq!(zip.header("content-type"), "application/zip");
    let bytes = zip.body.to_vec();
    assert_eq!(&bytes[..4], b"PK\x03\x04");
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains("REGISTRY_AUTH_TOKEN_SERVICE: registry"));
    assert!(text.contains("keycloak-docker-compose-yaml/certs/localhost_trust_chain.pem"));
    // The trust chain is the realm's own certificate, the one its tokens verify with.
    let certs = app
        .get("/auth/realms/inst/protocol/openid-connect/certs")
        .await;
    let x5c = certs.value()["keys"][0]["x5c"][0]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        text.contains(&x5c[..64]),
        "the realm certificate is in the bundle"
    );

    assert_eq!(get(&web, "nope").await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        get("missing", "keycloak-oidc-keycloak-json").await.status,
        StatusCode::NOT_FOUND
    );
    let nobody = app.access_token("inst", "nobody").await;
    let reply = app
        .send(
            Method::GET,
            &format!(
                "realms/inst/clients/{web}/installation/providers/keycloak-oidc-keycloak-json"
            ),
            Some(&nobody),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
}
