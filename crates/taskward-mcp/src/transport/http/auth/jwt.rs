//! OAuth 2.1 resource-server mode: JWT access tokens checked against a JWKS.

use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;

use super::cache::TokenCache;
use super::error::{AuthError, read};
use super::jwks::{self, KeySet};
use super::{Principal, Refusal};

/// The scope that makes a JWT's principal an operator, unless configured otherwise.
pub const DEFAULT_OPERATOR_SCOPE: &str = "taskward:operator";

/// What a JWT access token must say to be accepted.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct JwtOptions {
    /// The `iss` the tokens must carry: the authorization server.
    pub issuer: String,
    /// The `aud` the tokens must carry: this resource, normally its URL (RFC 8707).
    pub audience: String,
    /// Scopes every token must grant (`scope`, space-separated, or `scp`); a valid token
    /// missing one gets `403 insufficient_scope`.
    pub required_scopes: Vec<String>,
    /// The scope that makes the principal an operator, allowed to read `/status` (default
    /// [`DEFAULT_OPERATOR_SCOPE`]).
    pub operator_scope: String,
    /// How far past `exp` (and before `nbf`) a token is still accepted, for clock skew
    /// (default 30 s).
    pub leeway: Duration,
    /// A JWKS URL is fetched again for an unknown `kid` at most this often (default 30 s).
    pub min_refresh_interval: Duration,
}

impl JwtOptions {
    /// Options for tokens of `issuer` meant for `audience`, with the defaults.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into(),
            audience: audience.into(),
            required_scopes: Vec::new(),
            operator_scope: DEFAULT_OPERATOR_SCOPE.into(),
            leeway: Duration::from_secs(30),
            min_refresh_interval: Duration::from_secs(30),
        }
    }

    /// The claims checks, before the key's algorithm is set.
    fn validation(&self) -> Validation {
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = self.leeway.as_secs();
        validation
    }
}

/// A JWT access-token validator: signature against a JWKS, `iss`, `aud`, `exp`/`nbf` with
/// leeway, required scopes. The principal is the token's `sub`.
///
/// Keys come from a JWKS document (a file, or text) or from a URL, fetched at start and
/// fetched again when a token names an unknown `kid` (at most once per
/// [`JwtOptions::min_refresh_interval`]). Only asymmetric signature keys are used (RSA,
/// ECDSA P-256/P-384, Ed25519), each for its own algorithm: a token whose `alg` is not its
/// key's is refused.
///
/// A token that passed is remembered by its SHA-256 digest (up to 10,000 of them) until its
/// `exp` plus the leeway, so that a client sending the same token on every request pays for
/// its signature once; the memory is emptied when the key set changes.
#[derive(Clone)]
pub struct Jwt {
    inner: Arc<Inner>,
}

struct Inner {
    options: JwtOptions,
    keys: RwLock<Arc<KeySet>>,
    remote: Option<Remote>,
    cache: TokenCache,
}

struct Remote {
    url: String,
    client: jwks::Client,
    last_fetch: tokio::sync::Mutex<Instant>,
}

