//! A realm's signing keys: list, add, make active, disable.
//!
//! Every enabled key is published (the realm's JWKS and the registries' bundle and JWKS) and
//! verifies tokens; of each algorithm, the enabled key with the highest priority signs. A key
//! is added *passive*, just below the signing key's priority: published, not signing. A
//! registry reads its bundle only when it starts, so an operator adds the key, restarts or
//! redeploys the registries with the new bundle, and only then makes the key active; the old
//! key keeps verifying the tokens it signed until it is disabled.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis_core::keys::{Algorithm, KeyMaterial, SigningKey};
use portcullis_store::admin;
use portcullis_store::entity::realm_key;
use serde_json::json;

use super::Ops;
use crate::auth::Right;
use crate::context::{Change, Event, Op, target_realm};
use crate::error::AdminError;

/// Priority of the first key of an algorithm a realm gets through the console.
const FIRST_PRIORITY: i64 = 100;

/// What a key does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStatus {
    /// Signs new tokens of its algorithm (and verifies).
    Active,
    /// Published and verifies, but does not sign.
    Passive,
    /// Neither published nor verifying.
    Disabled,
}

impl KeyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Active => "active",
            KeyStatus::Passive => "passive",
            KeyStatus::Disabled => "disabled",
        }
    }
}

/// A key as the admin sees it: never its private part.
#[derive(Debug, Clone)]
pub struct KeyInfo {
    pub id: String,
    pub algorithm: Algorithm,
    /// `RSA 2048`, `EC P-256`.
    pub kind: String,
    /// The RFC 7638 thumbprint OIDC tokens carry as `kid`.
    pub kid: String,
    /// The libtrust key id docker tokens carry by default.
    pub libtrust_kid: String,
    pub priority: i64,
    pub status: KeyStatus,
    /// Unix seconds.
    pub created_at: i64,
    /// The public key as DER SubjectPublicKeyInfo.
    pub public_key_der: Vec<u8>,
    /// The self-signed certificate as DER.
    pub certificate_der: Vec<u8>,
}

/// A key to add.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewKey {
    /// RS256 with an RSA key of this many bits: 2048, 3072 or 4096.
    Rsa(u32),
    /// ES256 with a P-256 key.
    EcP256,
}

impl NewKey {
    pub fn algorithm(self) -> Algorithm {
        match self {
            NewKey::Rsa(_) => Algorithm::Rs256,
            NewKey::EcP256 => Algorithm::Es256,
        }
    }
}

/// RSA sizes a key may be added with.
pub const RSA_SIZES: [u32; 3] = [2048, 3072, 4096];

fn describe(rows: Vec<realm_key::Model>) -> Result<Vec<KeyInfo>, AdminError> {
    let mut signing: Vec<Algorithm> = Vec::new();
    rows.into_iter()
        .map(|row| {
            let algorithm = Algorithm::parse(&row.algorithm).ok_or_else(|| {
                AdminError::Internal(format!("key {} has algorithm {}", row.id, row.algorithm))
            })?;
            let material = KeyMaterial {
                algorithm,
                private_key_pkcs8: row.private_key.clone(),
                certificate_der: row.certificate.clone(),
            };
            let key = SigningKey::from_material(&material)
                .map_err(|e| AdminError::Internal(format!("key {}: {e}", row.id)))?;
            let kind = match algorithm {
                Algorithm::Rs256 => {
                    let jwk = key.public_jwk("");
                    let n = jwk["n"].as_str().unwrap_or_default();
                    let bits = URL_SAFE_NO_PAD.decode(n).map_or(0, |b| b.len() * 8);
                    format!("RSA {bits}")
                }
                Algorithm::Es256 => "EC P-256".to_string(),
            };
            // Rows come highest priority first: the first enabled key of an algorithm signs.
            let status = if !row.enabled {
                KeyStatus::Disabled
            } else if signing.contains(&algorithm) {
                KeyStatus::Passive
            } else {
                signing.push(algorithm);
                KeyStatus::Active
            };
            Ok(KeyInfo {
                id: row.id,
                algorithm,
                kind,
                kid: key.thumbprint_kid().to_string(),
                libtrust_kid: key.libtrust_kid().to_string(),
                priority: row.priority,
                status,
                created_at: row.created_at,
                public_key_der: key.spki_der().to_vec(),
                certificate_der: key.certificate_der().to_vec(),
            })
        })
        .collect()
}

/// The realm's keys, signing keys first (`view-realm`).
pub async fn list(ops: Ops<'_>, realm: &str) -> Result<Vec<KeyInfo>, AdminError> {
    let row = target_realm(ops.state, ops.caller, realm, Right::ViewRealm).await?;
    describe(admin::keys::list(ops.state.store().connection(), &row.id).await?)
}

