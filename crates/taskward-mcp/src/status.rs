//! The operator's view of a runtime as JSON: what `GET /status` answers and `taskward status`
//! prints.

use std::hash::{BuildHasher, RandomState};
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::{Map, Value, json};
use taskward_core::{Scope, TaskRecord};
use taskward_runtime::{Limits, RegistryStatus, Taskward};
use time::format_description::well_known::Rfc3339;

use crate::server::MODERN_SCOPE;

/// The runtime's status: `{"registry": {...}, "tasks": [...]}`.
///
/// `registry` has the fields of [`Taskward::status`] (`tasks`, `live`, `by_status` and
/// `by_phase` as objects of counts, `live_runners`, `uptime_ms`, `accepting`, `limits`, and
/// the counters); when the registry does not answer it is `null` and `error` says why.
/// `tasks` lists [`Taskward::live_tasks`], oldest first, as objects `{taskId, name, scope,
/// status, phase, attempt, progress, createdAt}`.
///
/// It never shows a session id: anyone who holds one can act in that session, and this view
/// is for operators. A `scope` shows its session as a keyed hash of the id, 12 hex digits
/// (`session:3f09c2a1b4d7`, and `session:3f09c2a1b4d7#calls` for the session's plain calls):
/// the same for one session while the process runs, so tasks can be grouped, but not
/// reversible (SipHash under a random per-process key). Its principal, if any, is shown as
/// it is (`session:…/principal:alice`); the stateless scope shows as `session:modern`.
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
        "scope": shown_scope(&r.scope),
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

/// A scope as the operator sees it: its session part hashed, its principal as it is.
fn shown_scope(scope: &Scope) -> String {
    let session = scope.session_id().map(|session| {
        let (id, suffix) = match session.split_once('#') {
            Some((id, _)) => (id, &session[id.len()..]),
            None => (session, ""),
        };
        if id == MODERN_SCOPE {
            format!("session:{session}")
        } else {
            format!("session:{}{suffix}", session_hash(id))
        }
    });
    let principal = scope.principal_name().map(|p| format!("principal:{p}"));
    match (session, principal) {
        (None, None) => "global".to_owned(),
        (Some(s), None) => s,
        (None, Some(p)) => p,
        (Some(s), Some(p)) => format!("{s}/{p}"),
    }
}

/// A session id's keyed hash, 12 hex digits (48 bits), stable while the process runs.
fn session_hash(id: &str) -> String {
    static KEY: OnceLock<RandomState> = OnceLock::new();
    let hash = KEY.get_or_init(RandomState::new).hash_one(id);
    format!("{:012x}", hash >> 16)
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use taskward_core::Scope;

    use super::shown_scope;

    #[test]
    fn scopes_show_no_session_id() {
        let id = "0b5c6f0e-8f43-4f6e-9d55-2a4c1f3e9b71";
        let plain = shown_scope(&Scope::session(id));
        let calls = shown_scope(&Scope::session(format!("{id}#calls")));
        assert!(
            !plain.contains(id) && !calls.contains(&id[..8]),
            "{plain} {calls}"
        );
        assert_eq!(plain, shown_scope(&Scope::session(id)), "stable");
        assert_eq!(calls, format!("{plain}#calls"));
        assert_eq!(plain.len(), "session:".len() + 12);
        let alice = shown_scope(&Scope::session(id).with_principal("alice"));
        assert_eq!(alice, format!("{plain}/principal:alice"));
        assert_eq!(shown_scope(&Scope::principal("bob")), "principal:bob");
        assert_eq!(shown_scope(&Scope::global()), "global");
        assert_eq!(shown_scope(&Scope::session("modern")), "session:modern");
    }
}
