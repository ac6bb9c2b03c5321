//! A runtime record as rmcp's task model: the flat [`Task`] and the [`DetailedTask`].

use rmcp::ErrorData as McpError;
use rmcp::model::{
    CallToolResult, DetailedTask, InputRequest, InputRequests, JsonObject, Task, TaskPayload,
    TaskStatus,
};
use serde_json::{Value, json};
use taskward_core::{Failure, FailureCause, Outcome, Status, TaskError, TaskRecord};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The key under which a work's JSON-RPC error travels in its failure's data.
const RPC_ERROR: &str = "rmcpError";

/// The answer to an unknown, expired, foreign or malformed task id: the same for all of them,
/// naming only what the client sent (-32602, as rmcp answers an unknown id).
pub(crate) fn unknown_task(task_id: &str) -> McpError {
    McpError::invalid_params(format!("unknown task: {task_id}"), None)
}

/// A tool's result as the value the runtime keeps.
pub(crate) fn result_value(result: &CallToolResult) -> Value {
    serde_json::to_value(result).unwrap_or_else(|_| Value::Object(JsonObject::new()))
}

/// A work's JSON-RPC error as the runtime's task error, kept whole in its data.
pub(crate) fn task_error(error: &McpError) -> TaskError {
    let data = serde_json::to_value(error).unwrap_or(Value::Null);
    TaskError::new(error.message.to_string()).with_data(json!({ RPC_ERROR: data }))
}

fn timestamp(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

fn status(status: Status) -> TaskStatus {
    match status {
        Status::InputRequired => TaskStatus::InputRequired,
        Status::Completed => TaskStatus::Completed,
        Status::Failed => TaskStatus::Failed,
        Status::Cancelled => TaskStatus::Cancelled,
        _ => TaskStatus::Working,
    }
}

/// The flat task of a record: id, status, status message (the record's, else the last
/// progress message), timestamps, the effective TTL and the polling interval.
pub(crate) fn task(record: &TaskRecord, poll_interval_ms: Option<u64>) -> Task {
    let mut task = Task::new(
        record.id.to_string(),
        status(record.status),
        timestamp(record.created_at),
        timestamp(record.last_updated_at),
    );
    task.status_message = record
        .status_text()
        .map(|text| text.into_owned())
        .or_else(|| {
            let progress = record.progress.as_ref()?;
            progress.message.as_deref().map(str::to_owned)
        });
    task.ttl_ms = record
        .ttl
        .map(|ttl| u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX));
    task.poll_interval_ms = poll_interval_ms;
    task
}

/// The error object of a failure: the work's own JSON-RPC error when it ended with one, else
/// an internal error naming the cause (`panicked`, `timed_out`, ...).
fn error_object(failure: &Failure) -> JsonObject {
    if failure.cause == FailureCause::Error
        && let Some(Value::Object(error)) = failure.data.as_ref().and_then(|d| d.get(RPC_ERROR))
    {
        return error.clone();
    }
    let mut error = JsonObject::new();
    error.insert(
        "code".into(),
        json!(McpError::internal_error("", None).code.0),
    );
    error.insert("message".into(), json!(failure.message));
    error.insert("data".into(), json!({ "cause": failure.cause.as_str() }));
    error
}

/// The detailed task of a record, with `requests` (the outstanding input requests, read by
/// the caller only for an `input_required` task).
pub(crate) fn detailed(
    record: &TaskRecord,
    requests: Vec<taskward_core::InputRequest>,
    poll_interval_ms: Option<u64>,
) -> DetailedTask {
    let payload = match (&record.outcome, record.status) {
        (Some(Outcome::Completed { value }), _) => TaskPayload::Completed {
            result: match value {
                Value::Object(result) => result.clone(),
                _ => JsonObject::new(),
            },
        },
        (Some(Outcome::Failed(failure)), _) => TaskPayload::Failed {
            error: error_object(failure),
        },
        (Some(Outcome::Cancelled(_)), _) => TaskPayload::Cancelled,
        (None, Status::InputRequired) => TaskPayload::InputRequired {
            input_requests: requests
                .into_iter()
                .filter_map(|input| {
                    let request = serde_json::from_value::<InputRequest>(input.request).ok()?;
                    Some((input.key, request))
                })
                .collect::<InputRequests>(),
        },
        _ => TaskPayload::Working,
    };
    DetailedTask::new(task(record, poll_interval_ms), payload)
}
