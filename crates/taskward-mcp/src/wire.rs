//! MCP wire types of revision 2025-11-25 that the server reads and writes.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use taskward_core::TaskRecord;
use time::format_description::well_known::Rfc3339;

use crate::jsonrpc::RequestId;

/// The protocol revision whose tasks semantics this binding serves.
pub const PROTOCOL_VERSION: &str = "2025-11-25";

/// Revisions a client may ask for at `initialize`; the first is the latest.
pub const SUPPORTED_VERSIONS: [&str; 3] = ["2025-11-25", "2025-06-18", "2025-03-26"];

/// The stateless revision served per request, chosen by the request's own `_meta`
/// (`io.modelcontextprotocol/protocolVersion`) rather than by `initialize`.
pub const MODERN_VERSION: &str = "2026-07-28";

/// The stateless revisions a request's `_meta` may name.
pub const MODERN_VERSIONS: [&str; 1] = [MODERN_VERSION];

/// The request `_meta` key naming a stateless request's protocol revision.
pub const META_PROTOCOL_VERSION: &str = "io.modelcontextprotocol/protocolVersion";

/// The request `_meta` key carrying a stateless request's client capabilities.
pub const META_CLIENT_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";

/// The tasks extension (SEP-2663), as named in `capabilities.extensions`.
pub const TASKS_EXTENSION: &str = "io.modelcontextprotocol/tasks";

/// The `_meta` key naming the `subscriptions/listen` request a notification belongs to.
pub const SUBSCRIPTION_ID: &str = "io.modelcontextprotocol/subscriptionId";

/// The `_meta` key tying a message to a task.
pub const RELATED_TASK: &str = "io.modelcontextprotocol/related-task";

/// The `_meta` key marking a task served from a registered kind's result cache
/// (`Kind::cache_results` in taskward-runtime): its value is `{"from": "<task id>"}`, the task
/// whose result it carries.
pub const CACHED: &str = "io.taskward/cached";

/// `execution.taskSupport` of a tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum TaskSupport {
    /// Never called as a task (the default).
    #[default]
    Forbidden,
    /// Called either way.
    Optional,
    /// Only called as a task.
    Required,
}

/// A tool's description in `tools/list`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ToolInfo {
    /// The tool's name.
    pub name: String,
    /// What it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON Schema of its arguments.
    pub input_schema: Value,
    /// How it may be called.
    pub execution: Execution,
}

/// The `execution` object of a tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Execution {
    /// Whether it may or must be called as a task.
    pub task_support: TaskSupport,
}

/// `params.task` of a task-augmented request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct TaskMetadata {
    /// Requested retention in ms from creation.
    #[serde(default)]
    pub ttl: Option<u64>,
}

/// The params of `tools/call`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct CallToolParams {
    /// The tool.
    pub name: String,
    /// Its arguments.
    #[serde(default)]
    pub arguments: Option<Map<String, Value>>,
    /// Present when the call is task-augmented.
    #[serde(default)]
    pub task: Option<TaskMetadata>,
    /// Request metadata (`progressToken`).
    #[serde(default, rename = "_meta")]
    pub meta: Option<Map<String, Value>>,
}

impl CallToolParams {
    /// The request's progress token, when it is a string or an integer.
    pub fn progress_token(&self) -> Option<Value> {
        self.meta
            .as_ref()
            .and_then(|m| m.get("progressToken"))
            .filter(|t| t.is_string() || t.is_i64() || t.is_u64())
            .cloned()
    }
}

/// The params of `tasks/get`, `tasks/result` and `tasks/cancel`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct TaskIdParams {
    /// The task.
    pub task_id: String,
}

/// The params of `tasks/list` (and `tools/list`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct ListParams {
    /// Where the previous page ended.
    #[serde(default)]
    pub cursor: Option<String>,
}

/// The params of `notifications/cancelled`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CancelledParams {
    /// The request to cancel.
    pub request_id: RequestId,
    /// Why.
    #[serde(default)]
    pub reason: Option<String>,
}

/// The result of a tool call.
///
/// # Examples
///
/// ```
/// use taskward_mcp::wire::CallToolResult;
///
/// let result = CallToolResult::text("664579 primes").structured(serde_json::json!({"count": 664579}));
/// let json = serde_json::to_value(&result).unwrap();
/// assert_eq!(json["content"][0]["text"], "664579 primes");
/// assert_eq!(json["structuredContent"]["count"], 664579);
/// assert!(json.get("isError").is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CallToolResult {
    /// Content blocks (text, for the tools here).
    pub content: Vec<Value>,
    /// Structured output, when the tool has some.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub structured_content: Option<Value>,
    /// Whether the tool failed; makes a task `failed`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub is_error: bool,
}

impl CallToolResult {
    /// A result with one text block.
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            content: vec![json!({ "type": "text", "text": text.into() })],
            structured_content: None,
            is_error: false,
        }
    }

    /// A tool error (`isError: true`) with one text block.
    pub fn error(text: impl Into<String>) -> Self {
        Self {
            is_error: true,
            ..Self::text(text)
        }
    }

    /// Adds structured content.
    pub fn structured(mut self, value: Value) -> Self {
        self.structured_content = Some(value);
        self
    }

    /// The text of the first text block, if any.
    pub fn first_text(&self) -> Option<&str> {
        self.content
            .iter()
            .find_map(|c| c.get("text").and_then(Value::as_str))
    }
}

/// The MCP `Task` object for a record, with the server's poll interval (and, for a task
/// served from a result cache, its [`cached_meta`]).
pub fn task_json(record: &TaskRecord, poll_interval_ms: u64) -> Value {
    let mut task = Map::new();
    task.insert("taskId".into(), json!(record.id.to_string()));
    task.insert("status".into(), json!(record.status.as_str()));
    if let Some(message) = record.status_text() {
        task.insert("statusMessage".into(), json!(message));
    }
    task.insert("createdAt".into(), json!(rfc3339(record.created_at)));
    task.insert(
        "lastUpdatedAt".into(),
        json!(rfc3339(record.last_updated_at)),
    );
    task.insert(
        "ttl".into(),
        record.ttl.map_or(Value::Null, |t| {
            json!(u64::try_from(t.as_millis()).unwrap_or(u64::MAX))
        }),
    );
    task.insert("pollInterval".into(), json!(poll_interval_ms));
    if let Some(meta) = cached_meta(record) {
        task.insert("_meta".into(), meta);
    }
    Value::Object(task)
}

/// The `_meta` of a task served from a result cache ([`CACHED`]), when it is one.
pub fn cached_meta(record: &TaskRecord) -> Option<Value> {
    record
        .cached_from
        .map(|from| json!({ CACHED: { "from": from.to_string() } }))
}

/// `_meta` tying a result or notification to a task.
pub fn related_task_meta(task_id: &str) -> Value {
    json!({ RELATED_TASK: { "taskId": task_id } })
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}
