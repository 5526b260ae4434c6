//! The `scope` grammar of the docker token protocol (distribution `docs/spec/auth/scope.md`).
//!
//! Clients send `scope` repeated, space-separated inside one value, or both, and they repeat
//! themselves (containers/image re-requests the same scope twice). A name may carry a
//! `host:port` first component, so an item is split at its *first* `:` (type) and its *last*
//! `:` (actions), never with a naive `split(':')` (reference §1.6, §5.3).

use std::collections::BTreeSet;
use std::fmt;

use serde::Serialize;

/// At most this many resource scopes (before merging) in one request.
pub const MAX_SCOPES: usize = 64;
/// At most this many bytes in one resource scope.
pub const MAX_SCOPE_BYTES: usize = 4096;
/// At most this many bytes over all `scope` values of one request.
pub const MAX_TOTAL_BYTES: usize = 16 * 1024;

/// Why a request's scopes were refused. Every variant means 400 `invalid_request`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    #[error("too many resource scopes (at most {MAX_SCOPES})")]
    TooMany,
    #[error("a resource scope is longer than {MAX_SCOPE_BYTES} bytes")]
    ScopeTooLong,
    #[error("the scope parameters are longer than {MAX_TOTAL_BYTES} bytes in total")]
    TotalTooLong,
    #[error("malformed scope {scope:?}: {reason}")]
    Malformed { scope: String, reason: &'static str },
}

/// One requested resource: its base type (`repository`, `registry`; any `(class)` removed), its
/// name, and the requested actions, sorted and without duplicates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResourceScope {
    #[serde(rename = "type")]
    pub resource_type: String,
    pub name: String,
    pub actions: BTreeSet<String>,
}

impl ResourceScope {
    /// The same resource with other actions (what a grant answers a request with).
    pub fn with_actions(&self, actions: BTreeSet<String>) -> ResourceScope {
        ResourceScope {
            resource_type: self.resource_type.clone(),
            name: self.name.clone(),
            actions,
        }
    }
}

impl fmt::Display for ResourceScope {
    /// `type:name:a,b`, the form the OAuth `scope` response field uses.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let actions: Vec<&str> = self.actions.iter().map(String::as_str).collect();
        write!(
            f,
            "{}:{}:{}",
            self.resource_type,
            self.name,
            actions.join(",")
        )
    }
}

/// Parses every `scope` value of a request into one entry per (type, name), in order of first
/// appearance, with the union of the actions asked for that resource.
pub fn parse_scopes<'a, I>(values: I) -> Result<Vec<ResourceScope>, ScopeError>
where
    I: IntoIterator<Item = &'a str>,
{
    let mut total = 0usize;
    let mut count = 0usize;
    let mut merged: Vec<ResourceScope> = Vec::new();
    for value in values {
        total = total.saturating_add(value.len());
        if total > MAX_TOTAL_BYTES {
            return Err(ScopeError::TotalTooLong);
        }
        for item in value.split(' ').filter(|s| !s.is_empty()) {
            count += 1;
            if count > MAX_SCOPES {
                return Err(ScopeError::TooMany);
            }
            merge(&mut merged, parse_item(item)?);
        }
    }
    Ok(merged)
}

/// Adds `scope` to `merged`, uniting actions with an existing entry for the same resource.
fn merge(merged: &mut Vec<ResourceScope>, scope: ResourceScope) {
    match merged
        .iter_mut()
        .find(|s| s.resource_type == scope.resource_type && s.name == scope.name)
    {
        Some(existing) => existing.actions.extend(scope.actions),
        None => merged.push(scope),
    }
}

/// Parses one `type:name:actions` item.
pub fn parse_item(item: &str) -> Result<ResourceScope, ScopeError> {
    if item.len() > MAX_SCOPE_BYTES {
        return Err(ScopeError::ScopeTooLong);
    }
    let malformed = |reason| ScopeError::Malformed {
        scope: item.to_owned(),
        reason,
    };
    let (first, last) = match (item.find(':'), item.rfind(':')) {
        (Some(first), Some(last)) if first < last => (first, last),
        _ => return Err(malformed("expected type:name:actions")),
    };
    let resource_type =
        base_type(&item[..first]).ok_or_else(|| malformed("invalid resource type"))?;
    let name = &item[first + 1..last];
    if !valid_name(name) {
        return Err(malformed("invalid resource name"));
    }
    let actions = parse_actions(&item[last + 1..]).ok_or_else(|| malformed("invalid action"))?;
    Ok(ResourceScope {
        resource_type: resource_type.to_owned(),
        name: name.to_owned(),
        actions,
    })
}

