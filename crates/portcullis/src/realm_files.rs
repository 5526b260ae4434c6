//! Realm files (Keycloak realm JSON) imported at start-up and by `portcullis import`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use portcullis_store::{ImportOutcome, RealmFile, Store, USER_BATCH};
use portcullis_web::realm_mapper_problems;

use crate::progress::Progress;

/// The start-up import: every realm file of `dir` (or `dir` itself, when it is a file). A
/// missing directory imports nothing: the default `realms` need not exist.
pub async fn import_dir(store: &Store, dir: &Path, now: i64) -> anyhow::Result<()> {
    match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            tracing::info!(
                import_dir = %dir.display(),
                "no realm import directory; nothing imported"
            );
            Ok(())
        }
        _ => import_path(store, dir, false, now)
            .await
            .with_context(|| format!("importing realms from {}", dir.display())),
    }
}

/// Imports one file, or every `*.json` file directly inside a directory (other entries are
/// ignored, as Keycloak does; see [`realm_files`]), in name order. Existing realms are skipped
/// unless `overwrite`. In a directory, Keycloak's split users files (`<realm>-users-<n>.json`)
/// import with their realm's file, in the same transaction.
pub async fn import_path(
    store: &Store,
    path: &Path,
    overwrite: bool,
    now: i64,
) -> anyhow::Result<()> {
    let files = realm_files(path)?;
    // A file named on its own is a realm file, whatever its name.
    let (files, mut users_files) = if path.is_dir() {
        split_users_files(files)
    } else {
        (files, BTreeMap::new())
    };
    for file in files {
        // Users are neither read nor kept here: only the rest of the file, to learn the name
        // (so a restart skips existing realms cheaply) and check the mappers.
        let mut realm_file =
            RealmFile::open(&file).with_context(|| format!("parsing {}", file.display()))?;
        let name = realm_file.name().unwrap_or_default().to_string();
        let own_users: Vec<PathBuf> = users_files
            .remove(&name)
            .unwrap_or_default()
            .into_values()
            .collect();
        if !overwrite && store.realm_exists(&name).await? {
            tracing::info!(realm = %name, file = %file.display(), "realm exists; skipped");
            continue;
        }
        // Protocol mappers are checked as the admin API checks them: a docker access rule
        // that does not parse would otherwise be dropped silently by every token request.
        let problems = realm_mapper_problems(&portcullis::protocols(), realm_file.realm());
        if !problems.is_empty() {
            bail!(
                "{}: invalid protocol mappers: {}",
                file.display(),
                problems.join("; ")
            );
        }
        for users in &own_users {
            realm_file
                .add_users_file(users)
                .with_context(|| format!("parsing {}", users.display()))?;
        }
        let total = realm_file.total_users();
        let progress = Progress::new("importing", &name, total);
        let outcome = store
            .import_realm_file(realm_file, overwrite, now, USER_BATCH, &|done| {
                progress.update(done)
            })
            .await
            .with_context(|| format!("importing {}", file.display()))?;
        progress.finish(total);
        let users_files = own_users.len();
        match outcome {
            ImportOutcome::Created => {
                tracing::info!(realm = %name, file = %file.display(), users = total, users_files, "imported realm")
            }
            ImportOutcome::Replaced => {
                tracing::info!(realm = %name, file = %file.display(), users = total, users_files, "replaced realm")
            }
            ImportOutcome::Skipped => {
                tracing::info!(realm = %name, file = %file.display(), "realm exists; skipped")
            }
        }
    }
    for (realm, files) in users_files {
        for file in files.values() {
            tracing::warn!(
                realm = %realm,
                file = %file.display(),
                "users file without its realm file; not imported"
            );
        }
    }
    Ok(())
}

