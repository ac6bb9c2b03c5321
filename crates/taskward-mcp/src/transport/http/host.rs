//! The allowed-hosts check against DNS rebinding: a page on `evil.example`, whose name the
//! attacker re-points at 127.0.0.1, reaches the server with `Host: evil.example`. Every
//! route refuses a host that is neither local nor allowed (as the official TypeScript and
//! Python MCP SDKs do), ignoring the port.

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::response::Response;
use futures_util::future::Either;
use tower_layer::Layer;
use tower_service::Service;

use super::reply;
use crate::jsonrpc::INVALID_REQUEST;

/// The hosts always allowed: loopback, by name and by address.
const LOCAL: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// Whether a host (as [`host_of`] gives it) is a loopback one.
pub(super) fn is_local_host(host: &str) -> bool {
    LOCAL.iter().any(|l| l.eq_ignore_ascii_case(host))
}

/// The hosts a request may name: the local ones and the configured ones, lowercased,
/// IPv6 addresses without brackets.
#[derive(Debug)]
pub(super) struct AllowedHosts(Vec<String>);

impl AllowedHosts {
    /// The local hosts plus `extra` (names or addresses; a port or brackets are ignored).
    pub(super) fn new(extra: &[String]) -> Self {
        let local = LOCAL.map(String::from);
        let extra = extra.iter().filter_map(|h| {
            let h = h.trim();
            match h.parse::<std::net::Ipv6Addr>() {
                Ok(v6) => Some(v6.to_string()),
                Err(_) => host_of(h).map(str::to_ascii_lowercase),
            }
        });
        Self(local.into_iter().chain(extra).collect())
    }

    /// Whether the `Host` header's value names an allowed host (on any port).
    fn allows(&self, value: &[u8]) -> bool {
        std::str::from_utf8(value)
            .ok()
            .and_then(host_of)
            .is_some_and(|host| self.0.iter().any(|a| a.eq_ignore_ascii_case(host)))
    }
}

/// The host of `host[:port]`, `[v6][:port]` (without brackets), with one trailing dot
/// removed; `None` when it is malformed (an empty host, a bad port, stray characters).
pub(super) fn host_of(value: &str) -> Option<&str> {
    let (host, port) = match value.strip_prefix('[') {
        Some(v6) => {
            let (host, rest) = v6.split_once(']')?;
            (host, rest)
        }
        None => match value.split_once(':') {
            Some((host, port)) => (host, value.get(host.len()..).unwrap_or(port)),
            None => (value, ""),
        },
    };
    let port_ok = port.is_empty()
        || port.strip_prefix(':').is_some_and(|p| {
            !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit())
        });
    let host = host.strip_suffix('.').unwrap_or(host);
    let chars_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'_'));
    (port_ok && chars_ok).then_some(host)
}

/// The layer that refuses (`403`, JSON-RPC error "host not allowed") a request whose `Host`
/// header, or whose request-target authority, names a host that is not allowed. A request
/// without `Host` is not a browser's and passes.
///
/// A plain tower layer rather than `axum::middleware::from_fn`, which clones the boxed inner
/// service and boxes a future on every request: this check runs on every request, so it
/// costs a header scan and nothing else.
#[derive(Debug, Clone)]
pub(super) struct HostCheckLayer(Arc<AllowedHosts>);

impl HostCheckLayer {
    pub(super) fn new(allowed: AllowedHosts) -> Self {
        Self(Arc::new(allowed))
    }

    /// The hosts it allows.
    pub(super) fn allowed(&self) -> &Arc<AllowedHosts> {
        &self.0
    }
}

impl<S> Layer<S> for HostCheckLayer {
    type Service = HostCheck<S>;

    fn layer(&self, inner: S) -> HostCheck<S> {
        HostCheck {
            allowed: self.0.clone(),
            inner,
        }
    }
}

/// The service of [`HostCheckLayer`].
#[derive(Debug, Clone)]
pub(super) struct HostCheck<S> {
    allowed: Arc<AllowedHosts>,
    inner: S,
}

impl<S> Service<Request> for HostCheck<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<Ready<Result<Response, Infallible>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        match refusal(&self.allowed, &request) {
            None => Either::Right(self.inner.call(request)),
            Some(refused) => Either::Left(ready(Ok(refused))),
        }
    }
}

/// The answer to a request whose `Host` header, or whose request-target authority, names a
/// host that is not allowed (`403`, "host not allowed"); `None` when it may pass.
pub(super) fn refusal<B>(allowed: &AllowedHosts, request: &Request<B>) -> Option<Response> {
    let from_header = request
        .headers()
        .get_all(header::HOST)
        .iter()
        .all(|v| allowed.allows(v.as_bytes()));
    let from_target = request
        .uri()
        .authority()
        .is_none_or(|a| allowed.allows(a.as_str().as_bytes()));
    (!(from_header && from_target)).then(|| {
        reply::error(
            StatusCode::FORBIDDEN,
            None,
            INVALID_REQUEST,
            "host not allowed",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::{AllowedHosts, host_of};

    #[test]
    fn hosts_are_read_without_their_port() {
        assert_eq!(host_of("localhost"), Some("localhost"));
        assert_eq!(host_of("localhost:3000"), Some("localhost"));
        assert_eq!(host_of("[::1]:3000"), Some("::1"));
        assert_eq!(host_of("[::1]"), Some("::1"));
        assert_eq!(host_of("example.com."), Some("example.com"));
        for bad in [
            "",
            ":80",
            "[::1",
            "[::1]x",
            "a:b",
            "a:99999999",
            "a b",
            "a@b",
            "a/b",
            "a:",
        ] {
            assert_eq!(host_of(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn local_and_configured_hosts_are_allowed() {
        let allowed = AllowedHosts::new(&[
            "Mcp.Example.com:443".into(),
            "[2001:db8::1]".into(),
            "2001:db8::2".into(),
        ]);
        for ok in [
            "localhost",
            "LOCALHOST:1",
            "127.0.0.1:80",
            "[::1]:8080",
            "mcp.example.com",
            "[2001:db8::1]:1",
            "[2001:db8::2]",
        ] {
            assert!(allowed.allows(ok.as_bytes()), "{ok}");
        }
        for bad in [
            "evil.example",
            "localhost.evil.example",
            "127.0.0.2",
            "[::2]",
            "\u{e9}.example",
        ] {
            assert!(!allowed.allows(bad.as_bytes()), "{bad}");
        }
        assert!(!allowed.allows(b"\xff\xfe"));
    }
}
