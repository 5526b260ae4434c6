//! An identity provider's Keycloak `config` read into what the upstream client needs, and
//! every problem with it named at once (the admin API answers 400 with them; an import fails
//! with them).
//!
//! Keys are Keycloak's (`clientId`, `clientSecret`, `authorizationUrl`, `tokenUrl`,
//! `userInfoUrl`, `issuer`, `jwksUrl`, `metadataDescriptorUrl` with
//! `useMetadataDescriptorUrl`, `clientAuthMethod`, `defaultScope`, `pkceEnabled`,
//! `disableUserInfo`; for OAuth 2.0 `userIDClaim`, `userNameClaim`, `emailClaim`,
//! `fullNameClaim`, `givenNameClaim`, `familyNameClaim`; for GitHub `baseUrl` and `apiUrl`),
//! plus Portcullis's own: `emailVerifiedClaim` (OAuth 2.0), `githubOrganizations`,
//! `githubOrgsAsGroups` and `githubTeamsAsGroups`.

use std::collections::BTreeMap;

/// Provider types (`providerId`).
pub const OIDC: &str = "oidc";
/// Keycloak's OIDC provider for another Keycloak: the same protocol here.
pub const KEYCLOAK_OIDC: &str = "keycloak-oidc";
pub const OAUTH2: &str = "oauth2";
pub const GITHUB: &str = "github";
pub const PROVIDER_TYPES: [&str; 4] = [OIDC, KEYCLOAK_OIDC, OAUTH2, GITHUB];

/// A provider type's name, as Keycloak shows it; None for a type not brokered here.
pub fn provider_type_name(provider_id: &str) -> Option<&'static str> {
    match provider_id {
        OIDC => Some("OpenID Connect v1.0"),
        KEYCLOAK_OIDC => Some("Keycloak OpenID Connect"),
        OAUTH2 => Some("OAuth v2"),
        GITHUB => Some("GitHub"),
        _ => None,
    }
}

/// What the admin API shows instead of a client secret (Keycloak's `SECRET_VALUE`); a write
/// carrying it keeps the stored secret.
pub const SECRET_MASK: &str = "**********";
/// The config key of the client secret.
pub const CLIENT_SECRET: &str = "clientSecret";

const GITHUB_BASE_URL: &str = "https://github.com";
const GITHUB_API_URL: &str = "https://api.github.com";

/// How the client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// `client_secret_basic`: HTTP Basic.
    Basic,
    /// `client_secret_post`: in the form (Keycloak's default).
    Post,
}

/// The client registration at the upstream.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientSettings {
    pub client_id: String,
    /// None for a public client (PKCE only).
    pub client_secret: Option<String>,
    pub auth: ClientAuth,
    pub scopes: Vec<String>,
    /// PKCE with S256 (on unless `pkceEnabled` is `false`).
    pub pkce: bool,
}

impl std::fmt::Debug for ClientSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientSettings")
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| SECRET_MASK),
            )
            .field("auth", &self.auth)
            .field("scopes", &self.scopes)
            .field("pkce", &self.pkce)
            .finish()
    }
}

/// Where an OpenID Connect provider's endpoints come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OidcEndpoints {
    /// OpenID Connect discovery at this URL.
    Discovery { metadata_url: String },
    Explicit {
        authorization_url: String,
        token_url: String,
        jwks_url: String,
        userinfo_url: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcSettings {
    pub client: ClientSettings,
    /// The `iss` ID tokens must carry; discovery's issuer when discovering.
    pub issuer: Option<String>,
    pub endpoints: OidcEndpoints,
    /// Whether to call the user-info endpoint after the token exchange.
    pub userinfo: bool,
}

/// Which claims of an OAuth 2.0 user-info document say what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimNames {
    pub id: String,
    pub username: String,
    pub email: String,
    /// None: the provider never says an e-mail is verified.
    pub email_verified: Option<String>,
    pub name: String,
    pub given_name: String,
    pub family_name: String,
}

