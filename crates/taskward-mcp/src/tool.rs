//! Tools: what the server runs, and how.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::{Map, Value};
use taskward_core::TaskError;
use taskward_runtime::TaskContext;

use crate::wire::{CallToolResult, Execution, TaskSupport, ToolInfo};

type Handler = Arc<
    dyn Fn(ToolCall) -> Pin<Box<dyn Future<Output = Result<CallToolResult, TaskError>> + Send>>
        + Send
        + Sync,
>;

/// One call of a tool: its arguments and the task context it runs under.
///
/// Every call, plain or task-augmented, runs as a taskward task, so it is supervised, has a
/// timeout, reports progress through [`TaskContext::progress`] (sent to the client as
/// `notifications/progress` when the request carried a `progressToken`) and can be cancelled.
#[derive(Debug)]
#[non_exhaustive]
pub struct ToolCall {
    /// The call's arguments (an empty object when none were given).
    pub arguments: Map<String, Value>,
    /// The task context.
    pub ctx: TaskContext,
}

impl ToolCall {
    /// Reads typed arguments; a mismatch is a tool error the caller sees.
    pub fn args<T: serde::de::DeserializeOwned>(&self) -> Result<T, TaskError> {
        serde_json::from_value(Value::Object(self.arguments.clone()))
            .map_err(|e| TaskError::new(format!("invalid arguments: {e}")))
    }
}

/// A tool the server offers: its description and the async function that runs it.
///
/// # Examples
///
/// ```
/// use serde_json::json;
/// use taskward_mcp::{Tool, wire::{CallToolResult, TaskSupport}};
///
/// let echo = Tool::new(
///     "echo",
///     "Echoes its text.",
///     json!({"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}),
///     |call| async move {
///         let text = call.arguments.get("text").and_then(|t| t.as_str()).unwrap_or_default();
///         Ok(CallToolResult::text(text))
///     },
/// )
/// .task_support(TaskSupport::Forbidden);
/// assert_eq!(echo.name(), "echo");
/// ```
#[derive(Clone)]
pub struct Tool {
    /// Shared: a call clones the tool, and the schema is a tree of maps.
    info: Arc<ToolInfo>,
    handler: Handler,
    timeout: Option<std::time::Duration>,
}

impl Tool {
    /// A tool with a name, a description, a JSON Schema for its arguments and its handler.
    /// Task support is `optional` unless set.
    pub fn new<F, Fut>(
        name: impl Into<String>,
        description: impl Into<String>,
        input_schema: Value,
        handler: F,
    ) -> Self
    where
        F: Fn(ToolCall) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<CallToolResult, TaskError>> + Send + 'static,
    {
        Self {
            info: Arc::new(ToolInfo {
                name: name.into(),
                description: Some(description.into()),
                input_schema,
                execution: Execution {
                    task_support: TaskSupport::Optional,
                },
            }),
            handler: Arc::new(move |call| Box::pin(handler(call))),
            timeout: None,
        }
    }

    /// Whether the tool may or must be called as a task.
    pub fn task_support(mut self, support: TaskSupport) -> Self {
        Arc::make_mut(&mut self.info).execution.task_support = support;
        self
    }

    /// A deadline for each call of the tool.
    pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The tool's name.
    pub fn name(&self) -> &str {
        &self.info.name
    }

    /// The tool's description for `tools/list`.
    pub fn info(&self) -> &ToolInfo {
        &self.info
    }

    pub(crate) fn support(&self) -> TaskSupport {
        self.info.execution.task_support
    }

    pub(crate) fn deadline(&self) -> Option<std::time::Duration> {
        self.timeout
    }

    pub(crate) fn call(
        &self,
        call: ToolCall,
    ) -> Pin<Box<dyn Future<Output = Result<CallToolResult, TaskError>> + Send>> {
        (self.handler)(call)
    }
}

impl fmt::Debug for Tool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tool")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}
