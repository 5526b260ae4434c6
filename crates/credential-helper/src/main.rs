//! `docker-credential-portcullis`: docker's credential-helper protocol for registries whose
//! token service is a Portcullis realm, so people who sign in through single sign-on get
//! `docker login` with no password stored anywhere.
//!
//! - `get` (server URL on stdin): with a stored identity token for the registry that still
//!   works, answers `{"ServerURL", "Username": "<token>", "Secret": <identity token>}`, and
//!   docker, containerd, buildah and skopeo then use the OAuth 2.0 refresh grant at the
//!   registry's token endpoint themselves. Otherwise it runs the device grant against the
//!   realm as client `docker-cli` (the verification URL and code on stderr), exchanges the
//!   resulting access token for a new identity token bound to the registry, stores it and
//!   answers the same way.
//! - `store` reads and discards what docker offers: the helper holds only identity tokens it
//!   obtained itself, never a password.
//! - `erase` revokes the stored identity token at the realm and deletes it.
//! - `list` prints `{"<registry>": "<username>"}` for the stored tokens.
//! - `setup <registry-host> <realm-url> [--service <name>]` writes the helper's configuration
//!   and `credHelpers[<registry-host>] = "portcullis"` in docker's `config.json`.

mod files;
mod http;
mod portcullis;

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};

use serde_json::json;

use crate::files::{Registry, Stored};
use crate::http::Http;
use crate::portcullis::{Realm, Validity};

/// Docker's credential helpers answer this (on stdout, exit status 1) for a registry they hold
/// nothing for; docker then goes on without credentials.
const NOT_FOUND: &str = "credentials not found in native keychain";
/// The user name that tells docker the secret is an identity token.
const TOKEN_USERNAME: &str = "<token>";
/// Set to anything to never try to open a browser.
const NO_BROWSER_ENV: &str = "PORTCULLIS_NO_BROWSER";

const USAGE: &str = "\
usage: docker-credential-portcullis <command>

Docker credential helper for registries whose accounts live in a Portcullis realm.

