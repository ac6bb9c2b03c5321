//! `crash {}`: the work panics; the runtime fails the task with cause panicked.

use serde_json::json;
use taskward_core::TaskError;
use taskward_mcp::wire::CallToolResult;
use taskward_mcp::{Tool, ToolCall};

pub(super) fn tool() -> Tool {
    Tool::new(
        "crash",
        "Panics on purpose: the task fails with cause panicked, and the server carries on.",
        json!({ "type": "object", "properties": {}, "additionalProperties": false }),
        run,
    )
}

async fn run(_call: ToolCall) -> Result<CallToolResult, TaskError> {
    panic!("crash: the demo tool panicked on purpose")
}
