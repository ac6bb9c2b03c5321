//! What the transport reads from request headers: origin, protocol version, session id,
//! accepted media types.

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;

use super::reply;
use crate::jsonrpc::INVALID_REQUEST;
use crate::wire::SUPPORTED_VERSIONS;

/// The session header.
pub(super) const SESSION_ID: &str = "mcp-session-id";
/// The protocol version header.
const PROTOCOL_VERSION: &str = "mcp-protocol-version";

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
    let (host, port) = match rest.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((host, port)) => (host, port),
            None => return false,
        },
        None => match rest.find(':') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        },
    };
    let port_ok = port.is_empty()
        || port.strip_prefix(':').is_some_and(|p| {
            !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit())
        });
    port_ok && (host.eq_ignore_ascii_case("localhost") || host == "127.0.0.1" || host == "::1")
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

/// The media types of `Accept`, lowercased, without parameters.
fn accepted(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|m| {
            m.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .filter(|m| !m.is_empty())
        .collect()
}

/// Whether the client accepts an SSE stream (a missing `Accept` accepts anything).
pub(super) fn accepts_sse(headers: &HeaderMap) -> bool {
    let types = accepted(headers);
    types.is_empty()
        || types
            .iter()
            .any(|m| m == "text/event-stream" || m == "text/*" || m == "*/*")
}

/// Whether the client accepts SSE but not JSON: then a request is answered as an SSE stream.
pub(super) fn wants_sse_only(headers: &HeaderMap) -> bool {
    let types = accepted(headers);
    types.iter().any(|m| m == "text/event-stream")
        && !types
            .iter()
            .any(|m| m == "application/json" || m == "application/*" || m == "*/*")
}

#[cfg(test)]
mod tests {
    use super::is_local;

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