/// Adds a passive key (`manage-realm`): published in the JWKS and the registry bundle at once,
/// signing only once made active. A realm without a key of that algorithm gets it active.
/// Returns the new key.
pub async fn add(ops: Ops<'_>, realm: &str, new: NewKey) -> Result<KeyInfo, AdminError> {
    let row = target_realm(ops.state, ops.caller, realm, Right::ManageRealm).await?;
    let now = ops.state.now();
    let material = match new {
        NewKey::Rsa(bits) if RSA_SIZES.contains(&bits) => {
            KeyMaterial::generate_rsa(bits, &row.name, now)
        }
        NewKey::Rsa(_) => {
            return Err(AdminError::InvalidField {
                field: "size",
                message: "RSA keys are 2048, 3072 or 4096 bits",
                params: Vec::new(),
            });
        }
        NewKey::EcP256 => KeyMaterial::generate(Algorithm::Es256, &row.name, now),
    }
    .map_err(|e| AdminError::Internal(format!("key generation: {e}")))?;
    let mut change = Change::begin(ops.state, ops.caller, row.clone()).await?;
    let keys = describe(admin::keys::list(change.db(), &row.id).await?)?;
    let priority = keys
        .iter()
        .find(|k| k.algorithm == new.algorithm() && k.status == KeyStatus::Active)
        .map_or(FIRST_PRIORITY, |active| active.priority.saturating_sub(1));
    let id = admin::keys::add(change.db(), &row.id, material, priority, now).await?;
    change.record(
        Event::new(Op::Create, "COMPONENT", format!("components/{id}")).with(json!({
            "providerType": portcullis_store::key_component::KEY_PROVIDER_TYPE,
            "algorithm": new.algorithm().as_str(),
            "priority": priority,
        })),
    );
    let added = describe(admin::keys::list(change.db(), &row.id).await?)?
        .into_iter()
        .find(|k| k.id == id)
        .ok_or_else(|| AdminError::Internal("added key not found".into()))?;
    change.commit().await?;
    tracing::info!(realm = %row.name, key = %id, status = added.status.as_str(), "realm key added");
    Ok(added)
}

async fn find_key(
    change: &Change<'_>,
    realm_id: &str,
    id: &str,
) -> Result<(KeyInfo, Vec<KeyInfo>), AdminError> {
    let keys = describe(admin::keys::list(change.db(), realm_id).await?)?;
    let key = keys
        .iter()
        .find(|k| k.id == id)
        .cloned()
        .ok_or_else(|| AdminError::not_found("Could not find key"))?;
    Ok((key, keys))
}

/// Makes a passive key the one that signs its algorithm's tokens (`manage-realm`): its
/// priority goes above every other enabled key of the algorithm. The previous signing key
/// stays published and keeps verifying.
pub async fn activate(ops: Ops<'_>, realm: &str, id: &str) -> Result<KeyInfo, AdminError> {
    let row = target_realm(ops.state, ops.caller, realm, Right::ManageRealm).await?;
    let mut change = Change::begin(ops.state, ops.caller, row.clone()).await?;
    let (key, keys) = find_key(&change, &row.id, id).await?;
    match key.status {
        KeyStatus::Active => {
            return Err(AdminError::BadRequest(
                "This key signs already.".to_string(),
            ));
        }
        KeyStatus::Disabled => {
            return Err(AdminError::BadRequest(
                "A disabled key cannot sign: add a new key instead.".to_string(),
            ));
        }
        KeyStatus::Passive => {}
    }
    let top = keys
        .iter()
        .filter(|k| k.algorithm == key.algorithm && k.status != KeyStatus::Disabled)
        .map(|k| k.priority)
        .max()
        .unwrap_or(key.priority);
    let priority = top.saturating_add(1);
    admin::keys::set_priority(change.db(), &row.id, id, priority).await?;
    change.record(
        Event::new(Op::Update, "COMPONENT", format!("components/{id}"))
            .with(json!({"priority": priority, "active": true})),
    );
    change.commit().await?;
    tracing::info!(realm = %row.name, key = %id, "realm key made active");
    Ok(KeyInfo {
        priority,
        status: KeyStatus::Active,
        ..key
    })
}

/// Disables a key (`manage-realm`): it is no longer published and tokens it signed no longer
/// verify. The key that signs its algorithm's tokens cannot be disabled: make another key of
/// the algorithm active first, so a realm never signs with a key registries have not seen.
pub async fn disable(ops: Ops<'_>, realm: &str, id: &str) -> Result<KeyInfo, AdminError> {
    let row = target_realm(ops.state, ops.caller, realm, Right::ManageRealm).await?;
    let mut change = Change::begin(ops.state, ops.caller, row.clone()).await?;
    let (key, _) = find_key(&change, &row.id, id).await?;
    match key.status {
        KeyStatus::Active => {
            return Err(AdminError::BadRequest(format!(
                "This key signs the realm's {} tokens: make another {} key active first.",
                key.algorithm, key.algorithm
            )));
        }
        KeyStatus::Disabled => return Ok(key),
        KeyStatus::Passive => {}
    }
    admin::keys::disable(change.db(), &row.id, id).await?;
    change.record(
        Event::new(Op::Update, "COMPONENT", format!("components/{id}"))
            .with(json!({"enabled": false})),
    );
    change.commit().await?;
    tracing::info!(realm = %row.name, key = %id, "realm key disabled");
    Ok(KeyInfo {
        status: KeyStatus::Disabled,
        ..key
    })
}
