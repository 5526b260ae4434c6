//! Keyless CI: rules that grant repository actions to OIDC tokens of trusted CI issuers
//! (GitHub Actions, GitLab CI, Kubernetes service accounts), presented as the Basic password.
//!
//! Each rule is a `docker-v2-ci-token-mapper` on the registry's client, so it travels through
//! realm files, the admin API and the console like every access rule. Config keys:
//!
//! - `issuer`: the issuer URL, compared byte for byte with the token's `iss`; its discovery
//!   document names the key set the token's signature is checked with;
//! - `audience`: the token's `aud` must contain it;
//! - `username` (optional): the Basic username the job must send; any when unset;
//! - `claims`: conditions, comma separated, every one of which must hold: `name=value`, where
//!   `value` is matched exactly except that `*` matches any run of characters (`/` included);
//!   a `name` with `/` reaches into nested claims (`kubernetes.io/namespace`) unless a claim
//!   has that whole name; an array claim holds when one of its elements matches;
//! - `repository`: the repository glob of access rules (`*` within a segment, `**` across);
//! - `actions`: `pull`, `push`, `delete` or `*`.
//!
//! A token gets the union of the actions of every rule it matches, intersected with what it
//! asks for, and nothing else: no user's rights. The same evaluation answers the token
//! endpoint and the console's "try it".

use std::collections::BTreeSet;

use portcullis_core::model::{Client, ProtocolMapper};
use serde_json::{Map, Value};

use crate::policy::{Actions, ConfigError, Glob};
use crate::scope::ResourceScope;

/// The mapper type of a keyless CI rule.
pub const CI_TOKEN_MAPPER: &str = "docker-v2-ci-token-mapper";
/// Its config keys.
pub const CI_CONFIG_KEYS: &[&str] = &[
    "issuer",
    "audience",
    "username",
    "claims",
    "repository",
    "actions",
];

/// Claim values shown in explanations are cut to this many characters.
const MAX_SHOWN_VALUE: usize = 80;

/// One `name=value` condition.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Condition {
    name: String,
    expected: String,
}

impl Condition {
    /// The claim's value, if the claims hold one under this name.
    fn find<'c>(&self, claims: &'c Map<String, Value>) -> Option<&'c Value> {
        if let Some(value) = claims.get(&self.name) {
            return Some(value);
        }
        let mut parts = self.name.split('/');
        let mut value = claims.get(parts.next()?)?;
        for part in parts {
            value = value.as_object()?.get(part)?;
        }
        Some(value)
    }

    fn holds(&self, value: &Value) -> bool {
        match value {
            Value::Array(items) => items.iter().any(|item| self.holds_scalar(item)),
            other => self.holds_scalar(other),
        }
    }

    fn holds_scalar(&self, value: &Value) -> bool {
        match value {
            Value::String(s) => wildcard(&self.expected, s),
            Value::Number(n) => wildcard(&self.expected, &n.to_string()),
            Value::Bool(b) => wildcard(&self.expected, if *b { "true" } else { "false" }),
            _ => false,
        }
    }
}

/// `pattern` matches `value` exactly, except that each `*` matches any run of characters.
/// Greedy with one backtrack point: linear in practice, quadratic at worst.
fn wildcard(pattern: &str, value: &str) -> bool {
    let (p, v) = (pattern.as_bytes(), value.as_bytes());
    let (mut i, mut j) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while j < v.len() {
        if i < p.len() && p[i] == b'*' {
            star = Some((i, j));
            i += 1;
        } else if i < p.len() && p[i] == v[j] {
            i += 1;
            j += 1;
        } else if let Some((si, sj)) = star {
            i = si + 1;
            j = sj + 1;
            star = Some((si, sj + 1));
        } else {
            return false;
        }
    }
    p[i..].iter().all(|b| *b == b'*')
}

