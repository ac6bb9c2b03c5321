//! `fail {message}`: answers a tool error (`isError: true`), which fails the task.

use serde::Deserialize;
use serde_json::json;
use taskward_core::TaskError;
use taskward_mcp::wire::CallToolResult;
use taskward_mcp::{Tool, ToolCall};

#[derive(Deserialize)]
struct Args {
    #[serde(default)]
    message: Option<String>,
}

pub(super) fn tool() -> Tool {
    Tool::new(
        "fail",
        "Fails on purpose: answers a tool error (isError: true) with `message`.",
        json!({
            "type": "object",
            "properties": {
                "message": {
                    "type": "string",
                    "description": "The error text (default: \"failed on purpose\")."
                }
            },
            "additionalProperties": false
        }),
        run,
    )
}

async fn run(call: ToolCall) -> Result<CallToolResult, TaskError> {
    let Args { message } = call.args()?;
    Ok(CallToolResult::error(
        message.unwrap_or_else(|| "failed on purpose".into()),
    ))
}
