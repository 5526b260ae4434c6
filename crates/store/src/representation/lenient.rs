//! Field readers with Jackson's coercions, so a body Keycloak's server accepts parses here too:
//! `"true"`/`"false"` for booleans, numeric strings for numbers, a scalar where a list of values
//! is expected, numbers and booleans where a string is expected, and `null` as "not given".
//!
//! serde has no switch for these coercions, and `serde_with`'s `PickFirst` would still refuse
//! a `null` inside a map; each reader is a few lines over one visitor.

use std::collections::BTreeMap;

use std::fmt;

use serde::de::{self, Error as _, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::MultiMap;

/// A JSON scalar as Jackson coerces it to a string.
enum Scalar {
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
}

impl Scalar {
    fn into_text(self) -> String {
        match self {
            Scalar::Bool(b) => b.to_string(),
            Scalar::Int(n) => n.to_string(),
            Scalar::Float(n) => n.to_string(),
            Scalar::Text(s) => s,
        }
    }
}

/// One value or a list of them, as a multivalued attribute may be written.
enum OneOrMany {
    Many(Vec<Option<Scalar>>),
    One(Scalar),
}

/// Reads a scalar, or a list of optional scalars, straight from the
/// deserializer: an untagged enum would buffer every value first, and a realm file carries a
/// few of these per user.
struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = OneOrMany;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string, number, boolean or a list of them")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<OneOrMany, E> {
        Ok(OneOrMany::One(Scalar::Bool(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<OneOrMany, E> {
        Ok(OneOrMany::One(Scalar::Int(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<OneOrMany, E> {
        Ok(OneOrMany::One(match i64::try_from(v) {
            Ok(n) => Scalar::Int(n),
            Err(_) => Scalar::Text(v.to_string()),
        }))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<OneOrMany, E> {
        Ok(OneOrMany::One(Scalar::Float(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<OneOrMany, E> {
        Ok(OneOrMany::One(Scalar::Text(v.to_string())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<OneOrMany, E> {
        Ok(OneOrMany::One(Scalar::Text(v)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<OneOrMany, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Option<Scalar>>()? {
            items.push(item);
        }
        Ok(OneOrMany::Many(items))
    }
}

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match d.deserialize_any(ScalarVisitor)? {
            OneOrMany::One(scalar) => Ok(scalar),
            OneOrMany::Many(_) => Err(D::Error::custom("expected a single value")),
        }
    }
}

/// `true`, `false`, `"true"` or `"false"`; `null` is "not given".
pub fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    match Option::<Scalar>::deserialize(d)? {
        None => Ok(None),
        Some(Scalar::Bool(b)) => Ok(Some(b)),
        Some(Scalar::Text(s)) if s == "true" => Ok(Some(true)),
        Some(Scalar::Text(s)) if s == "false" => Ok(Some(false)),
        Some(_) => Err(D::Error::custom("expected a boolean")),
    }
}

/// A boolean that defaults to false when absent or `null`.
pub fn bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(opt_bool(d)?.unwrap_or(false))
}

/// An integer or a numeric string; `null` is "not given".
pub fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match Option::<Scalar>::deserialize(d)? {
        None => Ok(None),
        Some(Scalar::Int(n)) => Ok(Some(n)),
        Some(Scalar::Text(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| D::Error::custom("expected an integer")),
        Some(_) => Err(D::Error::custom("expected an integer")),
    }
}

/// `{name: "value"}`; numbers and booleans become strings, `null` entries are dropped.
pub fn opt_string_map<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<BTreeMap<String, String>>, D::Error> {
    let Some(map) = Option::<BTreeMap<String, Option<Scalar>>>::deserialize(d)? else {
        return Ok(None);
    };
    Ok(Some(
        map.into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v.into_text())))
            .collect(),
    ))
}

/// `{name: [values]}`; a single value is a one-element list, `null`s are dropped.
pub fn opt_multimap<'de, D: Deserializer<'de>>(d: D) -> Result<Option<MultiMap>, D::Error> {
    let Some(map) = Option::<BTreeMap<String, Option<OneOrMany>>>::deserialize(d)? else {
        return Ok(None);
    };
    let mut out = MultiMap::new();
    for (name, values) in map {
        let list = match values {
            None => continue,
            Some(OneOrMany::One(v)) => vec![v.into_text()],
            Some(OneOrMany::Many(vs)) => vs.into_iter().flatten().map(Scalar::into_text).collect(),
        };
        out.insert(name, list);
    }
    Ok(Some(out))
}

/// [`opt_multimap`], with absent meaning empty.
pub fn multimap<'de, D: Deserializer<'de>>(d: D) -> Result<MultiMap, D::Error> {
    Ok(opt_multimap(d)?.unwrap_or_default())
}

/// A list that `null` leaves out, as an absent one.
pub fn list<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// A map that `null` leaves out, as an absent one.
pub fn map<'de, D, V>(d: D) -> Result<BTreeMap<String, V>, D::Error>
where
    D: Deserializer<'de>,
    V: Deserialize<'de>,
{
    Ok(Option::<BTreeMap<String, V>>::deserialize(d)?.unwrap_or_default())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    #[derive(Deserialize, Debug, Default)]
    #[serde(default)]
    struct Body {
        #[serde(deserialize_with = "opt_bool")]
        flag: Option<bool>,
        #[serde(deserialize_with = "opt_i64")]
        n: Option<i64>,
        #[serde(deserialize_with = "opt_string_map")]
        map: Option<BTreeMap<String, String>>,
        #[serde(deserialize_with = "opt_multimap")]
        attrs: Option<MultiMap>,
        #[serde(deserialize_with = "list")]
        items: Vec<String>,
    }

    fn read(value: serde_json::Value) -> Result<Body, serde_json::Error> {
        serde_json::from_value(value)
    }

    #[test]
    fn coerces_as_jackson_does() {
        let body = read(json!({
            "flag": "true", "n": " 42 ", "map": {"k": 1, "b": false, "z": null},
            "attrs": {"a": "1", "b": [2, true, null], "c": null}, "items": null
        }))
        .unwrap();
        assert_eq!(body.flag, Some(true));
        assert_eq!(body.n, Some(42));
        let map = body.map.unwrap();
        assert_eq!((map["k"].as_str(), map["b"].as_str()), ("1", "false"));
        assert!(!map.contains_key("z"));
        let attrs = body.attrs.unwrap();
        assert_eq!(attrs["a"], ["1"]);
        assert_eq!(attrs["b"], ["2", "true"]);
        assert!(!attrs.contains_key("c"));
        assert!(body.items.is_empty());
        let nulls = read(json!({"flag": null, "n": null, "map": null, "attrs": null})).unwrap();
        assert!(nulls.flag.is_none() && nulls.n.is_none() && nulls.map.is_none());
        assert!(nulls.attrs.is_none());
    }

    #[test]
    fn refuses_what_jackson_refuses() {
        for bad in [
            json!({"flag": "yes"}),
            json!({"flag": 1}),
            json!({"n": "x"}),
            json!({"n": 1.5}),
            json!({"map": {"a": {"b": 1}}}),
            json!({"map": ["a"]}),
            json!({"attrs": {"a": [{"b": 1}]}}),
            json!({"items": "a"}),
            json!({"items": [1]}),
        ] {
            assert!(read(bad.clone()).is_err(), "{bad}");
        }
    }
}