/// `repository` or `repository(plugin)` → `repository`: the class is deprecated and registries
/// ignore it when matching, so access is decided on the base type.
fn base_type(raw: &str) -> Option<&str> {
    let (base, class) = match raw.split_once('(') {
        Some((base, rest)) => (base, Some(rest.strip_suffix(')')?)),
        None => (raw, None),
    };
    let valid = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    };
    (valid(base) && class.is_none_or(valid)).then_some(base)
}

/// Comma-separated actions: `[a-z]+` words or `*`; empty items are dropped.
fn parse_actions(raw: &str) -> Option<BTreeSet<String>> {
    raw.split(',')
        .filter(|a| !a.is_empty())
        .map(|a| (a == "*" || a.bytes().all(|b| b.is_ascii_lowercase())).then(|| a.to_owned()))
        .collect()
}

/// `[hostname '/'] component ['/' component]*`.
fn valid_name(name: &str) -> bool {
    let mut segments = name.split('/');
    let Some(first) = segments.next() else {
        return false;
    };
    let rest: Vec<&str> = segments.collect();
    let first_ok = valid_component(first) || (!rest.is_empty() && valid_hostname(first));
    first_ok && rest.iter().all(|s| valid_component(s))
}

/// `alpha-numeric [separator alpha-numeric]*` with `[a-z0-9]+` runs and separators `_`, `.`,
/// `__` or one or more `-`.
fn valid_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !bytes.first().is_some_and(alnum) || !bytes.last().is_some_and(alnum) {
        return false;
    }
    let mut separator = String::new();
    for &b in bytes {
        if alnum(&b) {
            if !valid_separator(&separator) {
                return false;
            }
            separator.clear();
        } else {
            separator.push(char::from(b));
        }
    }
    true
}

fn valid_separator(separator: &str) -> bool {
    matches!(separator, "" | "_" | "." | "__") || separator.bytes().all(|b| b == b'-')
}

/// `hostcomponent ['.' hostcomponent]* [':' port]`.
fn valid_hostname(host: &str) -> bool {
    let (host, port) = match host.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (host, None),
    };
    let port_ok =
        port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()));
    port_ok && host.split('.').all(valid_host_component)
}

