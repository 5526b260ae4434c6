//! The OpenID Connect fixture realm (`oidc-realm.json`) and records in it, shared by the
//! store's OIDC and sweeper tests.

use portcullis_store::representation::RealmRepresentation;
use portcullis_store::{
    AuthCode, DeviceCode, DeviceCodeStatus, RefreshTokenRecord, UserSession, parse_realm_json,
};

use super::{NOW, TestDb, fixture};

/// The fixture realm's id.
pub const REALM: &str = "oidc-realm-id";

pub fn oidc_realm() -> RealmRepresentation {
    parse_realm_json(&fixture("oidc-realm.json")).expect("fixture parses")
}

pub async fn imported() -> TestDb {
    let db = TestDb::new().await;
    db.store
        .import_realm(oidc_realm(), false, NOW)
        .await
        .unwrap();
    db
}

pub fn session(id: &str, user_id: &str, at: i64) -> UserSession {
    UserSession {
        id: id.into(),
        realm_id: REALM.into(),
        user_id: user_id.into(),
        auth_time: at,
        created_at: at,
        last_seen_at: at,
        ended: false,
    }
}

pub fn refresh(id: &str, session_id: Option<&str>, offline: bool) -> RefreshTokenRecord {
    RefreshTokenRecord {
        id: id.into(),
        realm_id: REALM.into(),
        client_id: "web".into(),
        user_id: "alice-id".into(),
        session_id: session_id.map(Into::into),
        scope: "openid profile".into(),
        offline,
        created_at: NOW,
        expires_at: NOW + 1800,
        revoked: false,
        use_count: 0,
    }
}

pub fn code(hash: &str) -> AuthCode {
    AuthCode {
        code_hash: hash.into(),
        realm_id: REALM.into(),
        client_id: "web".into(),
        user_id: "alice-id".into(),
        session_id: "s1".into(),
        redirect_uri: "https://app.example.com/cb".into(),
        scope: "openid email".into(),
        nonce: Some("n-0S6_WzA2Mj".into()),
        code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
        code_challenge_method: Some("S256".into()),
        auth_time: NOW,
        created_at: NOW,
        expires_at: NOW + 60,
    }
}

pub fn device(hash: &str, user_code: &str) -> DeviceCode {
    DeviceCode {
        device_code_hash: hash.into(),
        user_code: user_code.into(),
        realm_id: REALM.into(),
        client_id: "cli".into(),
        scope: "openid".into(),
        created_at: NOW,
        expires_at: NOW + 600,
        interval: 5,
        last_polled_at: None,
        status: DeviceCodeStatus::Pending,
    }
}
