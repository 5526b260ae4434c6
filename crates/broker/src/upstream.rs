//! The upstream side of a brokered login: the authorization request to send the browser to,
//! and, back at the callback, the code exchanged for the user's identity.
//!
//! OpenID Connect goes through `openidconnect` (discovery or explicit endpoints, the code
//! flow with PKCE S256, `state` and `nonce`, the ID token checked: signature with the
//! provider's keys, issuer, audience, expiry, nonce; then user info, which must be about the
//! same subject). OAuth 2.0 goes through `oauth2` (code flow with PKCE, then the user-info
//! URL, read with the configured claim names); GitHub is OAuth 2.0 plus its e-mail,
//! organisation and team APIs. Every request goes through [`Http`].

use std::collections::BTreeSet;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use oauth2::basic::BasicClient;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreJwsSigningAlgorithm, CoreProviderMetadata,
    CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    EmptyAdditionalProviderMetadata, IssuerUrl, JsonWebKeySet, JsonWebKeySetUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError,
    ResponseTypes, Scope, TokenUrl, UserInfoUrl,
};
use portcullis_core::broker::UpstreamIdentity;
use portcullis_core::broker::claims;
use portcullis_core::broker::settings::{
    ClaimNames, ClientAuth, ClientSettings, GithubSettings, OAuth2Settings, OidcEndpoints,
    OidcSettings, UpstreamSettings,
};
use portcullis_core::model::IdentityProvider;
use portcullis_core::secrets::random_token;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::BrokerError;
use crate::http::{Http, HttpError, host_of};

/// ID token signatures accepted: every asymmetric algorithm, never a MAC keyed with the
/// client secret and never `none`.
const SIGNING_ALGS: [CoreJwsSigningAlgorithm; 10] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::RsaSsaPssSha384,
    CoreJwsSigningAlgorithm::RsaSsaPssSha512,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EcdsaP384Sha384,
    CoreJwsSigningAlgorithm::EcdsaP521Sha512,
    CoreJwsSigningAlgorithm::EdDsa,
];

/// GitHub's JSON media type.
const GITHUB_JSON: &str = "application/vnd.github+json";
/// Pages of organisations or teams read at most (100 each).
const GITHUB_MAX_PAGES: usize = 10;

/// What the broker must keep between sending the browser upstream and its return, sealed and
/// bound to the browser (it holds the PKCE verifier).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingUpstream {
    /// The provider's alias: a code comes back to its own provider's callback only.
    pub alias: String,
    pub state: String,
    /// OpenID Connect only.
    pub nonce: Option<String>,
    pub pkce_verifier: Option<String>,
    pub redirect_uri: String,
}

impl std::fmt::Debug for PendingUpstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingUpstream")
            .field("alias", &self.alias)
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}

impl PendingUpstream {
    /// Whether the callback's `state` is this login's (compared in constant time).
    pub fn state_matches(&self, state: &str) -> bool {
        aws_lc_rs::constant_time::verify_slices_are_equal(self.state.as_bytes(), state.as_bytes())
            .is_ok()
    }
}

/// A started login: where to send the browser, and what to keep.
#[derive(Debug, Clone)]
pub struct Started {
    pub url: String,
    pub pending: PendingUpstream,
}

/// One provider's upstream, ready to start or finish a login.
#[derive(Debug)]
pub struct Upstream<'a> {
    http: &'a Http,
    alias: &'a str,
    settings: UpstreamSettings,
}