/// Parses `name=value, name=value`; `name == "value" && ...` reads the same.
fn parse_conditions(raw: &str) -> Result<Vec<Condition>, ConfigError> {
    let mut conditions = Vec::new();
    let raw = raw.replace("&&", ",");
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((name, expected)) = part.split_once('=') else {
            return Err(ConfigError::BadClaim(part.to_owned()));
        };
        let name = name.trim();
        let expected = expected.trim();
        let expected = expected.strip_prefix('=').unwrap_or(expected).trim();
        let expected = expected
            .strip_prefix('"')
            .and_then(|e| e.strip_suffix('"'))
            .unwrap_or(expected);
        if name.is_empty() || expected.is_empty() {
            return Err(ConfigError::BadClaim(part.to_owned()));
        }
        conditions.push(Condition {
            name: name.to_owned(),
            expected: expected.to_owned(),
        });
    }
    if conditions.is_empty() {
        return Err(ConfigError::MissingClaims);
    }
    Ok(conditions)
}

fn valid_issuer(issuer: &str) -> bool {
    let rest = issuer
        .strip_prefix("https://")
        .or_else(|| issuer.strip_prefix("http://"));
    rest.is_some_and(|r| {
        !r.is_empty() && !r.starts_with('/') && !r.contains(['?', '#', ' ']) && !r.contains("..")
    })
}

/// One valid keyless CI rule.
#[derive(Debug, Clone)]
pub struct CiRule {
    pub name: String,
    pub issuer: String,
    pub audience: String,
    pub username: Option<String>,
    conditions: Vec<Condition>,
    /// The glob as written, for display.
    pub repository: String,
    pattern: Glob,
    actions: Actions,
}

impl CiRule {
    /// Parses a mapper's config, collecting every problem rather than the first.
    pub fn parse(mapper: &ProtocolMapper) -> Result<Self, Vec<ConfigError>> {
        let get = |key: &str| {
            mapper
                .config
                .get(key)
                .map(|v| v.trim())
                .filter(|v| !v.is_empty())
        };
        let mut problems = Vec::new();
        let issuer = match get("issuer") {
            None => Err(ConfigError::MissingIssuer),
            Some(issuer) if valid_issuer(issuer) => Ok(issuer.to_owned()),
            Some(other) => Err(ConfigError::BadIssuer(other.to_owned())),
        };
        let audience = get("audience").ok_or(ConfigError::MissingAudience);
        let conditions = get("claims").map_or(Err(ConfigError::MissingClaims), parse_conditions);
        let pattern = match get("repository") {
            None => Err(ConfigError::MissingRepository),
            Some(p) if p.contains(['$', '{', '}']) => Err(ConfigError::CiPlaceholder(p.to_owned())),
            Some(p) => Glob::compile(p).map(|g| (p.to_owned(), g)),
        };
        let actions = get("actions").map_or(Err(ConfigError::MissingActions), Actions::parse);
        let mut take = |e: ConfigError| problems.push(e);
        let issuer = issuer.map_err(&mut take).ok();
        let audience = audience.map_err(&mut take).ok();
        let conditions = conditions.map_err(&mut take).ok();
        let pattern = pattern.map_err(&mut take).ok();
        let actions = actions.map_err(&mut take).ok();
        match (issuer, audience, conditions, pattern, actions) {
            (
                Some(issuer),
                Some(audience),
                Some(conditions),
                Some((repository, pattern)),
                Some(actions),
            ) if problems.is_empty() => Ok(Self {
                name: mapper.name.clone(),
                issuer,
                audience: audience.to_owned(),
                username: get("username").map(str::to_owned),
                conditions,
                repository,
                pattern,
                actions,
            }),
            _ => Err(problems),
        }
    }

    /// The actions it holds, by name.
    pub fn action_names(&self) -> Vec<String> {
        self.actions.names()
    }

