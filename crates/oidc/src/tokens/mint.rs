//! Access, ID and refresh tokens: their registered claims, lifespans and signing algorithms.
//! Claim maps are built by pure functions (tested by table); signing is the last step.

use aws_lc_rs::digest;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis_core::keys::Algorithm;
use portcullis_core::model::{Client, Realm, RealmSnapshot, realm_defaults};
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::TokenError;
use super::claims::{ClaimContext, Target, audiences, user_claims};
use super::jwt::{self, TYP_BEARER, TYP_ID, TYP_OFFLINE, TYP_REFRESH};
use super::mappers::{ACR_MAPPER, has_type};

/// Keycloak's client attributes read here.
pub(crate) const ATTR_ACCESS_LIFESPAN: &str = "access.token.lifespan";
pub(crate) const ATTR_ACCESS_ALG: &str = "access.token.signed.response.alg";
pub(crate) const ATTR_ID_ALG: &str = "id.token.signed.response.alg";
pub(crate) const ATTR_SESSION_IDLE: &str = "client.session.idle.timeout";

/// Keycloak's default `accessTokenLifespan`.
const DEFAULT_ACCESS_LIFESPAN: i64 = 300;
/// The `acr` of a password login (Keycloak's level of assurance 1).
pub(crate) const ACR_PASSWORD: &str = "1";

/// Per-client token settings, from the client's attributes and the realm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TokenSettings {
    pub access_alg: Algorithm,
    pub id_alg: Algorithm,
    /// Seconds access and ID tokens live.
    pub access_lifespan: i64,
}

impl TokenSettings {
    pub(crate) fn for_client(realm: &Realm, client: &Client) -> Self {
        let alg = |key: &str| {
            attribute(client, key)
                .and_then(Algorithm::parse)
                .unwrap_or(Algorithm::Rs256)
        };
        Self {
            access_alg: alg(ATTR_ACCESS_ALG),
            id_alg: alg(ATTR_ID_ALG),
            access_lifespan: positive(client, ATTR_ACCESS_LIFESPAN)
                .or(Some(realm.access_token_lifespan).filter(|n| *n > 0))
                .unwrap_or(DEFAULT_ACCESS_LIFESPAN),
        }
    }
}

fn attribute<'c>(client: &'c Client, key: &str) -> Option<&'c str> {
    client
        .attributes
        .get(key)
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
}

/// A positive number of seconds; Keycloak stores `-1` or an empty string for "inherit".
fn positive(client: &Client, key: &str) -> Option<i64> {
    attribute(client, key)?
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
}

/// The SSO session a token belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SessionRef<'a> {
    pub id: &'a str,
    /// When the session started (caps online refresh tokens).
    pub created_at: i64,
}

/// Everything a token's claims depend on besides the claim context.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Grant<'a> {
    pub issuer: &'a str,
    pub now: i64,
    pub session: Option<SessionRef<'a>>,
    /// When the user authenticated; `None` for client credentials.
    pub auth_time: Option<i64>,
    pub nonce: Option<&'a str>,
    /// Client credentials: the subject is the client's service account.
    pub service_account: bool,
}

/// A signed token and the times the token response reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Signed {
    pub token: String,
    pub exp: i64,
}

/// What a token says about its user and client, whatever the moment and the session: the
/// mappers' claims for one kind of token, serialised once, and its audiences. Minting writes
/// the registered claims ([`REGISTERED`]) in front of it, so no mapper can forge them; a
/// service account's is reused across client-credentials grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PreparedClaims {
    /// The mappers' claims as JSON object members (`"name":value,...`, no braces), without
    /// any registered claim.
    members: String,
    /// The `aud` values, in order.
    aud: Vec<String>,
    /// Whether an ACR mapper puts `acr` into this kind of token.
    acr: bool,
}

/// The claims only the minting code writes; a mapper's claim of one of these names is dropped.
const REGISTERED: [&str; 15] = [
    "exp",
    "iat",
    "jti",
    "iss",
    "aud",
    "sub",
    "typ",
    "azp",
    "sid",
    "auth_time",
    "nonce",
    "acr",
    "at_hash",
    "scope",
    "client_id",
];

