//! The 2026-07-28 shapes of a task: the flat `Task` and the `DetailedTask`.

use serde_json::{Map, Value, json};
use taskward_core::{Outcome, Scope, Status, TaskRecord};

use crate::jsonrpc::INTERNAL_ERROR;
use crate::server::Server;
use crate::wire::task_json;

/// The `Task` fields of a record: `taskId`, `status`, `statusMessage`, `createdAt`,
/// `lastUpdatedAt`, `ttlMs` (null when unlimited) and `pollIntervalMs`.
pub(crate) fn task(record: &TaskRecord, poll_interval_ms: u64) -> Map<String, Value> {
    let Value::Object(mut task) = task_json(record, poll_interval_ms) else {
        return Map::new();
    };
    let ttl = task.remove("ttl").unwrap_or(Value::Null);
    task.insert("ttlMs".into(), ttl);
    task.remove("pollInterval");
    task.insert("pollIntervalMs".into(), json!(poll_interval_ms));
    task
}

/// The `DetailedTask` of a record: the `Task` fields, plus `result` (completed), `error`
/// (failed) or `inputRequests` (input_required, every outstanding request by key).
///
/// The outstanding requests are read from this node's memory: for a task held by another
/// node, `inputRequests` is left out here, and [`detailed_anywhere`] reads them from the
/// shared table.
pub(crate) fn detailed(server: &Server, scope: &Scope, record: &TaskRecord) -> Map<String, Value> {
    let mut task = task(record, server.options().poll_interval_ms);
    match (&record.outcome, record.status) {
        (Some(Outcome::Completed { value }), _) => {
            task.insert("result".into(), value.clone());
        }
        (Some(Outcome::Failed(failure)), _) => {
            let mut error = json!({
                "code": INTERNAL_ERROR,
                "message": failure.message,
                "data": { "cause": failure.cause.as_str() },
            });
            if let Some(data) = &failure.data {
                error["data"]["detail"] = data.clone();
            }
            task.insert("error".into(), error);
        }
        (None, Status::InputRequired) => {
            if let Ok(requests) = server.ward().input_requests(scope, record.id) {
                let requests: Map<String, Value> = requests
                    .into_iter()
                    .map(|input| (input.key, input.request))
                    .collect();
                task.insert("inputRequests".into(), Value::Object(requests));
            }
        }
        _ => {}
    }
    task
}

/// [`detailed`], with the `inputRequests` of a task held by another node read from the
/// shared table (as its node last wrote them); left out only when the shared table does not
/// share them or cannot be read.
pub(crate) async fn detailed_anywhere(
    server: &Server,
    scope: &Scope,
    record: &TaskRecord,
) -> Map<String, Value> {
    let mut task = detailed(server, scope, record);
    if record.outcome.is_none()
        && record.status == Status::InputRequired
        && !task.contains_key("inputRequests")
    {
        match server.ward().find_input_requests(scope, record.id).await {
            Ok(Some(requests)) => {
                let requests: Map<String, Value> = requests
                    .into_iter()
                    .map(|input| (input.key, input.request))
                    .collect();
                task.insert("inputRequests".into(), Value::Object(requests));
            }
            Ok(None) => {}
            Err(error) => {
                tracing::debug!(task = %record.id, %error, "input requests not read");
            }
        }
    }
    task
}
