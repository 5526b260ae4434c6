//! Sending a realm's e-mail through the SMTP server its `smtpServer` settings name (Keycloak's
//! map of strings: `host`, `port`, `from`, `fromDisplayName`, `replyTo`, `auth`, `user`,
//! `password`, `ssl`, `starttls`).

use std::time::Duration;

use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Mailbox, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde_json::{Map, Value};

/// How long one delivery may take before it counts as failed.
const SEND_TIMEOUT: Duration = Duration::from_secs(20);

/// A realm's SMTP settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpSettings {
    pub host: String,
    pub port: Option<u16>,
    pub from: String,
    pub from_display_name: Option<String>,
    pub reply_to: Option<String>,
    /// User and password, when `auth` is on.
    pub credentials: Option<(String, String)>,
    /// TLS from the first byte (`ssl`), or upgraded with STARTTLS (`starttls`).
    pub ssl: bool,
    pub starttls: bool,
}

impl SmtpSettings {
    /// The settings in a realm representation's `smtpServer`; `Ok(None)` when the realm has
    /// none (no map, or no host), an error naming what is wrong otherwise.
    pub fn of_realm(extras: &Map<String, Value>) -> Result<Option<Self>, String> {
        let Some(map) = extras.get("smtpServer").and_then(Value::as_object) else {
            return Ok(None);
        };
        let text = |key: &str| match map.get(key) {
            Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(Value::Bool(b)) => Some(b.to_string()),
            _ => None,
        };
        let flag = |key: &str| text(key).is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let Some(host) = text("host") else {
            return Ok(None);
        };
        let port = match text("port") {
            None => None,
            Some(p) => Some(
                p.parse::<u16>()
                    .map_err(|_| format!("invalid SMTP port '{p}'"))?,
            ),
        };
        let from = text("from").ok_or("the SMTP settings name no sender address ('from')")?;
        let credentials = match flag("auth") {
            false => None,
            true => Some((
                text("user").ok_or("SMTP authentication is on but no user is set")?,
                text("password").unwrap_or_default(),
            )),
        };
        Ok(Some(Self {
            host,
            port,
            from,
            from_display_name: text("fromDisplayName"),
            reply_to: text("replyTo"),
            credentials,
            ssl: flag("ssl"),
            starttls: flag("starttls"),
        }))
    }

    /// Sends one plain-text message to `to`; the error says what failed.
    pub async fn send(&self, to: &str, subject: &str, body: String) -> Result<(), String> {
        let from: Mailbox = match &self.from_display_name {
            Some(name) => format!("{name} <{}>", self.from).parse(),
            None => self.from.parse(),
        }
        .map_err(|e| format!("invalid sender address: {e}"))?;
        let to: Mailbox = to
            .parse()
            .map_err(|e| format!("invalid recipient address: {e}"))?;
        let mut message = Message::builder().from(from).to(to).subject(subject);
        if let Some(reply_to) = &self.reply_to {
            let reply_to: Mailbox = reply_to
                .parse()
                .map_err(|e| format!("invalid reply-to address: {e}"))?;
            message = message.reply_to(reply_to);
        }
        // Quoted-printable keeps long links readable to every mail client (and to tests).
        let part = SinglePart::builder()
            .header(ContentType::TEXT_PLAIN)
            .header(ContentTransferEncoding::QuotedPrintable)
            .body(body);
        let message = message
            .singlepart(part)
            .map_err(|e| format!("building the message: {e}"))?;
        let mut transport = match (self.ssl, self.starttls) {
            (true, _) => AsyncSmtpTransport::<Tokio1Executor>::relay(&self.host)
                .map_err(|e| format!("SMTP TLS setup: {e}"))?,
            (false, true) => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&self.host)
                .map_err(|e| format!("SMTP TLS setup: {e}"))?,
            (false, false) => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&self.host),
        };
        if let Some(port) = self.port {
            transport = transport.port(port);
        }
        if let Some((user, password)) = &self.credentials {
            transport = transport.credentials(Credentials::new(user.clone(), password.clone()));
        }
        let mailer = transport.timeout(Some(SEND_TIMEOUT)).build();
        mailer
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| format!("sending through {}: {e}", self.host))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_keycloaks_smtp_settings() {
        let extras = |v: Value| v.as_object().unwrap().clone();
        assert_eq!(SmtpSettings::of_realm(&extras(json!({}))), Ok(None));
        assert_eq!(
            SmtpSettings::of_realm(&extras(json!({"smtpServer": {}}))),
            Ok(None)
        );
        let full = SmtpSettings::of_realm(&extras(json!({"smtpServer": {
            "host": "mail.test", "port": "2525", "from": "id@acme.test",
            "fromDisplayName": "Acme", "auth": "true", "user": "u", "password": "p",
            "starttls": "true"}})))
        .unwrap()
        .unwrap();
        assert_eq!(full.port, Some(2525));
        assert_eq!(full.credentials, Some(("u".into(), "p".into())));
        assert!(full.starttls && !full.ssl);
        for bad in [
            json!({"smtpServer": {"host": "h", "port": "x", "from": "a@b"}}),
            json!({"smtpServer": {"host": "h"}}),
            json!({"smtpServer": {"host": "h", "from": "a@b", "auth": "true"}}),
        ] {
            assert!(
                SmtpSettings::of_realm(&extras(bad.clone())).is_err(),
                "{bad}"
            );
        }
    }
}