impl PreparedClaims {
    /// An access token's: `aud` is every other client the token carries roles of (with the
    /// audience-resolve mapper) and the audience mappers' values.
    pub(crate) fn access(ctx: &ClaimContext<'_>) -> Result<Self, TokenError> {
        Self::new(ctx, Target::Access, audiences(ctx, Target::Access))
    }

    /// An ID token's: `aud` is the client, then the audience mappers' values.
    pub(crate) fn id(ctx: &ClaimContext<'_>) -> Result<Self, TokenError> {
        let mut aud = vec![ctx.client.client_id.clone()];
        for extra in audiences(ctx, Target::Id) {
            if !aud.contains(&extra) {
                aud.push(extra);
            }
        }
        Self::new(ctx, Target::Id, aud)
    }

    fn new(ctx: &ClaimContext<'_>, target: Target, aud: Vec<String>) -> Result<Self, TokenError> {
        let mut claims = user_claims(ctx, target);
        for name in REGISTERED {
            claims.remove(name);
        }
        let object = serde_json::to_string(&claims)?;
        // A serialised map is `{...}`: keep what is between the braces.
        let members = object
            .strip_prefix('{')
            .and_then(|o| o.strip_suffix('}'))
            .unwrap_or_default()
            .to_owned();
        Ok(Self {
            members,
            aud,
            acr: has_type(ctx, ACR_MAPPER, target),
        })
    }
}

/// The registered claims of an access or ID token, in the order they are written.
#[derive(Serialize)]
struct Registered<'a> {
    exp: i64,
    iat: i64,
    jti: &'a str,
    iss: &'a str,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    #[serde(serialize_with = "one_or_many")]
    aud: &'a [String],
    sub: &'a str,
    typ: &'a str,
    azp: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    sid: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    acr: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    at_hash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<&'a str>,
}

/// `aud` is a string when there is one audience, as Keycloak writes it, else an array.
fn one_or_many<S: serde::Serializer>(aud: &&[String], serializer: S) -> Result<S::Ok, S::Error> {
    match aud {
        [one] => serializer.serialize_str(one),
        many => many.serialize(serializer),
    }
}

/// Room for the registered claims' JSON: ids, the issuer URL, the audience and the scope.
const REGISTERED_CLAIMS_SIZE: usize = 512;

impl<'a> Registered<'a> {
    /// What access and ID tokens share.
    fn common(
        ctx: &ClaimContext<'a>,
        grant: &Grant<'a>,
        settings: &TokenSettings,
        jti: &'a str,
        (typ, aud): (&'a str, &'a [String]),
    ) -> Self {
        Self {
            exp: grant.now.saturating_add(settings.access_lifespan),
            iat: grant.now,
            jti,
            iss: grant.issuer,
            aud,
            sub: &ctx.user.id,
            typ,
            azp: &ctx.client.client_id,
            sid: grant.session.map(|s| s.id),
            auth_time: grant.auth_time,
            nonce: None,
            acr: None,
            at_hash: None,
            scope: None,
            client_id: None,
        }
    }

    /// The JSON claims of the token: these, then the prepared ones. The buffer is sized for
    /// both up front: grown from empty it would be copied at every doubling.
    fn with(&self, prepared: &PreparedClaims) -> Result<Vec<u8>, TokenError> {
        let mut json = Vec::with_capacity(REGISTERED_CLAIMS_SIZE + prepared.members.len());
        serde_json::to_writer(&mut json, self)?;
        if !prepared.members.is_empty() {
            json.pop(); // the closing brace
            json.push(b',');
            json.extend_from_slice(prepared.members.as_bytes());
            json.push(b'}');
        }
        Ok(json)
    }
}

/// The access token's claims, as JSON; `scope` is the granted scopes' claim (the token response
/// repeats it, so the caller builds it once).
fn access_json(
    prepared: &PreparedClaims,
    ctx: &ClaimContext<'_>,
    grant: &Grant<'_>,
    settings: &TokenSettings,
    (jti, scope): (&str, &str),
) -> Result<Vec<u8>, TokenError> {
    let mut registered = Registered::common(ctx, grant, settings, jti, (TYP_BEARER, &prepared.aud));
    registered.acr = (grant.auth_time.is_some() && prepared.acr).then_some(ACR_PASSWORD);
    registered.scope = Some(scope);
    registered.client_id = grant
        .service_account
        .then_some(ctx.client.client_id.as_str());
    registered.with(prepared)
}

