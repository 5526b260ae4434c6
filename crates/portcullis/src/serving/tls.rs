//! HTTPS without a proxy: rustls (aws-lc-rs) with a certificate that is re-read on SIGHUP.
//!
//! The server configuration is built once; its certificate resolver hands every handshake the
//! certificate loaded last. A reload replaces it only when the new files parse and the key
//! matches the certificate, so a half-written file never takes the server's certificate away.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use anyhow::{Context, anyhow, bail};
use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// The certificate and key files, and what was loaded from them last.
#[derive(Debug)]
pub struct ReloadableCert {
    cert_path: PathBuf,
    key_path: PathBuf,
    provider: Arc<CryptoProvider>,
    current: RwLock<Arc<CertifiedKey>>,
}

impl ReloadableCert {
    /// Loads the files; an error here fails start-up.
    pub fn load(cert_path: &Path, key_path: &Path) -> anyhow::Result<Arc<ReloadableCert>> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let current = read(cert_path, key_path, &provider)?;
        Ok(Arc::new(ReloadableCert {
            cert_path: cert_path.to_path_buf(),
            key_path: key_path.to_path_buf(),
            provider,
            current: RwLock::new(Arc::new(current)),
        }))
    }

    /// Re-reads the files. On error the previous certificate stays in use.
    pub fn reload(&self) -> anyhow::Result<()> {
        let fresh = read(&self.cert_path, &self.key_path, &self.provider)?;
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(fresh);
        Ok(())
    }

    pub fn cert_path(&self) -> &Path {
        &self.cert_path
    }

    /// The server configuration: HTTP/1.1 by ALPN, certificates from `self`.
    pub fn server_config(self: &Arc<Self>) -> anyhow::Result<Arc<ServerConfig>> {
        let mut config = ServerConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()
            .context("TLS protocol versions")?
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

impl ResolvesServerCert for ReloadableCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(
            self.current
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        )
    }
}

fn read(
    cert_path: &Path,
    key_path: &Path,
    provider: &CryptoProvider,
) -> anyhow::Result<CertifiedKey> {
    let chain = CertificateDer::pem_file_iter(cert_path)
        .map_err(|e| anyhow!("reading --tls-cert {}: {e}", cert_path.display()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow!("parsing --tls-cert {}: {e}", cert_path.display()))?;
    if chain.is_empty() {
        bail!(
            "--tls-cert {} holds no PEM certificate",
            cert_path.display()
        );
    }
    let key = PrivateKeyDer::from_pem_file(key_path)
        .map_err(|e| anyhow!("reading --tls-key {}: {e}", key_path.display()))?;
    CertifiedKey::from_der(chain, key, provider).map_err(|e| {
        anyhow!(
            "--tls-key {} does not fit --tls-cert {}: {e}",
            key_path.display(),
            cert_path.display()
        )
    })
}
