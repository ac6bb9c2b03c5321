//! TLS for [`serve`](super::serve), on rustls with the `ring` provider (feature `tls`).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::pem::{self, PemObject};
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};

/// A server certificate chain and its key, for serving HTTPS without a proxy in front.
///
/// Cloning it is cheap (the configuration is shared).
///
/// # Examples
///
/// ```no_run
/// use taskward_mcp::transport::http::{HttpOptions, TlsConfig};
///
/// let mut options = HttpOptions::default();
/// options.tls = Some(TlsConfig::from_pem_files("cert.pem", "key.pem")?);
/// # Ok::<(), taskward_mcp::transport::http::TlsError>(())
/// ```
#[derive(Clone)]
pub struct TlsConfig {
    config: Arc<ServerConfig>,
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfig").finish_non_exhaustive()
    }
}

impl TlsConfig {
    /// Loads a PEM certificate chain (the server's certificate first) and a PEM private key
    /// (PKCS#8, PKCS#1 or SEC1), and serves TLS 1.2 and 1.3 with rustls' safe defaults,
    /// offering HTTP/1.1 over ALPN.
    ///
    /// # Errors
    ///
    /// [`TlsError`] when a file cannot be read or parsed, holds no certificate or no key,
    /// or the key does not fit the certificate.
    pub fn from_pem_files(cert: impl AsRef<Path>, key: impl AsRef<Path>) -> Result<Self, TlsError> {
        let (cert, key) = (cert.as_ref(), key.as_ref());
        let chain = CertificateDer::pem_file_iter(cert)
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|e| TlsError::pem(cert, e))?;
        if chain.is_empty() {
            return Err(TlsError::new(cert, "no certificate in the file", None));
        }
        let key = PrivateKeyDer::from_pem_file(key).map_err(|e| TlsError::pem(key, e))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .and_then(|b| b.with_no_client_auth().with_single_cert(chain, key))
            .map_err(|e| TlsError::new(cert, "the certificate and key do not fit", Some(e)))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self::from_server_config(Arc::new(config)))
    }

    /// Serves TLS with a rustls configuration built by the caller (client certificates,
    /// certificate resolvers, other providers). Offer `http/1.1` in its ALPN protocols, or
    /// none: the server speaks HTTP/1.1 only.
    pub fn from_server_config(config: Arc<ServerConfig>) -> Self {
        Self { config }
    }

    pub(super) fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(self.config.clone())
    }
}

/// A certificate or key that could not be loaded.
#[derive(Debug)]
pub struct TlsError {
    file: PathBuf,
    why: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl TlsError {
    fn new(file: &Path, why: &str, source: Option<rustls::Error>) -> Self {
        Self {
            file: file.to_owned(),
            why: why.to_owned(),
            source: source.map(|e| Box::new(e) as _),
        }
    }

    fn pem(file: &Path, error: pem::Error) -> Self {
        Self {
            file: file.to_owned(),
            why: format!("cannot load PEM: {error}"),
            source: Some(Box::new(error)),
        }
    }
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file.display(), self.why)
    }
}

impl std::error::Error for TlsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as _)
    }
}