/// The ID token's claims, as JSON; `at_hash` binds it to the access token issued with it.
fn id_json(
    prepared: &PreparedClaims,
    ctx: &ClaimContext<'_>,
    grant: &Grant<'_>,
    settings: &TokenSettings,
    (jti, access_token): (&str, &str),
) -> Result<Vec<u8>, TokenError> {
    let mut registered = Registered::common(ctx, grant, settings, jti, (TYP_ID, &prepared.aud));
    registered.nonce = grant.nonce;
    registered.acr = prepared.acr.then_some(ACR_PASSWORD);
    registered.at_hash = Some(at_hash(access_token));
    registered.with(prepared)
}

/// The access token's claims as a map (scope evaluation and tests): the signed JSON, parsed.
pub(crate) fn access_claims(
    ctx: &ClaimContext<'_>,
    grant: &Grant<'_>,
    settings: &TokenSettings,
    jti: &str,
) -> Result<Map<String, Value>, TokenError> {
    let prepared = PreparedClaims::access(ctx)?;
    let scope = ctx.scopes.to_claim();
    let json = access_json(&prepared, ctx, grant, settings, (jti, &scope))?;
    Ok(serde_json::from_slice(&json)?)
}

/// The ID token's claims as a map (scope evaluation and tests).
pub(crate) fn id_claims(
    ctx: &ClaimContext<'_>,
    grant: &Grant<'_>,
    settings: &TokenSettings,
    jti: &str,
    access_token: &str,
) -> Result<Map<String, Value>, TokenError> {
    let prepared = PreparedClaims::id(ctx)?;
    let json = id_json(&prepared, ctx, grant, settings, (jti, access_token))?;
    Ok(serde_json::from_slice(&json)?)
}

/// What a refresh token says; its `jti` is the id of the row that makes it revocable.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RefreshClaims<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub subject: &'a str,
    pub session_id: Option<&'a str>,
    pub scope: &'a str,
    pub jti: &'a str,
    pub offline: bool,
    pub now: i64,
    pub exp: i64,
}

/// The refresh token's claims: Keycloak's shape (`aud` = the issuer, `typ` Refresh/Offline).
pub(crate) fn refresh_claims(r: &RefreshClaims<'_>) -> Map<String, Value> {
    let mut claims = Map::new();
    claims.insert("exp".into(), json!(r.exp));
    claims.insert("iat".into(), json!(r.now));
    claims.insert("jti".into(), json!(r.jti));
    claims.insert("iss".into(), json!(r.issuer));
    claims.insert("aud".into(), json!(r.issuer));
    claims.insert("sub".into(), json!(r.subject));
    let typ = if r.offline { TYP_OFFLINE } else { TYP_REFRESH };
    claims.insert("typ".into(), json!(typ));
    claims.insert("azp".into(), json!(r.client_id));
    if let Some(sid) = r.session_id {
        claims.insert("sid".into(), json!(sid));
    }
    claims.insert("scope".into(), json!(r.scope));
    claims
}

/// When a refresh token issued now expires: offline tokens after the realm's offline idle
/// timeout; online ones after the SSO idle timeout (the client may shorten or lengthen it), and
/// never after the session's maximum lifespan.
pub(crate) fn refresh_expiry(
    realm: &Realm,
    client: &Client,
    now: i64,
    session: Option<SessionRef<'_>>,
    offline: bool,
) -> i64 {
    if offline {
        let idle = Some(realm.offline_session_idle_timeout)
            .filter(|n| *n > 0)
            .unwrap_or(realm_defaults::OFFLINE_SESSION_IDLE_TIMEOUT);
        return now.saturating_add(idle);
    }
    let idle = positive(client, ATTR_SESSION_IDLE)
        .or(Some(realm.sso_session_idle_timeout).filter(|n| *n > 0))
        .unwrap_or(realm_defaults::SSO_SESSION_IDLE_TIMEOUT);
    let exp = now.saturating_add(idle);
    match session {
        Some(session) => exp.min(realm.session_max_end(session.created_at)),
        None => exp,
    }
}

