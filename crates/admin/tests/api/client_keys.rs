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

async fn multipart(app: &App, path: &str, token: &str, format: &str, file: &str) -> portcullis_testkit::Reply {
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
    assert!(STANDARD.decode(private_key).unwrap().len() > 1000, "RSA PKCS#8");
    let stored = app.get(&base).await.value();
    assert_eq!(stored, json!({"certificate": certificate}), "the private key is not kept");
    let client = app.get(&format!("realms/keys/clients/{svc}")).await.value();
    assert_eq!(client["attributes"]["jwt.credential.certificate"], certificate);

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
    assert!(public.starts_with("-----BEGIN PUBLIC KEY-----\n"), "{public}");
    assert_eq!(download("JKS").await.status, StatusCode::BAD_REQUEST);

    let reply = multipart(&app, &format!("{base}/upload-certificate"), &app.admin, "Certificate PEM", &pem).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.value()["certificate"], certificate);
    let reply = multipart(&app, &format!("{base}/upload"), &app.admin, "Public Key PEM", &public).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let stored = app.get(&base).await.value();
    assert!(stored.get("certificate").is_none(), "{stored}");
    assert!(stored["publicKey"].is_string());
    let reply = multipart(&app, &format!("{base}/upload"), &app.admin, "Certificate PEM", "junk").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);

    // A view-clients admin reads but does not change; unknown clients are 404.
    let viewer = app.access_token("keys", "viewer").await;
    let reply = app.send(Method::GET, &base, Some(&viewer), None).await;
    assert_eq!(reply.status, StatusCode::OK);
    let reply = app
        .send(Method::POST, &format!("{base}/generate"), Some(&viewer), None)
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let reply = multipart(&app, &format!("{base}/upload"), &viewer, "Public Key PEM", &public).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let reply = app.get("realms/keys/clients/nope/certificates/jwt.credential").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
}
