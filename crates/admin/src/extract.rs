//! Request bodies and query strings, with Keycloak's answers to bad ones instead of axum's.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::marker::PhantomData;

use crate::error::AdminError;
use crate::rep::known::{self, Kind};

/// The largest body read: whole realm exports arrive through `POST /admin/realms` and
/// `partialImport`.
const BODY_LIMIT: usize = 64 * 1024 * 1024;

/// A JSON body, whatever the `Content-Type`; anything that does not parse into `T` is 400
/// `{"error":"invalid_request","error_description":"Cannot parse the JSON"}`.
#[derive(Debug)]
pub struct AdminJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for AdminJson<T> {
    type Rejection = AdminError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::to_bytes(req.into_body(), BODY_LIMIT)
            .await
            .map_err(|_| AdminError::TooLarge)?;
        serde_json::from_slice(&bytes)
            .map(AdminJson)
            .map_err(|_| AdminError::unparsable())
    }
}

/// A body read as Keycloak's representation `K`: JSON (whatever the `Content-Type`) whose
/// properties, at every depth the check knows, are ones `K` has; anything else is refused
/// before a handler runs, so nothing of such a body is ever stored.
#[derive(Debug)]
pub struct Rep<K>(pub Value, pub PhantomData<K>);

impl<S: Send + Sync, K: Kind> FromRequest<S> for Rep<K> {
    type Rejection = AdminError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let AdminJson(body) = AdminJson::<Value>::from_request(req, state).await?;
        known::check(K::SCHEMA, &body)?;
        Ok(Rep(body, PhantomData))
    }
}

/// The query string as ordered pairs (repeated keys allowed, as in `operationTypes`).
#[derive(Debug, Default, Clone)]
pub struct Params(Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = AdminError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        let pairs = serde_urlencoded::from_str(query).map_err(|_| AdminError::InvalidRequest {
            error: "invalid_request",
            description: "Cannot parse the query string".into(),
        })?;
        Ok(Params(pairs))
    }
}

impl Params {
    #[cfg(test)]
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Self {
        Params(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    /// The first value of `name`; an empty value counts as absent, as JAX-RS treats it.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// Every non-empty value of `name`.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// `true`/`false` (any case); anything else is a 400.
    pub fn flag(&self, name: &str) -> Result<Option<bool>, AdminError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(v) => Err(bad_param(name, v)),
        }
    }

    pub fn flag_or(&self, name: &str, default: bool) -> Result<bool, AdminError> {
        Ok(self.flag(name)?.unwrap_or(default))
    }

    /// A non-negative integer; negative values count as absent (Keycloak ignores them).
    pub fn number(&self, name: &str) -> Result<Option<u64>, AdminError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => match v.trim().parse::<i64>() {
                Ok(n) if n >= 0 => Ok(Some(n as u64)),
                Ok(_) => Ok(None),
                Err(_) => Err(bad_param(name, v)),
            },
        }
    }

    /// `first` and `max`; `max` defaults to `default_max` (None: everything).
    pub fn page(
        &self,
        default_max: Option<u64>,
    ) -> Result<portcullis_store::admin::Page, AdminError> {
        Ok(portcullis_store::admin::Page {
            first: self.number("first")?.unwrap_or(0),
            max: self.number("max")?.or(default_max),
        })
    }

    /// Keycloak's `q` search: `key:value` pairs separated by spaces; a key or value in double
    /// quotes may contain spaces and colons (`q=city:"New York"`).
    pub fn attribute_query(&self) -> Vec<(String, String)> {
        self.get("q").map(parse_search_query).unwrap_or_default()
    }
}

/// Reads `key:value key2:"a value"` into pairs, as Keycloak's `SearchQueryUtils`.
fn parse_search_query(q: &str) -> Vec<(String, String)> {
    // One token: a quoted run or characters up to a space (and, for a key, a colon).
    fn token(chars: &mut std::iter::Peekable<std::str::Chars>, stop_at_colon: bool) -> String {
        let mut out = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            for c in chars.by_ref() {
                if c == '"' {
                    break;
                }
                out.push(c);
            }
            return out;
        }
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() || (stop_at_colon && c == ':') {
                break;
            }
            out.push(c);
            chars.next();
        }
        out
    }
    let mut pairs = Vec::new();
    let mut chars = q.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let key = token(&mut chars, true);
        if chars.peek() == Some(&':') {
            chars.next();
            let value = token(&mut chars, false);
            if !key.is_empty() {
                pairs.push((key, value));
            }
        } else if key.is_empty() {
            // A stray character that starts no token.
            chars.next();
        }
    }
    pairs
}

fn bad_param(name: &str, value: &str) -> AdminError {
    AdminError::InvalidRequest {
        error: "invalid_request",
        description: format!("Invalid value '{value}' for query parameter {name}"),
    }
}

/// What every admin REST handler starts from: the server state, the authenticated caller and
/// the protocols, extracted once. [`Admin::ops`] is the operations layer over them; handlers
/// that call other helpers use the fields.
pub struct Admin {
    pub state: portcullis_web::AppState,
    pub caller: crate::auth::Caller,
    pub protocols: portcullis_web::Protocols,
}

impl Admin {
    pub fn ops(&self) -> crate::ops::Ops<'_> {
        crate::ops::Ops::new(&self.state, &self.caller, &self.protocols)
    }
}

impl FromRequestParts<portcullis_web::AppState> for Admin {
    type Rejection = AdminError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &portcullis_web::AppState,
    ) -> Result<Self, Self::Rejection> {
        // The router adds the protocols to every request; without them nothing can be judged.
        let protocols = parts
            .extensions
            .get::<portcullis_web::Protocols>()
            .cloned()
            .ok_or_else(|| AdminError::Internal("the protocols are not configured".into()))?;
        let caller = crate::auth::Caller::from_request_parts(parts, state).await?;
        Ok(Self {
            state: state.clone(),
            caller,
            protocols,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_query_parameters() {
        let p = Params::from_pairs(&[
            ("first", "10"),
            ("max", "-1"),
            ("exact", "TRUE"),
            ("enabled", "maybe"),
            ("search", ""),
            ("operationTypes", "CREATE"),
            ("operationTypes", "DELETE"),
            ("q", "team:a  level:3 junk"),
        ]);
        assert_eq!(p.number("first").unwrap(), Some(10));
        assert_eq!(p.number("max").unwrap(), None);
        assert_eq!(p.flag("exact").unwrap(), Some(true));
        assert!(p.flag("enabled").is_err());
        assert_eq!(p.get("search"), None);
        assert_eq!(p.all("operationTypes"), ["CREATE", "DELETE"]);
        assert_eq!(
            p.attribute_query(),
            [("team".into(), "a".into()), ("level".into(), "3".into())]
        );
        assert_eq!(
            parse_search_query(r#"city:"New York" email:a@b.c "x y":z"#),
            [
                ("city".into(), "New York".into()),
                ("email".into(), "a@b.c".into()),
                ("x y".into(), "z".into())
            ]
        );
        let page = p.page(Some(100)).unwrap();
        assert_eq!((page.first, page.max), (10, Some(100)));
        assert!(Params::from_pairs(&[("max", "x")]).page(None).is_err());
    }
}
