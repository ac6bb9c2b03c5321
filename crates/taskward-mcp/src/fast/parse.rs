//! Reading the hot path's requests: the JSON-RPC envelope with its params left raw, and the
//! params of `tasks/get`; `tools/call` reads [`CallToolParams`](crate::wire::CallToolParams).

use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::jsonrpc::RequestId;
use crate::wire::{
    META_CLIENT_CAPABILITIES, META_PROTOCOL_VERSION, MODERN_VERSION, TASKS_EXTENSION,
};

/// A request with exactly the four members of a JSON-RPC request and object params. Any
/// other member (`result`, `error`, an extension) sends the message to the general path.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Envelope<'a> {
    #[serde(borrow)]
    jsonrpc: &'a str,
    pub(super) id: RequestId,
    #[serde(borrow)]
    pub(super) method: &'a str,
    #[serde(borrow)]
    pub(super) params: &'a RawValue,
}

/// The envelope of a JSON-RPC 2.0 request with object params, if `bytes` is one.
pub(super) fn envelope(bytes: &[u8]) -> Option<Envelope<'_>> {
    let envelope: Envelope<'_> = serde_json::from_slice(bytes).ok()?;
    (envelope.jsonrpc == "2.0" && envelope.params.get().starts_with('{')).then_some(envelope)
}

/// The params of `tasks/get`.
#[derive(Deserialize)]
pub(super) struct GetParams<'a> {
    #[serde(rename = "taskId")]
    pub(super) task_id: String,
    #[serde(rename = "_meta", default, borrow)]
    pub(super) meta: Option<Meta<'a>>,
}

/// The request `_meta` members that choose the generation.
#[derive(Deserialize)]
pub(super) struct Meta<'a> {
    #[serde(
        rename = "io.modelcontextprotocol/protocolVersion",
        default,
        borrow,
        deserialize_with = "present"
    )]
    version: Option<&'a RawValue>,
    #[serde(rename = "io.modelcontextprotocol/clientCapabilities", default, borrow)]
    capabilities: Option<Capabilities<'a>>,
}

#[derive(Deserialize)]
struct Capabilities<'a> {
    #[serde(default, borrow)]
    extensions: Option<Extensions<'a>>,
}

#[derive(Deserialize)]
struct Extensions<'a> {
    #[serde(
        rename = "io.modelcontextprotocol/tasks",
        default,
        borrow,
        deserialize_with = "present"
    )]
    tasks: Option<&'a RawValue>,
}

/// A member that is there, `null` included (as `Value::get` sees it).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(d).map(Some)
}

/// Whether the request is a 2026-07-28 one that declared the tasks extension (`true`) or a
/// session's (`false`); `None` for anything else (another version, the extension missing).
pub(super) fn kind(meta: Option<&Meta<'_>>) -> Option<bool> {
    let Some(version) = meta.and_then(|m| m.version) else {
        return Some(false);
    };
    let tasks = meta
        .and_then(|m| m.capabilities.as_ref())
        .and_then(|c| c.extensions.as_ref())
        .and_then(|e| e.tasks)
        .is_some_and(|t| t.get() != "null");
    let version: &str = serde_json::from_str(version.get()).ok()?;
    (version == MODERN_VERSION && tasks).then_some(true)
}

/// [`kind`] for the `_meta` of [`CallToolParams`](crate::wire::CallToolParams).
pub(super) fn call_kind(meta: Option<&Map<String, Value>>) -> Option<bool> {
    let Some(version) = meta.and_then(|m| m.get(META_PROTOCOL_VERSION)) else {
        return Some(false);
    };
    let tasks = meta
        .and_then(|m| m.get(META_CLIENT_CAPABILITIES))
        .and_then(|c| c.get("extensions"))
        .and_then(|e| e.get(TASKS_EXTENSION))
        .is_some_and(|t| !t.is_null());
    (version.as_str() == Some(MODERN_VERSION) && tasks).then_some(true)
}
