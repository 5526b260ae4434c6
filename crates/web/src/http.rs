//! The one outbound HTTP client (upstream identity providers, CI issuers' discovery and key
//! sets), hyper over HTTP/1.1: no redirects
//! followed (a redirect from a token or user-info endpoint is an error, never a second request
//! somewhere else), a connect and a total timeout, answers read up to a size limit, TLS
//! through rustls with aws-lc-rs and the system's trusted roots.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use oauth2::{AsyncHttpClient, HttpRequest, HttpResponse};

const USER_AGENT: &str = concat!("Portcullis/", env!("CARGO_PKG_VERSION"));

/// How long a TCP (and TLS) connection may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a whole request may take, answer included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// The largest answer read (discovery documents, key sets and user infos are a few KiB).
pub const MAX_BODY: usize = 1 << 20;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("{0}")]
    Unreachable(String),
    #[error("{0}")]
    Invalid(String),
}

type Connector = hyper_rustls::HttpsConnector<HttpConnector>;

/// A cheap-to-clone HTTP client for identity providers and issuers.
#[derive(Clone)]
pub struct Http {
    client: Client<Connector, Full<Bytes>>,
    limits: Limits,
}

impl std::fmt::Debug for Http {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Http")
            .field("limits", &self.limits)
            .finish()
    }
}

/// Timeouts and limits of an [`Http`].
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub connect: Duration,
    pub total: Duration,
    pub max_body: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            connect: CONNECT_TIMEOUT,
            total: REQUEST_TIMEOUT,
            max_body: MAX_BODY,
        }
    }
}

impl Http {
    /// A client with the default limits and the system's trusted roots.
    pub fn new() -> Result<Http, HttpError> {
        Http::with_limits(Limits::default())
    }

    pub fn with_limits(limits: Limits) -> Result<Http, HttpError> {
        let mut roots = rustls::RootCertStore::empty();
        let found = rustls_native_certs::load_native_certs();
        for cert in found.certs {
            // A certificate the store cannot use is skipped, as browsers skip it.
            let _ = roots.add(cert);
        }
        if roots.is_empty() {
            tracing::warn!("no trusted root certificates found: HTTPS upstreams will fail");
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| HttpError::Invalid(format!("TLS configuration: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let mut tcp = HttpConnector::new();
        tcp.set_connect_timeout(Some(limits.connect));
        tcp.enforce_http(false);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp);
        let client = Client::builder(TokioExecutor::new()).build(connector);
        Ok(Http { client, limits })
    }

    /// Sends a request and reads the answer, at most the size limit, within the total
    /// timeout. Redirects are answers like any other: never followed.
    pub async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let url = request.uri().to_string();
        let exchange = async {
            let (mut parts, body) = request.into_parts();
            parts.headers.insert(
                oauth2::http::header::USER_AGENT,
                oauth2::http::HeaderValue::from_static(USER_AGENT),
            );
            let request = oauth2::http::Request::from_parts(parts, Full::new(Bytes::from(body)));
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| unreachable(&url, &e))?;
            let (parts, mut body) = response.into_parts();
            let mut bytes = Vec::new();
            while let Some(frame) = body.frame().await {
                let frame = frame.map_err(|_| {
                    HttpError::Unreachable(format!("{}: the connection broke", host_of(&url)))
                })?;
                if let Ok(chunk) = frame.into_data() {
                    if bytes.len() + chunk.len() > self.limits.max_body {
                        return Err(HttpError::Invalid(format!(
                            "{} answered more than {} bytes",
                            host_of(&url),
                            self.limits.max_body
                        )));
                    }
                    bytes.extend_from_slice(&chunk);
                }
            }
            Ok(HttpResponse::from_parts(parts, bytes))
        };
        match tokio::time::timeout(self.limits.total, exchange).await {
            Ok(result) => result,
            Err(_) => Err(HttpError::Unreachable(format!(
                "{}: no answer in time",
                host_of(&url)
            ))),
        }
    }

    /// `GET url` with `Accept: application/json` and a bearer token, as JSON; anything but
    /// a 200 with JSON is an error naming the status.
    pub async fn get_json(
        &self,
        url: &str,
        bearer: Option<&str>,
        accept: &str,
    ) -> Result<serde_json::Value, HttpError> {
        let mut request = HttpRequest::new(Vec::new());
        *request.uri_mut() = url
            .parse()
            .map_err(|_| HttpError::Invalid(format!("'{url}' is not a URL")))?;
        let headers = request.headers_mut();
        headers.insert(
            oauth2::http::header::ACCEPT,
            oauth2::http::HeaderValue::from_str(accept)
                .map_err(|_| HttpError::Invalid("bad Accept header".into()))?,
        );
        if let Some(token) = bearer {
            let value = oauth2::http::HeaderValue::from_str(&format!("Bearer {token}"))
                .map_err(|_| HttpError::Invalid("the access token is not a header value".into()))?;
            headers.insert(oauth2::http::header::AUTHORIZATION, value);
        }
        let response = self.send(request).await?;
        let status = response.status();
        if status != oauth2::http::StatusCode::OK {
            return Err(HttpError::Invalid(format!(
                "{} answered HTTP {}",
                host_of(url),
                status.as_u16()
            )));
        }
        serde_json::from_slice(response.body())
            .map_err(|_| HttpError::Invalid(format!("{} did not answer JSON", host_of(url))))
    }
}

fn unreachable(url: &str, e: &hyper_util::client::legacy::Error) -> HttpError {
    let why = if e.is_connect() {
        "connection failed"
    } else {
        "the connection broke"
    };
    HttpError::Unreachable(format!("{}: {why}", host_of(url)))
}

/// The host (and port) of a URL, for messages: never its path or query, which may carry
/// codes.
pub fn host_of(url: &str) -> String {
    oauth2::url::Url::parse(url)
        .ok()
        .and_then(|u| {
            u.host_str().map(|h| match u.port() {
                Some(p) => format!("{h}:{p}"),
                None => h.to_string(),
            })
        })
        .unwrap_or_else(|| "the identity provider".to_string())
}

impl<'c> AsyncHttpClient<'c> for Http {
    type Error = HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(self.send(request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_host_only() {
        assert_eq!(
            host_of("https://idp.test:8443/token?code=secret"),
            "idp.test:8443"
        );
        assert_eq!(host_of("http://127.0.0.1/x"), "127.0.0.1");
        assert_eq!(host_of("nonsense"), "the identity provider");
    }
}
