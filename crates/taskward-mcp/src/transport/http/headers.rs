//! What the transport reads from request headers: origin, protocol version, session id,
//! accepted media types, and the routing headers that mirror the body (SEP-2243).

use std::borrow::Cow;

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use super::host::{host_of, is_local_host};
use super::reply;
use crate::jsonrpc::INVALID_REQUEST;
use crate::wire::SUPPORTED_VERSIONS;

/// The session header.
pub(super) const SESSION_ID: &str = "mcp-session-id";
/// The protocol version header.
pub(super) const PROTOCOL_VERSION: &str = "mcp-protocol-version";
/// 2026-07-28 routing header mirroring the JSON-RPC method.
pub(super) const MCP_METHOD: &str = "mcp-method";
/// 2026-07-28 routing header mirroring the request's name-shaped field (`taskId` on
/// `tasks/*`).
pub(super) const MCP_NAME: &str = "mcp-name";
/// The sentinel that wraps a routing header value sent in Base64: `=?base64?…?=`.
const BASE64_PREFIX: &str = "=?base64?";
const BASE64_SUFFIX: &str = "?=";

/// The refusal of an `/mcp` request whose `Origin` or `MCP-Protocol-Version` is not
/// acceptable, if it is not.
pub(super) fn refusal(headers: &HeaderMap, allowed: &[String]) -> Option<Response> {
    origin_refusal(headers, allowed).or_else(|| version_refusal(headers))
}

/// Refuses (`403`) a request whose `Origin` is neither local nor allowed.
pub(super) fn origin_refusal(headers: &HeaderMap, allowed: &[String]) -> Option<Response> {
    let origin = headers.get(header::ORIGIN)?;
    let ok = origin.to_str().is_ok_and(|origin| {
        let origin = origin.trim().trim_end_matches('/');
        is_local(origin)
            || allowed
                .iter()
                .any(|a| a.trim_end_matches('/').eq_ignore_ascii_case(origin))
    });
    (!ok).then(|| {
        reply::error(
            StatusCode::FORBIDDEN,
            None,
            INVALID_REQUEST,
            "origin not allowed",
        )
    })
}

/// Whether an origin is `http(s)://` on localhost, 127.0.0.1 or [::1], on any port.
fn is_local(origin: &str) -> bool {
    let Some((scheme, rest)) = origin.split_once("://") else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return false;
    }
    host_of(rest).is_some_and(is_local_host)
}

/// Refuses (`400`) an `MCP-Protocol-Version` header naming a revision the server does not
/// speak.
pub(super) fn version_refusal(headers: &HeaderMap) -> Option<Response> {
    let version = headers.get(PROTOCOL_VERSION)?;
    match version.to_str() {
        Ok(v) if SUPPORTED_VERSIONS.contains(&v.trim()) => None,
        _ => Some(reply::error(
            StatusCode::BAD_REQUEST,
            None,
            INVALID_REQUEST,
            &format!(
                "unsupported MCP-Protocol-Version; supported: {}",
                SUPPORTED_VERSIONS.join(", ")
            ),
        )),
    }
}

/// A header as text: `None` when absent, `Some(None)` when it is not visible ASCII.
pub(super) fn text<'a>(headers: &'a HeaderMap, name: &str) -> Option<Option<&'a str>> {
    headers.get(name).map(|v| v.to_str().ok().map(str::trim))
}

/// A routing header that mirrors a body field (`Mcp-Name`), its `=?base64?…?=` sentinel
/// unwrapped: `None` when absent, `Some(None)` when it is not visible ASCII or its sentinel
/// is not Base64 of UTF-8 (such a header agrees with no body).
pub(super) fn mirrored<'a>(headers: &'a HeaderMap, name: &str) -> Option<Option<Cow<'a, str>>> {
    text(headers, name).map(|value| value.and_then(unwrap_sentinel))
}

fn unwrap_sentinel(value: &str) -> Option<Cow<'_, str>> {
    match value
        .strip_prefix(BASE64_PREFIX)
        .and_then(|v| v.strip_suffix(BASE64_SUFFIX))
    {
        None => Some(Cow::Borrowed(value)),
        Some(encoded) => {
            let bytes = BASE64.decode(encoded).ok()?;
            String::from_utf8(bytes).ok().map(Cow::Owned)
        }
    }
}

/// What the request says about its session.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum SessionHeader<'a> {
    /// No `Mcp-Session-Id`.
    Missing,
    /// A session id (possibly an unknown one).
    Id(&'a str),
    /// A header that cannot be a session id (not visible ASCII): no session has it.
    Invalid,
}

/// Reads `Mcp-Session-Id`.
pub(super) fn session_id(headers: &HeaderMap) -> SessionHeader<'_> {
    match headers.get(SESSION_ID) {
        None => SessionHeader::Missing,
        Some(value) => match value.to_str() {
            Ok(id) if !id.is_empty() && id.bytes().all(|b| (0x21..=0x7e).contains(&b)) => {
                SessionHeader::Id(id)
            }
            _ => SessionHeader::Invalid,
        },
    }
}

/// The media types of `Accept`, without parameters (compare them ignoring ASCII case).
fn accepted(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|m| m.split(';').next().unwrap_or("").trim())
        .filter(|m| !m.is_empty())
}

fn is_any(media: &str, types: &[&str]) -> bool {
    types.iter().any(|t| media.eq_ignore_ascii_case(t))
}

/// Whether the client accepts an SSE stream (a missing `Accept` accepts anything).
pub(super) fn accepts_sse(headers: &HeaderMap) -> bool {
    let mut types = accepted(headers).peekable();
    types.peek().is_none() || types.any(|m| is_any(m, &["text/event-stream", "text/*", "*/*"]))
}

/// Whether the client accepts SSE but not JSON: then a request is answered as an SSE stream.
pub(super) fn wants_sse_only(headers: &HeaderMap) -> bool {
    accepted(headers).any(|m| is_any(m, &["text/event-stream"]))
        && !accepted(headers).any(|m| is_any(m, &["application/json", "application/*", "*/*"]))
}

#[cfg(test)]
mod tests {
    use super::{is_local, unwrap_sentinel};

    #[test]
    fn sentinel_values_are_decoded() {
        assert_eq!(unwrap_sentinel("plain-id").as_deref(), Some("plain-id"));
        assert_eq!(
            unwrap_sentinel("=?base64?Y2Fmw6k=?=").as_deref(),
            Some("café")
        );
        assert_eq!(unwrap_sentinel("=?base64??=").as_deref(), Some(""));
        assert_eq!(unwrap_sentinel("=?base64?***?="), None);
        assert_eq!(unwrap_sentinel("=?base64?/w==?="), None, "not UTF-8");
        // Not a whole sentinel: taken as it is.
        assert_eq!(
            unwrap_sentinel("=?base64?abc").as_deref(),
            Some("=?base64?abc")
        );
    }

    #[test]
    fn local_origins_on_any_port() {
        for ok in [
            "http://localhost",
            "http://localhost:3000",
            "https://127.0.0.1:8443",
            "http://[::1]:8080",
            "HTTP://LocalHost:1",
        ] {
            assert!(is_local(ok), "{ok}");
        }
        for bad in [
            "null",
            "http://localhost.evil.com",
            "http://evil.com",
            "http://127.0.0.1.evil.com:80",
            "http://localhost:80x",
            "file://localhost",
            "http://[::2]:80",
            "http://localhost@evil.com",
        ] {
            assert!(!is_local(bad), "{bad}");
        }
    }
}
