//! TLS to the server, as the URL's `sslmode` asks, on rustls (`tokio-postgres-rustls`).
//!
//! The modes are libpq's: `disable` (plain), `prefer` (TLS if the server offers it, plain
//! otherwise; tokio-postgres' default), `require` (TLS or no connection), `verify-ca` (TLS
//! with a certificate that chains to a trusted root) and `verify-full` (that, and the
//! certificate names the host). As with libpq, `prefer` and `require` check the server's
//! certificate only when a CA file is given (it must then chain to it); `verify-ca` and
//! `verify-full` check it against the CA file, or the system's roots without one.
//! tokio-postgres parses the first three; the verify modes are read here and connect as
//! `require` with the stricter check.

use std::path::Path;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use taskward_core::StoreError;
use tokio_postgres_rustls::MakeRustlsConnect;

/// The connector every connection of the crate opens with (used by tokio-postgres only
/// when the `sslmode` is not `disable`).
#[derive(Clone)]
pub(crate) struct Tls(pub(crate) MakeRustlsConnect);

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tls(rustls)")
    }
}

/// How the server's certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Check {
    /// `disable`, `prefer`, `require`: against the CA file if one is given, else not at all.
    Encrypt,
    /// `verify-ca`: chains to a trusted root.
    Chain,
    /// `verify-full`: chains, and names the host.
    Full,
}

/// Reads the verify modes out of `url` (tokio-postgres does not know them): the URL with
/// `sslmode=require` in their place, and the check they ask for.
pub(crate) fn split_mode(url: &str) -> (String, Check) {
    for (mode, check) in [("verify-full", Check::Full), ("verify-ca", Check::Chain)] {
        let key = format!("sslmode={mode}");
        if url.contains(&key) {
            return (url.replace(&key, "sslmode=require"), check);
        }
    }
    (url.to_owned(), Check::Encrypt)
}

/// The connector for `check`, trusting `ca_file` (PEM) if given.
pub(crate) fn connector(check: Check, ca_file: Option<&Path>) -> Result<Tls, StoreError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = match (ca_file, check) {
        (Some(path), _) => Some(read_ca(path)?),
        (None, Check::Encrypt) => None,
        (None, _) => Some(system_roots()?),
    };
    let verifier: Arc<dyn ServerCertVerifier> = match roots {
        None => Arc::new(Relaxed {
            chain: None,
            algorithms: provider.signature_verification_algorithms,
        }),
        Some(roots) => {
            let webpki =
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                    .build()
                    .map_err(|e| StoreError::with_source("postgres: TLS: no usable root", e))?;
            match check {
                Check::Full => webpki,
                Check::Encrypt | Check::Chain => Arc::new(Relaxed {
                    chain: Some(webpki),
                    algorithms: provider.signature_verification_algorithms,
                }),
            }
        }
    };
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError::with_source("postgres: TLS: no protocol version", e))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(Tls(MakeRustlsConnect::new(config)))
}

fn read_ca(path: &Path) -> Result<RootCertStore, StoreError> {
    let bad = |e: rustls::pki_types::pem::Error| {
        StoreError::with_source(
            format!("postgres: TLS: reading the CA file {}", path.display()),
            e,
        )
    };
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(path).map_err(bad)? {
        roots.add(cert.map_err(bad)?).map_err(|e| {
            StoreError::with_source("postgres: TLS: a CA certificate is unusable", e)
        })?;
    }
    if roots.is_empty() {
        return Err(StoreError::new(format!(
            "postgres: TLS: the CA file {} holds no certificate",
            path.display()
        )));
    }
    Ok(roots)
}

fn system_roots() -> Result<RootCertStore, StoreError> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(found.certs);
    if roots.is_empty() {
        return Err(StoreError::new(format!(
            "postgres: TLS: no system root certificate found ({} errors); give a CA file",
            found.errors.len()
        )));
    }
    Ok(roots)
}

/// The checks short of `verify-full`: with a chain verifier (`verify-ca`, and `prefer` or
/// `require` with a CA file) the chain is checked and the name is not; without one
/// (`prefer` and `require` without a CA file, as libpq) the certificate is not checked.
/// The handshake's signatures always are.
#[derive(Debug)]
struct Relaxed {
    chain: Option<Arc<WebPkiServerVerifier>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Relaxed {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            checked => checked,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_verify_modes_connect_as_require_with_their_check() {
        assert_eq!(
            split_mode("postgres://h/db?sslmode=verify-full"),
            ("postgres://h/db?sslmode=require".to_owned(), Check::Full)
        );
        assert_eq!(
            split_mode("host=h sslmode=verify-ca dbname=d"),
            ("host=h sslmode=require dbname=d".to_owned(), Check::Chain)
        );
        assert_eq!(
            split_mode("postgres://h/db?sslmode=require"),
            ("postgres://h/db?sslmode=require".to_owned(), Check::Encrypt)
        );
    }

    #[test]
    fn a_missing_ca_file_is_an_error_naming_it() {
        let err = connector(Check::Encrypt, Some(Path::new("/nonexistent/ca.pem"))).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
    }
}
