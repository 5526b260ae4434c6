//! Claim paths, as Keycloak's broker mappers write them: `groups`, `address.locality`, a dot
//! inside a name escaped as `\.` (`https://example\.com/roles`). Arrays along the way are
//! walked element by element, so `orgs.name` over `[{"name": "a"}, {"name": "b"}]` gives both.

use serde_json::Value;

/// The segments of a claim path; `None` for an empty path or an empty segment.
pub fn segments(path: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = path.trim().chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'.') => {
                current.push('.');
                chars.next();
            }
            '.' => out.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    out.push(current);
    if out.iter().any(String::is_empty) {
        return None;
    }
    Some(out)
}

/// The values a claim path reaches, as strings: strings as they are, numbers and booleans in
/// their JSON spelling, arrays flattened; objects and nulls are left out.
pub fn values(claims: &Value, path: &str) -> Vec<String> {
    let Some(segments) = segments(path) else {
        return Vec::new();
    };
    let mut nodes = vec![claims];
    for segment in &segments {
        let mut next = Vec::new();
        for node in nodes {
            collect_member(node, segment, &mut next);
        }
        nodes = next;
    }
    let mut out = Vec::new();
    for node in nodes {
        scalars(node, &mut out, 0);
    }
    out
}

/// The first value a claim path reaches.
pub fn first(claims: &Value, path: &str) -> Option<String> {
    values(claims, path).into_iter().next()
}

/// The boolean at a claim path: `true`, or the string `"true"` (some providers send
/// strings). Anything else, absence included, is false.
pub fn flag(claims: &Value, path: &str) -> bool {
    let Some(segments) = segments(path) else {
        return false;
    };
    let mut node = claims;
    for segment in &segments {
        match node.get(segment) {
            Some(next) => node = next,
            None => return false,
        }
    }
    match node {
        Value::Bool(b) => *b,
        Value::String(s) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

fn collect_member<'a>(node: &'a Value, name: &str, out: &mut Vec<&'a Value>) {
    match node {
        Value::Object(map) => out.extend(map.get(name)),
        Value::Array(items) => {
            for item in items {
                if let Value::Object(map) = item {
                    out.extend(map.get(name));
                }
            }
        }
        _ => {}
    }
}

/// Arrays nest at most this deep before the rest is ignored.
const MAX_DEPTH: usize = 8;

fn scalars(node: &Value, out: &mut Vec<String>, depth: usize) {
    match node {
        Value::String(s) => out.push(s.clone()),
        Value::Number(n) => out.push(n.to_string()),
        Value::Bool(b) => out.push(b.to_string()),
        Value::Array(items) if depth < MAX_DEPTH => {
            for item in items {
                scalars(item, out, depth + 1);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn splits_paths_with_escaped_dots() {
        let rows: &[(&str, Option<&[&str]>)] = &[
            ("groups", Some(&["groups"])),
            ("address.locality", Some(&["address", "locality"])),
            (
                r"https://example\.com/roles",
                Some(&["https://example.com/roles"]),
            ),
            (r"a\.b.c", Some(&["a.b", "c"])),
            (r"a\b", Some(&[r"a\b"])),
            ("", None),
            ("a..b", None),
            (".a", None),
            ("a.", None),
        ];
        for (path, want) in rows {
            let got = segments(path);
            let want = want.map(|w| w.iter().map(|s| s.to_string()).collect::<Vec<_>>());
            assert_eq!(got, want, "{path:?}");
        }
    }

    #[test]
    fn reads_values_at_paths() {
        let claims = json!({
            "sub": "u1",
            "groups": ["platform", "/eng/web", 7],
            "email_verified": true,
            "address": {"locality": "Lyon"},
            "orgs": [{"name": "acme"}, {"name": "beta"}, {"other": 1}],
            "realm_access": {"roles": ["dev", "ops"]},
            "https://example.com/roles": ["admin"],
            "nested": [["a", ["b"]]],
            "nothing": null,
            "object": {"a": 1},
            "verified_text": "TRUE",
        });
        let rows: &[(&str, &[&str])] = &[
            ("sub", &["u1"]),
            ("groups", &["platform", "/eng/web", "7"]),
            ("email_verified", &["true"]),
            ("address.locality", &["Lyon"]),
            ("orgs.name", &["acme", "beta"]),
            ("realm_access.roles", &["dev", "ops"]),
            (r"https://example\.com/roles", &["admin"]),
            ("nested", &["a", "b"]),
            ("nothing", &[]),
            ("object", &[]),
            ("missing", &[]),
            ("sub.deeper", &[]),
            ("", &[]),
        ];
        for (path, want) in rows {
            assert_eq!(values(&claims, path), *want, "{path:?}");
        }
        assert_eq!(first(&claims, "groups").as_deref(), Some("platform"));
        assert!(flag(&claims, "email_verified"));
        assert!(flag(&claims, "verified_text"));
        assert!(!flag(&claims, "sub"));
        assert!(!flag(&claims, "missing"));
    }
}