impl std::fmt::Debug for Jwt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jwt")
            .field("options", &self.inner.options)
            .field("jwks_url", &self.inner.remote.as_ref().map(|r| &r.url))
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct Claims {
    sub: String,
    exp: f64,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    scp: Option<Scp>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Scp {
    List(Vec<String>),
    One(String),
}

impl Jwt {
    /// A validator over a JWKS document.
    ///
    /// # Errors
    ///
    /// [`AuthError::Jwks`] when the text is not a key set or holds no usable key.
    pub fn from_jwks_json(options: JwtOptions, jwks: &str) -> Result<Self, AuthError> {
        let keys = KeySet::parse(jwks, &options.validation())?;
        Ok(Self::new(options, keys, None))
    }

    /// A validator over a JWKS file.
    ///
    /// # Errors
    ///
    /// [`AuthError::Read`] or [`AuthError::Jwks`].
    pub fn from_jwks_file(options: JwtOptions, path: impl AsRef<Path>) -> Result<Self, AuthError> {
        Self::from_jwks_json(options, &read(path.as_ref())?)
    }

    /// A validator over a JWKS URL, fetched now (over rustls, with the platform's roots).
    /// The URL must be `https://`, or `http://` on a loopback host (`localhost`,
    /// `127.0.0.1`, `[::1]`): keys fetched in the clear could be swapped on the way.
    ///
    /// # Errors
    ///
    /// [`AuthError::Jwks`] for a URL that is not https, [`AuthError::Fetch`] when it cannot
    /// be fetched, [`AuthError::Jwks`] when it is not a usable key set.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future drops the fetch.
    pub async fn from_jwks_url(options: JwtOptions, url: &str) -> Result<Self, AuthError> {
        jwks::check_url(url)?;
        let client = jwks::client()?;
        let keys = KeySet::parse(&jwks::fetch(&client, url).await?, &options.validation())?;
        let remote = Remote {
            url: url.to_owned(),
            client,
            last_fetch: tokio::sync::Mutex::new(Instant::now()),
        };
        Ok(Self::new(options, keys, Some(remote)))
    }

    fn new(options: JwtOptions, keys: KeySet, remote: Option<Remote>) -> Self {
        Self {
            inner: Arc::new(Inner {
                options,
                keys: RwLock::new(Arc::new(keys)),
                remote,
                cache: TokenCache::default(),
            }),
        }
    }

    /// The options the tokens are checked with.
    pub fn options(&self) -> &JwtOptions {
        &self.inner.options
    }

    fn keys(&self) -> Arc<KeySet> {
        self.inner
            .keys
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The principal a token stands for, or why it is refused.
    ///
    /// A token that passed is remembered (by its SHA-256 digest) until its `exp` plus the
    /// leeway, so that a client sending it again pays a hash and a lookup; the memory is
    /// emptied when the key set changes.
    pub(super) async fn validate(&self, token: &str) -> Result<Principal, Refusal> {
        let digest = super::digest(token);
        let now = jsonwebtoken::get_current_timestamp();
        if let Some(principal) = self.inner.cache.get(&digest, now) {
            return Ok(principal);
        }
        let (principal, exp) = self.check(token).await?;
        let until = exp.saturating_add(self.inner.options.leeway.as_secs());
        self.inner.cache.insert(digest, principal.clone(), until);
        Ok(principal)
    }

    /// Checks a token in full: the principal and its `exp`, or why it is refused.
    async fn check(&self, token: &str) -> Result<(Principal, u64), Refusal> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| Refusal::invalid())?;
        let kid = header.kid.as_deref();
        let mut keys = self.keys();
        if keys.find(kid).is_none() && kid.is_some() {
            keys = self.refresh().await;
        }
        let key = keys.find(kid).ok_or_else(Refusal::invalid)?;
        if key.validation.algorithms.first() != Some(&header.alg) {
            return Err(Refusal::invalid());
        }
        let data =
            jsonwebtoken::decode::<Claims>(token, &key.decoding, &key.validation).map_err(|e| {
                match e.kind() {
                    ErrorKind::ExpiredSignature => Refusal::Invalid("the token has expired"),
                    _ => Refusal::invalid(),
                }
            })?;
        let claims = data.claims;
        let scopes: Vec<&str> = match (&claims.scope, &claims.scp) {
            (Some(scope), _) => scope.split_whitespace().collect(),
            (None, Some(Scp::List(list))) => list.iter().map(String::as_str).collect(),
            (None, Some(Scp::One(scp))) => scp.split_whitespace().collect(),
            (None, None) => Vec::new(),
        };
        let options = &self.inner.options;
        if !options
            .required_scopes
            .iter()
            .all(|s| scopes.contains(&s.as_str()))
        {
            return Err(Refusal::Scope);
        }
        // `exp` passed validation, so it is a finite number of seconds not in the past.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let exp = claims.exp as u64;
        if scopes.contains(&options.operator_scope.as_str()) {
            Ok((Principal::operator(claims.sub), exp))
        } else {
            Ok((Principal::new(claims.sub), exp))
        }
    }

    /// Fetches the JWKS again, unless it was fetched less than the minimum interval ago;
    /// returns the keys now in force. A failed fetch keeps the old keys.
    async fn refresh(&self) -> Arc<KeySet> {
        let Some(remote) = &self.inner.remote else {
            return self.keys();
        };
        let mut last = remote.last_fetch.lock().await;
        if last.elapsed() < self.inner.options.min_refresh_interval {
            return self.keys();
        }
        *last = Instant::now();
        let template = self.inner.options.validation();
        match jwks::fetch(&remote.client, &remote.url).await {
            Ok(text) => match KeySet::parse(&text, &template) {
                Ok(keys) => {
                    let keys = Arc::new(keys);
                    *self.inner.keys.write().unwrap_or_else(|e| e.into_inner()) = keys.clone();
                    self.inner.cache.clear();
                    return keys;
                }
                Err(err) => tracing::warn!("JWKS refresh from {}: {err}", remote.url),
            },
            Err(err) => tracing::warn!("JWKS refresh: {err}"),
        }
        self.keys()
    }
}
