//! OAuth 2.0 Protected Resource Metadata (RFC 9728), and where it is served.

use axum::http::{HeaderMap, header};
use serde_json::{Value, json};

use super::Auth;

/// The well-known path of the metadata of the resource at the host's root.
pub(in crate::transport::http) const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";
/// The well-known path of the metadata of the `/mcp` resource (RFC 9728 §3.1: the
/// resource's path appended).
pub(in crate::transport::http) const WELL_KNOWN_MCP: &str =
    "/.well-known/oauth-protected-resource/mcp";

impl Auth {
    /// The resource URL: the configured one, or `http://<Host>/mcp` from the request.
    pub(super) fn resource_for(&self, headers: &HeaderMap) -> String {
        if let Some(resource) = &self.resource {
            return resource.clone();
        }
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_graphic() && b != b'"'))
            .unwrap_or("localhost");
        format!("http://{host}/mcp")
    }

    /// The URL of the metadata document of the resource: its origin, the well-known path,
    /// then the resource's own path.
    pub(super) fn metadata_url(&self, headers: &HeaderMap) -> String {
        let resource = self.resource_for(headers);
        let (origin, path) = split_origin(&resource);
        format!("{origin}{WELL_KNOWN}{path}")
    }

    /// The metadata document.
    pub(super) fn metadata(&self, headers: &HeaderMap) -> Value {
        let mut document = json!({
            "resource": self.resource_for(headers),
            "authorization_servers": self.authorization_servers,
            "bearer_methods_supported": ["header"],
        });
        let scopes = self.scopes_supported();
        if !scopes.is_empty() {
            document["scopes_supported"] = json!(scopes);
        }
        document
    }
}

/// `https://h:p/a/b` → (`https://h:p`, `/a/b`).
fn split_origin(url: &str) -> (&str, &str) {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(i) => url.split_at(after_scheme + i),
        None => (url, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::split_origin;

    #[test]
    fn splits_origin_and_path() {
        assert_eq!(split_origin("https://h:1/mcp"), ("https://h:1", "/mcp"));
        assert_eq!(split_origin("https://h"), ("https://h", ""));
        assert_eq!(split_origin("h/x"), ("h", "/x"));
    }
}
