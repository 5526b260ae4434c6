//! Access rules of a docker-v2 client (design section 5), taken from its protocol mappers.
//!
//! Granted actions for a requested resource = requested ∩ the union of the actions of every rule
//! whose type and pattern match and whose subject holds. Order never matters, nothing matching
//! grants nothing, and a denial is never an error: the token carries the granted subset.
//!
//! One evaluation serves both the token endpoint ([`Policy::authorize`]) and the explanation an
//! operator reads ([`Policy::explain`]: each rule's verdict and why), so they cannot disagree.

use std::collections::BTreeSet;

use portcullis_core::app_password::Restriction;
use portcullis_core::model::{Client, ProtocolMapper};
use portcullis_core::resolve::ResolvedUser;
use portcullis_web::{AccessRule, AccessSubject};

use crate::scope::ResourceScope;

/// Keycloak's mapper: every authenticated user gets exactly what they ask for.
pub const ALLOW_ALL_MAPPER: &str = "docker-v2-allow-all-mapper";
/// Ours: one access rule per mapper.
pub const REPOSITORY_ACCESS_MAPPER: &str = "docker-v2-repository-access-mapper";

/// Config keys of [`REPOSITORY_ACCESS_MAPPER`].
pub const CONFIG_KEYS: &[&str] = &["type", "repository", "actions", "role", "group", "subject"];

/// The `${username}` placeholder of a repository pattern.
const USERNAME_PLACEHOLDER: &str = "${username}";
/// Whole-segment `**` may also match zero segments; each one doubles the compiled variants.
const MAX_DEEP_SEGMENTS: usize = 4;

/// Why a mapper's config cannot become a rule. A mapper with any of these grants nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("unknown docker-v2 mapper type {0:?}")]
    UnknownMapperType(String),
    #[error("type must be repository or registry, not {0:?}")]
    BadType(String),
    #[error("repository (a name pattern) is required")]
    MissingRepository,
    #[error("repository pattern {0:?} has a placeholder other than ${{username}}")]
    BadPlaceholder(String),
    #[error("repository pattern {0:?} has more than {MAX_DEEP_SEGMENTS} `**` segments")]
    TooManyDeepSegments(String),
    #[error("actions is required (pull, push, delete or *)")]
    MissingActions,
    #[error("unknown action {0:?} (expected pull, push, delete or *)")]
    UnknownAction(String),
    #[error("exactly one subject is required: role, group or subject")]
    NoSubject,
    #[error("exactly one subject is allowed, found {0}")]
    ManySubjects(String),
    #[error("subject must be authenticated or anonymous, not {0:?}")]
    BadSubject(String),
    #[error("issuer is required: the CI platform's issuer URL (https://...)")]
    MissingIssuer,
    #[error("issuer {0:?} is not an http(s) URL without query or fragment")]
    BadIssuer(String),
    #[error("audience is required: the audience the CI job asks its token for")]
    MissingAudience,
    #[error(
        "claims needs at least one condition (name=value): an issuer signs tokens for every project it hosts"
    )]
    MissingClaims,
    #[error("claim condition {0:?} is not name=value")]
    BadClaim(String),
    #[error("repository pattern {0:?} of a CI rule may not use placeholders")]
    CiPlaceholder(String),
}

/// Checks a mapper of a docker-v2 client. Empty means valid. The admin API rejects mappers with
/// errors; at request time they are skipped with a warning.
pub fn validate(mapper: &ProtocolMapper) -> Vec<ConfigError> {
    match mapper.mapper_type.as_str() {
        ALLOW_ALL_MAPPER => Vec::new(),
        REPOSITORY_ACCESS_MAPPER => Rule::parse(mapper).err().unwrap_or_default(),
        crate::ci::CI_TOKEN_MAPPER => crate::ci::CiRule::parse(mapper).err().unwrap_or_default(),
        other => vec![ConfigError::UnknownMapperType(other.to_owned())],
    }
}

/// The compiled rules of one client.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// The names of the allow-all mappers, if any.
    allow_all: Vec<String>,
    rules: Vec<Rule>,
}

/// What one rule did for one requested resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleVerdict {
    /// The mapper's name.
    pub rule: String,
    pub outcome: Outcome,
}

/// A rule's verdict on one requested resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The rule applies: these of the requested actions are what it grants (possibly none of
    /// them, when it holds other actions).
    Grants(BTreeSet<String>),
    /// The rule does not apply, for this reason.
    Misses(Miss),
}

/// Why a rule does not apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Miss {
    /// It is for `repository` resources and this is a `registry` one, or the other way round.
    ResourceType,
    /// The name does not match the pattern.
    Pattern,
    /// The pattern uses `${username}` and there is no user, or the username is not one
    /// repository path component.
    Username,
    /// The user does not hold the role.
    Role(String),
    /// The user is not in the group (or a subgroup).
    Group(String),
    /// The rule is for signed-in users (or the allow-all mapper) and the request is anonymous.
    Anonymous,
}

impl std::fmt::Display for Miss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Miss::ResourceType => f.write_str("for another resource type"),
            Miss::Pattern => f.write_str("the name does not match the pattern"),
            Miss::Username => {
                f.write_str("the pattern names ${username} and the requester has no usable one")
            }
            Miss::Role(role) => write!(f, "the user does not hold role {role}"),
            Miss::Group(group) => write!(f, "the user is not in group {group}"),
            Miss::Anonymous => f.write_str("only for signed-in users"),
        }
    }
}

/// Why a rule does not apply, without the details [`Miss`] spells out (so judging allocates
/// nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Why {
    ResourceType,
    Pattern,
    Username,
    Subject,
    Anonymous,
}

impl From<Why> for Miss {
    fn from(why: Why) -> Miss {
        match why {
            Why::ResourceType => Miss::ResourceType,
            Why::Pattern => Miss::Pattern,
            Why::Username => Miss::Username,
            // Subject misses are spelled out by the rule that knows its subject.
            Why::Subject | Why::Anonymous => Miss::Anonymous,
        }
    }
}

/// One judgement, as [`Policy::evaluate`] reports it.
enum Judged<'p> {
    AllowAll(&'p str, Result<(), Why>),
    Rule(&'p Rule, Result<(), Why>),
}

/// One requested resource: what was granted, and every rule's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    pub granted: ResourceScope,
    pub rules: Vec<RuleVerdict>,
}

impl Policy {
    /// Compiles a client's mappers, skipping (and logging) the invalid ones.
    pub fn for_client(client: &Client) -> Self {
        Self::compile(&client.client_id, &client.protocol_mappers)
    }