/// Separates Keycloak's users files (`<realm>-users-<n>.json`, by realm, then `n`) from the
/// realm files.
fn split_users_files(
    files: Vec<PathBuf>,
) -> (Vec<PathBuf>, BTreeMap<String, BTreeMap<u64, PathBuf>>) {
    let mut realms = Vec::new();
    let mut users: BTreeMap<String, BTreeMap<u64, PathBuf>> = BTreeMap::new();
    for file in files {
        match file
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(users_file_of)
        {
            Some((realm, n)) => {
                users.entry(realm).or_default().insert(n, file);
            }
            None => realms.push(file),
        }
    }
    (realms, users)
}

/// `acme-users-3.json` -> `("acme", 3)`, Keycloak's name for the fourth users file of `acme`.
fn users_file_of(name: &str) -> Option<(String, u64)> {
    let stem = name.strip_suffix(".json")?;
    let (realm, n) = stem.rsplit_once("-users-")?;
    if realm.is_empty() || n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((realm.to_string(), n.parse().ok()?))
}

/// The realm files of `path`: the path itself when it is not a directory; otherwise every
/// `*.json` entry directly inside it, in name order.
///
/// A `*.json` entry that cannot be read as a file (a broken symlink, a directory, a socket, no
/// permission) is an error naming it, not a skip: a realm that silently fails to appear is
/// found much later, by its users. Hidden entries (`.name.json`: editor locks and backups) are
/// ignored with a warning naming them; entries with other extensions (a README) are ignored.
fn realm_files(path: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let meta = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
    if !meta.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(path).with_context(|| format!("listing {}", path.display()))? {
        let entry = entry.with_context(|| format!("listing {}", path.display()))?;
        let file = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !name.ends_with(".json") {
            tracing::debug!(file = %file.display(), "not a realm file; ignored");
            continue;
        }
        if name.starts_with('.') {
            tracing::warn!(file = %file.display(), "hidden *.json entry; not imported");
            continue;
        }
        check_readable_file(&file)?;
        files.push(file);
    }
    files.sort();
    Ok(files)
}

/// Fails, naming the file and why, unless `file` (symlinks followed) is a regular file that
/// can be opened for reading.
fn check_readable_file(file: &Path) -> anyhow::Result<()> {
    let meta = match std::fs::metadata(file) {
        Ok(meta) => meta,
        Err(e) if std::fs::symlink_metadata(file).is_ok_and(|m| m.file_type().is_symlink()) => {
            bail!(
                "realm file {} is a symlink to nothing readable ({e})",
                file.display()
            )
        }
        Err(e) => bail!("realm file {}: {e}", file.display()),
    };
    if !meta.is_file() {
        let kind = if meta.is_dir() {
            "a directory"
        } else {
            "not a regular file"
        };
        bail!("realm file {} is {kind}", file.display());
    }
    std::fs::File::open(file)
        .with_context(|| format!("cannot read realm file {}", file.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keycloak_users_files_are_told_from_realm_files() {
        assert_eq!(users_file_of("acme-users-0.json"), Some(("acme".into(), 0)));
        assert_eq!(
            users_file_of("my-realm-users-12.json"),
            Some(("my-realm".into(), 12))
        );
        for name in [
            "acme.json",
            "acme-realm.json",
            "acme-users-.json",
            "acme-users-x.json",
            "-users-1.json",
            "acme-users-1.txt",
        ] {
            assert_eq!(users_file_of(name), None, "{name}");
        }
        let (realms, users) = split_users_files(vec![
            "d/acme-realm.json".into(),
            "d/acme-users-10.json".into(),
            "d/acme-users-2.json".into(),
            "d/other.json".into(),
        ]);
        assert_eq!(
            realms,
            [PathBuf::from("d/acme-realm.json"), "d/other.json".into()]
        );
        let order: Vec<&PathBuf> = users["acme"].values().collect();
        assert_eq!(
            order,
            [
                &PathBuf::from("d/acme-users-2.json"),
                &"d/acme-users-10.json".into()
            ]
        );
    }
}