    /// The claim conditions as written back (`name=value, ...`).
    pub fn claims_text(&self) -> String {
        self.conditions
            .iter()
            .map(|c| format!("{}={}", c.name, c.expected))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `Ok` when the token matches this rule; else the first reason it does not, in the order
    /// issuer, audience, username, claims.
    fn judge(&self, token: &Presented<'_>) -> Result<(), CiMiss> {
        let iss = token.claims.get("iss").and_then(Value::as_str);
        if iss != Some(self.issuer.as_str()) {
            return Err(CiMiss::Issuer);
        }
        if !audiences(token.claims).any(|a| a == self.audience) {
            return Err(CiMiss::Audience(self.audience.clone()));
        }
        if let Some(expected) = &self.username
            && expected != token.username
        {
            return Err(CiMiss::Username(expected.clone()));
        }
        for condition in &self.conditions {
            match condition.find(token.claims) {
                None => return Err(CiMiss::ClaimMissing(condition.name.clone())),
                Some(value) if !condition.holds(value) => {
                    return Err(CiMiss::ClaimValue {
                        name: condition.name.clone(),
                        expected: condition.expected.clone(),
                        actual: shown(value),
                    });
                }
                Some(_) => {}
            }
        }
        Ok(())
    }
}

/// The `docker-v2-ci-token-mapper` that stores `rule` (its name, or one made from the issuer and
/// claims when it has none).
pub fn mapper_for(rule: &portcullis_web::CiRule) -> ProtocolMapper {
    let mut config = std::collections::BTreeMap::new();
    for (key, value) in [
        ("issuer", rule.issuer.trim()),
        ("audience", rule.audience.trim()),
        ("username", rule.username.trim()),
        ("claims", rule.claims.trim()),
        ("repository", rule.repository.trim()),
    ] {
        if !value.is_empty() {
            config.insert(key.to_owned(), value.to_owned());
        }
    }
    config.insert("actions".to_owned(), rule.actions.join(","));
    let name = if rule.name.trim().is_empty() {
        format!(
            "{} from {} where {}",
            rule.actions.join(","),
            rule.issuer,
            rule.claims
        )
    } else {
        rule.name.trim().to_owned()
    };
    ProtocolMapper {
        id: rule.mapper_id.clone(),
        name,
        protocol: crate::PROTOCOL.to_owned(),
        mapper_type: CI_TOKEN_MAPPER.to_owned(),
        config,
    }
}

/// The token's audiences (`aud` as a string or an array of strings).
fn audiences(claims: &Map<String, Value>) -> impl Iterator<Item = &str> {
    let aud = claims.get("aud");
    let single = aud.and_then(Value::as_str);
    let many = aud
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str);
    single.into_iter().chain(many)
}

fn shown(value: &Value) -> String {
    let text = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut cut: String = text.chars().take(MAX_SHOWN_VALUE).collect();
    if cut.len() < text.len() {
        cut.push('…');
    }
    cut
}

/// Why a rule does not match a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CiMiss {
    /// The rule trusts another issuer.
    Issuer,
    /// The token's `aud` does not contain the rule's audience.
    Audience(String),
    /// The Basic username is not the one the rule requires.
    Username(String),
    ClaimMissing(String),
    ClaimValue {
        name: String,
        expected: String,
        actual: String,
    },
}

impl std::fmt::Display for CiMiss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CiMiss::Issuer => f.write_str("for another issuer"),
            CiMiss::Audience(aud) => write!(f, "the token's audience does not include {aud:?}"),
            CiMiss::Username(user) => write!(f, "the username must be {user:?}"),
            CiMiss::ClaimMissing(name) => write!(f, "the token has no claim {name:?}"),
            CiMiss::ClaimValue {
                name,
                expected,
                actual,
            } => write!(f, "claim {name} is {actual:?}, not {expected:?}"),
        }
    }
}

/// A verified token as a rule looks at it.
#[derive(Debug, Clone, Copy)]
pub struct Presented<'a> {
    pub claims: &'a Map<String, Value>,
    /// The Basic username sent with it.
    pub username: &'a str,
}

/// The keyless CI rules of one client.
#[derive(Debug, Clone, Default)]
pub struct CiPolicy {
    rules: Vec<CiRule>,
}

/// Why no rule of a client accepts a token, from the least to the most specific.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoMatch {
    /// No rule trusts the token's issuer.
    UntrustedIssuer,
    /// Rules trust the issuer, none for the token's audience.
    WrongAudience,
    /// Rules trust the issuer and audience; the username or claims satisfy none.
    NoRule,
}

/// One rule's verdict on a token.
#[derive(Debug, Clone)]
pub struct CiVerdict<'p> {
    pub rule: &'p CiRule,
    pub outcome: Result<(), CiMiss>,
}

/// Every rule's verdict on one token, and what the matching rules grant.
#[derive(Debug, Clone)]
pub struct CiEvaluation<'p> {
    pub verdicts: Vec<CiVerdict<'p>>,
}

