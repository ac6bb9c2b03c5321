//! `sleep {seconds}`: waits, reporting progress each second; cancel stops it at once.

use std::time::Duration;

use serde::Deserialize;
use serde_json::json;
use taskward_core::TaskError;
use taskward_mcp::wire::CallToolResult;
use taskward_mcp::{Tool, ToolCall};

/// The longest sleep accepted, in seconds (one day).
const MAX_SECONDS: f64 = 86_400.0;

#[derive(Deserialize)]
struct Args {
    seconds: f64,
}

pub(super) fn tool() -> Tool {
    Tool::new(
        "sleep",
        "Waits `seconds`, reporting progress each second. Cancelling it stops it at once.",
        json!({
            "type": "object",
            "properties": {
                "seconds": {
                    "type": "number",
                    "minimum": 0,
                    "maximum": MAX_SECONDS,
                    "description": "How long to wait, in seconds."
                }
            },
            "required": ["seconds"],
            "additionalProperties": false
        }),
        run,
    )
}

async fn run(call: ToolCall) -> Result<CallToolResult, TaskError> {
    let Args { seconds } = call.args()?;
    if !(0.0..=MAX_SECONDS).contains(&seconds) {
        return Ok(CallToolResult::error(format!(
            "seconds must be between 0 and {MAX_SECONDS}, got {seconds}"
        )));
    }
    let ctx = &call.ctx;
    let total = Duration::from_secs_f64(seconds);
    // One progress step per started second.
    let steps = total.as_secs() + u64::from(total.subsec_nanos() > 0);
    let mut left = total;
    for step in 0..steps {
        ctx.progress(step, Some(steps), format!("{step} of {seconds} s").as_str());
        let nap = left.min(Duration::from_secs(1));
        tokio::select! {
            () = ctx.cancelled() => return Err(TaskError::cancelled()),
            () = tokio::time::sleep(nap) => {}
        }
        left -= nap;
    }
    ctx.progress(steps, Some(steps), "done");
    Ok(
        CallToolResult::text(format!("slept {seconds} s"))
            .structured(json!({ "seconds": seconds })),
    )
}
