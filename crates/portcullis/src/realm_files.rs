//! Realm files (Keycloak realm JSON) imported at start-up and by `portcullis import`.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use portcullis_store::{ImportOutcome, Store, parse_realm_json};
use portcullis_web::realm_mapper_problems;

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
/// ignored, as Keycloak does; see [`realm_files`]), in name order. Existing realms are skipped unless `overwrite`.
pub async fn import_path(
    store: &Store,
    path: &Path,
    overwrite: bool,
    now: i64,
) -> anyhow::Result<()> {
    for file in realm_files(path)? {
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("reading {}", file.display()))?;
        // Existing realms are skipped: learn the name without the full import parse, so that a
        // restart does not pay for large realm files.
        if !overwrite
            && let Some(name) = realm_name(&text)
            && store.realm_exists(&name).await?
        {
            tracing::info!(realm = %name, file = %file.display(), "realm exists; skipped");
            continue;
        }
        let rep = parse_realm_json(&text).with_context(|| format!("parsing {}", file.display()))?;
        // Protocol mappers are checked as the admin API checks them: a docker access rule
        // that does not parse would otherwise be dropped silently by every token request.
        let problems = realm_mapper_problems(&portcullis::protocols(), &rep);
        if !problems.is_empty() {
            bail!(
                "{}: invalid protocol mappers: {}",
                file.display(),
                problems.join("; ")
            );
        }
        let name = rep.realm.clone().unwrap_or_default();
        let outcome = store
            .import_realm(rep, overwrite, now)
            .await
            .with_context(|| format!("importing {}", file.display()))?;
        match outcome {
            ImportOutcome::Created => {
                tracing::info!(realm = %name, file = %file.display(), "imported realm")
            }
            ImportOutcome::Replaced => {
                tracing::info!(realm = %name, file = %file.display(), "replaced realm")
            }
            ImportOutcome::Skipped => {
                tracing::info!(realm = %name, file = %file.display(), "realm exists; skipped")
            }
        }
    }
    Ok(())
}

/// The `realm` of a realm file, read without building the representation.
fn realm_name(text: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Name {
        realm: Option<String>,
    }
    let name = serde_json::from_str::<Name>(text).ok()?.realm?;
    // A `${VAR}` name is only known after substitution.
    (!name.contains("${")).then_some(name)
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
