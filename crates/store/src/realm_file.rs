//! A realm file on disk, imported without reading its users into memory: see
//! [`crate::representation::stream`]. Keycloak's exports may also put the users of a realm in
//! files of their own beside it (`usersExportStrategy`: `<realm>-users-<n>.json`, each
//! `{"realm": ..., "users": [...]}`); they import with the realm, in the same transaction.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use crate::error::StoreError;
use crate::import::UserSource;
use crate::representation::RealmRepresentation;
use crate::representation::stream::{read_realm_head, read_users};

/// Read buffer per file: large enough that reading is a small share of the parse.
const READ_BUFFER: usize = 256 * 1024;

/// A realm file read once without its users (which are counted), and the users files that
/// belong with it.
#[derive(Debug)]
pub struct RealmFile {
    path: PathBuf,
    realm: RealmRepresentation,
    users: u64,
    ignored: BTreeSet<String>,
    users_files: Vec<(PathBuf, u64)>,
}

impl RealmFile {
    /// Reads `path` but its users; [`StoreError::Invalid`] naming the file if it is not a realm
    /// file.
    pub fn open(path: &Path) -> Result<RealmFile, StoreError> {
        let head = read_realm_head(open(path)?).map_err(|e| in_file(e, path))?;
        Ok(RealmFile {
            path: path.to_path_buf(),
            realm: head.realm,
            users: head.users,
            ignored: head.ignored,
            users_files: Vec::new(),
        })
    }

    /// The realm representation, without users.
    pub fn realm(&self) -> &RealmRepresentation {
        &self.realm
    }

    /// The realm's name, as the file gives it (placeholders substituted).
    pub fn name(&self) -> Option<&str> {
        self.realm.realm.as_deref()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The users of the realm file and of its users files.
    pub fn total_users(&self) -> u64 {
        self.users + self.users_files.iter().map(|(_, n)| n).sum::<u64>()
    }

    /// The users files added, in import order.
    pub fn users_files(&self) -> impl Iterator<Item = &Path> {
        self.users_files.iter().map(|(p, _)| p.as_path())
    }

    /// Fields of the file (users' included, once read) that Portcullis does not keep.
    pub fn ignored(&self) -> &BTreeSet<String> {
        &self.ignored
    }

    /// Adds a Keycloak users file (`<realm>-users-<n>.json`) whose users import after this
    /// file's. Its `realm`, when it has one, must be this realm's.
    pub fn add_users_file(&mut self, path: &Path) -> Result<(), StoreError> {
        let head = read_realm_head(open(path)?).map_err(|e| in_file(e, path))?;
        if let (Some(theirs), Some(ours)) = (head.realm.realm.as_deref(), self.name())
            && theirs != ours
        {
            return Err(StoreError::Invalid(format!(
                "{}: the users of realm '{theirs}', not of '{ours}'",
                path.display()
            )));
        }
        self.users_files.push((path.to_path_buf(), head.users));
        Ok(())
    }

    /// The representation (without users) and the source that reads the users of every file,
    /// `batch` at a time. Fields the users have that Portcullis does not keep are logged once
    /// at the end, with those of the rest of the file.
    pub(crate) fn into_parts(self, batch: usize) -> (RealmRepresentation, UserSource) {
        let RealmFile {
            path,
            realm,
            users,
            mut ignored,
            users_files,
        } = self;
        let realm_name = realm.realm.clone().unwrap_or_default();
        let files: Vec<PathBuf> = std::iter::once(path)
            .filter(|_| users > 0)
            .chain(users_files.into_iter().map(|(p, _)| p))
            .collect();
        let source: UserSource = Box::new(move |sink| {
            // An index is within its file (`users[3]` of `acme-users-1.json`): errors name both.
            for file in &files {
                read_users(open(file)?, batch, &mut ignored, sink).map_err(|e| in_file(e, file))?;
            }
            if !ignored.is_empty() {
                let paths: Vec<&str> = ignored.iter().map(String::as_str).collect();
                tracing::warn!(
                    realm = %realm_name,
                    ignored = %paths.join(", "),
                    "realm file has fields Portcullis does not support; they were ignored"
                );
            }
            Ok(())
        });
        (realm, source)
    }
}

fn open(path: &Path) -> Result<BufReader<File>, StoreError> {
    let file = File::open(path)
        .map_err(|e| StoreError::Invalid(format!("{}: cannot read: {e}", path.display())))?;
    Ok(BufReader::with_capacity(READ_BUFFER, file))
}

/// Prefixes a problem with the file it is in.
fn in_file(err: StoreError, path: &Path) -> StoreError {
    match err {
        StoreError::Invalid(message) if !message.starts_with(&*path.to_string_lossy()) => {
            StoreError::Invalid(format!("{}: {message}", path.display()))
        }
        other => other,
    }
}
