//! The operator's view of a runtime as JSON: what `GET /status` answers and `taskward status`
//! prints.

use std::time::Duration;

use serde_json::{Map, Value, json};
use taskward_core::TaskRecord;
use taskward_runtime::{Limits, RegistryStatus, Taskward};
use time::format_description::well_known::Rfc3339;

/// The runtime's status: `{"registry": {...}, "tasks": [...]}`.
///
/// `registry` has the fields of [`Taskward::status`] (`tasks`, `live`, `by_status` and
/// `by_phase` as objects of counts, `live_runners`, `uptime_ms`, `accepting`, `limits`, and
/// the counters); when the registry does not answer it is `null` and `error` says why.
/// `tasks` lists [`Taskward::live_tasks`], oldest first, as objects `{taskId, name, scope,
/// status, phase, attempt, progress, createdAt}`.
///
/// # Examples
///
/// ```
/// use taskward_runtime::Taskward;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let ward = Taskward::builder().spawn().await.unwrap();
/// let status = taskward_mcp::status::status_json(&ward).await;
/// assert_eq!(status["registry"]["live"], 0);
/// assert_eq!(status["tasks"], serde_json::json!([]));
/// # }
/// ```
pub async fn status_json(ward: &Taskward) -> Value {
    let tasks: Vec<Value> = ward.live_tasks().iter().map(|r| task(r)).collect();
    match ward.status().await {
        Ok(status) => json!({ "registry": registry(&status), "tasks": tasks }),
        Err(error) => json!({ "registry": null, "error": error.to_string(), "tasks": tasks }),
    }
}

fn registry(s: &RegistryStatus) -> Value {
    let by_status: Map<String, Value> = s
        .by_status
        .iter()
        .map(|(status, n)| (status.to_string(), json!(n)))
        .collect();
    let by_phase: Map<String, Value> = s
        .by_phase
        .iter()
        .map(|(phase, n)| (phase.to_string(), json!(n)))
        .collect();
    json!({
        "tasks": s.tasks,
        "live": s.live,
        "by_status": by_status,
        "by_phase": by_phase,
        "live_runners": s.live_runners,
        "uptime_ms": millis(s.uptime),
        "accepting": s.accepting,
        "limits": limits(&s.limits),
        "late_results": s.late_results,
        "duplicate_terminals": s.duplicate_terminals,
        "retries": s.retries,
        "registry_restarts": s.registry_restarts,
        "runner_supervisor_restarts": s.runner_supervisor_restarts,
        "runner_failures": s.runner_failures,
        "subscribers": s.subscribers,
    })
}

fn limits(l: &Limits) -> Value {
    json!({
        "max_live_tasks": l.max_live_tasks,
        "max_live_per_scope": l.max_live_per_scope,
        "max_ttl_ms": l.max_ttl.map(millis),
        "max_result_bytes": l.max_result_bytes,
    })
}

fn task(r: &TaskRecord) -> Value {
    json!({
        "taskId": r.id.to_string(),
        "name": r.name.as_ref(),
        "scope": r.scope.to_string(),
        "status": r.status.as_str(),
        "phase": r.phase.map(|p| p.to_string()),
        "attempt": r.attempt,
        "progress": r.progress.as_ref().map(|p| json!({
            "done": p.done,
            "total": p.total,
            "message": p.message.as_deref(),
        })),
        "createdAt": r.created_at.format(&Rfc3339).unwrap_or_default(),
    })
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