    /// Compiles mappers; `client_id` is only used in warnings.
    pub fn compile(client_id: &str, mappers: &[ProtocolMapper]) -> Self {
        let mut policy = Self::default();
        for mapper in mappers {
            match mapper.mapper_type.as_str() {
                ALLOW_ALL_MAPPER => policy.allow_all.push(mapper.name.clone()),
                REPOSITORY_ACCESS_MAPPER => match Rule::parse(mapper) {
                    Ok(rule) => policy.rules.push(rule),
                    Err(errors) => tracing::warn!(
                        client = client_id,
                        mapper = %mapper.name,
                        errors = ?errors,
                        "skipping invalid docker-v2 access rule"
                    ),
                },
                // Keyless CI rules grant to verified CI tokens only: `crate::ci::CiPolicy`.
                crate::ci::CI_TOKEN_MAPPER => {}
                other => tracing::warn!(
                    client = client_id,
                    mapper = %mapper.name,
                    mapper_type = other,
                    "ignoring mapper of a type docker-v2 does not know"
                ),
            }
        }
        policy
    }

    /// The actions granted to `user` (None = anonymous) for one requested resource.
    pub fn grant(&self, user: Option<&ResolvedUser>, scope: &ResourceScope) -> BTreeSet<String> {
        self.evaluate(user, scope, |_| {})
    }

    /// What each rule does for each requested resource, and what is granted: the same
    /// evaluation as [`Policy::authorize`], with every verdict kept.
    pub fn explain(
        &self,
        user: Option<&ResolvedUser>,
        scopes: &[ResourceScope],
    ) -> Vec<Explanation> {
        scopes
            .iter()
            .map(|scope| {
                let mut rules = Vec::new();
                let actions = self.evaluate(user, scope, |judged| {
                    let (rule, outcome) = match judged {
                        Judged::AllowAll(name, Ok(())) => {
                            (name, Outcome::Grants(scope.actions.clone()))
                        }
                        Judged::AllowAll(name, Err(why)) => (name, Outcome::Misses(why.into())),
                        Judged::Rule(rule, Ok(())) => (
                            rule.name.as_str(),
                            Outcome::Grants(rule.actions.intersect(&scope.actions)),
                        ),
                        Judged::Rule(rule, Err(why)) => {
                            (rule.name.as_str(), Outcome::Misses(rule.miss(why)))
                        }
                    };
                    rules.push(RuleVerdict {
                        rule: rule.to_string(),
                        outcome,
                    });
                });
                Explanation {
                    granted: scope.with_actions(actions),
                    rules,
                }
            })
            .collect()
    }

    /// The one evaluation: every rule is judged, `heard` hears each judgement (the token
    /// endpoint ignores them, an explanation keeps them), and the union of what the applying
    /// rules hold, intersected with what was asked, is granted. Nothing is allocated for the
    /// judgements themselves, so the token endpoint pays nothing for explanations.
    fn evaluate<'p>(
        &'p self,
        user: Option<&ResolvedUser>,
        scope: &ResourceScope,
        mut heard: impl FnMut(Judged<'p>),
    ) -> BTreeSet<String> {
        let mut held = Actions::default();
        for name in &self.allow_all {
            let judged = if user.is_some() {
                held = held.union(Actions::everything());
                Ok(())
            } else {
                Err(Why::Anonymous)
            };
            heard(Judged::AllowAll(name, judged));
        }
        for rule in &self.rules {
            let judged = rule.judge(user, scope);
            if judged.is_ok() {
                held = held.union(rule.actions);
            }
            heard(Judged::Rule(rule, judged));
        }
        held.intersect(&scope.actions)
    }

    /// One entry per requested resource with the granted actions (possibly none).
    pub fn authorize(
        &self,
        user: Option<&ResolvedUser>,
        scopes: &[ResourceScope],
    ) -> Vec<ResourceScope> {
        scopes
            .iter()
            .map(|scope| scope.with_actions(self.grant(user, scope)))
            .collect()
    }
}

/// An app password's restriction, compiled: what a token issued with it may carry at most.
/// Applied to what the owner's rights grant ([`Policy::authorize`]), so the token holds the
/// intersection of both.
#[derive(Debug, Clone)]
pub struct Narrowing {
    /// `None`: any resource. Otherwise only repositories matching one of these (an invalid
    /// pattern matches nothing: a restriction never widens).
    repositories: Option<Vec<Glob>>,
    /// `None`: any action.
    actions: Option<Actions>,
}

impl Narrowing {
    pub fn compile(restriction: &Restriction) -> Self {
        let repositories = (!restriction.repositories.is_empty()).then(|| {
            restriction
                .repositories
                .iter()
                .filter_map(|pattern| Glob::compile(pattern).ok())
                .collect()
        });
        let actions = (!restriction.actions.is_empty())
            .then(|| Actions::parse(&restriction.actions.join(",")).unwrap_or_default());
        Self {
            repositories,
            actions,
        }
    }

    /// `granted` with every resource outside the restriction emptied and every action outside
    /// it dropped; `${username}` in a pattern is the owner's username.
    pub fn narrow(&self, owner: &ResolvedUser, granted: Vec<ResourceScope>) -> Vec<ResourceScope> {
        granted
            .into_iter()
            .map(|scope| {
                let inside = match &self.repositories {
                    None => true,
                    Some(globs) => {
                        scope.resource_type == "repository"
                            && globs
                                .iter()
                                .any(|g| g.matches(&scope.name, Some(&owner.username)))
                    }
                };
                let actions = match (inside, self.actions) {
                    (false, _) => BTreeSet::new(),
                    (true, None) => scope.actions.clone(),
                    (true, Some(held)) => held.intersect(&scope.actions),
                };
                scope.with_actions(actions)
            })
            .collect()
    }
}

/// A set of grantable actions. `push` always carries `pull` with it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Actions {
    pull: bool,
    push: bool,
    delete: bool,
    all: bool,
}

impl Actions {
    pub(crate) fn parse(raw: &str) -> Result<Self, ConfigError> {
        let mut actions = Self::default();
        let mut any = false;
        for action in raw.split(',').map(str::trim).filter(|a| !a.is_empty()) {
            any = true;
            match action {
                "pull" => actions.pull = true,
                "push" => (actions.push, actions.pull) = (true, true),
                "delete" => actions.delete = true,
                "*" => actions.all = true,
                other => return Err(ConfigError::UnknownAction(other.to_owned())),
            }
        }
        if any {
            Ok(actions)
        } else {
            Err(ConfigError::MissingActions)
        }
    }

    /// The actions held, by name: `*` alone when everything is held.
    pub(crate) fn names(self) -> Vec<String> {
        if self.all {
            return vec!["*".to_owned()];
        }
        [
            ("pull", self.pull),
            ("push", self.push),
            ("delete", self.delete),
        ]
        .into_iter()
        .filter(|(_, held)| *held)
        .map(|(name, _)| name.to_owned())
        .collect()
    }

    /// What the allow-all mapper holds: every action, `*` included.
    fn everything() -> Self {
        Self {
            pull: true,
            push: true,
            delete: true,
            all: true,
        }
    }