fn valid_host_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let edge = |b: &u8| b.is_ascii_alphanumeric();
    bytes.first().is_some_and(edge)
        && bytes.last().is_some_and(edge)
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actions(list: &[&str]) -> BTreeSet<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    /// (input, Some((type, name, actions))) for valid items, None for malformed ones.
    #[test]
    fn items() {
        type Row = (
            &'static str,
            Option<(&'static str, &'static str, &'static [&'static str])>,
        );
        #[rustfmt::skip]
        let rows: &[Row] = &[
            ("repository:foo:pull", Some(("repository", "foo", &["pull"]))),
            ("repository:a/b:pull,push", Some(("repository", "a/b", &["pull", "push"]))),
            ("repository:a/b:push,pull", Some(("repository", "a/b", &["pull", "push"]))),
            ("repository:a/b:pull,pull", Some(("repository", "a/b", &["pull"]))),
            ("repository:a/b:*", Some(("repository", "a/b", &["*"]))),
            ("repository:a/b:push,pull,delete", Some(("repository", "a/b", &["delete", "pull", "push"]))),
            ("registry:catalog:*", Some(("registry", "catalog", &["*"]))),
            ("repository(plugin):x:pull", Some(("repository", "x", &["pull"]))),
            ("repository:localhost:5000/foo/bar:pull", Some(("repository", "localhost:5000/foo/bar", &["pull"]))),
            ("repository:registry.example.test:443/team/api:pull,push", Some(("repository", "registry.example.test:443/team/api", &["pull", "push"]))),
            ("repository:Registry.Example.test/team:pull", Some(("repository", "Registry.Example.test/team", &["pull"]))),
            ("repository:foo:", Some(("repository", "foo", &[]))),
            ("repository:foo:,", Some(("repository", "foo", &[]))),
            ("repository:foo:pull,,push,", Some(("repository", "foo", &["pull", "push"]))),
            ("repository:foo:custom", Some(("repository", "foo", &["custom"]))),
            ("repository:a.b_c__d---e/f-g:pull", Some(("repository", "a.b_c__d---e/f-g", &["pull"]))),
            ("repository:0/1/2/3:pull", Some(("repository", "0/1/2/3", &["pull"]))),
            ("v2type:x:pull", Some(("v2type", "x", &["pull"]))),
            // malformed
            ("repository:foo", None),
            ("repository", None),
            ("", None),
            ("::", None),
            (":foo:pull", None),
            ("repository::pull", None),
            ("Repository:foo:pull", None),
            ("repo-sitory:foo:pull", None),
            ("repository(:foo:pull", None),
            ("repository(plugin:foo:pull", None),
            ("repository(Plugin):foo:pull", None),
            ("repository():foo:pull", None),
            ("repository:Foo:pull", None),
            ("repository:foo/:pull", None),
            ("repository:/foo:pull", None),
            ("repository:foo//bar:pull", None),
            ("repository:-foo:pull", None),
            ("repository:foo-:pull", None),
            ("repository:foo_-bar:pull", None),
            ("repository:foo___bar:pull", None),
            ("repository:foo..bar:pull", None),
            ("repository:localhost:5000:pull", None),
            ("repository:localhost:/foo:pull", None),
            ("repository:host:123456/foo:pull", None),
            ("repository:host:port/foo:pull", None),
            ("repository:-host/foo:pull", None),
            ("repository:foo:PULL", None),
            ("repository:foo:pu ll", None),
            ("repository:foo:pull;push", None),
            ("repository:foo:**", None),
            ("repository:foo bar:pull", None),
            ("repository:föö:pull", None),
        ];
        for (input, expected) in rows {
            let got = parse_item(input);
            match expected {
                Some((t, n, a)) => {
                    let got = got.unwrap_or_else(|e| panic!("{input:?}: {e}"));
                    assert_eq!(got.resource_type, *t, "{input:?}");
                    assert_eq!(got.name, *n, "{input:?}");
                    assert_eq!(got.actions, actions(a), "{input:?}");
                }
                None => assert!(
                    matches!(got, Err(ScopeError::Malformed { .. })),
                    "{input:?} should be malformed, got {got:?}"
                ),
            }
        }
    }

    #[test]
    fn repeated_space_separated_and_duplicates_merge() {
        let values = [
            "repository:foo/bob:pull,push repository:foo/bar:pull",
            "repository:foo/bar:pull",
            "repository:foo/bob:delete  repository(plugin):foo/bar:push",
            "",
        ];
        let got = parse_scopes(values).expect("valid");
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].name, "foo/bob");
        assert_eq!(got[0].actions, actions(&["delete", "pull", "push"]));
        assert_eq!(got[1].name, "foo/bar");
        assert_eq!(got[1].actions, actions(&["pull", "push"]));
        assert_eq!(got[0].to_string(), "repository:foo/bob:delete,pull,push");
    }

    #[test]
    fn no_scope_is_an_empty_list() {
        assert_eq!(parse_scopes([]), Ok(vec![]));
        assert_eq!(parse_scopes([" "]), Ok(vec![]));
    }

    #[test]
    fn malformed_error_names_the_scope() {
        let err = parse_scopes(["repository:ok:pull", "garbage"]).unwrap_err();
        assert!(err.to_string().contains("\"garbage\""), "{err}");
    }

    #[test]
    fn bounds() {
        let one = "repository:a:pull";
        let at_limit = vec![one; MAX_SCOPES];
        assert_eq!(parse_scopes(at_limit).map(|v| v.len()), Ok(1));
        let over = vec![one; MAX_SCOPES + 1];
        assert_eq!(parse_scopes(over), Err(ScopeError::TooMany));
        let joined = vec![one; MAX_SCOPES + 1].join(" ");
        assert_eq!(parse_scopes([joined.as_str()]), Err(ScopeError::TooMany));

        let long_name = format!("repository:{}:pull", "a".repeat(MAX_SCOPE_BYTES));
        assert_eq!(
            parse_scopes([long_name.as_str()]),
            Err(ScopeError::ScopeTooLong)
        );
        let fits = format!("repository:{}:pull", "a".repeat(MAX_SCOPE_BYTES - 16));
        assert!(parse_scopes([fits.as_str()]).is_ok());

        let big = format!("repository:{}:pull", "a".repeat(4000));
        let values = vec![big.as_str(); 5];
        assert_eq!(parse_scopes(values), Err(ScopeError::TotalTooLong));
    }
}
