//! `echo {text}`: answers its text; a plain tool that may not be called as a task.

use serde::Deserialize;
use serde_json::json;
use taskward_core::TaskError;
use taskward_mcp::wire::{CallToolResult, TaskSupport};
use taskward_mcp::{Tool, ToolCall};

#[derive(Deserialize)]
struct Args {
    text: String,
}

pub(super) fn tool() -> Tool {
    Tool::new(
        "echo",
        "Answers `text`. Not callable as a task (taskSupport: forbidden).",
        json!({
            "type": "object",
            "properties": { "text": { "type": "string", "description": "What to answer." } },
            "required": ["text"],
            "additionalProperties": false
        }),
        run,
    )
    .task_support(TaskSupport::Forbidden)
}

async fn run(call: ToolCall) -> Result<CallToolResult, TaskError> {
    let Args { text } = call.args()?;
    Ok(CallToolResult::text(text))
}