impl CiPolicy {
    pub fn for_client(client: &Client) -> Self {
        let mut rules = Vec::new();
        for mapper in &client.protocol_mappers {
            if mapper.mapper_type != CI_TOKEN_MAPPER {
                continue;
            }
            match CiRule::parse(mapper) {
                Ok(rule) => rules.push(rule),
                Err(errors) => tracing::warn!(
                    client = %client.client_id,
                    mapper = %mapper.name,
                    errors = ?errors,
                    "skipping invalid keyless CI rule"
                ),
            }
        }
        Self { rules }
    }

    pub fn rules(&self) -> &[CiRule] {
        &self.rules
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Whether some rule trusts `issuer`: only then are its keys ever fetched.
    pub fn trusts(&self, issuer: &str) -> bool {
        self.rules.iter().any(|r| r.issuer == issuer)
    }

    /// Every rule judged against a verified token.
    pub fn evaluate<'p>(&'p self, token: &Presented<'_>) -> CiEvaluation<'p> {
        CiEvaluation {
            verdicts: self
                .rules
                .iter()
                .map(|rule| CiVerdict {
                    rule,
                    outcome: rule.judge(token),
                })
                .collect(),
        }
    }
}

impl CiEvaluation<'_> {
    /// The rules the token matches.
    pub fn matched(&self) -> impl Iterator<Item = &CiRule> {
        self.verdicts
            .iter()
            .filter(|v| v.outcome.is_ok())
            .map(|v| v.rule)
    }

    /// `Ok` when some rule matches; else why none does.
    pub fn accepted(&self) -> Result<(), NoMatch> {
        if self.matched().next().is_some() {
            return Ok(());
        }
        let past = |miss: &CiMiss| !matches!(miss, CiMiss::Issuer);
        let past_audience = |miss: &CiMiss| !matches!(miss, CiMiss::Issuer | CiMiss::Audience(_));
        let misses = || {
            self.verdicts
                .iter()
                .filter_map(|v| v.outcome.as_ref().err())
        };
        if !misses().any(past) {
            Err(NoMatch::UntrustedIssuer)
        } else if !misses().any(past_audience) {
            Err(NoMatch::WrongAudience)
        } else {
            Err(NoMatch::NoRule)
        }
    }

    /// The actions granted for one requested resource: requested ∩ the union over matching
    /// rules whose pattern matches. Only repositories: the catalog is never granted to CI.
    pub fn grant(&self, scope: &ResourceScope) -> BTreeSet<String> {
        if scope.resource_type != "repository" {
            return BTreeSet::new();
        }
        self.matched()
            .filter(|rule| rule.pattern.matches(&scope.name, None))
            .fold(Actions::default(), |held, rule| held.union(rule.actions))
            .intersect(&scope.actions)
    }

    pub fn authorize(&self, scopes: &[ResourceScope]) -> Vec<ResourceScope> {
        scopes
            .iter()
            .map(|scope| scope.with_actions(self.grant(scope)))
            .collect()
    }

