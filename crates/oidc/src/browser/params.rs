//! Request parameters of the browser endpoints, from the query (GET) or a form body (POST).
//!
//! RFC 6749 §3.1: parameters sent without a value are treated as omitted, and a parameter must
//! not be sent more than once; unknown parameters are ignored.

/// The longest value accepted for any parameter: the values travel on in redirects and form
/// tokens, so they must stay well under header size limits.
pub(crate) const MAX_VALUE_LEN: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ParamError {
    /// Sent more than once.
    Repeated(&'static str),
    /// Longer than [`MAX_VALUE_LEN`].
    TooLong(&'static str),
}

impl ParamError {
    /// An `error_description` (RFC 6749 character set: no quotes or backslashes).
    pub(crate) fn description(&self) -> String {
        match self {
            Self::Repeated(n) => format!("Duplicated parameter: {n}"),
            Self::TooLong(n) => format!("Parameter too long: {n}"),
        }
    }
}

/// The name/value pairs of one request, in order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    pub(crate) fn new(pairs: Vec<(String, String)>) -> Self {
        Self(pairs)
    }

    /// The value of `name`: `Ok(None)` when absent or empty, an error when repeated or too long.
    pub(crate) fn get(&self, name: &'static str) -> Result<Option<&str>, ParamError> {
        let mut values = self
            .0
            .iter()
            .filter(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str());
        let first = values.next();
        if values.next().is_some() {
            return Err(ParamError::Repeated(name));
        }
        match first {
            Some(v) if v.len() > MAX_VALUE_LEN => Err(ParamError::TooLong(name)),
            other => Ok(other),
        }
    }

    /// Like [`Params::get`], for fields whose problems are only ever shown to the user: a
    /// repeated or oversized value counts as absent.
    pub(crate) fn lenient(&self, name: &'static str) -> Option<&str> {
        self.get(name).ok().flatten()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        Params::new(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                .collect(),
        )
    }

    #[test]
    fn lookup_table() {
        let long = "x".repeat(MAX_VALUE_LEN + 1);
        let p = params(&[
            ("a", "1"),
            ("empty", ""),
            ("twice", "1"),
            ("twice", "2"),
            ("once_and_empty", "v"),
            ("once_and_empty", ""),
            ("long", &long),
        ]);
        let cases: [(&'static str, Result<Option<&str>, ParamError>); 6] = [
            ("a", Ok(Some("1"))),
            ("empty", Ok(None)),
            ("missing", Ok(None)),
            ("twice", Err(ParamError::Repeated("twice"))),
            ("once_and_empty", Ok(Some("v"))),
            ("long", Err(ParamError::TooLong("long"))),
        ];
        for (name, expected) in cases {
            assert_eq!(p.get(name), expected, "{name}");
        }
        assert_eq!(p.lenient("twice"), None);
        assert_eq!(p.lenient("a"), Some("1"));
        assert!(!ParamError::Repeated("x").description().contains('"'));
    }
}