    pub(crate) fn union(self, other: Self) -> Self {
        Self {
            pull: self.pull || other.pull,
            push: self.push || other.push,
            delete: self.delete || other.delete,
            all: self.all || other.all,
        }
    }

    fn holds(self, action: &str) -> bool {
        self.all
            || match action {
                "pull" => self.pull,
                "push" => self.push,
                "delete" => self.delete,
                _ => false,
            }
    }

    /// Requested ∩ held. A requested `*` stays `*` when `*` is held; otherwise it stands for
    /// every concrete action held (skopeo delete asks `*` and needs pull + delete).
    pub(crate) fn intersect(self, requested: &BTreeSet<String>) -> BTreeSet<String> {
        let mut granted = BTreeSet::new();
        for action in requested {
            if action == "*" && !self.all {
                for concrete in ["pull", "push", "delete"] {
                    if self.holds(concrete) {
                        granted.insert(concrete.to_owned());
                    }
                }
            } else if self.holds(action) {
                granted.insert(action.clone());
            }
        }
        granted
    }
}

/// Who a rule is for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Subject {
    /// A realm role name or `clientId.roleName`.
    Role(String),
    /// A group path; members of subgroups count.
    Group(String),
    /// Any signed-in user.
    Authenticated,
    /// Everyone, including requests without credentials.
    Anonymous,
}

impl Subject {
    fn parse(mapper: &ProtocolMapper) -> Result<Self, ConfigError> {
        let set = |key: &str| {
            mapper
                .config
                .get(key)
                .map(|v| v.trim())
                .filter(|v| !v.is_empty())
        };
        let present: Vec<(&str, &str)> = ["role", "group", "subject"]
            .into_iter()
            .filter_map(|key| set(key).map(|v| (key, v)))
            .collect();
        match present.as_slice() {
            [] => Err(ConfigError::NoSubject),
            [("role", role)] => Ok(Self::Role((*role).to_owned())),
            [("group", group)] => Ok(Self::Group(normalise_group(group))),
            [("subject", "authenticated")] => Ok(Self::Authenticated),
            [("subject", "anonymous")] => Ok(Self::Anonymous),
            [(_, other)] => Err(ConfigError::BadSubject((*other).to_owned())),
            many => Err(ConfigError::ManySubjects(
                many.iter()
                    .map(|(k, _)| *k)
                    .collect::<Vec<_>>()
                    .join(" and "),
            )),
        }
    }

    /// `Ok` when the subject holds for `user`, else why not.
    fn judge(&self, user: Option<&ResolvedUser>) -> Result<(), Why> {
        match (self, user) {
            (Self::Anonymous, _) => Ok(()),
            (_, None) => Err(Why::Anonymous),
            (Self::Authenticated, Some(_)) => Ok(()),
            (Self::Role(role), Some(u)) if u.has_role(role) => Ok(()),
            (Self::Group(path), Some(u)) if u.in_group(path) => Ok(()),
            (Self::Role(_) | Self::Group(_), Some(_)) => Err(Why::Subject),
        }
    }
}

/// Group paths are stored with a leading `/`; admins often leave it out.
fn normalise_group(group: &str) -> String {
    if group.starts_with('/') {
        group.to_owned()
    } else {
        format!("/{group}")
    }
}

/// One valid `docker-v2-repository-access-mapper`.
#[derive(Debug, Clone)]
struct Rule {
    /// The mapper's name, for explanations.
    name: String,
    resource_type: &'static str,
    pattern: Glob,
    actions: Actions,
    subject: Subject,
}

impl Rule {
    /// Parses a mapper's config, collecting every problem rather than the first.
    fn parse(mapper: &ProtocolMapper) -> Result<Self, Vec<ConfigError>> {
        let get = |key: &str| {
            mapper
                .config
                .get(key)
                .map(|v| v.trim())
                .filter(|v| !v.is_empty())
        };
        let resource_type = match get("type") {
            None | Some("repository") => Ok("repository"),
            Some("registry") => Ok("registry"),
            Some(other) => Err(ConfigError::BadType(other.to_owned())),
        };
        let pattern = match (get("repository"), &resource_type) {
            (Some(pattern), _) => Glob::compile(pattern),
            // `registry:catalog:*` is the only registry resource; a pattern adds nothing there.
            (None, Ok("registry")) => Glob::compile("**"),
            (None, _) => Err(ConfigError::MissingRepository),
        };
        let actions = get("actions").map_or(Err(ConfigError::MissingActions), Actions::parse);
        let subject = Subject::parse(mapper);
        match (resource_type, pattern, actions, subject) {
            (Ok(resource_type), Ok(pattern), Ok(actions), Ok(subject)) => Ok(Self {
                name: mapper.name.clone(),
                resource_type,
                pattern,
                actions,
                subject,
            }),
            (t, p, a, s) => Err([t.err(), p.err(), a.err(), s.err()]
                .into_iter()
                .flatten()
                .collect()),
        }
    }

    /// `Ok` when the rule applies to this request, else why not: the resource type first,
    /// then the subject, then the name.
    fn judge(&self, user: Option<&ResolvedUser>, scope: &ResourceScope) -> Result<(), Why> {
        if scope.resource_type != self.resource_type {
            return Err(Why::ResourceType);
        }
        self.subject.judge(user)?;
        let username = user.map(|u| u.username.as_str());
        if self.pattern.matches(&scope.name, username) {
            return Ok(());
        }
        let usable = username.is_some_and(is_path_component);
        if self.pattern.uses_username() && !usable {
            return Err(Why::Username);
        }
        Err(Why::Pattern)
    }

    /// A miss spelled out, with this rule's role or group.
    fn miss(&self, why: Why) -> Miss {
        match (why, &self.subject) {
            (Why::Subject, Subject::Role(role)) => Miss::Role(role.clone()),
            (Why::Subject, Subject::Group(group)) => Miss::Group(group.clone()),
            (why, _) => why.into(),
        }
    }
}

/// A mapper as the protocol-neutral [`AccessRule`] the console shows; `None` for an invalid
/// mapper or one of another type. The allow-all mapper is every action on every repository
/// for every signed-in user.
pub fn describe(mapper: &ProtocolMapper) -> Option<AccessRule> {
    let (resource_type, pattern, actions, subject) = match mapper.mapper_type.as_str() {
        ALLOW_ALL_MAPPER => (
            "repository",
            "**".to_owned(),
            Actions::everything(),
            AccessSubject::Authenticated,
        ),
        REPOSITORY_ACCESS_MAPPER => {
            let rule = Rule::parse(mapper).ok()?;
            let pattern = mapper
                .config
                .get("repository")
                .map(|p| p.trim().to_owned())
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| "**".to_owned());
            let subject = match rule.subject {
                Subject::Role(role) => AccessSubject::Role(role),
                Subject::Group(group) => AccessSubject::Group(group),
                Subject::Authenticated => AccessSubject::Authenticated,
                Subject::Anonymous => AccessSubject::Anonymous,
            };
            (rule.resource_type, pattern, rule.actions, subject)
        }
        _ => return None,
    };
    Some(AccessRule {
        mapper_id: mapper.id.clone(),
        name: mapper.name.clone(),
        resource_type: resource_type.to_owned(),
        pattern,
        actions: actions.names(),
        subject,
    })
}