    /// For each matching rule and requested resource: the actions it grants there, or `None`
    /// when its pattern does not match the name.
    pub fn per_rule(&self, scope: &ResourceScope) -> Vec<(&CiRule, Option<BTreeSet<String>>)> {
        self.matched()
            .map(|rule| {
                let hit =
                    scope.resource_type == "repository" && rule.pattern.matches(&scope.name, None);
                (rule, hit.then(|| rule.actions.intersect(&scope.actions)))
            })
            .collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;
    use crate::scope::parse_scopes;

    const GITHUB: &str = "https://token.actions.githubusercontent.com";

    fn mapper(name: &str, config: &[(&str, &str)]) -> ProtocolMapper {
        ProtocolMapper {
            id: String::new(),
            name: name.into(),
            protocol: crate::PROTOCOL.into(),
            mapper_type: CI_TOKEN_MAPPER.into(),
            config: config
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<BTreeMap<_, _>>(),
        }
    }

    fn policy(mappers: Vec<ProtocolMapper>) -> CiPolicy {
        CiPolicy::for_client(&Client {
            client_id: "registry".into(),
            protocol_mappers: mappers,
            ..Client::default()
        })
    }

    fn claims(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn wildcards_match_any_run() {
        let rows = [
            ("refs/heads/main", "refs/heads/main", true),
            ("refs/heads/main", "refs/heads/mainline", false),
            ("refs/tags/v*", "refs/tags/v1.2.3", true),
            ("refs/tags/v*", "refs/heads/v1", false),
            ("*", "", true),
            ("acme/*", "acme/api/sub", true),
            ("*/api", "acme/api", true),
            ("a*b*c", "axxbyyc", true),
            ("a*b*c", "axxbyy", false),
            ("", "", true),
            ("x", "", false),
        ];
        for (pattern, value, expected) in rows {
            assert_eq!(wildcard(pattern, value), expected, "{pattern} ~ {value}");
        }
    }

    #[test]
    fn config_problems_are_all_reported() {
        type Row<'a> = (&'a [(&'a str, &'a str)], &'a [ConfigError]);
        let rows: &[Row] = &[
            (
                &[],
                &[
                    ConfigError::MissingIssuer,
                    ConfigError::MissingAudience,
                    ConfigError::MissingClaims,
                    ConfigError::MissingRepository,
                    ConfigError::MissingActions,
                ],
            ),
            (
                &[
                    ("issuer", "token.actions.githubusercontent.com"),
                    ("audience", "registry"),
                    ("claims", "repository"),
                    ("repository", "acme/${username}"),
                    ("actions", "push,fly"),
                ],
                &[
                    ConfigError::BadIssuer("token.actions.githubusercontent.com".into()),
                    ConfigError::BadClaim("repository".into()),
                    ConfigError::CiPlaceholder("acme/${username}".into()),
                    ConfigError::UnknownAction("fly".into()),
                ],
            ),
            (
                &[
                    ("issuer", GITHUB),
                    ("audience", "registry"),
                    ("claims", " , "),
                    ("repository", "acme/**"),
                    ("actions", "push"),
                ],
                &[ConfigError::MissingClaims],
            ),
            (
                &[
                    ("issuer", GITHUB),
                    ("audience", "registry"),
                    ("claims", "repository=acme/api, ref=refs/heads/main"),
                    ("repository", "acme/**"),
                    ("actions", "push"),
                ],
                &[],
            ),
            (
                &[
                    ("issuer", GITHUB),
                    ("audience", "registry"),
                    (
                        "claims",
                        r#"repository == "acme/api" && ref == "refs/heads/main""#,
                    ),
                    ("repository", "acme/**"),
                    ("actions", "push"),
                ],
                &[],
            ),
        ];
        for (config, expected) in rows {
            let problems = crate::policy::validate(&mapper("r", config));
            assert_eq!(&problems, expected, "{config:?}");
        }
    }

    #[test]
    fn tokens_get_the_union_of_matching_rules() {
        let policy = policy(vec![
            mapper(
                "api main pushes",
                &[
                    ("issuer", GITHUB),
                    ("audience", "registry.acme.test"),
                    ("claims", "repository=acme/api, ref=refs/heads/main"),
                    ("repository", "acme/api/**"),
                    ("actions", "push"),
                ],
            ),
            mapper(
                "acme pulls",
                &[
                    ("issuer", GITHUB),
                    ("audience", "registry.acme.test"),
                    ("claims", "repository_owner=acme"),
                    ("repository", "acme/**"),
                    ("actions", "pull"),
                ],
            ),
            mapper(
                "release tags delete",
                &[
                    ("issuer", GITHUB),
                    ("audience", "registry.acme.test"),
                    ("username", "release"),
                    ("claims", "repository=acme/api, ref=refs/tags/v*"),
                    ("repository", "acme/api"),
                    ("actions", "delete"),
                ],
            ),
            mapper(
                "k8s builder",
                &[
                    ("issuer", "https://kubernetes.default.svc"),
                    ("audience", "registry.acme.test"),
                    (
                        "claims",
                        "kubernetes.io/namespace=ci, kubernetes.io/serviceaccount/name=builder",
                    ),
                    ("repository", "**"),
                    ("actions", "pull"),
                ],
            ),
        ]);
        let github = |extra: Value| {
            let mut c = json!({"iss": GITHUB, "aud": "registry.acme.test",
                               "repository": "acme/api", "repository_owner": "acme",
                               "ref": "refs/heads/main"});
            for (k, v) in extra.as_object().unwrap() {
                c[k] = v.clone();
            }
            claims(c)
        };
        let k8s = claims(json!({
            "iss": "https://kubernetes.default.svc", "aud": ["other", "registry.acme.test"],
            "sub": "system:serviceaccount:ci:builder",
            "kubernetes.io": {"namespace": "ci", "serviceaccount": {"name": "builder", "uid": "u"}}
        }));
        let scopes = parse_scopes([
            "repository:acme/api:pull,push,delete",
            "repository:acme/api/cache:pull,push",
            "repository:acme/web:pull,push",
            "repository:other/x:pull",
            "registry:catalog:*",
        ])
        .unwrap();
        type Row<'a> = (
            &'a str,
            Map<String, Value>,
            &'a str,
            Result<(), NoMatch>,
            [&'a str; 5],
        );
        let rows: Vec<Row> = vec![
            (
                "main branch of acme/api",
                github(json!({})),
                "ci",
                Ok(()),
                ["pull,push", "pull,push", "pull", "", ""],
            ),
            (
                "feature branch: pull only",
                github(json!({"ref": "refs/heads/feature"})),
                "ci",
                Ok(()),
                ["pull", "pull", "pull", "", ""],
            ),
            (
                "release tag with the release username",
                github(json!({"ref": "refs/tags/v1.0"})),
                "release",
                Ok(()),
                ["delete,pull", "pull", "pull", "", ""],
            ),
            (
                "another owner",
                github(json!({"repository": "evil/api", "repository_owner": "evil"})),
                "ci",
                Err(NoMatch::NoRule),
                ["", "", "", "", ""],
            ),
            (
                "wrong audience",
                github(json!({"aud": ["https://github.com/acme"]})),
                "ci",
                Err(NoMatch::WrongAudience),
                ["", "", "", "", ""],
            ),
            (
                "untrusted issuer",
                github(json!({"iss": "https://gitlab.com"})),
                "ci",
                Err(NoMatch::UntrustedIssuer),
                ["", "", "", "", ""],
            ),
            (
                "kubernetes service account",
                k8s.clone(),
                "anything",
                Ok(()),
                ["pull", "pull", "pull", "pull", ""],
            ),
        ];
        for (what, claims, username, accepted, granted) in rows {
            let token = Presented {
                claims: &claims,
                username,
            };
            let evaluation = policy.evaluate(&token);
            assert_eq!(evaluation.accepted(), accepted, "{what}");
            let got: Vec<String> = evaluation
                .authorize(&scopes)
                .iter()
                .map(|s| s.actions.iter().cloned().collect::<Vec<_>>().join(","))
                .collect();
            assert_eq!(got, granted, "{what}");
        }
    }

    #[test]
    fn verdicts_say_why_a_rule_misses() {
        let policy = policy(vec![mapper(
            "gitlab main",
            &[
                ("issuer", "https://gitlab.com"),
                ("audience", "https://registry.acme.test"),
                ("username", "gitlab-ci"),
                (
                    "claims",
                    "project_path=acme/api, ref=main, ref_protected=true",
                ),
                ("repository", "acme/api/**"),
                ("actions", "push"),
            ],
        )]);
        let base = json!({"iss": "https://gitlab.com", "aud": "https://registry.acme.test",
                          "project_path": "acme/api", "ref": "main", "ref_protected": "true"});
        let with = |k: &str, v: Value| {
            let mut c = base.clone();
            if v.is_null() {
                c.as_object_mut().unwrap().remove(k);
            } else {
                c[k] = v;
            }
            claims(c)
        };
        let rows = [
            (with("x", Value::Null), "gitlab-ci", Ok(())),
            (
                with("x", Value::Null),
                "root",
                Err(CiMiss::Username("gitlab-ci".into())),
            ),
            (
                with("ref", Value::Null),
                "gitlab-ci",
                Err(CiMiss::ClaimMissing("ref".into())),
            ),
            (
                with("ref", json!("dev")),
                "gitlab-ci",
                Err(CiMiss::ClaimValue {
                    name: "ref".into(),
                    expected: "main".into(),
                    actual: "dev".into(),
                }),
            ),
            (with("ref_protected", json!(true)), "gitlab-ci", Ok(())),
            (
                with("aud", json!("registry")),
                "gitlab-ci",
                Err(CiMiss::Audience("https://registry.acme.test".into())),
            ),
        ];
        for (claims, username, expected) in rows {
            let token = Presented {
                claims: &claims,
                username,
            };
            let evaluation = policy.evaluate(&token);
            assert_eq!(evaluation.verdicts[0].outcome, expected, "{claims:?}");
        }
    }
}