/// GitHub's extras: verified e-mails, organisations and teams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GithubSettings {
    pub api_url: String,
    /// When not empty, only members of one of these organisations may sign in, and only
    /// these organisations (and their teams) become groups.
    pub organizations: Vec<String>,
    /// Organisations as groups (`acme`).
    pub orgs_as_groups: bool,
    /// Teams as groups (`acme/platform`).
    pub teams_as_groups: bool,
}

impl GithubSettings {
    /// Whether the organisation and team APIs are needed (and so the `read:org` scope).
    pub fn reads_orgs(&self) -> bool {
        !self.organizations.is_empty() || self.orgs_as_groups || self.teams_as_groups
    }

    /// Whether an organisation may count, by the allow-list (case-insensitive, as GitHub).
    pub fn allows_org(&self, org: &str) -> bool {
        self.organizations.is_empty()
            || self
                .organizations
                .iter()
                .any(|o| o.eq_ignore_ascii_case(org))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuth2Settings {
    pub client: ClientSettings,
    pub authorization_url: String,
    pub token_url: String,
    pub userinfo_url: String,
    pub claims: ClaimNames,
    /// Set for the GitHub preset.
    pub github: Option<GithubSettings>,
}

/// What the upstream client needs for one provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpstreamSettings {
    Oidc(OidcSettings),
    OAuth2(OAuth2Settings),
}

impl UpstreamSettings {
    /// Reads a provider's config; every problem found, in the order of the keys checked.
    pub fn of(
        provider_id: &str,
        config: &BTreeMap<String, String>,
    ) -> Result<UpstreamSettings, Vec<String>> {
        let mut reader = Reader {
            config,
            problems: Vec::new(),
        };
        let settings = match provider_id {
            OIDC | KEYCLOAK_OIDC => reader.oidc().map(UpstreamSettings::Oidc),
            OAUTH2 => reader.oauth2().map(UpstreamSettings::OAuth2),
            GITHUB => reader.github().map(UpstreamSettings::OAuth2),
            other => {
                reader.problems.push(format!(
                    "providerId '{other}' is not supported (use one of {})",
                    PROVIDER_TYPES.join(", ")
                ));
                None
            }
        };
        match settings {
            Some(settings) if reader.problems.is_empty() => Ok(settings),
            _ => Err(reader.problems),
        }
    }

    pub fn client(&self) -> &ClientSettings {
        match self {
            UpstreamSettings::Oidc(s) => &s.client,
            UpstreamSettings::OAuth2(s) => &s.client,
        }
    }
}

struct Reader<'a> {
    config: &'a BTreeMap<String, String>,
    problems: Vec<String>,
}

