//! Tools as registered kinds of work: a task-augmented call of such a tool resumes after a
//! restart.

use serde_json::{Map, Value, json};
use taskward_runtime::Kind;

use crate::Tool;
use crate::calls::run;

impl Tool {
    /// This tool as a kind of work to register with the runtime
    /// ([`Builder::register_kind`](taskward_runtime::Builder::register_kind)), under the
    /// tool's name.
    ///
    /// A task-augmented call of a tool registered so records its arguments with the task;
    /// when the process restarts while the task is live (on a durable store), the tool runs
    /// again with them, as the task's next attempt, and reads its last
    /// [`checkpoint`](taskward_runtime::TaskContext::checkpoint) with
    /// [`last_checkpoint`](taskward_runtime::TaskContext::last_checkpoint). Plain calls are
    /// never resumed: the request that waited for them is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// use serde_json::json;
    /// use taskward_mcp::{Tool, wire::CallToolResult};
    /// use taskward_runtime::Taskward;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), taskward_core::Error> {
    /// let echo = Tool::new("echo", "Echoes.", json!({"type": "object"}), |call| async move {
    ///     Ok(CallToolResult::text(call.arguments.len().to_string()))
    /// });
    /// let ward = Taskward::builder().register_kind(echo.kind()).spawn().await?;
    /// assert!(ward.has_kind("echo"));
    /// # ward.shutdown(std::time::Duration::from_secs(1)).await?;
    /// # Ok(()) }
    /// ```
    pub fn kind(&self) -> Kind {
        let tool = self.clone();
        Kind::new(self.name().to_owned(), move |ctx, input: Value| {
            let (arguments, fail_on_error) = parts(input);
            run(&tool, arguments, ctx, fail_on_error)
        })
    }
}

/// The input recorded with a resumable call: its arguments, whether a result marked
/// `isError` fails the task (the 2025-11-25 generation) or completes it (2026-07-28), and
/// the request's progress token, if it gave one, so that whichever node holds the session's
/// stream can send `notifications/progress` for the task wherever it runs.
pub(crate) fn input(
    arguments: &Map<String, Value>,
    fail_on_error: bool,
    progress_token: Option<&Value>,
) -> Value {
    match progress_token {
        Some(token) => json!({
            "arguments": arguments,
            "failOnError": fail_on_error,
            "progressToken": token,
        }),
        None => json!({ "arguments": arguments, "failOnError": fail_on_error }),
    }
}

/// The progress token recorded with a call's input by [`input`], if any.
pub(crate) fn progress_token(input: &Value) -> Option<Value> {
    input.get("progressToken").cloned()
}

fn parts(input: Value) -> (Map<String, Value>, bool) {
    let fail_on_error = input
        .get("failOnError")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let arguments = match input {
        Value::Object(mut o) => match o.remove("arguments") {
            Some(Value::Object(arguments)) => arguments,
            _ => Map::new(),
        },
        _ => Map::new(),
    };
    (arguments, fail_on_error)
}
