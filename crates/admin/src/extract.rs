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

    /// Keycloak's `q` search: `key:value` pairs separated by spaces.
    pub fn attribute_query(&self) -> Vec<(String, String)> {
        self.get("q")
            .map(|q| {
                q.split_whitespace()
                    .filter_map(|pair| pair.split_once(':'))
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn bad_param(name: &str, value: &str) -> AdminError {
    AdminError::InvalidRequest {
        error: "invalid_request",
        description: format!("Invalid value '{value}' for query parameter {name}"),
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
        let page = p.page(Some(100)).unwrap();
        assert_eq!((page.first, page.max), (10, Some(100)));
        assert!(Params::from_pairs(&[("max", "x")]).page(None).is_err());
    }
}
