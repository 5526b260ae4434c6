//! Realm files read without holding their `users` in memory.
//!
//! A Keycloak export of a large realm is mostly its `users` array, and Keycloak writes the
//! array before `clients`, whose roles the users refer to. So a file is read twice, each time
//! as a stream through a small buffer: [`read_realm_head`] parses everything but the users
//! (counting them on the way), [`read_users`] parses only the users and hands them out in
//! batches. Memory follows the batch, not the file.
//!
//! `${VAR}` placeholders are substituted per string value, as [`super::parse_realm_json`] does
//! for a whole file, so streaming needs no copy of the text.

use std::collections::BTreeSet;
use std::fmt;
use std::io::{self, Read, Write};

use serde::de::{self, DeserializeSeed, Error as _, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::{
    RUNTIME_PLACEHOLDERS, RealmRepresentation, UserRepresentation, deserialize_reporting_unknown,
    fold_path, substitute_placeholders,
};
use crate::error::StoreError;

/// Users per batch when the caller has no reason to choose: a batch of Keycloak users with
/// pbkdf2 credentials is well under a megabyte of rows.
pub const USER_BATCH: usize = 1000;

/// The field of a realm file (and of Keycloak's `<realm>-users-<n>.json` files) holding users.
const USERS: &str = "users";

/// A realm file without its users: the representation (with `users: None`), how many users
/// the file holds, and the fields it ignored (`users[].totp`, ...).
#[derive(Debug)]
pub struct RealmHead {
    pub realm: RealmRepresentation,
    pub users: u64,
    pub ignored: BTreeSet<String>,
}

/// Up to [`USER_BATCH`] users and the index in the file's `users` of the first one, so that a
/// problem found later names the record (`users[5123]`).
#[derive(Debug, Default)]
pub struct UserBatch {
    pub first_index: u64,
    pub users: Vec<UserRepresentation>,
}

/// Reads everything of a realm file but its users, which are only counted.
pub fn read_realm_head<R: Read>(reader: R) -> Result<RealmHead, StoreError> {
    let mut de = serde_json::Deserializer::from_reader(reader);
    let (fields, users) = de
        .deserialize_map(HeadVisitor)
        .and_then(|head| de.end().map(|()| head))
        .map_err(|e| StoreError::Invalid(format!("realm file is not valid JSON: {e}")))?;
    let mut value = serde_json::Value::Object(fields);
    substitute_placeholders(&mut value, &env_lookup);
    let (realm, mut ignored) = deserialize_reporting_unknown(value)?;
    // The head has no users; an ignored field inside them is reported by `read_users`.
    ignored.retain(|path| !path.starts_with("users["));
    Ok(RealmHead {
        realm,
        users,
        ignored,
    })
}

/// Reads the `users` of a realm file (every other field is skipped unparsed) and passes them
/// to `sink` in batches of `batch` users. Fields a user has that Portcullis does not keep are
/// added to `ignored` (`users[].totp`). A record that does not parse stops the reading with an
/// error naming it and the field: `users[5123].credentials[0].createdDate: invalid type: ...`;
/// an error of `sink` stops it too and is returned as is. Returns the number of users read.
pub fn read_users<R: Read>(
    reader: R,
    batch: usize,
    ignored: &mut BTreeSet<String>,
    sink: &mut dyn FnMut(UserBatch) -> Result<(), StoreError>,
) -> Result<u64, StoreError> {
    let mut users = UsersSeed {
        batch: batch.max(1),
        ignored,
        sink,
        stopped: None,
        read: 0,
    };
    let mut de = serde_json::Deserializer::from_reader(reader);
    let outcome = de
        .deserialize_map(UsersFieldVisitor { users: &mut users })
        .and_then(|()| de.end());
    if let Some(stopped) = users.stopped.take() {
        return Err(stopped);
    }
    outcome.map_err(|e| StoreError::Invalid(format!("realm file: {e}")))?;
    Ok(users.read)
}

/// `${VAR}` from the environment, except the placeholders mappers expand per request.
fn env_lookup(name: &str) -> Option<String> {
    if RUNTIME_PLACEHOLDERS.contains(&name) {
        None
    } else {
        std::env::var(name).ok()
    }
}

/// The top-level object with `users` counted instead of kept.
struct HeadVisitor;

impl<'de> Visitor<'de> for HeadVisitor {
    type Value = (serde_json::Map<String, serde_json::Value>, u64);

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a realm representation (a JSON object)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields = serde_json::Map::new();
        let mut users = 0;
        while let Some(key) = map.next_key::<String>()? {
            if key == USERS {
                users = map.next_value::<UserCount>()?.0;
            } else {
                let value = map.next_value::<serde_json::Value>()?;
                fields.insert(key, value);
            }
        }
        Ok((fields, users))
    }
}

