//! A JSON Web Key Set: the signature keys of an authorization server, by key id, and where
//! to fetch it again.

use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::header::ACCEPT;
use axum::http::{Request, Uri};
use http_body_util::{BodyExt as _, Empty, LengthLimitError, Limited};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};

use super::error::AuthError;

/// How long fetching a JWKS may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest JWKS accepted.
const MAX_JWKS_BYTES: usize = 1024 * 1024;

/// One verification key, with the only algorithm it verifies and the checks for its tokens.
#[derive(Clone)]
pub(super) struct Key {
    pub(super) decoding: DecodingKey,
    pub(super) validation: Validation,
}

/// The usable keys of a JWKS: by `kid`, and those without one.
#[derive(Clone, Default)]
pub(super) struct KeySet {
    by_kid: HashMap<String, Key>,
    unnamed: Vec<Key>,
}

impl KeySet {
    /// Parses a JWKS document, keeping the signature keys of supported algorithms (RSA,
    /// ECDSA P-256/P-384, Ed25519); symmetric and encryption keys are skipped. `template`
    /// carries the claims checks; each key gets its own algorithm.
    pub(super) fn parse(json: &str, template: &Validation) -> Result<Self, AuthError> {
        let set: JwkSet = serde_json::from_str(json)
            .map_err(|e| AuthError::Jwks(format!("not a JSON Web Key Set: {e}")))?;
        let mut keys = Self::default();
        for jwk in &set.keys {
            let Some(algorithm) = algorithm(jwk) else {
                continue;
            };
            let Ok(decoding) = DecodingKey::from_jwk(jwk) else {
                continue;
            };
            let mut validation = template.clone();
            validation.algorithms = vec![algorithm];
            let key = Key {
                decoding,
                validation,
            };
            match &jwk.common.key_id {
                Some(kid) => {
                    keys.by_kid.insert(kid.clone(), key);
                }
                None => keys.unnamed.push(key),
            }
        }
        if keys.by_kid.is_empty() && keys.unnamed.is_empty() {
            return Err(AuthError::Jwks("no usable signature key".into()));
        }
        Ok(keys)
    }

    /// The key for a token's `kid`; a token without one uses the set's only key.
    pub(super) fn find(&self, kid: Option<&str>) -> Option<&Key> {
        match kid {
            Some(kid) => self.by_kid.get(kid),
            None => match (self.by_kid.len(), self.unnamed.as_slice()) {
                (0, [only]) => Some(only),
                (1, []) => self.by_kid.values().next(),
                _ => None,
            },
        }
    }
}

/// The algorithm a JWK verifies: its `alg`, else the usual one of its key type.
fn algorithm(jwk: &Jwk) -> Option<Algorithm> {
    if matches!(
        jwk.common.public_key_use,
        Some(PublicKeyUse::Encryption | PublicKeyUse::Other(_))
    ) {
        return None;
    }
    let algorithm = match &jwk.common.key_algorithm {
        Some(alg) => Algorithm::from_str(&alg.to_string()).ok()?,
        None => match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => Algorithm::RS256,
            AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
                EllipticCurve::P256 => Algorithm::ES256,
                EllipticCurve::P384 => Algorithm::ES384,
                _ => return None,
            },
            AlgorithmParameters::OctetKeyPair(_) => Algorithm::EdDSA,
            AlgorithmParameters::OctetKey(_) => return None,
        },
    };
    // Never a shared secret from a key set: anyone who can read it could sign.
    let symmetric = matches!(
        algorithm,
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512
    );
    (!symmetric).then_some(algorithm)
}

/// Refuses a JWKS URL that is not `https://`, unless `http://` on a loopback host.
pub(super) fn check_url(url: &str) -> Result<(), AuthError> {
    let parsed =
        Uri::from_str(url).map_err(|e| AuthError::Jwks(format!("{url} is not a URL: {e}")))?;
    let loopback = parsed.host().is_some_and(|host| {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        host.eq_ignore_ascii_case("localhost")
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    });
    match parsed.scheme_str() {
        Some("https") => Ok(()),
        Some("http") if loopback => Ok(()),
        _ => Err(AuthError::Jwks(format!(
            "{url}: a JWKS URL must be https:// (http:// only on a loopback host)"
        ))),
    }
}

/// The HTTP client that fetches JWKS URLs.
pub(super) type Client =
    hyper_util::client::legacy::Client<HttpsConnector<HttpConnector>, Empty<Bytes>>;

/// An HTTP client for JWKS URLs: rustls with the ring provider and the platform's roots.
pub(super) fn client() -> Result<Client, AuthError> {
    use rustls_platform_verifier::BuilderVerifierExt as _;
    let failed = |source: Box<dyn std::error::Error + Send + Sync>| AuthError::Fetch {
        url: String::new(),
        source,
    };
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| failed(e.into()))?
        .with_platform_verifier()
        .map_err(|e| failed(e.into()))?
        .with_no_client_auth();
    let connector = HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .build();
    Ok(hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build(connector))
}

/// Fetches a JWKS document: a `2xx` answer of at most 1 MiB, within 10 s.
pub(super) async fn fetch(client: &Client, url: &str) -> Result<String, AuthError> {
    let failed = |source: Box<dyn std::error::Error + Send + Sync>| AuthError::Fetch {
        url: url.to_owned(),
        source,
    };
    let request = Request::get(url)
        .header(ACCEPT, "application/json")
        .body(Empty::new())
        .map_err(|e| failed(e.into()))?;
    let fetched = async {
        let response = client
            .request(request)
            .await
            .map_err(|e| failed(e.into()))?;
        let status = response.status();
        if !status.is_success() {
            return Err(failed(format!("the server answered {status}").into()));
        }
        let body = Limited::new(response.into_body(), MAX_JWKS_BYTES)
            .collect()
            .await
            .map_err(|e| {
                if e.is::<LengthLimitError>() {
                    failed("the JWKS is larger than 1 MiB".into())
                } else {
                    failed(e)
                }
            })?
            .to_bytes();
        String::from_utf8(body.to_vec()).map_err(|e| failed(e.into()))
    };
    tokio::time::timeout(FETCH_TIMEOUT, fetched)
        .await
        .map_err(|_| failed("no answer within 10 s".into()))?
}
