//! Authentication of the HTTP transport, and the principal each request acts for.
//!
//! Every `/mcp` request (`POST`, `GET`, `DELETE`) acts for a [`Principal`], or for nobody
//! (anonymous). It gets one in either of two ways:
//!
//! - **An embedder's layer.** A tower/axum layer put in front of
//!   [`router`](super::router) inserts a [`Principal`] into the request's extensions; the
//!   transport takes it as is (and skips its own [`Auth`], if any).
//! - **The transport's own [`Auth`]** ([`HttpOptions::auth`](super::HttpOptions::auth)):
//!   static bearer tokens ([`StaticTokens`]) or OAuth 2.1 resource-server mode, JWT access
//!   tokens checked against a JWKS ([`Jwt`]). The protected-resource metadata (RFC 9728) is
//!   served at `/.well-known/oauth-protected-resource` and
//!   `/.well-known/oauth-protected-resource/mcp`.
//!
//! | request | answer |
//! |---|---|
//! | no `Authorization: Bearer` | `401`, `WWW-Authenticate: Bearer resource_metadata="…"` (and `scope="…"` when scopes are required) |
//! | a token refused (unknown, bad signature, expired, wrong `iss` or `aud`, unknown `kid`) | `401`, the same plus `error="invalid_token"` |
//! | a valid token without a required scope | `403`, `WWW-Authenticate: Bearer error="insufficient_scope", scope="…"` |
//! | `GET /status` by a principal that is not an operator | `403`, `error="insufficient_scope"` |
//!
//! Bodies are JSON-RPC errors (`-32600`, id `null`).
//!
//! What the principal binds: a session opened by `initialize` belongs to its principal, and
//! the same session id sent by another principal (or anonymously) is answered as an
//! unknown session (`404`, `-32001`). Stateless 2026-07-28 tasks live in the principal's own
//! scope ([`Server::modern_scope`](crate::Server::modern_scope)), so a task id of another
//! principal gets the answer of an unknown id. Without authentication every request is
//! anonymous and shares one scope: that is for a single user on a loopback address.
//!
//! `GET /status` needs an operator ([`Principal::is_operator`]) when authentication is on:
//! a static token whose line ends in `operator`, a JWT granting
//! [`JwtOptions::operator_scope`] (default `taskward:operator`), or a principal made with
//! [`Principal::operator`] by an embedder's layer.
//!
//! # Examples
//!
//! An embedder's own authentication, handing the transport a principal:
//!
//! ```
//! use axum::extract::Request;
//! use axum::middleware::{self, Next};
//! use axum::response::Response;
//! use taskward_mcp::Server;
//! use taskward_mcp::transport::http::{self, HttpOptions, auth::Principal};
//! use taskward_runtime::Taskward;
//!
//! async fn who(mut request: Request, next: Next) -> Response {
//!     // A real layer checks a credential here (a cookie, mTLS, an API gateway's header).
//!     let user = request
//!         .headers()
//!         .get("x-user")
//!         .and_then(|v| v.to_str().ok())
//!         .map(str::to_owned);
//!     if let Some(user) = user {
//!         request.extensions_mut().insert(Principal::new(user));
//!     }
//!     next.run(request).await
//! }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let ward = Taskward::builder().spawn().await.unwrap();
//! let app = http::router(Server::builder(ward).build(), HttpOptions::default())
//!     .layer(middleware::from_fn(who));
//! # let _: axum::Router = app;
//! # }
//! ```

mod cache;
mod error;
mod jwks;
mod jwt;
pub(super) mod layer;
mod metadata;
mod static_tokens;

use std::sync::Arc;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;

pub use error::AuthError;
pub use jwt::{DEFAULT_OPERATOR_SCOPE, Jwt, JwtOptions};
pub use static_tokens::StaticTokens;

use super::reply;
use crate::jsonrpc::INVALID_REQUEST;

/// Who a request acts for: a name, and whether it may read the operator's views.
///
/// Sessions and stateless tasks are bound to the name. Put one in a request's extensions
/// from your own layer to authenticate requests yourself (see the [module](self) docs).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Principal {
    name: String,
    operator: bool,
}

impl Principal {
    /// A principal that is not an operator.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            operator: false,
        }
    }

    /// A principal that is an operator: it may also read `GET /status`.
    pub fn operator(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            operator: true,
        }
    }

    /// The name sessions and tasks are bound to.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether it may read the operator's views (`GET /status`).
    pub fn is_operator(&self) -> bool {
        self.operator
    }
}

/// The transport's own authentication: how a bearer token becomes a [`Principal`], and the
/// protected-resource metadata it advertises.
///
/// # Examples
///
/// ```
/// use taskward_mcp::transport::http::HttpOptions;
/// use taskward_mcp::transport::http::auth::{Auth, StaticTokens};
///
/// let tokens = StaticTokens::parse("a-long-random-token-0001 alice\n").unwrap();
/// let mut options = HttpOptions::default();
/// options.auth = Some(Auth::static_tokens(tokens).with_resource("https://mcp.example.com/mcp"));
/// ```
#[derive(Debug, Clone)]
pub struct Auth {
    verifier: Verifier,
    resource: Option<String>,
    authorization_servers: Vec<String>,
}

#[derive(Debug, Clone)]
enum Verifier {
    Static(Arc<StaticTokens>),
    Jwt(Jwt),
}

impl Auth {
    /// Static bearer tokens. No authorization server is advertised unless one is set.
    pub fn static_tokens(tokens: StaticTokens) -> Self {
        Self {
            verifier: Verifier::Static(Arc::new(tokens)),
            resource: None,
            authorization_servers: Vec::new(),
        }
    }

