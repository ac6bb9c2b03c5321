//! The test tools, one constructor each, so that each test server picks its own set.

use std::time::Duration;

use serde_json::{Value, json};
use taskward_mcp::Tool;
use taskward_mcp::wire::{CallToolResult, TaskSupport};

fn object() -> Value {
    json!({"type": "object"})
}

/// `echo {text}`: answers the text (optional task support).
pub fn echo() -> Tool {
    Tool::new("echo", "Echoes its text.", object(), |call| async move {
        let text = call.arguments.get("text").and_then(Value::as_str);
        Ok(CallToolResult::text(text.unwrap_or_default()))
    })
}

/// `sleep {ms}`: sleeps, watching its token, and answers `slept {ms}` with structured content.
pub fn sleep() -> Tool {
    Tool::new("sleep", "Sleeps.", object(), |call| async move {
        let ms = call
            .arguments
            .get("ms")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(ms)) => {}
            () = call.ctx.cancelled() => return Err(taskward::TaskError::cancelled()),
        }
        Ok(CallToolResult::text(format!("slept {ms}")).structured(json!({ "ms": ms })))
    })
}

/// `steps {n, ms}`: reports progress `i` of `n` every `ms`, then answers `done`.
pub fn steps() -> Tool {
    Tool::new("steps", "Reports progress.", object(), |call| async move {
        let n = call.arguments.get("n").and_then(Value::as_u64).unwrap_or(3);
        let ms = call
            .arguments
            .get("ms")
            .and_then(Value::as_u64)
            .unwrap_or(100);
        for i in 1..=n {
            call.ctx.progress(i, Some(n), "step");
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        Ok(CallToolResult::text("done"))
    })
}

/// `fail`: answers a tool error (`isError: true`).
pub fn fail() -> Tool {
    Tool::new("fail", "Fails.", object(), |_call| async move {
        Ok(CallToolResult::error("it broke"))
    })
}

/// `crash`: panics.
pub fn crash() -> Tool {
    Tool::new("crash", "Panics.", object(), |_call| async move {
        if true {
            panic!("boom");
        }
        Ok(CallToolResult::text("never"))
    })
}

/// `plain_only`: task support forbidden.
pub fn plain_only() -> Tool {
    Tool::new(
        "plain_only",
        "Never a task.",
        object(),
        |_call| async move { Ok(CallToolResult::text("plain")) },
    )
    .task_support(TaskSupport::Forbidden)
}

/// `task_only`: task support required.
pub fn task_only() -> Tool {
    Tool::new(
        "task_only",
        "Always a task.",
        object(),
        |_call| async move { Ok(CallToolResult::text("task")) },
    )
    .task_support(TaskSupport::Required)
}

/// The `elicitation/create` request `ask_name` sends.
pub fn question() -> Value {
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

/// `ask_name`: task support required; asks for a name ([`question`]) and greets it.
pub fn ask_name() -> Tool {
    Tool::new("ask_name", "Asks a name.", object(), |call| async move {
        let answer = call.ctx.request_input("name", question()).await?;
        let name = answer["content"]["name"].as_str().unwrap_or("nobody");
        Ok(CallToolResult::text(format!("Hello, {name}!")))
    })
    .task_support(TaskSupport::Required)
}

/// The tools of the 2025-11-25 test server: echo, sleep, steps, fail, plain_only, task_only.
pub fn basic() -> Vec<Tool> {
    vec![echo(), sleep(), steps(), fail(), plain_only(), task_only()]
}
