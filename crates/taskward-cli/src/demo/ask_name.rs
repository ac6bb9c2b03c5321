//! `ask_name {}`: asks the client for a name (a form elicitation, input key `name`) and
//! answers `Hello, NAME!`. Always a task: the question is asked while it is `input_required`.

use serde_json::{Value, json};
use taskward_core::TaskError;
use taskward_mcp::wire::{CallToolResult, TaskSupport};
use taskward_mcp::{Tool, ToolCall};

pub(super) fn tool() -> Tool {
    Tool::new(
        "ask_name",
        "Asks for your name (form elicitation) and greets you. Only callable as a task \
         (taskSupport: required).",
        json!({ "type": "object", "additionalProperties": false }),
        run,
    )
    .task_support(TaskSupport::Required)
}

/// The `elicitation/create` request the tool parks on.
pub(crate) fn question() -> Value {
    json!({
        "method": "elicitation/create",
        "params": {
            "mode": "form",
            "message": "What is your name?",
            "requestedSchema": {
                "type": "object",
                "properties": { "name": { "type": "string" } },
                "required": ["name"]
            }
        }
    })
}

async fn run(call: ToolCall) -> Result<CallToolResult, TaskError> {
    let answer = call.ctx.request_input("name", question()).await?;
    let name = answer
        .get("content")
        .and_then(|c| c.get("name"))
        .and_then(Value::as_str);
    Ok(match (answer.get("action").and_then(Value::as_str), name) {
        (Some("accept"), Some(name)) => CallToolResult::text(format!("Hello, {name}!")),
        (action, _) => CallToolResult::error(format!(
            "no name given (action: {})",
            action.unwrap_or("none")
        )),
    })
}