/// The length of the `users` array (`null` counts as none), its elements skipped unparsed.
struct UserCount(u64);

impl<'de> Deserialize<'de> for UserCount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct CountVisitor;
        impl<'de> Visitor<'de> for CountVisitor {
            type Value = UserCount;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("`users`: a list of users")
            }
            fn visit_unit<E: de::Error>(self) -> Result<UserCount, E> {
                Ok(UserCount(0))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<UserCount, A::Error> {
                let mut n = 0;
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    n += 1;
                }
                Ok(UserCount(n))
            }
        }
        d.deserialize_any(CountVisitor)
    }
}

/// Where the users of one file go, and what stopped the reading if the sink did.
struct UsersSeed<'a> {
    batch: usize,
    ignored: &'a mut BTreeSet<String>,
    sink: &'a mut dyn FnMut(UserBatch) -> Result<(), StoreError>,
    stopped: Option<StoreError>,
    read: u64,
}

impl UsersSeed<'_> {
    /// One element of `users`: placeholders substituted, then the representation read with the
    /// path of a failing field and of every ignored one.
    fn user(
        &mut self,
        index: u64,
        mut value: serde_json::Value,
    ) -> Result<UserRepresentation, String> {
        substitute_placeholders(&mut value, &env_lookup);
        let ignored = &mut *self.ignored;
        let mut on_ignored = |path: serde_ignored::Path<'_>| {
            ignored.insert(format!("users[].{}", fold_path(&path)));
        };
        let de = serde_ignored::Deserializer::new(value, &mut on_ignored);
        serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if path == "." {
                format!("users[{index}]: {inner}")
            } else {
                format!("users[{index}].{path}: {inner}")
            }
        })
    }

    fn flush(&mut self, batch: &mut UserBatch) -> bool {
        if batch.users.is_empty() {
            return true;
        }
        let next = UserBatch {
            first_index: self.read,
            users: Vec::with_capacity(self.batch),
        };
        let full = std::mem::replace(batch, next);
        match (self.sink)(full) {
            Ok(()) => true,
            Err(e) => {
                self.stopped = Some(e);
                false
            }
        }
    }
}

/// Finds `users` in the top-level object, skipping every other field.
struct UsersFieldVisitor<'a, 'b> {
    users: &'a mut UsersSeed<'b>,
}

impl<'de> Visitor<'de> for UsersFieldVisitor<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a realm representation (a JSON object)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            if key == USERS {
                map.next_value_seed(UsersArray {
                    users: &mut *self.users,
                })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

struct UsersArray<'a, 'b> {
    users: &'a mut UsersSeed<'b>,
}

impl<'de> DeserializeSeed<'de> for UsersArray<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for UsersArray<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("`users`: a list of users")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let users = self.users;
        let mut batch = UserBatch {
            first_index: users.read,
            users: Vec::with_capacity(users.batch),
        };
        loop {
            let index = users.read;
            let value = match seq.next_element::<serde_json::Value>() {
                Ok(Some(value)) => value,
                Ok(None) => break,
                Err(e) => return Err(A::Error::custom(format!("users[{index}]: {e}"))),
            };
            let user = users.user(index, value).map_err(A::Error::custom)?;
            batch.users.push(user);
            users.read += 1;
            if batch.users.len() >= users.batch && !users.flush(&mut batch) {
                return Err(A::Error::custom("stopped"));
            }
        }
        if !users.flush(&mut batch) {
            return Err(A::Error::custom("stopped"));
        }
        Ok(())
    }
}