/// The `docker-v2-repository-access-mapper` that stores `rule` (its name, or one made from the
/// pattern and subject when it has none).
pub fn mapper_for(rule: &AccessRule) -> ProtocolMapper {
    let mut config = std::collections::BTreeMap::new();
    config.insert("type".to_owned(), rule.resource_type.clone());
    config.insert("repository".to_owned(), rule.pattern.clone());
    config.insert("actions".to_owned(), rule.actions.join(","));
    let (key, value) = match &rule.subject {
        AccessSubject::Role(role) => ("role", role.clone()),
        AccessSubject::Group(group) => ("group", group.clone()),
        AccessSubject::Authenticated => ("subject", "authenticated".to_owned()),
        AccessSubject::Anonymous => ("subject", "anonymous".to_owned()),
    };
    config.insert(key.to_owned(), value);
    let name = if rule.name.trim().is_empty() {
        format!(
            "{} {} for {}",
            rule.actions.join(","),
            rule.pattern,
            rule.subject
        )
    } else {
        rule.name.clone()
    };
    ProtocolMapper {
        id: rule.mapper_id.clone(),
        name,
        protocol: crate::PROTOCOL.to_owned(),
        mapper_type: REPOSITORY_ACCESS_MAPPER.to_owned(),
        config,
    }
}

/// A piece of a compiled pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Byte(u8),
    /// `*`: any run of bytes other than `/`.
    Star,
    /// `**`: any run of bytes, `/` included.
    DoubleStar,
    /// `${username}`, matched literally (never as a pattern).
    Username,
}

/// A repository-name glob. A `**` that is a whole path segment may also match zero segments
/// (`team/**` matches `team`, `a/**/b` matches `a/b`): each such segment yields a variant
/// without it, so matching stays a linear scan per variant.
#[derive(Debug, Clone)]
pub(crate) struct Glob {
    variants: Vec<Vec<Token>>,
}

impl Glob {
    pub(crate) fn compile(pattern: &str) -> Result<Self, ConfigError> {
        if pattern
            .replace(USERNAME_PLACEHOLDER, "")
            .contains(['$', '{', '}'])
        {
            return Err(ConfigError::BadPlaceholder(pattern.to_owned()));
        }
        let segments: Vec<&str> = pattern.split('/').collect();
        let deep: Vec<usize> = (0..segments.len())
            .filter(|&i| segments[i] == "**" && segments.len() > 1)
            .collect();
        if deep.len() > MAX_DEEP_SEGMENTS {
            return Err(ConfigError::TooManyDeepSegments(pattern.to_owned()));
        }
        let mut variants = Vec::new();
        for mask in 0u32..(1 << deep.len()) {
            let kept: Vec<&str> = (0..segments.len())
                .filter(|i| {
                    deep.iter()
                        .position(|d| d == i)
                        .is_none_or(|bit| mask & (1 << bit) == 0)
                })
                .map(|i| segments[i])
                .collect();
            if !kept.is_empty() {
                variants.push(tokenize(&kept.join("/")));
            }
        }
        Ok(Self { variants })
    }

    /// Whether the pattern names `${username}`.
    fn uses_username(&self) -> bool {
        self.variants
            .iter()
            .any(|tokens| tokens.contains(&Token::Username))
    }

    /// Whether `name` matches; a pattern using `${username}` never matches without a user, nor
    /// for a username that is not one repository path component: user `team-a/evil` must not
    /// get `users/${username}/**` as `users/team-a/evil/**`, and `..` or `*` are not names.
    pub(crate) fn matches(&self, name: &str, username: Option<&str>) -> bool {
        let username = username.filter(|u| is_path_component(u)).map(str::as_bytes);
        self.variants
            .iter()
            .any(|tokens| match_tokens(tokens, name.as_bytes(), username))
    }
}

/// One path component of a repository name, by the distribution reference grammar:
/// `[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*`.
fn is_path_component(value: &str) -> bool {
    let bytes = value.as_bytes();
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let mut i = 0;
    loop {
        let start = i;
        while i < bytes.len() && alnum(&bytes[i]) {
            i += 1;
        }
        if i == start {
            return false;
        }
        if i == bytes.len() {
            return true;
        }
        let separator = bytes[i..]
            .iter()
            .take_while(|b| matches!(b, b'.' | b'_' | b'-'))
            .count();
        let run = &bytes[i..i + separator];
        let valid = run == b"." || run == b"_" || run == b"__" || run.iter().all(|b| *b == b'-');
        if !valid {
            return false;
        }
        i += separator;
    }
}

fn tokenize(pattern: &str) -> Vec<Token> {
    let bytes = pattern.as_bytes();
    let mut tokens = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i..].starts_with(USERNAME_PLACEHOLDER.as_bytes()) {
            tokens.push(Token::Username);
            i += USERNAME_PLACEHOLDER.len();
        } else if bytes[i] == b'*' {
            let run = bytes[i..].iter().take_while(|b| **b == b'*').count();
            tokens.push(if run > 1 {
                Token::DoubleStar
            } else {
                Token::Star
            });
            i += run;
        } else {
            tokens.push(Token::Byte(bytes[i]));
            i += 1;
        }
    }
    tokens
}