impl<'a> Upstream<'a> {
    /// The provider's upstream; a config that cannot be used is [`BrokerError::Config`].
    pub fn new(
        http: &'a Http,
        provider: &'a IdentityProvider,
    ) -> Result<Upstream<'a>, BrokerError> {
        let settings = UpstreamSettings::of(&provider.provider_id, &provider.config)
            .map_err(|problems| BrokerError::Config(problems.join("; ")))?;
        Ok(Upstream {
            http,
            alias: &provider.alias,
            settings,
        })
    }

    /// The authorization request for a new login returning to `redirect_uri` (the broker's
    /// `/broker/{alias}/endpoint`): fresh `state`, `nonce` and PKCE verifier, 256 bits each.
    pub async fn start(
        &self,
        redirect_uri: &str,
        login_hint: Option<&str>,
    ) -> Result<Started, BrokerError> {
        let state = random_token::<32>();
        let client_settings = self.settings.client();
        let verifier = client_settings
            .pkce
            .then(|| PkceCodeVerifier::new(random_token::<32>()));
        let redirect = RedirectUrl::new(redirect_uri.to_string())
            .map_err(|_| BrokerError::Config("the broker's callback is not a URL".into()))?;
        let (url, nonce) = match &self.settings {
            UpstreamSettings::Oidc(settings) => {
                let metadata = self.metadata(settings).await?;
                let client = oidc_client(metadata, &settings.client).set_redirect_uri(redirect);
                let nonce = random_token::<32>();
                let state_value = state.clone();
                let nonce_value = nonce.clone();
                let mut request = client.authorize_url(
                    CoreAuthenticationFlow::AuthorizationCode,
                    move || CsrfToken::new(state_value),
                    move || Nonce::new(nonce_value),
                );
                for scope in settings.client.scopes.iter().filter(|s| *s != "openid") {
                    request = request.add_scope(Scope::new(scope.clone()));
                }
                if let Some(verifier) = &verifier {
                    request = request
                        .set_pkce_challenge(PkceCodeChallenge::from_code_verifier_sha256(verifier));
                }
                if let Some(hint) = login_hint.filter(|h| !h.is_empty()) {
                    request = request.add_extra_param("login_hint", hint.to_string());
                }
                let (url, _, _) = request.url();
                (url.to_string(), Some(nonce))
            }
            UpstreamSettings::OAuth2(settings) => {
                let client = oauth2_client(settings)?.set_redirect_uri(redirect);
                let state_value = state.clone();
                let mut request = client.authorize_url(move || CsrfToken::new(state_value));
                for scope in &settings.client.scopes {
                    request = request.add_scope(Scope::new(scope.clone()));
                }
                if let Some(verifier) = &verifier {
                    request = request
                        .set_pkce_challenge(PkceCodeChallenge::from_code_verifier_sha256(verifier));
                }
                if let Some(hint) = login_hint.filter(|h| !h.is_empty()) {
                    let name = if settings.github.is_some() {
                        "login"
                    } else {
                        "login_hint"
                    };
                    request = request.add_extra_param(name, hint.to_string());
                }
                let (url, _) = request.url();
                (url.to_string(), None)
            }
        };
        Ok(Started {
            url,
            pending: PendingUpstream {
                alias: self.alias.to_string(),
                state,
                nonce,
                pkce_verifier: verifier.map(|v| v.secret().clone()),
                redirect_uri: redirect_uri.to_string(),
            },
        })
    }

    /// Exchanges the callback's `code` and reads who signed in. `now` (unix seconds) judges
    /// the ID token's expiry. The caller has checked the callback's `state` against
    /// `pending` ([`PendingUpstream::state_matches`]) and that `pending` is this provider's.
    pub async fn finish(
        &self,
        code: &str,
        pending: &PendingUpstream,
        now: i64,
    ) -> Result<UpstreamIdentity, BrokerError> {
        if pending.alias != self.alias {
            return Err(BrokerError::Refused(
                "the sign-in was started for another identity provider".into(),
            ));
        }
        let redirect = RedirectUrl::new(pending.redirect_uri.clone())
            .map_err(|_| BrokerError::Config("the broker's callback is not a URL".into()))?;
        match &self.settings {
            UpstreamSettings::Oidc(settings) => {
                self.finish_oidc(settings, code, pending, redirect, now)
                    .await
            }
            UpstreamSettings::OAuth2(settings) => {
                self.finish_oauth2(settings, code, pending, redirect).await
            }
        }
    }

    /// The provider's metadata: discovered, or made from the explicit endpoints.
    async fn metadata(&self, settings: &OidcSettings) -> Result<CoreProviderMetadata, BrokerError> {
        match &settings.endpoints {
            OidcEndpoints::Discovery { metadata_url } => {
                let document = self
                    .http
                    .get_json(metadata_url, None, "application/json")
                    .await
                    .map_err(http_error)?;
                let metadata: CoreProviderMetadata =
                    serde_json::from_value(document).map_err(|e| {
                        BrokerError::Upstream(format!(
                            "the discovery document of {} does not parse ({e})",
                            host_of(metadata_url)
                        ))
                    })?;
                if let Some(issuer) = &settings.issuer
                    && issuer.trim_end_matches('/')
                        != metadata.issuer().as_str().trim_end_matches('/')
                {
                    return Err(BrokerError::Config(format!(
                        "discovery names the issuer {}, not the configured {issuer}",
                        metadata.issuer().as_str()
                    )));
                }
                Ok(metadata)
            }
            OidcEndpoints::Explicit {
                authorization_url,
                token_url,
                jwks_url,
                userinfo_url,
            } => {
                let config = |what: &str| BrokerError::Config(format!("{what} is not a URL"));
                let issuer = settings
                    .issuer
                    .clone()
                    .ok_or_else(|| BrokerError::Config("issuer is required".into()))?;
                let mut metadata = CoreProviderMetadata::new(
                    IssuerUrl::new(issuer).map_err(|_| config("issuer"))?,
                    AuthUrl::new(authorization_url.clone())
                        .map_err(|_| config("authorizationUrl"))?,
                    JsonWebKeySetUrl::new(jwks_url.clone()).map_err(|_| config("jwksUrl"))?,
                    vec![ResponseTypes::new(vec![CoreResponseType::Code])],
                    vec![CoreSubjectIdentifierType::Public],
                    SIGNING_ALGS.to_vec(),
                    EmptyAdditionalProviderMetadata {},
                )
                .set_token_endpoint(Some(
                    TokenUrl::new(token_url.clone()).map_err(|_| config("tokenUrl"))?,
                ));
                if let Some(url) = userinfo_url {
                    metadata = metadata.set_userinfo_endpoint(Some(
                        UserInfoUrl::new(url.clone()).map_err(|_| config("userInfoUrl"))?,
                    ));
                }
                Ok(metadata)
            }
        }
    }

    async fn finish_oidc(
        &self,
        settings: &OidcSettings,
        code: &str,
        pending: &PendingUpstream,
        redirect: RedirectUrl,
        now: i64,
    ) -> Result<UpstreamIdentity, BrokerError> {
        let metadata = self.metadata(settings).await?;
        let jwks = JsonWebKeySet::fetch_async(metadata.jwks_uri(), self.http)
            .await
            .map_err(|e| {
                BrokerError::Upstream(format!(
                    "the signing keys of {} could not be read ({e})",
                    host_of(metadata.jwks_uri().as_str())
                ))
            })?;
        let userinfo_url = metadata.userinfo_endpoint().map(|u| u.to_string());
        let metadata = metadata.set_jwks(jwks);
        let client = oidc_client(metadata, &settings.client).set_redirect_uri(redirect);
        let mut request = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|_| BrokerError::Config("the provider has no token endpoint".into()))?;
        if let Some(verifier) = &pending.pkce_verifier {
            request = request.set_pkce_verifier(PkceCodeVerifier::new(verifier.clone()));
        }
        let tokens = request
            .request_async(self.http)
            .await
            .map_err(token_error)?;
        let id_token = openidconnect::TokenResponse::id_token(&tokens)
            .ok_or_else(|| BrokerError::InvalidToken("the token answer has no ID token".into()))?;
        let expected_nonce = pending
            .nonce
            .clone()
            .ok_or_else(|| BrokerError::InvalidToken("the sign-in has no nonce".into()))?;
        let at = chrono::DateTime::<chrono::Utc>::from_timestamp(now, 0)
            .ok_or_else(|| BrokerError::InvalidToken("the clock is out of range".into()))?;
        let verifier = client
            .id_token_verifier()
            .set_allowed_algs(SIGNING_ALGS)
            .set_time_fn(move || at);
        let verified = id_token
            .claims(&verifier, &Nonce::new(expected_nonce))
            .map_err(|e| BrokerError::InvalidToken(e.to_string()))?;
        let subject = verified.subject().as_str().to_string();
        // The token verified: its payload is the provider's word, every claim of it.
        let mut claims = jwt_payload(&id_token.to_string())?;
        if settings.userinfo
            && let Some(url) = userinfo_url
        {
            let info = self
                .http
                .get_json(
                    &url,
                    Some(tokens.access_token().secret()),
                    "application/json",
                )
                .await
                .map_err(http_error)?;
            let Value::Object(info) = info else {
                return Err(BrokerError::Upstream(
                    "the user info is not a JSON object".into(),
                ));
            };
            if info.get("sub").and_then(Value::as_str) != Some(subject.as_str()) {
                return Err(BrokerError::Upstream(
                    "the user info is about another subject than the ID token".into(),
                ));
            }
            for (key, value) in info {
                if !matches!(
                    key.as_str(),
                    "iss" | "aud" | "sub" | "nonce" | "exp" | "iat"
                ) {
                    claims.insert(key, value);
                }
            }
        }
        identity(
            Value::Object(claims),
            &ClaimNames {
                id: "sub".into(),
                username: "preferred_username".into(),
                email: "email".into(),
                email_verified: Some("email_verified".into()),
                name: "name".into(),
                given_name: "given_name".into(),
                family_name: "family_name".into(),
            },
        )
    }

    async fn finish_oauth2(
        &self,
        settings: &OAuth2Settings,
        code: &str,
        pending: &PendingUpstream,
        redirect: RedirectUrl,
    ) -> Result<UpstreamIdentity, BrokerError> {
        let client = oauth2_client(settings)?.set_redirect_uri(redirect);
        let mut request = client.exchange_code(AuthorizationCode::new(code.to_string()));
        if let Some(verifier) = &pending.pkce_verifier {
            request = request.set_pkce_verifier(PkceCodeVerifier::new(verifier.clone()));
        }
        let tokens = request
            .request_async(self.http)
            .await
            .map_err(token_error)?;
        let token = tokens.access_token().secret();
        let accept = match settings.github {
            Some(_) => GITHUB_JSON,
            None => "application/json",
        };
        let info = self
            .http
            .get_json(&settings.userinfo_url, Some(token), accept)
            .await
            .map_err(http_error)?;
        let Value::Object(mut claims) = info else {
            return Err(BrokerError::Upstream(
                "the user info is not a JSON object".into(),
            ));
        };
        if let Some(github) = &settings.github {
            self.github_extras(github, token, &mut claims).await?;
        }
        identity(Value::Object(claims), &settings.claims)
    }

    /// GitHub: the verified e-mail from `/user/emails` (the profile's may be unverified or
    /// hidden), and organisations and teams as `groups` when asked for.
    async fn github_extras(
        &self,
        github: &GithubSettings,
        token: &str,
        claims: &mut Map<String, Value>,
    ) -> Result<(), BrokerError> {
        let api = &github.api_url;
        let emails = self
            .http
            .get_json(&format!("{api}/user/emails"), Some(token), GITHUB_JSON)
            .await
            .map_err(http_error)?;
        let emails = emails.as_array().cloned().unwrap_or_default();
        let verified = |primary: bool| {
            emails.iter().find(|e| {
                e["verified"].as_bool() == Some(true)
                    && (!primary || e["primary"].as_bool() == Some(true))
            })
        };
        match verified(true).or_else(|| verified(false)) {
            Some(e) => {
                claims.insert("email".into(), e["email"].clone());
                claims.insert("email_verified".into(), Value::Bool(true));
            }
            None => {
                claims.insert("email_verified".into(), Value::Bool(false));
            }
        }
        if !github.reads_orgs() {
            return Ok(());
        }
        let orgs: BTreeSet<String> = self
            .github_pages(&format!("{api}/user/orgs"), token)
            .await?
            .iter()
            .filter_map(|o| o["login"].as_str().map(str::to_string))
            .collect();
        if !github.organizations.is_empty() && !orgs.iter().any(|o| github.allows_org(o)) {
            return Err(BrokerError::NotAllowed(format!(
                "Only members of {} may sign in with GitHub here.",
                github.organizations.join(", ")
            )));
        }
        let mut groups = Vec::new();
        if github.orgs_as_groups {
            groups.extend(orgs.iter().filter(|o| github.allows_org(o)).cloned());
        }
        if github.teams_as_groups {
            for team in self
                .github_pages(&format!("{api}/user/teams"), token)
                .await?
            {
                let (Some(org), Some(slug)) = (
                    team["organization"]["login"].as_str(),
                    team["slug"].as_str(),
                ) else {
                    continue;
                };
                if github.allows_org(org) {
                    groups.push(format!("{org}/{slug}"));
                }
            }
        }
        claims.insert(
            "groups".into(),
            Value::Array(groups.into_iter().map(Value::String).collect()),
        );
        Ok(())
    }

    /// Every item of a paged GitHub list, 100 a page, at most [`GITHUB_MAX_PAGES`] pages.
    async fn github_pages(&self, url: &str, token: &str) -> Result<Vec<Value>, BrokerError> {
        let mut out = Vec::new();
        for page in 1..=GITHUB_MAX_PAGES {
            let items = self
                .http
                .get_json(
                    &format!("{url}?per_page=100&page={page}"),
                    Some(token),
                    GITHUB_JSON,
                )
                .await
                .map_err(http_error)?;
            let items = items.as_array().cloned().unwrap_or_default();
            let full = items.len() == 100;
            out.extend(items);
            if !full {
                break;
            }
        }
        Ok(out)
    }
}