/// Writes a realm as pretty-printed JSON with its users streamed in after every other field,
/// a page at a time, so an export never holds more than a page of users.
pub struct RealmJsonWriter<W: Write> {
    out: W,
    users: Option<u64>,
}

impl<W: Write> RealmJsonWriter<W> {
    /// Writes every field of `realm` (whose `users` should be `None`); with `users_array`, the
    /// object stays open for [`RealmJsonWriter::users`].
    pub fn begin(mut out: W, realm: &RealmRepresentation, users_array: bool) -> io::Result<Self> {
        let head = serde_json::to_string_pretty(&realm.to_json()?)?;
        if !users_array {
            out.write_all(head.as_bytes())?;
            return Ok(RealmJsonWriter { out, users: None });
        }
        // `{\n  ...\n}` without its closing brace.
        let open = head.trim_end().strip_suffix('}').unwrap_or("{").trim_end();
        out.write_all(open.as_bytes())?;
        if open != "{" {
            out.write_all(b",")?;
        }
        out.write_all(b"\n  \"users\": [")?;
        Ok(RealmJsonWriter {
            out,
            users: Some(0),
        })
    }

    /// Appends users to the `users` array (none without it).
    pub fn users(&mut self, users: &[UserRepresentation]) -> io::Result<()> {
        let Some(written) = self.users.as_mut() else {
            return Ok(());
        };
        for user in users {
            if *written > 0 {
                self.out.write_all(b",")?;
            }
            // Serialized strings escape their newlines, so every newline is a line break
            // of the pretty form and indenting after it nests the user two levels deep.
            let text = serde_json::to_string_pretty(user)?;
            self.out.write_all(b"\n    ")?;
            self.out
                .write_all(text.replace('\n', "\n    ").as_bytes())?;
            *written += 1;
        }
        Ok(())
    }