/// OIDC `at_hash`: the left half of SHA-256 of the access token, base64url.
pub(crate) fn at_hash(access_token: &str) -> String {
    let hash = digest::digest(&digest::SHA256, access_token.as_bytes());
    let bytes = hash.as_ref();
    URL_SAFE_NO_PAD.encode(&bytes[..bytes.len() / 2])
}

/// A fresh token id (a random UUID, as Keycloak's).
pub(crate) fn new_jti() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The claims of an example token for the admin API's scope evaluation: what a password login
/// with this `scope` parameter would put in an access token, ID token or userinfo answer,
/// built by the functions real tokens are built by (unsigned; no session).
pub(crate) fn example_claims(
    request: &portcullis_web::ExampleRequest<'_>,
    kind: portcullis_web::ExampleToken,
) -> Result<Map<String, Value>, String> {
    use portcullis_web::ExampleToken;
    let snapshot = request.snapshot;
    let resolved = portcullis_core::resolve::resolve_user(snapshot, request.user);
    let offline_ok = super::scopes::offline_allowed(snapshot, &resolved);
    let scopes = super::scopes::grant(snapshot, request.client, request.scope, offline_ok);
    let ctx = ClaimContext {
        snapshot,
        client: request.client,
        user: request.user,
        resolved: &resolved,
        scopes: &scopes,
    };
    let grant = Grant {
        issuer: request.issuer,
        now: request.now,
        session: None,
        auth_time: Some(request.now),
        nonce: None,
        service_account: request.user.service_account_client_id.is_some(),
    };
    let settings = TokenSettings::for_client(&snapshot.realm, request.client);
    let jti = new_jti();
    let claims = match kind {
        ExampleToken::Access => access_claims(&ctx, &grant, &settings, &jti),
        ExampleToken::Id => {
            // No access token is issued beside it to bind.
            id_claims(&ctx, &grant, &settings, &jti, "").map(|mut claims| {
                claims.remove("at_hash");
                claims
            })
        }
        ExampleToken::Userinfo => Ok(super::claims::userinfo_claims(&ctx)),
    };
    claims.map_err(|e| e.to_string())
}

/// Signs an access token with its prepared claims (see [`PreparedClaims::access`]) and the
/// granted scopes' `scope` claim.
pub(crate) fn sign_access(
    prepared: &PreparedClaims,
    ctx: &ClaimContext<'_>,
    grant: &Grant<'_>,
    settings: &TokenSettings,
    scope: &str,
) -> Result<Signed, TokenError> {
    let claims = access_json(prepared, ctx, grant, settings, (&new_jti(), scope))?;
    let key = jwt::signing_key(ctx.snapshot, settings.access_alg)?;
    Ok(Signed {
        token: jwt::sign_json(key, &claims)?,
        exp: grant.now.saturating_add(settings.access_lifespan),
    })
}

/// Signs an ID token for the access token issued with it.
pub(crate) fn sign_id(
    ctx: &ClaimContext<'_>,
    grant: &Grant<'_>,
    settings: &TokenSettings,
    access_token: &str,
) -> Result<String, TokenError> {
    let prepared = PreparedClaims::id(ctx)?;
    let claims = id_json(&prepared, ctx, grant, settings, (&new_jti(), access_token))?;
    let key = jwt::signing_key(ctx.snapshot, settings.id_alg)?;
    jwt::sign_json(key, &claims)
}