impl Reader<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.config
            .get(key)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    fn flag(&self, key: &str, default: bool) -> bool {
        match self.get(key) {
            Some(v) => v.eq_ignore_ascii_case("true"),
            None => default,
        }
    }

    fn required(&mut self, key: &str) -> Option<String> {
        let value = self.get(key).map(str::to_string);
        if value.is_none() {
            self.problems.push(format!("{key} is required"));
        }
        value
    }

    /// An absolute http(s) URL, if given; a malformed one is a problem.
    fn url(&mut self, key: &str) -> Option<String> {
        let value = self.get(key)?.to_string();
        if let Err(why) = check_url(&value) {
            self.problems.push(format!("{key} {why}"));
            return None;
        }
        Some(value)
    }

    fn required_url(&mut self, key: &str) -> Option<String> {
        if self.get(key).is_none() {
            self.problems.push(format!("{key} is required"));
            return None;
        }
        self.url(key)
    }

    fn client(&mut self, default_scopes: &[&str]) -> Option<ClientSettings> {
        let client_id = self.required("clientId");
        let client_secret = self
            .get(CLIENT_SECRET)
            .filter(|s| *s != SECRET_MASK)
            .map(str::to_string);
        let auth = match self.get("clientAuthMethod") {
            None | Some("client_secret_post") => ClientAuth::Post,
            Some("client_secret_basic") => ClientAuth::Basic,
            Some(other) => {
                self.problems.push(format!(
                    "clientAuthMethod '{other}' is not supported (use client_secret_basic or \
                     client_secret_post)"
                ));
                ClientAuth::Post
            }
        };
        let mut scopes: Vec<String> = match self.get("defaultScope") {
            Some(listed) => listed.split_whitespace().map(str::to_string).collect(),
            None => default_scopes.iter().map(|s| s.to_string()).collect(),
        };
        scopes.dedup();
        Some(ClientSettings {
            client_id: client_id?,
            client_secret,
            auth,
            scopes,
            pkce: self.flag("pkceEnabled", true),
        })
    }

    fn oidc(&mut self) -> Option<OidcSettings> {
        let mut client = self.client(&["openid", "profile", "email"]);
        if let Some(client) = &mut client
            && !client.scopes.iter().any(|s| s == "openid")
        {
            client.scopes.insert(0, "openid".to_string());
        }
        let issuer = self.url("issuer");
        let discovery = self.flag("useMetadataDescriptorUrl", false)
            || (self.get("authorizationUrl").is_none() && self.get("tokenUrl").is_none());
        let endpoints = if discovery {
            let metadata_url = match self.url("metadataDescriptorUrl") {
                Some(url) => Some(url),
                None => issuer.as_ref().map(|issuer| {
                    format!(
                        "{}/.well-known/openid-configuration",
                        issuer.trim_end_matches('/')
                    )
                }),
            };
            if metadata_url.is_none() && self.get("metadataDescriptorUrl").is_none() {
                self.problems.push(
                    "authorizationUrl and tokenUrl, or an issuer or metadataDescriptorUrl to \
                     discover them, are required"
                        .into(),
                );
            }
            metadata_url.map(|metadata_url| OidcEndpoints::Discovery { metadata_url })
        } else {
            let authorization_url = self.required_url("authorizationUrl");
            let token_url = self.required_url("tokenUrl");
            let jwks_url = if self.get("jwksUrl").is_none() {
                self.problems
                    .push("jwksUrl is required to check the signatures of ID tokens".into());
                None
            } else {
                self.url("jwksUrl")
            };
            let userinfo_url = self.url("userInfoUrl");
            match (authorization_url, token_url, jwks_url) {
                (Some(authorization_url), Some(token_url), Some(jwks_url)) => {
                    Some(OidcEndpoints::Explicit {
                        authorization_url,
                        token_url,
                        jwks_url,
                        userinfo_url,
                    })
                }
                _ => None,
            }
        };
        Some(OidcSettings {
            client: client?,
            issuer,
            endpoints: endpoints?,
            userinfo: !self.flag("disableUserInfo", false),
        })
    }

    fn claim_names(&self) -> ClaimNames {
        let name = |key: &str, default: &str| self.get(key).unwrap_or(default).to_string();
        ClaimNames {
            id: name("userIDClaim", "sub"),
            username: name("userNameClaim", "preferred_username"),
            email: name("emailClaim", "email"),
            email_verified: Some(name("emailVerifiedClaim", "email_verified")),
            name: name("fullNameClaim", "name"),
            given_name: name("givenNameClaim", "given_name"),
            family_name: name("familyNameClaim", "family_name"),
        }
    }

    fn oauth2(&mut self) -> Option<OAuth2Settings> {
        let client = self.client(&[]);
        let authorization_url = self.required_url("authorizationUrl");
        let token_url = self.required_url("tokenUrl");
        let userinfo_url = self.required_url("userInfoUrl");
        Some(OAuth2Settings {
            client: client?,
            authorization_url: authorization_url?,
            token_url: token_url?,
            userinfo_url: userinfo_url?,
            claims: self.claim_names(),
            github: None,
        })
    }

    fn github(&mut self) -> Option<OAuth2Settings> {
        let base = self
            .url("baseUrl")
            .unwrap_or_else(|| GITHUB_BASE_URL.to_string());
        let base = base.trim_end_matches('/').to_string();
        let api = self
            .url("apiUrl")
            .unwrap_or_else(|| GITHUB_API_URL.to_string());
        let api = api.trim_end_matches('/').to_string();
        let organizations: Vec<String> = self
            .get("githubOrganizations")
            .map(|list| {
                list.split(|c: char| c == ',' || c.is_whitespace())
                    .filter(|o| !o.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        let github = GithubSettings {
            api_url: api.clone(),
            organizations,
            orgs_as_groups: self.flag("githubOrgsAsGroups", false),
            teams_as_groups: self.flag("githubTeamsAsGroups", false),
        };
        let mut defaults = vec!["user:email"];
        if github.reads_orgs() {
            defaults.push("read:org");
        }
        let client = self.client(&defaults);
        Some(OAuth2Settings {
            client: client?,
            authorization_url: format!("{base}/login/oauth/authorize"),
            token_url: format!("{base}/login/oauth/access_token"),
            userinfo_url: format!("{api}/user"),
            claims: ClaimNames {
                id: "id".into(),
                username: "login".into(),
                email: "email".into(),
                // Set from /user/emails by the client, never from the profile.
                email_verified: Some("email_verified".into()),
                name: "name".into(),
                given_name: "given_name".into(),
                family_name: "family_name".into(),
            },
            github: Some(github),
        })
    }
}

/// Why a URL is not an absolute http(s) URL with a host, or Ok.
pub fn check_url(url: &str) -> Result<(), &'static str> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or("must be an absolute http or https URL")?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = host.rsplit('@').next().unwrap_or_default();
    if host.is_empty() || host.starts_with(':') {
        return Err("must name a host");
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("must not contain spaces");
    }
    if url.contains('#') {
        return Err("must not have a fragment");
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn checks_urls() {
        for good in [
            "https://id.example.com/auth",
            "http://127.0.0.1:8080/x?y=1",
            "https://user@host/",
        ] {
            assert_eq!(check_url(good), Ok(()), "{good}");
        }
        for bad in [
            "ftp://x",
            "id.example.com",
            "https://",
            "https:///path",
            "https://:80/",
            "https://a b/",
            "https://x/#frag",
            "",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn reads_explicit_oidc_endpoints() {
        let c = config(&[
            ("clientId", "portcullis"),
            ("clientSecret", "s3"),
            ("authorizationUrl", "https://up.test/auth"),
            ("tokenUrl", "https://up.test/token"),
            ("jwksUrl", "https://up.test/jwks"),
            ("userInfoUrl", "https://up.test/userinfo"),
            ("issuer", "https://up.test"),
            ("clientAuthMethod", "client_secret_basic"),
            ("defaultScope", "profile groups"),
        ]);
        let UpstreamSettings::Oidc(s) = UpstreamSettings::of("oidc", &c).unwrap() else {
            panic!("not oidc");
        };
        assert_eq!(s.client.client_id, "portcullis");
        assert_eq!(s.client.client_secret.as_deref(), Some("s3"));
        assert_eq!(s.client.auth, ClientAuth::Basic);
        assert_eq!(s.client.scopes, ["openid", "profile", "groups"]);
        assert!(s.client.pkce);
        assert!(s.userinfo);
        assert_eq!(s.issuer.as_deref(), Some("https://up.test"));
        assert_eq!(
            s.endpoints,
            OidcEndpoints::Explicit {
                authorization_url: "https://up.test/auth".into(),
                token_url: "https://up.test/token".into(),
                jwks_url: "https://up.test/jwks".into(),
                userinfo_url: Some("https://up.test/userinfo".into()),
            }
        );
        assert!(
            !format!("{s:?}").contains("s3"),
            "the secret stays out of logs"
        );
    }

    #[test]
    fn discovers_from_the_issuer_or_the_metadata_url() {
        let c = config(&[("clientId", "c"), ("issuer", "https://up.test/realms/x/")]);
        let UpstreamSettings::Oidc(s) = UpstreamSettings::of("keycloak-oidc", &c).unwrap() else {
            panic!("not oidc");
        };
        assert_eq!(
            s.endpoints,
            OidcEndpoints::Discovery {
                metadata_url: "https://up.test/realms/x/.well-known/openid-configuration".into()
            }
        );
        assert_eq!(s.client.auth, ClientAuth::Post, "Keycloak's default");
        assert_eq!(s.client.scopes, ["openid", "profile", "email"]);
        let c = config(&[
            ("clientId", "c"),
            ("useMetadataDescriptorUrl", "true"),
            ("metadataDescriptorUrl", "https://up.test/meta"),
            ("authorizationUrl", "https://up.test/auth"),
            ("pkceEnabled", "false"),
            ("disableUserInfo", "true"),
        ]);
        let UpstreamSettings::Oidc(s) = UpstreamSettings::of("oidc", &c).unwrap() else {
            panic!("not oidc");
        };
        assert_eq!(
            s.endpoints,
            OidcEndpoints::Discovery {
                metadata_url: "https://up.test/meta".into()
            }
        );
        assert!(!s.client.pkce);
        assert!(!s.userinfo);
    }

    #[test]
    fn names_every_problem() {
        type Row<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a [&'a str]);
        let rows: &[Row] = &[
            ("saml", &[], &["providerId 'saml' is not supported"]),
            (
                "oidc",
                &[],
                &["clientId is required", "authorizationUrl and tokenUrl"],
            ),
            (
                "oidc",
                &[("clientId", "c"), ("authorizationUrl", "https://a/")],
                &["tokenUrl is required", "jwksUrl is required"],
            ),
            (
                "oidc",
                &[
                    ("clientId", "c"),
                    ("authorizationUrl", "nope"),
                    ("tokenUrl", "https://a/t"),
                    ("jwksUrl", "https://a/j"),
                    ("clientAuthMethod", "private_key_jwt"),
                ],
                &[
                    "clientAuthMethod 'private_key_jwt' is not supported",
                    "authorizationUrl must be an absolute http or https URL",
                ],
            ),
            (
                "oauth2",
                &[("clientId", "c"), ("authorizationUrl", "https://a/")],
                &["tokenUrl is required", "userInfoUrl is required"],
            ),
            (
                "github",
                &[("apiUrl", "x")],
                &["apiUrl must be", "clientId is required"],
            ),
        ];
        for (provider, pairs, want) in rows {
            let problems = UpstreamSettings::of(provider, &config(pairs)).unwrap_err();
            for w in *want {
                assert!(
                    problems.iter().any(|p| p.contains(w)),
                    "{provider} {pairs:?}: {problems:?} lacks {w}"
                );
            }
            assert_eq!(problems.len(), want.len(), "{provider}: {problems:?}");
        }
    }

    #[test]
    fn reads_oauth2_claim_names_and_the_github_preset() {
        let c = config(&[
            ("clientId", "c"),
            ("authorizationUrl", "https://a/auth"),
            ("tokenUrl", "https://a/token"),
            ("userInfoUrl", "https://a/me"),
            ("userIDClaim", "id"),
            ("userNameClaim", "login"),
        ]);
        let UpstreamSettings::OAuth2(s) = UpstreamSettings::of("oauth2", &c).unwrap() else {
            panic!("not oauth2");
        };
        assert_eq!(s.claims.id, "id");
        assert_eq!(s.claims.username, "login");
        assert_eq!(s.claims.email, "email");
        assert!(s.client.scopes.is_empty());
        assert!(s.github.is_none());

        let c = config(&[
            ("clientId", "gh"),
            ("clientSecret", SECRET_MASK),
            ("githubOrganizations", "acme, beta"),
            ("githubTeamsAsGroups", "true"),
        ]);
        let UpstreamSettings::OAuth2(s) = UpstreamSettings::of("github", &c).unwrap() else {
            panic!("not oauth2");
        };
        assert_eq!(
            s.authorization_url,
            "https://github.com/login/oauth/authorize"
        );
        assert_eq!(s.userinfo_url, "https://api.github.com/user");
        assert_eq!(s.client.client_secret, None, "the mask is no secret");
        assert_eq!(s.client.scopes, ["user:email", "read:org"]);
        let gh = s.github.unwrap();
        assert_eq!(gh.organizations, ["acme", "beta"]);
        assert!(gh.teams_as_groups && !gh.orgs_as_groups);
        assert!(gh.allows_org("ACME") && !gh.allows_org("other"));
    }
}
