//! Helpers shared by the adapter's tests.
#![allow(dead_code, unreachable_pub)]

pub mod served;

use std::time::Duration;

use rmcp::model::{CallToolResult, ContentBlock, DetailedTask, InputRequest, TaskPayload};
use serde_json::{Value, json};
use taskward_core::{Event, EventKind, Status, TaskId};
use taskward_runtime::Subscription;

/// `n` seconds.
pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// A successful tool result with one text block.
pub fn text(text: &str) -> CallToolResult {
    CallToolResult::success(vec![ContentBlock::text(text)])
}

/// A form elicitation, as the input tests ask it.
pub fn ask_name() -> InputRequest {
    serde_json::from_value(json!({
        "method": "elicitation/create",
        "params": {
            "message": "Who is asking?",
            "requestedSchema": { "type": "object", "properties": { "who": { "type": "string" } } }
        }
    }))
    .expect("a valid elicitation request")
}

/// The first text block of a completed task's result.
pub fn result_text(task: &DetailedTask) -> String {
    let TaskPayload::Completed { result } = &task.payload else {
        panic!("not completed: {task:?}");
    };
    result["content"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("no text in {result:?}"))
        .to_owned()
}

/// The error object of a failed task.
pub fn error_of(task: &DetailedTask) -> serde_json::Map<String, Value> {
    match &task.payload {
        TaskPayload::Failed { error } => error.clone(),
        other => panic!("not failed: {other:?}"),
    }
}

/// Waits (on the runtime's events, no polling) until task `id` reaches `status`.
pub async fn reached(events: &mut Subscription, id: &str, status: Status) {
    let id: TaskId = id.parse().expect("a task id");
    loop {
        match events.recv().await.expect("the event stream stays open") {
            Event::Task(event)
                if event.task_id == id
                    && matches!(&event.kind, EventKind::StatusChanged { status: s, .. } if *s == status) =>
            {
                return;
            }
            _ => {}
        }
    }
}

/// Work that waits for its cancel and acknowledges it.
pub fn until_cancelled(ctx: taskward_rmcp::TaskContext) -> taskward_rmcp::TaskFuture {
    Box::pin(async move {
        ctx.cancelled().await;
        Err(taskward_rmcp::TaskExit::Cancelled)
    })
}

/// Work that answers `reply` at once.
pub fn answers(
    reply: &'static str,
) -> impl FnOnce(taskward_rmcp::TaskContext) -> taskward_rmcp::TaskFuture + Send + 'static {
    move |_ctx| Box::pin(async move { Ok(text(reply)) })
}

/// A manager on a runtime that sweeps expired tasks every 100 ms.
pub async fn manager() -> taskward_rmcp::TaskManager {
    let ward = taskward_runtime::Taskward::builder()
        .sweep_interval(Duration::from_millis(100))
        .spawn()
        .await
        .expect("the runtime starts");
    taskward_rmcp::TaskManager::with_runtime(ward)
}