/// Tags a refresh token with the MAC key derived from the realm key of the client's
/// access-token algorithm (HS512, as Keycloak's refresh tokens are: only this server reads them).
pub(crate) fn sign_refresh(
    snapshot: &RealmSnapshot,
    settings: &TokenSettings,
    claims: &RefreshClaims<'_>,
) -> Result<String, TokenError> {
    let key = jwt::signing_key(snapshot, settings.access_alg)?;
    jwt::sign_refresh_mac(key, &refresh_claims(claims))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use portcullis_core::model::ProtocolMapper;
    use portcullis_core::resolve::resolve_user;

    use super::*;
    use crate::tokens::claims::tests::{alice, snapshot};
    use crate::tokens::scopes::grant;

    const ISS: &str = "http://id.test/auth/realms/acme";
    const NOW: i64 = 1_795_000_000;

    fn settings() -> TokenSettings {
        TokenSettings {
            access_alg: Algorithm::Rs256,
            id_alg: Algorithm::Rs256,
            access_lifespan: 300,
        }
    }

    fn hostile_mapper() -> ProtocolMapper {
        ProtocolMapper {
            id: "m".into(),
            name: "forge".into(),
            protocol: "openid-connect".into(),
            mapper_type: "oidc-hardcoded-claim-mapper".into(),
            config: [
                ("claim.name".to_owned(), "typ".to_owned()),
                ("claim.value".to_owned(), "ID".to_owned()),
                ("id.token.claim".to_owned(), "true".to_owned()),
            ]
            .into(),
        }
    }

    #[test]
    fn access_and_id_token_claims() {
        let mut snapshot = snapshot();
        snapshot.clients[0].protocol_mappers = vec![hostile_mapper()];
        let client = snapshot.client("app").unwrap();
        let user = alice();
        let resolved = resolve_user(&snapshot, &user);
        let scopes = grant(&snapshot, client, Some("openid offline_access"), true);
        let ctx = ClaimContext {
            snapshot: &snapshot,
            client,
            user: &user,
            resolved: &resolved,
            scopes: &scopes,
        };
        let session = SessionRef {
            id: "sess-1",
            created_at: NOW - 10,
        };
        let g = Grant {
            issuer: ISS,
            now: NOW,
            session: Some(session),
            auth_time: Some(NOW - 10),
            nonce: Some("n-1"),
            service_account: false,
        };
        let access = access_claims(&ctx, &g, &settings(), "jti-1").unwrap();
        let expected: &[(&str, Value)] = &[
            ("exp", json!(NOW + 300)),
            ("iat", json!(NOW)),
            ("jti", json!("jti-1")),
            ("iss", json!(ISS)),
            ("aud", json!("api")),
            ("sub", json!("u-alice")),
            ("typ", json!("Bearer")),
            ("azp", json!("app")),
            ("sid", json!("sess-1")),
            ("auth_time", json!(NOW - 10)),
            ("acr", json!("1")),
            ("scope", json!("openid profile email offline_access")),
            ("preferred_username", json!("alice")),
            ("email", json!("alice@example.test")),
            ("realm_access", json!({"roles": ["staff"]})),
        ];
        for (claim, value) in expected {
            assert_eq!(access.get(*claim), Some(value), "access {claim}");
        }
        assert!(!access.contains_key("nonce") && !access.contains_key("client_id"));

        let id = id_claims(&ctx, &g, &settings(), "jti-2", "the-access-token").unwrap();
        let expected: &[(&str, Value)] = &[
            ("aud", json!("app")),
            ("typ", json!("ID")),
            ("nonce", json!("n-1")),
            ("auth_time", json!(NOW - 10)),
            ("sid", json!("sess-1")),
            ("acr", json!("1")),
            ("at_hash", json!(at_hash("the-access-token"))),
            ("name", json!("Alice Liddell")),
            ("azp", json!("app")),
        ];
        for (claim, value) in expected {
            assert_eq!(id.get(*claim), Some(value), "id {claim}");
        }
        assert!(!id.contains_key("realm_access") && !id.contains_key("scope"));
    }

    #[test]
    fn client_credentials_claims() {
        let snapshot = snapshot();
        let client = snapshot.client("app").unwrap();
        let user = alice();
        let resolved = resolve_user(&snapshot, &user);
        let scopes = grant(&snapshot, client, None, true);
        let ctx = ClaimContext {
            snapshot: &snapshot,
            client,
            user: &user,
            resolved: &resolved,
            scopes: &scopes,
        };
        let g = Grant {
            issuer: ISS,
            now: NOW,
            session: None,
            auth_time: None,
            nonce: None,
            service_account: true,
        };
        let access = access_claims(&ctx, &g, &settings(), "j").unwrap();
        assert_eq!(access["client_id"], json!("app"));
        assert_eq!(access["scope"], json!("profile email"));
        for absent in ["sid", "auth_time", "acr", "nonce"] {
            assert!(!access.contains_key(absent), "{absent}");
        }
    }

    #[test]
    fn at_hash_is_left_half_of_sha256() {
        // SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223 b00361a3...
        let left = [
            0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae,
            0x22, 0x23,
        ];
        assert_eq!(at_hash("abc"), URL_SAFE_NO_PAD.encode(left));
        assert_eq!(at_hash("abc").len(), 22);
    }

    #[test]
    fn settings_from_attributes() {
        let realm = Realm {
            access_token_lifespan: 600,
            ..Realm::default()
        };
        // (attributes, access alg, id alg, lifespan)
        type Row = (
            &'static [(&'static str, &'static str)],
            Algorithm,
            Algorithm,
            i64,
        );
        let rows: &[Row] = &[
            (&[], Algorithm::Rs256, Algorithm::Rs256, 600),
            (
                &[(ATTR_ACCESS_LIFESPAN, "60")],
                Algorithm::Rs256,
                Algorithm::Rs256,
                60,
            ),
            (
                &[(ATTR_ACCESS_LIFESPAN, "-1")],
                Algorithm::Rs256,
                Algorithm::Rs256,
                600,
            ),
            (
                &[(ATTR_ACCESS_LIFESPAN, "x")],
                Algorithm::Rs256,
                Algorithm::Rs256,
                600,
            ),
            (
                &[(ATTR_ACCESS_ALG, "ES256")],
                Algorithm::Es256,
                Algorithm::Rs256,
                600,
            ),
            (
                &[(ATTR_ID_ALG, "ES256")],
                Algorithm::Rs256,
                Algorithm::Es256,
                600,
            ),
            (
                &[(ATTR_ACCESS_ALG, "HS256")],
                Algorithm::Rs256,
                Algorithm::Rs256,
                600,
            ),
        ];
        for (attributes, access_alg, id_alg, lifespan) in rows {
            let client = Client {
                attributes: attributes
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
                ..Client::default()
            };
            let got = TokenSettings::for_client(&realm, &client);
            assert_eq!(
                got,
                TokenSettings {
                    access_alg: *access_alg,
                    id_alg: *id_alg,
                    access_lifespan: *lifespan
                },
                "{attributes:?}"
            );
        }
        let zero = Realm {
            access_token_lifespan: 0,
            ..Realm::default()
        };
        assert_eq!(
            TokenSettings::for_client(&zero, &Client::default()).access_lifespan,
            300
        );
    }

    #[test]
    fn refresh_expiry_and_session_liveness() {
        let realm = Realm {
            sso_session_idle_timeout: 1800,
            sso_session_max_lifespan: 36000,
            offline_session_idle_timeout: 100_000,
            ..Realm::default()
        };
        let idle_client = Client {
            attributes: [(ATTR_SESSION_IDLE.to_owned(), "60".to_owned())].into(),
            ..Client::default()
        };
        let plain = Client::default();
        let fresh = SessionRef {
            id: "s",
            created_at: NOW,
        };
        let old = SessionRef {
            id: "s",
            created_at: NOW - 35_000,
        };
        // (client, session, offline, expected exp)
        let rows: &[(&Client, Option<SessionRef>, bool, i64)] = &[
            (&plain, Some(fresh), false, NOW + 1800),
            (&plain, Some(old), false, NOW + 1000),
            (&idle_client, Some(fresh), false, NOW + 60),
            (&plain, None, false, NOW + 1800),
            (&plain, Some(old), true, NOW + 100_000),
        ];
        for (client, session, offline, expected) in rows {
            assert_eq!(
                refresh_expiry(&realm, client, NOW, *session, *offline),
                *expected,
                "{session:?} {offline}"
            );
        }
    }

    #[test]
    fn refresh_token_claims() {
        let r = RefreshClaims {
            issuer: ISS,
            client_id: "app",
            subject: "u",
            session_id: Some("s"),
            scope: "openid",
            jti: "row-1",
            offline: false,
            now: NOW,
            exp: NOW + 10,
        };
        let claims = refresh_claims(&r);
        assert_eq!(
            Value::Object(claims),
            json!({"exp": NOW + 10, "iat": NOW, "jti": "row-1", "iss": ISS, "aud": ISS,
                   "sub": "u", "typ": "Refresh", "azp": "app", "sid": "s", "scope": "openid"})
        );
        let offline = refresh_claims(&RefreshClaims {
            offline: true,
            session_id: None,
            ..r
        });
        assert_eq!(offline["typ"], json!("Offline"));
        assert!(!offline.contains_key("sid"));
    }
}