fn oidc_client(
    metadata: CoreProviderMetadata,
    settings: &ClientSettings,
) -> CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
> {
    CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(settings.client_id.clone()),
        settings.client_secret.clone().map(ClientSecret::new),
    )
    .set_auth_type(auth_type(settings.auth))
}

fn oauth2_client(
    settings: &OAuth2Settings,
) -> Result<
    BasicClient<
        oauth2::EndpointSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointSet,
    >,
    BrokerError,
> {
    let config = |what: &str| BrokerError::Config(format!("{what} is not a URL"));
    let mut client = BasicClient::new(ClientId::new(settings.client.client_id.clone()))
        .set_auth_uri(
            AuthUrl::new(settings.authorization_url.clone())
                .map_err(|_| config("authorizationUrl"))?,
        )
        .set_token_uri(TokenUrl::new(settings.token_url.clone()).map_err(|_| config("tokenUrl"))?)
        .set_auth_type(auth_type(settings.client.auth));
    if let Some(secret) = &settings.client.client_secret {
        client = client.set_client_secret(ClientSecret::new(secret.clone()));
    }
    Ok(client)
}

fn auth_type(auth: ClientAuth) -> AuthType {
    match auth {
        ClientAuth::Basic => AuthType::BasicAuth,
        ClientAuth::Post => AuthType::RequestBody,
    }
}

