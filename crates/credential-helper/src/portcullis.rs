//! What the helper asks of the Portcullis realm: the device grant (RFC 8628) as client
//! `docker-cli`, the docker-v2 token exchange (RFC 8693) that turns its access token into a
//! docker identity token for one registry, a refresh grant to see whether a stored identity
//! token still works, and revocation.

use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

use crate::Error;
use crate::http::{Answer, Http};

/// The realm's public client the helper signs in through.
pub const CLIENT_ID: &str = "docker-cli";
/// The `client_id` the helper names at the docker-v2 endpoint's refresh grant.
const REFRESH_CLIENT_ID: &str = "docker-credential-portcullis";
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
/// RFC 8628 §3.5: `slow_down` adds five seconds to the interval.
const SLOW_DOWN_STEP: u64 = 5;

/// A realm and one of its registries.
pub struct Realm<'a> {
    pub http: &'a Http,
    /// `https://id.example/auth/realms/acme`, without a trailing slash.
    pub url: &'a str,
    pub service: &'a str,
}

/// RFC 8628 §3.2.
#[derive(Debug, Deserialize)]
pub struct DeviceAuthorization {
    pub device_code: String,
    pub user_code: String,
    pub verification_uri: String,
    #[serde(default)]
    pub verification_uri_complete: Option<String>,
    #[serde(default = "default_expiry")]
    pub expires_in: u64,
    #[serde(default = "default_interval")]
    pub interval: u64,
}

fn default_expiry() -> u64 {
    600
}

fn default_interval() -> u64 {
    5
}

/// A new docker login.
#[derive(Debug)]
pub struct Login {
    pub identity_token: String,
    /// The user the registry token names (`sub`).
    pub username: String,
}

/// Whether a stored identity token still works.
#[derive(Debug, PartialEq, Eq)]
pub enum Validity {
    Valid,
    /// Refused (revoked, expired, the user logged out or disabled): a new login is needed.
    Refused,
}