/// Dynamic programming over (token, name prefix): O(tokens × name) however many stars.
fn match_tokens(tokens: &[Token], name: &[u8], username: Option<&[u8]>) -> bool {
    let n = name.len();
    // reach[j]: the tokens so far match name[..j].
    let mut reach = vec![false; n + 1];
    reach[0] = true;
    for token in tokens {
        let mut next = vec![false; n + 1];
        match token {
            Token::Byte(b) => {
                for j in 1..=n {
                    next[j] = reach[j - 1] && name[j - 1] == *b;
                }
            }
            Token::Star | Token::DoubleStar => {
                let crosses = *token == Token::DoubleStar;
                next[0] = reach[0];
                for j in 1..=n {
                    next[j] = reach[j] || (next[j - 1] && (crosses || name[j - 1] != b'/'));
                }
            }
            Token::Username => {
                let Some(user) = username else {
                    return false;
                };
                let len = user.len();
                for j in len..=n {
                    next[j] = reach[j - len] && &name[j - len..j] == user;
                }
            }
        }
        reach = next;
    }
    reach[n]
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn mapper(mapper_type: &str, config: &[(&str, &str)]) -> ProtocolMapper {
        ProtocolMapper {
            id: format!("id-{}", config.len()),
            name: "rule".into(),
            protocol: "docker-v2".into(),
            mapper_type: mapper_type.into(),
            config: config
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<BTreeMap<_, _>>(),
        }
    }

    fn rule(config: &[(&str, &str)]) -> ProtocolMapper {
        mapper(REPOSITORY_ACCESS_MAPPER, config)
    }

    /// A rule with the common keys: `r("team/*", "pull", "role=dev")`.
    fn r(repository: &str, actions: &str, subject: &str) -> ProtocolMapper {
        let (key, value) = subject.split_once('=').expect("key=value");
        rule(&[
            ("repository", repository),
            ("actions", actions),
            (key, value),
        ])
    }

    fn user(username: &str, roles: &[&str], groups: &[&str]) -> ResolvedUser {
        ResolvedUser {
            id: format!("id-{username}"),
            username: username.into(),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            group_paths: groups.iter().map(|g| (*g).to_owned()).collect(),
            ..ResolvedUser::default()
        }
    }

    fn scope(text: &str) -> ResourceScope {
        crate::scope::parse_item(text).expect("test scope parses")
    }

    fn set(actions: &str) -> BTreeSet<String> {
        actions
            .split(',')
            .filter(|a| !a.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// Every row: (mappers, user, requested scope, expected granted actions).
    #[test]
    fn design_section_5() {
        let alice = user(
            "alice",
            &["dev", "registry.admin"],
            &["/eng", "/eng/platform"],
        );
        let bob = user("bob", &["ops"], &["/sales"]);
        let team_rw = r("team-a/*", "pull,push", "role=dev");
        type Row<'a> = (
            &'a str,
            Vec<ProtocolMapper>,
            Option<&'a ResolvedUser>,
            &'a str,
            &'a str,
        );
        #[rustfmt::skip]
        let rows: Vec<Row> = vec![
            // allow-all: authenticated users get what they ask, anonymous get nothing from it
            ("allow-all echoes", vec![mapper(ALLOW_ALL_MAPPER, &[])], Some(&bob), "repository:x/y:pull,push,delete", "delete,pull,push"),
            ("allow-all echoes *", vec![mapper(ALLOW_ALL_MAPPER, &[])], Some(&bob), "registry:catalog:*", "*"),
            ("allow-all echoes unknown", vec![mapper(ALLOW_ALL_MAPPER, &[])], Some(&bob), "repository:x:custom", "custom"),
            ("allow-all not anonymous", vec![mapper(ALLOW_ALL_MAPPER, &[])], None, "repository:x:pull", ""),
            ("no mappers", vec![], Some(&alice), "repository:x:pull", ""),
            // role subject, intersection
            ("role match", vec![team_rw.clone()], Some(&alice), "repository:team-a/api:push,pull", "pull,push"),
            ("role missing", vec![team_rw.clone()], Some(&bob), "repository:team-a/api:pull", ""),
            ("anonymous lacks role", vec![team_rw.clone()], None, "repository:team-a/api:pull", ""),
            ("intersection", vec![team_rw.clone()], Some(&alice), "repository:team-a/api:pull,delete", "pull"),
            ("client role", vec![r("**", "delete", "role=registry.admin")], Some(&alice), "repository:a/b/c:delete", "delete"),
            ("client role unqualified does not match", vec![r("**", "delete", "role=admin")], Some(&alice), "repository:a:delete", ""),
            // globs
            ("* stays in a segment", vec![team_rw.clone()], Some(&alice), "repository:team-a/api/v2:pull", ""),
            ("* partial segment", vec![r("team-*/api", "pull", "role=dev")], Some(&alice), "repository:team-b/api:pull", "pull"),
            ("* not across /", vec![r("team-*", "pull", "role=dev")], Some(&alice), "repository:team-b/api:pull", ""),
            ("** crosses segments", vec![r("team-a/**", "pull", "role=dev")], Some(&alice), "repository:team-a/x/y/z:pull", "pull"),
            ("trailing /** matches the prefix itself", vec![r("team-a/**", "pull", "role=dev")], Some(&alice), "repository:team-a:pull", "pull"),
            ("/** does not match a longer segment", vec![r("team-a/**", "pull", "role=dev")], Some(&alice), "repository:team-ab/x:pull", ""),
            ("leading **/", vec![r("**/base", "pull", "role=dev")], Some(&alice), "repository:base:pull", "pull"),
            ("middle /**/", vec![r("a/**/z", "pull", "role=dev")], Some(&alice), "repository:a/z:pull", "pull"),
            ("middle /**/ deep", vec![r("a/**/z", "pull", "role=dev")], Some(&alice), "repository:a/b/c/z:pull", "pull"),
            ("exact name", vec![r("lib/alpine", "pull", "role=dev")], Some(&alice), "repository:lib/alpine:pull", "pull"),
            ("exact name mismatch", vec![r("lib/alpine", "pull", "role=dev")], Some(&alice), "repository:lib/alpine2:pull", ""),
            ("host:port name", vec![r("localhost:5000/**", "pull", "role=dev")], Some(&alice), "repository:localhost:5000/a/b:pull", "pull"),
            // ${username}
            ("username home", vec![r("users/${username}/**", "*", "subject=authenticated")], Some(&alice), "repository:users/alice/tool:pull,push", "pull,push"),
            ("other user's home", vec![r("users/${username}/**", "*", "subject=authenticated")], Some(&bob), "repository:users/alice/tool:pull", ""),
            ("username prefix", vec![r("${username}-*", "pull", "subject=authenticated")], Some(&bob), "repository:bob-tools:pull", "pull"),
            ("username never for anonymous", vec![r("${username}**", "pull", "subject=anonymous")], None, "repository:x:pull", ""),
            // push implies pull
            ("push implies pull", vec![r("x", "push", "role=dev")], Some(&alice), "repository:x:pull", "pull"),
            ("pull does not imply push", vec![r("x", "pull", "role=dev")], Some(&alice), "repository:x:push,pull", "pull"),
            // groups
            ("group direct", vec![r("x", "pull", "group=/eng/platform")], Some(&alice), "repository:x:pull", "pull"),
            ("group via subgroup", vec![r("x", "pull", "group=/eng")], Some(&alice), "repository:x:pull", "pull"),
            ("group without slash", vec![r("x", "pull", "group=eng")], Some(&alice), "repository:x:pull", "pull"),
            ("not in group", vec![r("x", "pull", "group=/eng")], Some(&bob), "repository:x:pull", ""),
            ("group not anonymous", vec![r("x", "pull", "group=/eng")], None, "repository:x:pull", ""),
            // subject
            ("authenticated", vec![r("x", "pull", "subject=authenticated")], Some(&bob), "repository:x:pull", "pull"),
            ("authenticated not anonymous", vec![r("x", "pull", "subject=authenticated")], None, "repository:x:pull", ""),
            ("anonymous rule, anonymous user", vec![r("public/*", "pull", "subject=anonymous")], None, "repository:public/a:pull,push", "pull"),
            ("anonymous rule covers signed-in users", vec![r("public/*", "pull", "subject=anonymous")], Some(&bob), "repository:public/a:pull", "pull"),
            // type
            ("repository rule not for registry", vec![r("**", "*", "role=dev")], Some(&alice), "registry:catalog:*", ""),
            ("catalog", vec![rule(&[("type", "registry"), ("repository", "catalog"), ("actions", "*"), ("role", "ops")])], Some(&bob), "registry:catalog:*", "*"),
            ("catalog without pattern", vec![rule(&[("type", "registry"), ("actions", "*"), ("role", "ops")])], Some(&bob), "registry:catalog:*", "*"),
            ("registry rule not for repositories", vec![rule(&[("type", "registry"), ("actions", "*"), ("role", "ops")])], Some(&bob), "repository:catalog:pull", ""),
            ("unknown scope type", vec![r("**", "*", "role=dev")], Some(&alice), "plugin:x:pull", ""),
            // * semantics
            ("* requested, * held", vec![r("x", "*", "role=dev")], Some(&alice), "repository:x:*", "*"),
            ("* requested expands", vec![r("x", "pull,delete", "role=dev")], Some(&alice), "repository:x:*", "delete,pull"),
            ("* requested expands push", vec![r("x", "push", "role=dev")], Some(&alice), "repository:x:*", "pull,push"),
            ("pull requested, * held", vec![r("x", "*", "role=dev")], Some(&alice), "repository:x:pull", "pull"),
            ("pull+* requested, pull held", vec![r("x", "pull", "role=dev")], Some(&alice), "repository:x:pull,*", "pull"),
            ("catalog * with pull only", vec![rule(&[("type", "registry"), ("actions", "pull"), ("role", "ops")])], Some(&bob), "registry:catalog:*", "pull"),
            ("empty request", vec![r("x", "*", "role=dev")], Some(&alice), "repository:x:", ""),
            // union over rules
            (
                "union",
                vec![r("x", "pull", "subject=anonymous"), r("x", "delete", "group=/eng"), r("y", "push", "role=dev")],
                Some(&alice),
                "repository:x:pull,push,delete",
                "delete,pull",
            ),
            // invalid rules grant nothing, valid ones still apply
            ("two subjects grant nothing", vec![rule(&[("repository", "x"), ("actions", "pull"), ("role", "dev"), ("group", "/eng")])], Some(&alice), "repository:x:pull", ""),
            ("no subject grants nothing", vec![rule(&[("repository", "x"), ("actions", "pull")])], Some(&alice), "repository:x:pull", ""),
            ("unknown action grants nothing", vec![r("x", "pull,fly", "role=dev")], Some(&alice), "repository:x:pull", ""),
            ("bad type grants nothing", vec![rule(&[("type", "repo"), ("repository", "x"), ("actions", "pull"), ("role", "dev")])], Some(&alice), "repository:x:pull", ""),
            ("invalid beside valid", vec![rule(&[("repository", "x"), ("actions", "delete")]), r("x", "pull", "role=dev")], Some(&alice), "repository:x:pull,delete", "pull"),
            ("unknown mapper type ignored", vec![mapper("oidc-usermodel-attribute-mapper", &[])], Some(&alice), "repository:x:pull", ""),
        ];
        for (label, mappers, who, requested, expected) in rows {
            let requested = scope(requested);
            let expected = set(expected);
            let mut forward = mappers.clone();
            for order in 0..2 {
                let policy = Policy::compile("registry", &forward);
                assert_eq!(
                    policy.grant(who, &requested),
                    expected,
                    "{label} (order {order})"
                );
                forward.reverse();
            }
        }
    }

    #[test]
    fn validate_reports_every_problem() {
        #[rustfmt::skip]
        let rows: Vec<(ProtocolMapper, Vec<ConfigError>)> = vec![
            (mapper(ALLOW_ALL_MAPPER, &[]), vec![]),
            (rule(&[("repository", "x"), ("actions", "pull"), ("role", "dev")]), vec![]),
            (rule(&[("type", "registry"), ("actions", "*"), ("subject", "authenticated")]), vec![]),
            (rule(&[("repository", "x"), ("actions", "pull"), ("role", "dev"), ("group", "")]), vec![]),
            (rule(&[("repository", "x"), ("actions", "pull"), ("role", "dev"), ("subject", "anonymous")]), vec![ConfigError::ManySubjects("role and subject".into())]),
            (rule(&[("repository", "x"), ("actions", "pull")]), vec![ConfigError::NoSubject]),
            (rule(&[("repository", "x"), ("actions", "pull"), ("subject", "everyone")]), vec![ConfigError::BadSubject("everyone".into())]),
            (rule(&[("repository", "x"), ("actions", "pull,write"), ("role", "dev")]), vec![ConfigError::UnknownAction("write".into())]),
            (rule(&[("repository", "x"), ("actions", " , "), ("role", "dev")]), vec![ConfigError::MissingActions]),
            (rule(&[("type", "blob"), ("actions", "pull"), ("role", "dev")]), vec![ConfigError::BadType("blob".into()), ConfigError::MissingRepository]),
            (rule(&[("actions", "pull"), ("role", "dev")]), vec![ConfigError::MissingRepository]),
            (rule(&[("repository", "${user}/x"), ("actions", "pull"), ("role", "dev")]), vec![ConfigError::BadPlaceholder("${user}/x".into())]),
            (rule(&[("repository", "**/**/**/**/**/x"), ("actions", "pull"), ("role", "dev")]), vec![ConfigError::TooManyDeepSegments("**/**/**/**/**/x".into())]),
            (rule(&[]), vec![ConfigError::MissingRepository, ConfigError::MissingActions, ConfigError::NoSubject]),
            (mapper("hardcoded-claim", &[]), vec![ConfigError::UnknownMapperType("hardcoded-claim".into())]),
        ];
        for (mapper, expected) in rows {
            assert_eq!(validate(&mapper), expected, "{:?}", mapper.config);
        }
    }

    #[test]
    fn username_is_matched_literally() {
        let glob = Glob::compile("home/${username}").expect("valid");
        assert!(glob.matches("home/a.b", Some("a.b")));
        assert!(!glob.matches("home/axb", Some("a*b")));
        assert!(!glob.matches("home/anything", Some("**")));
        assert!(
            !glob.matches("home/**", Some("**")),
            "not a repository name"
        );
    }

    /// `${username}` stands for one repository path component only: a username that is not
    /// one (a slash, dots, upper case, a leading separator) makes the rule match nothing.
    #[test]
    fn usernames_expand_only_as_one_path_component() {
        let rows: &[(&str, bool)] = &[
            ("alice", true),
            ("a.b", true),
            ("a_b", true),
            ("a__b", true),
            ("a---b", true),
            ("x1", true),
            ("team-a/evil", false),
            ("..", false),
            (".", false),
            ("a..b", false),
            ("a___b", false),
            ("-a", false),
            ("a-", false),
            ("a.", false),
            ("", false),
            ("Alice", false),
            ("a b", false),
            ("a@b.test", false),
        ];
        let glob = Glob::compile("users/${username}/**").expect("valid");
        for (username, expands) in rows {
            assert_eq!(is_path_component(username), *expands, "{username:?}");
            let name = format!("users/{username}/tool");
            assert_eq!(
                glob.matches(&name, Some(username)),
                *expands,
                "{username:?}"
            );
        }
        let team = Glob::compile("${username}/**").expect("valid");
        assert!(!team.matches("team-a/evil/x", Some("team-a/evil")));
    }

    #[test]
    fn many_stars_stay_linear() {
        let glob = Glob::compile(&"*a".repeat(30)).expect("valid");
        let name = "a".repeat(4000) + "b";
        assert!(!glob.matches(&name, None));
        assert!(glob.matches(&"a".repeat(4000), None));
    }

    #[test]
    fn authorize_keeps_one_entry_per_resource() {
        let policy = Policy::compile(
            "registry",
            &[rule(&[
                ("repository", "a"),
                ("actions", "pull"),
                ("subject", "anonymous"),
            ])],
        );
        let scopes = crate::scope::parse_scopes(["repository:a:pull,push repository:b:pull"])
            .expect("valid");
        let granted = policy.authorize(None, &scopes);
        assert_eq!(granted.len(), 2);
        assert_eq!(granted[0].actions, set("pull"));
        assert_eq!(granted[1].name, "b");
        assert!(granted[1].actions.is_empty());
    }

    /// Roles reach rules through composites and group inheritance, as `resolve_user` computes.
    #[test]
    fn composites_and_group_roles_via_resolve_user() {
        use portcullis_core::model::{Group, Realm, RealmSnapshot, Role, User};
        let role = |id: &str, name: &str, client: Option<&str>, composites: &[&str]| Role {
            id: id.into(),
            name: name.into(),
            description: None,
            client_id: client.map(Into::into),
            composite_ids: composites.iter().map(|c| (*c).to_owned()).collect(),
        };
        let snapshot = RealmSnapshot {
            realm: Realm {
                id: "r".into(),
                name: "acme".into(),
                display_name: None,
                enabled: true,
                access_token_lifespan: 300,
                password_policy: Default::default(),
                attributes: BTreeMap::new(),
                ..Realm::default()
            },
            roles: vec![
                role("r-lead", "lead", None, &["r-pusher"]),
                role("r-pusher", "pusher", Some("registry"), &[]),
                role("r-reader", "reader", None, &[]),
            ],
            groups: vec![
                Group {
                    id: "g-eng".into(),
                    name: "eng".into(),
                    parent_id: None,
                    path: "/eng".into(),
                    role_ids: vec!["r-reader".into()],
                },
                Group {
                    id: "g-plat".into(),
                    name: "platform".into(),
                    parent_id: Some("g-eng".into()),
                    path: "/eng/platform".into(),
                    role_ids: vec![],
                },
            ],
            clients: vec![],
            client_scopes: Vec::new(),
            keys: vec![],
        };
        let carol = User {
            id: "u-carol".into(),
            username: "carol".into(),
            email: None,
            first_name: None,
            last_name: None,
            enabled: true,
            attributes: BTreeMap::new(),
            role_ids: vec!["r-lead".into()],
            group_ids: vec!["g-plat".into()],
            ..User::default()
        };
        let carol = portcullis_core::resolve::resolve_user(&snapshot, &carol);
        let policy = Policy::compile(
            "registry",
            &[
                rule(&[
                    ("repository", "team/*"),
                    ("actions", "push"),
                    ("role", "registry.pusher"),
                ]),
                rule(&[
                    ("repository", "docs/*"),
                    ("actions", "pull"),
                    ("role", "reader"),
                ]),
                rule(&[
                    ("repository", "eng/*"),
                    ("actions", "delete"),
                    ("group", "/eng"),
                ]),
            ],
        );
        let rows = [
            ("repository:team/api:push,pull", "pull,push"),
            ("repository:docs/a:pull,push", "pull"),
            ("repository:eng/x:delete,pull", "delete"),
            ("repository:other/x:pull", ""),
        ];
        for (requested, expected) in rows {
            assert_eq!(
                policy.grant(Some(&carol), &scope(requested)),
                set(expected),
                "{requested}"
            );
        }
    }

    /// A robot of `/eng/platform` gets its rules ∩ what a member of that group gets: the
    /// group's and its ancestors' roles and paths, not other groups', not what its own rules
    /// leave out even where a rule would grant it (its personal namespace).
    #[test]
    fn a_robot_gets_its_rules_intersected_with_a_members_rights() {
        use portcullis_core::model::{Group, RealmSnapshot, Role};
        use portcullis_core::robot::as_member;
        let snapshot = RealmSnapshot {
            realm: Default::default(),
            roles: vec![Role {
                id: "r-reader".into(),
                name: "reader".into(),
                description: None,
                client_id: None,
                composite_ids: vec![],
            }],
            groups: vec![
                Group {
                    id: "g-eng".into(),
                    name: "eng".into(),
                    parent_id: None,
                    path: "/eng".into(),
                    role_ids: vec!["r-reader".into()],
                },
                Group {
                    id: "g-plat".into(),
                    name: "platform".into(),
                    parent_id: Some("g-eng".into()),
                    path: "/eng/platform".into(),
                    role_ids: vec![],
                },
            ],
            clients: vec![],
            client_scopes: Vec::new(),
            keys: vec![],
        };
        let robot = as_member(&snapshot, "robot-id", "robot.ci", "g-plat");
        let policy = Policy::compile(
            "registry",
            &[
                rule(&[
                    ("repository", "platform/**"),
                    ("actions", "push"),
                    ("group", "/eng/platform"),
                ]),
                rule(&[
                    ("repository", "shared/**"),
                    ("actions", "pull"),
                    ("role", "reader"),
                ]),
                rule(&[
                    ("repository", "ops/**"),
                    ("actions", "push"),
                    ("group", "/ops"),
                ]),
                rule(&[
                    ("repository", "${username}/**"),
                    ("actions", "*"),
                    ("subject", "authenticated"),
                ]),
            ],
        );
        let restriction = Restriction {
            repositories: vec!["platform/**".into(), "shared/**".into()],
            actions: vec!["push".into()],
            ..Restriction::default()
        };
        let narrowing = Narrowing::compile(&restriction);
        let rows = [
            ("repository:platform/a/b:pull,push", "pull,push"),
            ("repository:shared/lib:pull,push", "pull"),
            ("repository:ops/x:pull,push", ""),
            ("repository:robot.ci/x:pull,push", ""),
        ];
        for (requested, expected) in rows {
            let granted = policy.authorize(Some(&robot), &[scope(requested)]);
            let narrowed = narrowing.narrow(&robot, granted);
            assert_eq!(narrowed[0].actions, set(expected), "{requested}");
        }
        // Without rules of its own it holds a member's rights, its own namespace included.
        let granted = policy.authorize(Some(&robot), &[scope("repository:robot.ci/x:push")]);
        let all = Narrowing::compile(&Restriction::default()).narrow(&robot, granted);
        assert_eq!(all[0].actions, set("push"));
    }
}

#[cfg(test)]
mod narrowing_tests {
    use super::*;

    fn scope(text: &str) -> ResourceScope {
        crate::scope::parse_item(text).expect("test scope parses")
    }

    /// (repositories, actions, granted by the owner's rights, left after narrowing).
    #[test]
    fn an_app_password_narrows_what_the_rights_grant() {
        let owner = ResolvedUser {
            username: "alice".into(),
            ..ResolvedUser::default()
        };
        #[rustfmt::skip]
        let rows: [(&[&str], &[&str], &str, &str); 11] = [
            (&[], &[], "repository:any/thing:pull,push", "pull,push"),
            (&[], &[], "registry:catalog:*", "*"),
            (&["platform/**"], &[], "repository:platform/a/b:pull,push", "pull,push"),
            (&["platform/**"], &[], "repository:other/a:pull,push", ""),
            (&["platform/**"], &[], "registry:catalog:*", ""),
            (&["platform/*"], &["pull"], "repository:platform/a:pull,push", "pull"),
            (&["platform/*"], &["push"], "repository:platform/a:pull,push,delete", "pull,push"),
            (&[], &["*"], "repository:x:pull,delete", "delete,pull"),
            (&["users/${username}/*"], &[], "repository:users/alice/app:pull", "pull"),
            (&["users/${username}/*"], &[], "repository:users/bob/app:pull", ""),
            // An invalid pattern matches nothing rather than everything.
            (&["a/${user}"], &[], "repository:a/x:pull", ""),
        ];
        for (repositories, actions, granted, left) in rows {
            let restriction = Restriction {
                repositories: repositories.iter().map(|r| (*r).to_owned()).collect(),
                actions: actions.iter().map(|a| (*a).to_owned()).collect(),
                ..Restriction::default()
            };
            let narrowed = Narrowing::compile(&restriction).narrow(&owner, vec![scope(granted)]);
            let expected: BTreeSet<String> = left
                .split(',')
                .filter(|a| !a.is_empty())
                .map(str::to_owned)
                .collect();
            assert_eq!(
                narrowed[0].actions, expected,
                "{repositories:?} {actions:?} {granted}"
            );
        }
    }
}

#[cfg(test)]
mod explain_tests {
    use std::collections::BTreeMap;

    use super::*;

    fn named(name: &str, config: &[(&str, &str)]) -> ProtocolMapper {
        ProtocolMapper {
            id: name.into(),
            name: name.into(),
            protocol: "docker-v2".into(),
            mapper_type: REPOSITORY_ACCESS_MAPPER.into(),
            config: config
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<BTreeMap<_, _>>(),
        }
    }

    fn set(actions: &[&str]) -> BTreeSet<String> {
        actions.iter().map(|a| (*a).to_owned()).collect()
    }

    /// Every rule's verdict is explained, with the reason of each miss, and the explanation's
    /// grant is exactly the token endpoint's.
    #[test]
    fn explanations_name_each_rule_and_agree_with_the_grant() {
        let mappers = vec![
            named(
                "writers",
                &[
                    ("repository", "team-a/**"),
                    ("actions", "push"),
                    ("role", "writer"),
                ],
            ),
            named(
                "team",
                &[
                    ("repository", "team-a/**"),
                    ("actions", "pull"),
                    ("group", "/team-a"),
                ],
            ),
            named(
                "homes",
                &[
                    ("repository", "users/${username}/**"),
                    ("actions", "*"),
                    ("subject", "authenticated"),
                ],
            ),
            named(
                "public",
                &[
                    ("repository", "public/**"),
                    ("actions", "pull"),
                    ("subject", "anonymous"),
                ],
            ),
            named(
                "catalog",
                &[("type", "registry"), ("actions", "*"), ("role", "admin")],
            ),
        ];
        let policy = Policy::compile("registry", &mappers);
        let alice = ResolvedUser {
            id: "a".into(),
            username: "alice".into(),
            roles: set(&["writer"]),
            group_paths: set(&[]),
            ..ResolvedUser::default()
        };
        let scopes =
            crate::scope::parse_scopes(["repository:team-a/api:pull,push"]).expect("valid");
        let explained = policy.explain(Some(&alice), &scopes);
        assert_eq!(explained.len(), 1);
        let e = &explained[0];
        assert_eq!(e.granted.actions, set(&["pull", "push"]));
        assert_eq!(
            vec![e.granted.clone()],
            policy.authorize(Some(&alice), &scopes)
        );
        let verdict = |name: &str| {
            e.rules
                .iter()
                .find(|v| v.rule == name)
                .map(|v| v.outcome.clone())
                .expect("every rule is judged")
        };
        assert_eq!(verdict("writers"), Outcome::Grants(set(&["pull", "push"])));
        assert_eq!(
            verdict("team"),
            Outcome::Misses(Miss::Group("/team-a".into()))
        );
        assert_eq!(verdict("homes"), Outcome::Misses(Miss::Pattern));
        assert_eq!(verdict("public"), Outcome::Misses(Miss::Pattern));
        assert_eq!(verdict("catalog"), Outcome::Misses(Miss::ResourceType));

        let anonymous = policy.explain(None, &scopes);
        assert!(anonymous[0].granted.actions.is_empty());
        assert_eq!(
            anonymous[0].rules[0].outcome,
            Outcome::Misses(Miss::Anonymous)
        );
        let odd = ResolvedUser {
            username: "a@b.test".into(),
            ..alice.clone()
        };
        let home = crate::scope::parse_scopes(["repository:users/a/x:pull"]).expect("valid");
        let explained = policy.explain(Some(&odd), &home);
        let homes = explained[0]
            .rules
            .iter()
            .find(|v| v.rule == "homes")
            .expect("judged");
        assert_eq!(homes.outcome, Outcome::Misses(Miss::Username));
        assert_eq!(
            Miss::Role("writer".into()).to_string(),
            "the user does not hold role writer"
        );
    }

    #[test]
    fn allow_all_is_explained_too() {
        let mut all = named("everyone", &[]);
        all.mapper_type = ALLOW_ALL_MAPPER.into();
        let policy = Policy::compile("registry", &[all]);
        let user = ResolvedUser::default();
        let scopes = crate::scope::parse_scopes(["repository:x:pull,delete"]).expect("valid");
        let explained = policy.explain(Some(&user), &scopes);
        assert_eq!(explained[0].granted.actions, set(&["delete", "pull"]));
        assert_eq!(explained[0].rules[0].rule, "everyone");
        assert!(policy.explain(None, &scopes)[0].granted.actions.is_empty());
    }
}