commands (docker runs the first four, with the registry on standard input):
  get      print the registry's credentials, signing in with the device grant when needed
  store    accepted and ignored: only identity tokens the helper obtained itself are kept
  erase    revoke the registry's docker login at the realm and forget it
  list     print the registries the helper holds a docker login for
  setup <registry-host> <realm-url> [--service <name>]
           use this helper for <registry-host> (docker's config.json, credHelpers) and sign
           in to it through <realm-url> (https://id.example/auth/realms/acme); the service
           is the registry's docker-v2 client id, by default <registry-host>
  version  print the version";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Setup(String),
    #[error("{path}: {1}", path = .0.display())]
    File(PathBuf, String),
    #[error("cannot reach {url}: {detail}")]
    Unreachable { url: String, detail: String },
    #[error("{doing} failed: {detail}")]
    Server { doing: &'static str, detail: String },
    #[error("the sign-in code expired before it was approved; run the command again")]
    Expired,
    #[error("the sign-in was denied in the browser")]
    Denied,
    #[error("credentials not found in native keychain")]
    NotFound,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Error::NotFound) => {
            // Docker reads "not found" from standard output.
            println!("{NOT_FOUND}");
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("docker-credential-portcullis: {error}");
            if matches!(error, Error::Usage(_)) {
                eprintln!("{USAGE}");
            }
            // Docker shows a helper's standard output in its own error message.
            println!("{error}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<(), Error> {
    let Some(command) = args.first() else {
        return Err(Error::Usage("a command is required".into()));
    };
    match command.as_str() {
        "get" => get(&read_stdin()?),
        "store" => {
            // Read it all so docker never sees a broken pipe; keep nothing.
            let _ = read_stdin()?;
            Ok(())
        }
        "erase" => erase(&read_stdin()?),
        "list" => list(),
        "setup" => setup(&args[1..]),
        "version" | "--version" => {
            println!("docker-credential-portcullis {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            Ok(())
        }
        other => Err(Error::Usage(format!("unknown command {other:?}"))),
    }
}

fn read_stdin() -> Result<String, Error> {
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .map_err(|e| Error::Setup(format!("reading standard input: {e}")))?;
    Ok(input)
}

/// The registry host a server URL names: `https://reg.example:5000/v2/` → `reg.example:5000`.
fn registry_host(server_url: &str) -> String {
    let url = server_url.trim();
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .unwrap_or(url);
    rest.split('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// The registry's configuration, or `NotFound` for a registry the helper was not set up for.
fn registry_for(dir: &Path, host: &str) -> Result<Registry, Error> {
    files::load_config(dir)?
        .registries
        .get(host)
        .cloned()
        .ok_or(Error::NotFound)
}

fn get(server_url: &str) -> Result<(), Error> {
    let host = registry_host(server_url);
    let dir = files::helper_dir()?;
    let registry = registry_for(&dir, &host)?;
    let http = Http::new()?;
    let realm = Realm {
        http: &http,
        url: &registry.realm,
        service: &registry.service,
    };
    let mut tokens = files::load_tokens(&dir)?;
    let held = tokens
        .tokens
        .get(&host)
        .filter(|t| t.realm == registry.realm && t.service == registry.service)
        .cloned();
    let identity_token = match held {
        Some(stored) if realm.check(&stored.identity_token)? == Validity::Valid => {
            stored.identity_token
        }
        held => {
            if held.is_some() {
                eprintln!(
                    "docker-credential-portcullis: the docker login for {host} was revoked or \
                     has expired; signing in again"
                );
            }
            let login = sign_in(&realm, &host)?;
            tokens.tokens.insert(
                host.clone(),
                Stored {
                    identity_token: login.identity_token.clone(),
                    username: login.username,
                    realm: registry.realm.clone(),
                    service: registry.service.clone(),
                },
            );
            files::save_tokens(&dir, &tokens)?;
            login.identity_token
        }
    };
    let answer = json!({
        "ServerURL": server_url.trim(),
        "Username": TOKEN_USERNAME,
        "Secret": identity_token,
    });
    print_json(&answer)
}

/// The device grant, then the token exchange.
fn sign_in(realm: &Realm<'_>, host: &str) -> Result<portcullis::Login, Error> {
    let device = realm.start_device_grant()?;
    let complete = device
        .verification_uri_complete
        .clone()
        .unwrap_or_else(|| device.verification_uri.clone());
    eprintln!(
        "\nTo sign in to {host}, open {uri}\nand enter the code {code}\n(or open {complete})\n\
         Waiting for the approval...",
        uri = device.verification_uri,
        code = device.user_code,
    );
    let _ = std::io::stderr().flush();
    open_browser(&complete);
    let access_token = realm.wait_for_approval(&device)?;
    let login = realm.exchange(&access_token)?;
    realm.revoke_access_token(&access_token);
    eprintln!(
        "Signed in to {host}{}.",
        if login.username.is_empty() {
            String::new()
        } else {
            format!(" as {}", login.username)
        }
    );
    Ok(login)
}

/// Opens the verification page with `xdg-open` when a graphical session is there to show it;
/// on a headless machine `xdg-open` would start a text browser on the terminal docker is
/// using, so nothing is opened there. Never an error: the URL is on stderr.
fn open_browser(url: &str) {
    if std::env::var_os(NO_BROWSER_ENV).is_some() {
        return;
    }
    let graphical = ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|v| !v.is_empty()));
    if !graphical {
        return;
    }
    let _ = std::process::Command::new("xdg-open")
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
}

fn erase(server_url: &str) -> Result<(), Error> {
    let host = registry_host(server_url);
    let dir = files::helper_dir()?;
    let mut tokens = files::load_tokens(&dir)?;
    let Some(stored) = tokens.tokens.remove(&host) else {
        return Err(Error::NotFound);
    };
    let http = Http::new()?;
    let realm = Realm {
        http: &http,
        url: &stored.realm,
        service: &stored.service,
    };
    let revoked = realm.revoke(&stored.identity_token);
    // Forgotten whatever the realm said: a token that cannot be revoked now is still one the
    // user asked to be rid of; the error below says it may still work until it expires.
    files::save_tokens(&dir, &tokens)?;
    revoked.map_err(|e| {
        Error::Setup(format!(
            "the docker login for {host} was deleted here but could not be revoked at the \
             realm (it works until it expires or is revoked in the account console): {e}"
        ))
    })
}

fn list() -> Result<(), Error> {
    let dir = files::helper_dir()?;
    let tokens = files::load_tokens(&dir)?;
    let listed: serde_json::Map<String, serde_json::Value> = tokens
        .tokens
        .into_iter()
        .map(|(host, stored)| {
            let username = if stored.username.is_empty() {
                TOKEN_USERNAME.to_owned()
            } else {
                stored.username
            };
            (host, json!(username))
        })
        .collect();
    print_json(&serde_json::Value::Object(listed))
}

/// `setup <registry-host> <realm-url> [--service <name>]`.
fn setup(args: &[String]) -> Result<(), Error> {
    let mut positional = Vec::new();
    let mut service = None;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        if let Some(value) = arg.strip_prefix("--service=") {
            service = Some(value.to_owned());
            continue;
        }
        match arg.as_str() {
            "--service" => {
                let value = rest
                    .next()
                    .ok_or_else(|| Error::Usage("--service needs a value".into()))?;
                service = Some(value.clone());
            }
            flag if flag.starts_with("--") => {
                return Err(Error::Usage(format!("unknown option {flag}")));
            }
            _ => positional.push(arg.clone()),
        }
    }
    let [registry, realm_url] = positional.as_slice() else {
        return Err(Error::Usage(
            "setup needs <registry-host> and <realm-url>".into(),
        ));
    };
    let host = registry_host(registry);
    if host.is_empty() {
        return Err(Error::Usage(format!("{registry:?} is not a registry host")));
    }
    let realm_url = realm_url.trim().trim_end_matches('/').to_owned();
    if !(realm_url.starts_with("https://") || realm_url.starts_with("http://"))
        || !realm_url.contains("/realms/")
    {
        return Err(Error::Usage(format!(
            "{realm_url:?} is not a realm URL such as https://id.example/auth/realms/acme"
        )));
    }
    let service = service.unwrap_or_else(|| host.clone());
    check_realm(&realm_url)?;
    let dir = files::helper_dir()?;
    let mut config = files::load_config(&dir)?;
    config.registries.insert(
        host.clone(),
        Registry {
            realm: realm_url.clone(),
            service: service.clone(),
        },
    );
    files::save_config(&dir, &config)?;
    let docker_config = files::add_cred_helper(&files::docker_dir()?, &host)?;
    println!(
        "{host}: docker logins come from {realm_url} (registry service {service:?}).\n\
         Helper configuration: {}\n\
         Docker configuration: {} (credHelpers)\n\
         The first pull or push asks you to sign in in a browser; the docker login is then \
         kept in {}.",
        dir.join("docker-credential-portcullis.json").display(),
        docker_config.display(),
        files::tokens_path(&dir).display(),
    );
    Ok(())
}

/// The realm URL must name a realm that answers (its public document names it).
fn check_realm(url: &str) -> Result<(), Error> {
    let http = Http::new()?;
    let answer = http.get(url)?;
    let names_a_realm = answer.status == 200
        && answer
            .json()
            .is_some_and(|j| j.get("realm").is_some_and(|r| r.is_string()));
    if !names_a_realm {
        return Err(Error::Setup(format!(
            "{url} is not a Portcullis realm (it answered {})",
            answer.describe()
        )));
    }
    Ok(())
}

fn print_json(value: &serde_json::Value) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{value}")
        .and_then(|()| out.flush())
        .map_err(|e| Error::Setup(format!("writing standard output: {e}")))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn server_urls_name_registry_hosts() {
        let rows = [
            ("127.0.0.1:5000", "127.0.0.1:5000"),
            ("127.0.0.1:5000\n", "127.0.0.1:5000"),
            ("https://Reg.Example:5000/v2/", "reg.example:5000"),
            ("http://reg.example", "reg.example"),
            ("reg.example/team-a", "reg.example"),
            ("", ""),
        ];
        for (url, host) in rows {
            assert_eq!(registry_host(url), host, "{url:?}");
        }
    }

    #[test]
    fn setup_arguments_are_checked() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        for bad in [
            &["reg.test"][..],
            &["reg.test", "https://id.test/auth/realms/acme", "extra"],
            &["reg.test", "ftp://id.test/auth/realms/acme"],
            &["reg.test", "https://id.test/"],
            &["reg.test", "https://id.test/auth/realms/acme", "--service"],
            &["reg.test", "https://id.test/auth/realms/acme", "--bogus"],
        ] {
            assert!(matches!(setup(&args(bad)), Err(Error::Usage(_))), "{bad:?}");
        }
    }
}