    /// Closes the array and the object, and ends the line.
    pub fn finish(mut self) -> io::Result<W> {
        match self.users {
            Some(0) => self.out.write_all(b"]\n}")?,
            Some(_) => self.out.write_all(b"\n  ]\n}")?,
            None => {}
        }
        self.out.write_all(b"\n")?;
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each batch's first index and usernames.
    type Batches = Vec<(u64, Vec<String>)>;

    fn read_all(text: &str, batch: usize) -> Result<(Batches, BTreeSet<String>), StoreError> {
        let mut batches = Vec::new();
        let mut ignored = BTreeSet::new();
        read_users(text.as_bytes(), batch, &mut ignored, &mut |b: UserBatch| {
            let names = b
                .users
                .iter()
                .map(|u| u.username.clone().unwrap_or_default())
                .collect();
            batches.push((b.first_index, names));
            Ok(())
        })?;
        Ok((batches, ignored))
    }

    #[test]
    fn users_come_in_batches_and_other_fields_are_skipped() {
        let text = r#"{"realm": "r", "clients": [{"clientId": "c"}],
            "users": [{"username": "a", "totp": false}, {"username": "b"}, {"username": "c"}],
            "groups": []}"#;
        let (batches, ignored) = read_all(text, 2).unwrap();
        assert_eq!(
            batches,
            [
                (0, vec!["a".to_string(), "b".to_string()]),
                (2, vec!["c".to_string()])
            ]
        );
        assert_eq!(ignored.into_iter().collect::<Vec<_>>(), ["users[].totp"]);
        assert!(
            read_all(r#"{"realm": "r", "users": null}"#, 2)
                .unwrap()
                .0
                .is_empty()
        );
        assert!(read_all(r#"{"realm": "r"}"#, 2).unwrap().0.is_empty());
    }

    #[test]
    fn the_head_counts_users_without_keeping_them() {
        let text = r#"{"realm": "r", "users": [{"username": "a"}, {"bogus": [1, 2]}],
            "sslRequired": "external", "clients": [{"clientId": "c", "rootUrl": "x",
            "protocolMappers": [{"name": "m", "bogus": 1}]}]}"#;
        let head = read_realm_head(text.as_bytes()).unwrap();
        assert_eq!((head.realm.realm.as_deref(), head.users), (Some("r"), 2));
        assert!(head.realm.users.is_none());
        assert_eq!(
            head.ignored.into_iter().collect::<Vec<_>>(),
            ["clients[].protocolMappers[].bogus"]
        );
        assert_eq!(head.realm.clients[0].kept["rootUrl"], "x");
        let kept: Vec<&String> = head.realm.kept.keys().collect();
        assert_eq!(kept, ["sslRequired"], "kept, not reported, and no users");
        for bad in ["{", r#"{"users": 5}"#, r#"{"realm": "r"} trailing"#, "[]"] {
            assert!(read_realm_head(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_bad_record_names_its_index_and_field() {
        let text = r#"{"users": [{"username": "a"}, {"username": "b",
            "credentials": [{"type": "password"}, {"priority": "high"}]}]}"#;
        let message = read_all(text, 1).unwrap_err().to_string();
        assert!(
            message.contains("users[1].credentials[1].priority: expected an integer"),
            "{message}"
        );
        let message = read_all(r#"{"users": [{"username": "a"}, 7]}"#, 5)
            .unwrap_err()
            .to_string();
        assert!(message.contains("users[1]: invalid type"), "{message}");
        let message = read_all(r#"{"users": [{"username": "a"}, {"username": }]}"#, 5)
            .unwrap_err()
            .to_string();
        assert!(message.contains("users[1]"), "{message}");
    }

    #[test]
    fn a_sink_error_stops_the_reading_as_it_is() {
        let text = r#"{"users": [{"username": "a"}, {"username": "b"}, {"username": "c"}]}"#;
        let mut calls = 0;
        let err = read_users(text.as_bytes(), 1, &mut BTreeSet::new(), &mut |_| {
            calls += 1;
            Err(StoreError::Conflict("full".into()))
        })
        .unwrap_err();
        assert!(matches!(err, StoreError::Conflict(m) if m == "full"));
        assert_eq!(calls, 1);
    }

    #[test]
    fn the_writer_streams_users_into_valid_json() {
        let realm = RealmRepresentation {
            realm: Some("r".into()),
            ..Default::default()
        };
        let user = |name: &str| UserRepresentation {
            username: Some(name.into()),
            first_name: Some("line\nbreak".into()),
            ..Default::default()
        };
        let mut writer = RealmJsonWriter::begin(Vec::new(), &realm, true).unwrap();
        writer.users(&[user("a"), user("b")]).unwrap();
        writer.users(&[]).unwrap();
        writer.users(&[user("c")]).unwrap();
        let out = writer.finish().unwrap();
        let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let mut want = realm.clone();
        want.users = Some(vec![user("a"), user("b"), user("c")]);
        assert_eq!(value, serde_json::to_value(&want).unwrap());
        assert!(out.ends_with(b"}\n"));

        let empty = RealmJsonWriter::begin(Vec::new(), &realm, true)
            .unwrap()
            .finish()
            .unwrap();
        let value: serde_json::Value = serde_json::from_slice(&empty).unwrap();
        assert_eq!(value["users"], serde_json::json!([]));
        let none = RealmJsonWriter::begin(Vec::new(), &realm, false)
            .unwrap()
            .finish()
            .unwrap();
        let value: serde_json::Value = serde_json::from_slice(&none).unwrap();
        assert!(value.get("users").is_none());
    }
}