impl Realm<'_> {
    fn docker_endpoint(&self) -> String {
        format!("{}/protocol/docker-v2/auth", self.url)
    }

    /// Checks an identity token with a refresh grant asking for no scope at all: the cheapest
    /// token the endpoint signs, and exactly the grant docker will make with it.
    pub fn check(&self, identity_token: &str) -> Result<Validity, Error> {
        let answer = self.http.post_form(
            &self.docker_endpoint(),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", identity_token),
                ("client_id", REFRESH_CLIENT_ID),
                ("service", self.service),
            ],
        )?;
        match answer.status {
            200 => Ok(Validity::Valid),
            400 | 401 if answer.oauth_error().as_deref() == Some("invalid_grant") => {
                Ok(Validity::Refused)
            }
            _ => Err(self.refused("checking the stored docker login", &answer)),
        }
    }

    /// Starts the device grant.
    pub fn start_device_grant(&self) -> Result<DeviceAuthorization, Error> {
        let url = format!("{}/protocol/openid-connect/auth/device", self.url);
        let answer = self.http.post_form(&url, &[("client_id", CLIENT_ID)])?;
        if answer.status != 200 {
            return Err(self.refused("starting the device login", &answer));
        }
        serde_json::from_slice(&answer.body).map_err(|e| Error::Server {
            doing: "starting the device login",
            detail: format!("unreadable answer: {e}"),
        })
    }

    /// Polls the token endpoint until the user approves (the access token), denies, or the code
    /// expires.
    pub fn wait_for_approval(&self, device: &DeviceAuthorization) -> Result<String, Error> {
        let url = format!("{}/protocol/openid-connect/token", self.url);
        let deadline = Instant::now() + Duration::from_secs(device.expires_in);
        let mut interval = device.interval.max(1);
        loop {
            self.http.sleep(Duration::from_secs(interval));
            if Instant::now() >= deadline {
                return Err(Error::Expired);
            }
            let answer = self.http.post_form(
                &url,
                &[
                    ("grant_type", DEVICE_GRANT),
                    ("device_code", &device.device_code),
                    ("client_id", CLIENT_ID),
                ],
            )?;
            if answer.status == 200 {
                return answer
                    .json()
                    .and_then(|j| j.get("access_token")?.as_str().map(str::to_owned))
                    .ok_or(Error::Server {
                        doing: "finishing the device login",
                        detail: "no access_token in the answer".into(),
                    });
            }
            match answer.oauth_error().as_deref() {
                Some("authorization_pending") => {}
                Some("slow_down") => interval += SLOW_DOWN_STEP,
                Some("expired_token") => return Err(Error::Expired),
                Some("access_denied") => return Err(Error::Denied),
                _ => return Err(self.refused("finishing the device login", &answer)),
            }
        }
    }

    /// Exchanges `docker-cli`'s access token for a docker identity token for the registry.
    pub fn exchange(&self, access_token: &str) -> Result<Login, Error> {
        let answer = self.http.post_form(
            &self.docker_endpoint(),
            &[
                ("grant_type", TOKEN_EXCHANGE),
                ("subject_token", access_token),
                ("subject_token_type", ACCESS_TOKEN_TYPE),
                ("client_id", CLIENT_ID),
                ("service", self.service),
            ],
        )?;
        if answer.status != 200 {
            return Err(self.refused("exchanging the login for a docker login", &answer));
        }
        let json = answer.json().unwrap_or_default();
        let identity_token = json
            .get("refresh_token")
            .and_then(|v| v.as_str())
            .ok_or(Error::Server {
                doing: "exchanging the login for a docker login",
                detail: "no refresh_token (identity token) in the answer".into(),
            })?
            .to_owned();
        let username = json
            .get("token")
            .and_then(|v| v.as_str())
            .and_then(subject_of)
            .unwrap_or_default();
        Ok(Login {
            identity_token,
            username,
        })
    }

    /// Revokes an identity token (a docker login) at the docker-v2 endpoint.
    pub fn revoke(&self, identity_token: &str) -> Result<(), Error> {
        let url = format!("{}/protocol/docker-v2/revoke", self.url);
        let answer = self.http.post_form(&url, &[("token", identity_token)])?;
        if answer.status != 200 {
            return Err(self.refused("revoking the docker login", &answer));
        }
        Ok(())
    }

    /// Ends `docker-cli`'s access token once it has been exchanged (it would live a few minutes
    /// more otherwise). Best effort: it expires anyway.
    pub fn revoke_access_token(&self, access_token: &str) {
        let url = format!("{}/protocol/openid-connect/revoke", self.url);
        let _ = self.http.post_form(
            &url,
            &[
                ("token", access_token),
                ("token_type_hint", "access_token"),
                ("client_id", CLIENT_ID),
            ],
        );
    }

    fn refused(&self, doing: &'static str, answer: &Answer) -> Error {
        Error::Server {
            doing,
            detail: format!("{} answered {}", self.url, answer.describe()),
        }
    }
}

/// The `sub` of a JWT, read without verifying it: only shown to the user by `list`.
fn subject_of(jwt: &str) -> Option<String> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("sub")?.as_str().map(str::to_owned)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn subjects_of_tokens() {
        let payload = URL_SAFE_NO_PAD.encode(br#"{"sub":"alice","aud":"reg"}"#);
        let rows = [
            (format!("h.{payload}.s"), Some("alice")),
            ("h.not-base64!.s".to_owned(), None),
            ("no-dots".to_owned(), None),
            (format!("h.{}.s", URL_SAFE_NO_PAD.encode(b"[]")), None),
        ];
        for (jwt, want) in rows {
            assert_eq!(subject_of(&jwt).as_deref(), want, "{jwt}");
        }
    }

    #[test]
    fn device_authorization_defaults() {
        let device: DeviceAuthorization = serde_json::from_str(
            r#"{"device_code": "d", "user_code": "BCDF-GHJK",
                "verification_uri": "https://id.test/auth/realms/acme/device"}"#,
        )
        .unwrap();
        assert_eq!((device.expires_in, device.interval), (600, 5));
        assert!(device.verification_uri_complete.is_none());
    }
}
