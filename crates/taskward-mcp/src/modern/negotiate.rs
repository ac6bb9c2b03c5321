//! Reading a modern request's `_meta`: its protocol version and its capabilities.

use serde_json::{Value, json};

use crate::jsonrpc::{ErrorObject, MISSING_CAPABILITY, UNSUPPORTED_VERSION};
use crate::wire::{
    META_CLIENT_CAPABILITIES, META_PROTOCOL_VERSION, MODERN_VERSIONS, TASKS_EXTENSION,
};

/// What a request's `_meta` settled.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Negotiated {
    /// Whether the request declared the tasks extension.
    pub(crate) tasks: bool,
}

/// The `io.modelcontextprotocol/protocolVersion` of a request's `_meta`, when present.
pub(crate) fn meta_version(params: Option<&Value>) -> Option<&Value> {
    params?.get("_meta")?.get(META_PROTOCOL_VERSION)
}

/// Checks the request's version (`-32022` when unsupported, `-32602` when not a string) and
/// reads its capabilities. A request without a version (`server/discover` may omit `_meta`)
/// declares nothing.
pub(crate) fn negotiate(params: Option<&Value>) -> Result<Negotiated, ErrorObject> {
    if let Some(version) = meta_version(params) {
        let Some(version) = version.as_str() else {
            return Err(ErrorObject::invalid_params(format!(
                "malformed _meta: {META_PROTOCOL_VERSION} must be a string"
            )));
        };
        if !MODERN_VERSIONS.contains(&version) {
            return Err(
                ErrorObject::new(UNSUPPORTED_VERSION, "Unsupported protocol version")
                    .with_data(json!({ "supported": MODERN_VERSIONS, "requested": version })),
            );
        }
    }
    let tasks = params
        .and_then(|p| p.get("_meta"))
        .and_then(|m| m.get(META_CLIENT_CAPABILITIES))
        .and_then(|c| c.get("extensions"))
        .and_then(|e| e.get(TASKS_EXTENSION))
        .is_some_and(|t| !t.is_null());
    Ok(Negotiated { tasks })
}

/// `-32021`: the request needs the tasks extension it did not declare.
pub(crate) fn missing_tasks(why: &str) -> ErrorObject {
    ErrorObject::new(
        MISSING_CAPABILITY,
        format!("Missing required client capability: {why}"),
    )
    .with_data(json!({
        "requiredCapabilities": { "extensions": { TASKS_EXTENSION: {} } }
    }))
}
