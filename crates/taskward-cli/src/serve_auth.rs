//! The authentication options of `taskward serve`, and the refusal to serve a network
//! without them.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use taskward_mcp::transport::http::auth::{Auth, Jwt, JwtOptions, StaticTokens};

use crate::BoxError;

/// How `taskward serve --http` authenticates requests.
#[derive(Debug, Args)]
pub(crate) struct AuthArgs {
    /// Accept the bearer tokens of FILE: one `<token> <principal> [operator]` a line
    /// (`#` comments); `operator` lets the principal read /status.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["jwks_file", "jwks_url", "stdio"])]
    pub(crate) auth_token_file: Option<PathBuf>,
    /// Accept OAuth 2.1 JWT access tokens signed by a key of this JWKS file.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["jwks_url", "stdio"], requires = "jwt_issuer")]
    pub(crate) jwks_file: Option<PathBuf>,
    /// Accept OAuth 2.1 JWT access tokens signed by a key of the JWKS at this URL (fetched
    /// at start, and again for an unknown key id, at most every 30 s).
    #[arg(
        long,
        value_name = "URL",
        conflicts_with = "stdio",
        requires = "jwt_issuer"
    )]
    pub(crate) jwks_url: Option<String>,
    /// The `iss` JWT access tokens must carry (also advertised as the authorization server).
    #[arg(long, value_name = "URL")]
    pub(crate) jwt_issuer: Option<String>,
    /// The `aud` JWT access tokens must carry [default: the resource URL].
    #[arg(long, value_name = "AUD")]
    pub(crate) jwt_audience: Option<String>,
    /// A scope every JWT access token must grant (repeatable); without it: 403.
    #[arg(long, value_name = "SCOPE")]
    pub(crate) jwt_required_scope: Vec<String>,
    /// The JWT scope that lets a principal read /status.
    #[arg(long, value_name = "SCOPE", default_value = "taskward:operator")]
    pub(crate) jwt_operator_scope: String,
    /// This server's MCP endpoint as clients reach it (the protected resource), e.g.
    /// https://mcp.example.com/mcp [default: http://<Host header>/mcp].
    #[arg(long, value_name = "URL")]
    pub(crate) resource_url: Option<String>,
    /// An authorization server advertised in the protected-resource metadata (repeatable)
    /// [default: the JWT issuer].
    #[arg(long, value_name = "URL")]
    pub(crate) authorization_server: Vec<String>,
    /// Serve a non-loopback address without authentication: anyone who can reach it can
    /// run, read and cancel every task.
    #[arg(long)]
    pub(crate) allow_unauthenticated: bool,
}

impl AuthArgs {
    /// The authentication these options ask for, `None` for none.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe (it may fetch a JWKS).
    pub(crate) async fn auth(&self) -> Result<Option<Auth>, BoxError> {
        let auth = if let Some(path) = &self.auth_token_file {
            let tokens = StaticTokens::from_file(path)
                .map_err(|e| format!("--auth-token-file {}: {e}", path.display()))?;
            if tokens.is_empty() {
                return Err(format!("--auth-token-file {}: no token", path.display()).into());
            }
            Auth::static_tokens(tokens)
        } else if self.jwks_file.is_some() || self.jwks_url.is_some() {
            Auth::jwt(self.jwt().await?)
        } else {
            return Ok(None);
        };
        let auth = match &self.resource_url {
            Some(url) => auth.with_resource(url),
            None => auth,
        };
        Ok(Some(if self.authorization_server.is_empty() {
            auth
        } else {
            auth.with_authorization_servers(self.authorization_server.clone())
        }))
    }

    async fn jwt(&self) -> Result<Jwt, BoxError> {
        let issuer = self
            .jwt_issuer
            .clone()
            .ok_or("--jwks-file and --jwks-url need --jwt-issuer")?;
        let audience = self
            .jwt_audience
            .clone()
            .or_else(|| self.resource_url.clone())
            .ok_or("JWT access tokens need --resource-url (or --jwt-audience)")?;
        let mut options = JwtOptions::new(issuer, audience);
        options.required_scopes = self.jwt_required_scope.clone();
        options.operator_scope = self.jwt_operator_scope.clone();
        Ok(match (&self.jwks_file, &self.jwks_url) {
            (Some(path), _) => Jwt::from_jwks_file(options, path)
                .map_err(|e| format!("--jwks-file {}: {e}", path.display()))?,
            (None, Some(url)) => Jwt::from_jwks_url(options, url)
                .await
                .map_err(|e| format!("--jwks-url: {e}: {}", source_text(&e)))?,
            (None, None) => return Err("no JWKS".into()),
        })
    }
}

fn source_text(err: &dyn std::error::Error) -> String {
    err.source().map(ToString::to_string).unwrap_or_default()
}

/// Whether serving `addr` with or without authentication is allowed: a loopback address
/// always is (one user on one machine); any other needs authentication or
/// `--allow-unauthenticated`. `Ok(true)` asks for the loud warning.
pub(crate) fn check_exposure(
    addr: SocketAddr,
    authenticated: bool,
    allow_unauthenticated: bool,
) -> Result<bool, String> {
    if authenticated || addr.ip().is_loopback() {
        return Ok(false);
    }
    if allow_unauthenticated {
        return Ok(true);
    }
    Err(format!(
        "refusing to serve {addr} without authentication: anyone who can reach it could run, \
         read and cancel every task. Give --auth-token-file FILE or --jwks-file/--jwks-url \
         (with --jwt-issuer), bind a loopback address (127.0.0.1), or pass \
         --allow-unauthenticated to accept the risk"
    ))
}

/// The warning printed when serving a network without authentication.
pub(crate) fn warning(addr: SocketAddr) -> String {
    format!(
        "taskward: WARNING: serving {addr} WITHOUT AUTHENTICATION (--allow-unauthenticated): \
         anyone who can reach this address can run, read and cancel every task"
    )
}

#[cfg(test)]
mod tests {
    use super::check_exposure;

    #[test]
    fn only_loopback_may_go_without_auth() {
        let addr = |s: &str| s.parse().unwrap();
        assert_eq!(
            check_exposure(addr("127.0.0.1:3000"), false, false),
            Ok(false)
        );
        assert_eq!(check_exposure(addr("[::1]:3000"), false, false), Ok(false));
        let err = check_exposure(addr("0.0.0.0:3000"), false, false).unwrap_err();
        assert!(err.contains("--allow-unauthenticated"), "{err}");
        assert!(check_exposure(addr("[::]:3000"), false, false).is_err());
        assert!(check_exposure(addr("192.0.2.1:3000"), false, false).is_err());
        assert_eq!(check_exposure(addr("0.0.0.0:3000"), false, true), Ok(true));
        assert_eq!(check_exposure(addr("0.0.0.0:3000"), true, false), Ok(false));
    }
}
