//! The helper's files: its configuration (which realm serves which registry), the identity
//! tokens it holds, and the `credHelpers` entry in docker's `config.json`.
//!
//! Both of the helper's files live in `$XDG_CONFIG_HOME/portcullis` (`~/.config/portcullis`),
//! a directory made `0700`; the token file is `0600` from the moment it is created and is
//! replaced by a rename, so a reader never sees half a file and no other user ever sees it.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Error;

/// The helper's name in `credHelpers` (docker runs `docker-credential-<name>`).
pub const HELPER_NAME: &str = "portcullis";
const CONFIG_FILE: &str = "docker-credential-portcullis.json";
const TOKENS_FILE: &str = "docker-identity-tokens.json";

/// Where one registry's credentials come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Registry {
    /// The realm URL, `https://id.example/auth/realms/acme`.
    pub realm: String,
    /// The registry's `service` (the docker-v2 client's `clientId`).
    pub service: String,
}

/// `docker-credential-portcullis.json`: registries by host.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    #[serde(default)]
    pub registries: BTreeMap<String, Registry>,
}

/// One identity token the helper holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stored {
    pub identity_token: String,
    /// The user it belongs to, for `list`.
    #[serde(default)]
    pub username: String,
    /// The realm and service it was issued for: a token from another setup is not used.
    pub realm: String,
    pub service: String,
}

/// `docker-identity-tokens.json`: tokens by registry host.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tokens {
    #[serde(default)]
    pub tokens: BTreeMap<String, Stored>,
}

/// The helper's directory: `$XDG_CONFIG_HOME/portcullis`, else `~/.config/portcullis`.
pub fn helper_dir() -> Result<PathBuf, Error> {
    if let Some(xdg) = std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(xdg).join("portcullis"));
    }
    Ok(home()?.join(".config").join("portcullis"))
}

/// Docker's configuration directory: `$DOCKER_CONFIG`, else `~/.docker`.
pub fn docker_dir() -> Result<PathBuf, Error> {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    Ok(home()?.join(".docker"))
}

fn home() -> Result<PathBuf, Error> {
    std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .ok_or_else(|| Error::Setup("HOME is not set".into()))
}

pub fn load_config(dir: &Path) -> Result<Config, Error> {
    read_json(&dir.join(CONFIG_FILE)).map(Option::unwrap_or_default)
}

pub fn save_config(dir: &Path, config: &Config) -> Result<(), Error> {
    write_private(dir, CONFIG_FILE, config)
}

pub fn load_tokens(dir: &Path) -> Result<Tokens, Error> {
    read_json(&dir.join(TOKENS_FILE)).map(Option::unwrap_or_default)
}

pub fn save_tokens(dir: &Path, tokens: &Tokens) -> Result<(), Error> {
    write_private(dir, TOKENS_FILE, tokens)
}

/// The path of the token file, for messages.
pub fn tokens_path(dir: &Path) -> PathBuf {
    dir.join(TOKENS_FILE)
}

/// Sets `credHelpers[host] = "portcullis"` in docker's `config.json`, keeping everything else
/// it holds; returns the file's path. A stored password for the host (`auths[host]`) would be
/// used instead of the helper by some clients, so it is removed.
pub fn add_cred_helper(docker_dir: &Path, host: &str) -> Result<PathBuf, Error> {
    let path = docker_dir.join("config.json");
    let mut config: Value = read_json(&path)?.unwrap_or_else(|| Value::Object(Default::default()));
    let Some(object) = config.as_object_mut() else {
        return Err(Error::Setup(format!(
            "{} is not a JSON object",
            path.display()
        )));
    };
    let helpers = object
        .entry("credHelpers")
        .or_insert_with(|| Value::Object(Default::default()));
    let Some(helpers) = helpers.as_object_mut() else {
        return Err(Error::Setup(format!(
            "credHelpers in {} is not a JSON object",
            path.display()
        )));
    };
    helpers.insert(host.to_owned(), Value::String(HELPER_NAME.to_owned()));
    if let Some(auths) = object.get_mut("auths").and_then(Value::as_object_mut) {
        auths.remove(host);
    }
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("config.json")
        .to_owned();
    write_private(docker_dir, &name, &config)?;
    Ok(path)
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Option<T>, Error> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::File(path.to_owned(), e.to_string())),
    };
    if text.trim().is_empty() {
        return Ok(None);
    }
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| Error::File(path.to_owned(), format!("not valid JSON: {e}")))
}

/// Writes `value` as JSON to `dir/name`: the directory made `0700` if it is new, the file
/// written `0600` under a temporary name and renamed over the old one.
fn write_private<T: Serialize>(dir: &Path, name: &str, value: &T) -> Result<(), Error> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| Error::File(dir.to_owned(), e.to_string()))?;
    let path = dir.join(name);
    let temporary = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Error::File(path.clone(), e.to_string()))?;
    let written = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temporary)?;
        file.write_all(text.as_bytes())?;
        file.write_all(b"\n")?;
        file.sync_all()?;
        std::fs::rename(&temporary, &path)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temporary);
        return Err(Error::File(path, e.to_string()));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    fn temp_dir(tag: &str) -> PathBuf {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir =
            std::env::temp_dir().join(format!("dcp-test-{tag}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn tokens_are_private_and_round_trip() {
        let dir = temp_dir("tokens").join("portcullis");
        let mut tokens = Tokens::default();
        tokens.tokens.insert(
            "registry.test".into(),
            Stored {
                identity_token: "secret".into(),
                username: "alice".into(),
                realm: "https://id.test/auth/realms/acme".into(),
                service: "registry.test".into(),
            },
        );
        save_tokens(&dir, &tokens).unwrap();
        assert_eq!(load_tokens(&dir).unwrap(), tokens);
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&tokens_path(&dir)), 0o600);
        assert_eq!(mode(&dir), 0o700);
        let _ = std::fs::remove_dir_all(dir.parent().unwrap());
    }

    #[test]
    fn missing_files_are_empty() {
        let dir = temp_dir("missing");
        assert_eq!(load_config(&dir).unwrap(), Config::default());
        assert_eq!(load_tokens(&dir).unwrap(), Tokens::default());
        std::fs::write(dir.join(CONFIG_FILE), "{not json").unwrap();
        assert!(matches!(load_config(&dir), Err(Error::File(..))));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn cred_helper_entry_keeps_the_rest_of_docker_config() {
        let dir = temp_dir("docker");
        std::fs::write(
            dir.join("config.json"),
            r#"{"auths": {"reg.test": {"auth": "eDp5"}, "other.test": {"auth": "eDp5"}},
                "credHelpers": {"gcr.io": "gcloud"}, "detachKeys": "ctrl-x"}"#,
        )
        .unwrap();
        add_cred_helper(&dir, "reg.test").unwrap();
        let written: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap())
                .unwrap();
        assert_eq!(written["credHelpers"]["reg.test"], "portcullis");
        assert_eq!(written["credHelpers"]["gcr.io"], "gcloud");
        assert_eq!(written["detachKeys"], "ctrl-x");
        assert!(written["auths"].get("reg.test").is_none());
        assert!(written["auths"].get("other.test").is_some());
        // A new directory gets a new file.
        let fresh = dir.join("fresh");
        add_cred_helper(&fresh, "reg.test").unwrap();
        let written: Value =
            serde_json::from_str(&std::fs::read_to_string(fresh.join("config.json")).unwrap())
                .unwrap();
        assert_eq!(
            written,
            serde_json::json!({"credHelpers": {"reg.test": "portcullis"}})
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}