fn http_error(e: HttpError) -> BrokerError {
    match e {
        HttpError::Unreachable(why) => BrokerError::Unreachable(why),
        HttpError::Invalid(why) => BrokerError::Upstream(why),
    }
}

fn token_error<RE: oauth2::ErrorResponse + 'static>(
    e: RequestTokenError<HttpError, RE>,
) -> BrokerError {
    match e {
        RequestTokenError::ServerResponse(response) => {
            // The standard error code and description only (no URI, which could point
            // anywhere).
            let text = serde_json::to_value(&response)
                .ok()
                .map(|v| {
                    let code = v["error"].as_str().unwrap_or("error").to_string();
                    match v["error_description"].as_str() {
                        Some(d) => format!("{code}: {d}"),
                        None => code,
                    }
                })
                .unwrap_or_else(|| "error".into());
            BrokerError::Refused(text)
        }
        RequestTokenError::Request(e) => http_error(e),
        RequestTokenError::Parse(_, _) => {
            BrokerError::Upstream("the token answer does not parse".into())
        }
        RequestTokenError::Other(why) => BrokerError::Upstream(why),
    }
}

/// The claims of a compact JWT (its signature checked by the caller).
fn jwt_payload(jwt: &str) -> Result<Map<String, Value>, BrokerError> {
    let bad = || BrokerError::InvalidToken("the ID token's claims do not parse".into());
    let payload = jwt.split('.').nth(1).ok_or_else(bad)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).map_err(|_| bad())?;
    match serde_json::from_slice(&bytes).map_err(|_| bad())? {
        Value::Object(map) => Ok(map),
        _ => Err(bad()),
    }
}