    /// JWT access tokens. The token issuer is advertised as the authorization server unless
    /// others are set.
    pub fn jwt(jwt: Jwt) -> Self {
        let issuer = jwt.options().issuer.clone();
        Self {
            verifier: Verifier::Jwt(jwt),
            resource: None,
            authorization_servers: vec![issuer],
        }
    }

    /// The resource's URL (the `/mcp` endpoint as clients reach it), advertised in the
    /// metadata and in `resource_metadata`. Without it, `http://<Host header>/mcp`.
    pub fn with_resource(mut self, url: impl Into<String>) -> Self {
        self.resource = Some(url.into());
        self
    }

    /// The authorization servers advertised in the metadata.
    pub fn with_authorization_servers(mut self, servers: Vec<String>) -> Self {
        self.authorization_servers = servers;
        self
    }

    /// The configured resource URL.
    pub fn resource(&self) -> Option<&str> {
        self.resource.as_deref()
    }

    /// The scopes advertised: the required ones and the operator's (JWT mode).
    fn scopes_supported(&self) -> Vec<&str> {
        match &self.verifier {
            Verifier::Static(_) => Vec::new(),
            Verifier::Jwt(jwt) => {
                let options = jwt.options();
                let mut scopes: Vec<&str> =
                    options.required_scopes.iter().map(String::as_str).collect();
                if !scopes.contains(&options.operator_scope.as_str()) {
                    scopes.push(&options.operator_scope);
                }
                scopes
            }
        }
    }

    /// The scopes every token must grant, space-separated (empty when none).
    fn required_scope(&self) -> String {
        match &self.verifier {
            Verifier::Static(_) => String::new(),
            Verifier::Jwt(jwt) => jwt.options().required_scopes.join(" "),
        }
    }

    /// The principal of a request's `Authorization: Bearer` token, or `None` when there is
    /// none or it is refused: what the transport does for each `/mcp` request, for an
    /// embedder's own routes.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe. In JWT mode over a JWKS URL, a token naming an unknown key id may wait
    /// for the key set's refetch; dropping the future drops the wait.
    pub async fn principal(&self, headers: &HeaderMap) -> Option<Principal> {
        self.authenticate(headers).await.ok()
    }

    /// The principal of a request's bearer token, or why the request is refused.
    pub(super) async fn authenticate(&self, headers: &HeaderMap) -> Result<Principal, Refusal> {
        let token = bearer(headers)?;
        match &self.verifier {
            Verifier::Static(tokens) => tokens
                .principal(token)
                .cloned()
                .ok_or_else(Refusal::invalid),
            Verifier::Jwt(jwt) => jwt.validate(token).await,
        }
    }

    /// The scope that makes an operator, as said in a `403` (JWT mode).
    fn operator_scope(&self) -> Option<&str> {
        match &self.verifier {
            Verifier::Static(_) => None,
            Verifier::Jwt(jwt) => Some(&jwt.options().operator_scope),
        }
    }
}

/// Why a request is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refusal {
    /// No bearer token.
    Missing,
    /// A token was sent and refused; the description.
    Invalid(&'static str),
    /// A valid token lacks a required scope.
    Scope,
    /// The principal is not an operator.
    NotOperator,
}

impl Refusal {
    fn invalid() -> Self {
        Self::Invalid("the token is not valid")
    }

    /// The `401` or `403` answer, with its challenge.
    pub(super) fn response(self, auth: Option<&Auth>, headers: &HeaderMap) -> Response {
        let metadata = auth.map(|a| format!("resource_metadata=\"{}\"", a.metadata_url(headers)));
        let mut params: Vec<String> = Vec::new();
        let (status, message) = match self {
            Self::Missing => {
                params.extend(metadata);
                if let Some(scope) = auth.map(Auth::required_scope).filter(|s| !s.is_empty()) {
                    params.push(format!("scope=\"{scope}\""));
                }
                (StatusCode::UNAUTHORIZED, "authentication required")
            }
            Self::Invalid(why) => {
                params.extend(metadata);
                params.push("error=\"invalid_token\"".into());
                params.push(format!("error_description=\"{why}\""));
                (StatusCode::UNAUTHORIZED, "invalid bearer token")
            }
            Self::Scope => {
                params.push("error=\"insufficient_scope\"".into());
                let scope = auth.map(Auth::required_scope).unwrap_or_default();
                params.push(format!("scope=\"{scope}\""));
                params.extend(metadata);
                (StatusCode::FORBIDDEN, "insufficient scope")
            }
            Self::NotOperator => {
                params.push("error=\"insufficient_scope\"".into());
                if let Some(scope) = auth.and_then(Auth::operator_scope) {
                    params.push(format!("scope=\"{scope}\""));
                }
                params.extend(metadata);
                (StatusCode::FORBIDDEN, "an operator credential is needed")
            }
        };
        let mut response = reply::error(status, None, INVALID_REQUEST, message);
        let challenge = if params.is_empty() {
            "Bearer".to_owned()
        } else {
            format!("Bearer {}", params.join(", "))
        };
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}

/// The SHA-256 digest a token is kept and looked up by.
fn digest(token: &str) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(token.as_bytes()).into()
}

/// The bearer token of `Authorization: Bearer <token>` (the scheme in any case).
fn bearer(headers: &HeaderMap) -> Result<&str, Refusal> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Err(Refusal::Missing);
    };
    if values.next().is_some() {
        return Err(Refusal::invalid());
    }
    let value = value.to_str().map_err(|_| Refusal::invalid())?;
    let (scheme, token) = value.trim().split_once(' ').ok_or(Refusal::Missing)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(Refusal::Missing);
    }
    let token = token.trim();
    if static_tokens::is_b64token(token) {
        Ok(token)
    } else {
        Err(Refusal::invalid())
    }
}
