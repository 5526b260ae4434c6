//! Realm files (Keycloak realm JSON) imported at start-up and by `portcullis import`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use portcullis_store::{ImportOutcome, Store, parse_realm_json};

/// Imports one file, or every `*.json` file directly inside a directory (sub-directories are
/// ignored, as Keycloak does), in name order. Existing realms are skipped unless `overwrite`.
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

fn realm_files(path: &Path) -> anyhow::Result<Vec<PathBuf>> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(path).with_context(|| format!("listing {}", path.display()))? {
        let file = entry?.path();
        if file.is_file() && file.extension().is_some_and(|e| e == "json") {
            files.push(file);
        }
    }
    files.sort();
    Ok(files)
}