/// The longest subject, username or name taken from an upstream.
const MAX_CLAIM_LEN: usize = 255;

/// Who signed in, read from the claims with the given names.
pub fn identity(claims: Value, names: &ClaimNames) -> Result<UpstreamIdentity, BrokerError> {
    let text = |path: &str| {
        claims::first(&claims, path)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty() && v.chars().count() <= MAX_CLAIM_LEN)
            .filter(|v| !v.chars().any(char::is_control))
    };
    let subject = text(&names.id).ok_or_else(|| {
        BrokerError::Upstream(format!("the user info has no usable '{}' claim", names.id))
    })?;
    let (first_name, last_name) = match (text(&names.given_name), text(&names.family_name)) {
        (None, None) => match text(&names.name) {
            Some(full) => match full.rsplit_once(' ') {
                Some((first, last)) => (Some(first.trim().to_string()), Some(last.to_string())),
                None => (Some(full), None),
            },
            None => (None, None),
        },
        names => names,
    };
    let email = text(&names.email).filter(|e| e.contains('@'));
    let email_verified = email.is_some()
        && names
            .email_verified
            .as_deref()
            .is_some_and(|path| claims::flag(&claims, path));
    Ok(UpstreamIdentity {
        username: text(&names.username),
        email,
        email_verified,
        first_name,
        last_name,
        groups: claims::values(&claims, "groups"),
        subject,
        claims,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names() -> ClaimNames {
        ClaimNames {
            id: "id".into(),
            username: "login".into(),
            email: "email".into(),
            email_verified: Some("email_verified".into()),
            name: "name".into(),
            given_name: "given_name".into(),
            family_name: "family_name".into(),
        }
    }

    #[test]
    fn reads_an_identity_from_claims() {
        let id = identity(
            json!({"id": 42, "login": "octo", "name": "Mona Lisa Octocat",
                   "email": "mona@example.test", "email_verified": true,
                   "groups": ["acme/platform", "acme"]}),
            &names(),
        )
        .unwrap();
        assert_eq!(id.subject, "42");
        assert_eq!(id.username.as_deref(), Some("octo"));
        assert_eq!(id.first_name.as_deref(), Some("Mona Lisa"));
        assert_eq!(id.last_name.as_deref(), Some("Octocat"));
        assert!(id.email_verified);
        assert_eq!(id.groups, ["acme/platform", "acme"]);

        let unverified = identity(
            json!({"id": "u", "email": "x@y.test", "email_verified": "false",
                   "given_name": "A", "login": " "}),
            &names(),
        )
        .unwrap();
        assert!(!unverified.email_verified);
        assert_eq!(unverified.username, None, "blank is absent");
        assert_eq!(unverified.first_name.as_deref(), Some("A"));
        assert_eq!(unverified.last_name, None);

        let not_email = identity(
            json!({"id": "u", "email": "nope", "email_verified": true}),
            &names(),
        )
        .unwrap();
        assert_eq!(not_email.email, None);
        assert!(!not_email.email_verified);

        for bad in [
            json!({}),
            json!({"id": ""}),
            json!({"id": "a\u{0}b"}),
            json!({"id": {"x": 1}}),
        ] {
            assert!(
                matches!(
                    identity(bad.clone(), &names()),
                    Err(BrokerError::Upstream(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn reads_jwt_payloads() {
        let payload = URL_SAFE_NO_PAD.encode(br#"{"sub":"s","groups":["a"]}"#);
        let claims = jwt_payload(&format!("h.{payload}.sig")).unwrap();
        assert_eq!(claims["sub"], "s");
        assert!(jwt_payload("nope").is_err());
        assert!(jwt_payload("a.!!!.c").is_err());
        let array = URL_SAFE_NO_PAD.encode(b"[1]");
        assert!(jwt_payload(&format!("h.{array}.s")).is_err());
    }

    #[test]
    fn states_compare_exactly() {
        let pending = PendingUpstream {
            alias: "a".into(),
            state: "abc".into(),
            nonce: None,
            pkce_verifier: Some("v".into()),
            redirect_uri: "https://x/cb".into(),
        };
        assert!(pending.state_matches("abc"));
        assert!(!pending.state_matches("abd"));
        assert!(!pending.state_matches("ab"));
        assert!(!pending.state_matches(""));
        assert!(
            !format!("{pending:?}").contains("\"v\""),
            "no verifier in logs"
        );
    }
}
