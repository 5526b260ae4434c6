//! A small blocking HTTP client: hyper over rustls (aws-lc-rs, the system's trusted roots), run
//! on a current-thread runtime owned by the client. Redirects are never followed (a token
//! endpoint that redirects is misconfigured, and following it would send a token elsewhere);
//! every request has a connect and a total timeout and a bounded answer.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::header::{ACCEPT, CONTENT_TYPE, USER_AGENT};
use hyper::{Method, Request};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::Error;

const AGENT: &str = concat!("docker-credential-portcullis/", env!("CARGO_PKG_VERSION"));
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Token responses and realm documents are a few KiB.
const MAX_BODY: usize = 1 << 20;

type Connector = hyper_rustls::HttpsConnector<HttpConnector>;

/// An answer: its status and body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The OAuth 2.0 `error` code of an error answer, if it has one.
    pub fn oauth_error(&self) -> Option<String> {
        self.json()?.get("error")?.as_str().map(str::to_owned)
    }

    /// `error: error_description` of an error answer, or its status, for messages.
    pub fn describe(&self) -> String {
        let json = self.json();
        let field = |name: &str| {
            json.as_ref()
                .and_then(|j| j.get(name))
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        };
        match (field("error"), field("error_description")) {
            (Some(error), Some(description)) => format!("{error}: {description}"),
            (Some(error), None) => error,
            _ => format!("HTTP {}", self.status),
        }
    }
}

pub struct Http {
    runtime: tokio::runtime::Runtime,
    client: Client<Connector, Full<Bytes>>,
}

impl Http {
    pub fn new() -> Result<Http, Error> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Setup(format!("cannot start the I/O runtime: {e}")))?;
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_native_certs::load_native_certs().certs {
            // A certificate the store cannot use is skipped, as browsers skip it.
            let _ = roots.add(cert);
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Setup(format!("TLS configuration: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let mut tcp = HttpConnector::new();
        tcp.set_connect_timeout(Some(CONNECT_TIMEOUT));
        tcp.enforce_http(false);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp);
        let client = Client::builder(TokioExecutor::new()).build(connector);
        Ok(Http { runtime, client })
    }

    /// `GET url`.
    pub fn get(&self, url: &str) -> Result<Answer, Error> {
        self.send(Method::GET, url, None)
    }

    /// `POST url` with a form body.
    pub fn post_form(&self, url: &str, form: &[(&str, &str)]) -> Result<Answer, Error> {
        let body = serde_urlencoded::to_string(form)
            .map_err(|e| Error::Setup(format!("encoding a form: {e}")))?;
        self.send(Method::POST, url, Some(body))
    }

    /// Sleeps on the client's runtime (between device-grant polls).
    pub fn sleep(&self, duration: Duration) {
        // Made inside the runtime: a timer needs its reactor when it is created.
        self.runtime
            .block_on(async move { tokio::time::sleep(duration).await });
    }

    fn send(&self, method: Method, url: &str, form: Option<String>) -> Result<Answer, Error> {
        let unreachable = |detail: String| Error::Unreachable {
            url: url.to_owned(),
            detail,
        };
        let mut request = Request::builder()
            .method(method)
            .uri(url)
            .header(USER_AGENT, AGENT)
            .header(ACCEPT, "application/json");
        if form.is_some() {
            request = request.header(CONTENT_TYPE, "application/x-www-form-urlencoded");
        }
        let request = request
            .body(Full::new(Bytes::from(form.unwrap_or_default())))
            .map_err(|e| unreachable(format!("not a usable URL ({e})")))?;
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| unreachable(error_chain(&e)))?;
            let status = response.status().as_u16();
            let mut body = response.into_body();
            let mut bytes = Vec::new();
            while let Some(frame) = body.frame().await {
                let frame = frame.map_err(|e| unreachable(format!("the answer broke off: {e}")))?;
                if let Ok(chunk) = frame.into_data() {
                    if bytes.len() + chunk.len() > MAX_BODY {
                        return Err(unreachable("the answer is too large".into()));
                    }
                    bytes.extend_from_slice(&chunk);
                }
            }
            Ok(Answer {
                status,
                body: bytes,
            })
        };
        self.runtime
            .block_on(async { tokio::time::timeout(REQUEST_TIMEOUT, exchange).await })
            .map_err(|_| unreachable(format!("no answer within {REQUEST_TIMEOUT:?}")))?
    }
}

/// An error and its causes, `: `-joined ("connection refused" is usually a cause).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
