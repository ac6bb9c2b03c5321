//! Reading the `/status` JSON into lines: the registry summary and one entry per live task.

use serde_json::Value;

/// One live task of the `/status` answer.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct TaskView {
    pub(super) id: String,
    pub(super) name: String,
    /// `working`, or `working/running` when a phase is known.
    pub(super) state: String,
    pub(super) attempt: u64,
    pub(super) done: Option<u64>,
    pub(super) total: Option<u64>,
    pub(super) message: String,
}

impl TaskView {
    /// `done/total (pct%) message`, or `-` without progress.
    pub(super) fn progress_text(&self) -> String {
        let mut text = match (self.done, self.total) {
            (Some(done), Some(total)) if total > 0 => {
                format!("{done}/{total} ({}%)", done.saturating_mul(100) / total)
            }
            (Some(done), _) => done.to_string(),
            (None, _) => "-".into(),
        };
        if !self.message.is_empty() {
            text.push(' ');
            text.push_str(&self.message);
        }
        text
    }

    /// The task as one text line.
    pub(super) fn line(&self) -> String {
        format!(
            "  {:<14} {:<18} {:<32} attempt {}  {}",
            self.name,
            self.state,
            self.progress_text(),
            self.attempt,
            self.id
        )
    }
}

/// The live (`working` or `input_required`) tasks of a `/status` answer.
pub(super) fn live_tasks(status: &Value) -> Vec<TaskView> {
    let Some(tasks) = status.get("tasks").and_then(Value::as_array) else {
        return Vec::new();
    };
    tasks
        .iter()
        .filter(|t| {
            matches!(
                t.get("status").and_then(Value::as_str),
                Some("working" | "input_required") | None
            )
        })
        .map(task_view)
        .collect()
}

fn task_view(task: &Value) -> TaskView {
    let text = |key: &str| {
        task.get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let status = task
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or("working");
    let state = match task.get("phase").and_then(Value::as_str) {
        Some(phase) => format!("{status}/{phase}"),
        None => status.to_owned(),
    };
    let progress = task.get("progress").filter(|p| p.is_object());
    let field = |key: &str| progress.and_then(|p| p.get(key));
    TaskView {
        id: text("taskId"),
        name: text("name"),
        state,
        attempt: task.get("attempt").and_then(Value::as_u64).unwrap_or(1),
        done: field("done").and_then(Value::as_u64),
        total: field("total").and_then(Value::as_u64),
        message: field("message")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
    }
}

/// The registry part: a summary line, then counts by status, the limits, and any non-zero
/// counter; unknown fields fall back to `key=value` pairs.
pub(super) fn registry_text(status: &Value) -> String {
    let Some(registry) = status.get("registry").and_then(Value::as_object) else {
        let why = status
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("no status");
        return format!("registry: ({why})");
    };
    let mut rest = registry.clone();
    let mut take = |key: &str| rest.remove(key);
    let mut lines = Vec::new();
    let mut head = String::from("registry:");
    if let Some(n) = take("tasks") {
        head.push_str(&format!(" {n} tasks"));
    }
    if let Some(n) = take("live") {
        head.push_str(&format!(", {n} live"));
    }
    if let Some(n) = take("live_runners") {
        head.push_str(&format!(", {n} runners"));
    }
    if let Some(ms) = take("uptime_ms").and_then(|v| v.as_u64()) {
        head.push_str(&format!(", up {:.1} s", ms as f64 / 1000.0));
    }
    match take("accepting") {
        Some(Value::Bool(false)) => head.push_str(", shutting down"),
        Some(Value::Bool(true)) => head.push_str(", accepting"),
        _ => {}
    }
    lines.push(head);
    for (key, label) in [
        ("by_status", "by status"),
        ("by_phase", "by phase"),
        ("limits", "limits"),
    ] {
        if let Some(mut value) = take(key) {
            if key != "limits"
                && let Value::Object(counts) = &mut value
            {
                counts.retain(|_, n| n.as_u64() != Some(0));
            }
            let mut pairs = Vec::new();
            flatten("", &value, &mut pairs);
            if !pairs.is_empty() {
                lines.push(format!("  {label}: {}", pairs.join(" ")));
            }
        }
    }
    let mut others = Vec::new();
    for (key, value) in &rest {
        if value.as_u64() != Some(0) {
            flatten(key, value, &mut others);
        }
    }
    if !others.is_empty() {
        lines.push(format!("  {}", others.join(" ")));
    }
    lines.join("\n")
}

fn flatten(prefix: &str, value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                let key = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                flatten(&key, value, out);
            }
        }
        Value::String(s) => out.push(format!("{prefix}={s}")),
        Value::Null => out.push(format!("{prefix}=none")),
        other => out.push(format!("{prefix}={other}")),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{live_tasks, registry_text};

    #[test]
    fn reads_live_tasks_only() {
        let status = json!({
            "registry": {"live": 1},
            "tasks": [
                {"taskId": "a1", "name": "count_primes", "scope": "session:s", "status": "working",
                 "phase": "running", "attempt": 1,
                 "progress": {"done": 50, "total": 200, "message": "sieving"},
                 "createdAt": "2025-11-25T10:30:00Z"},
                {"taskId": "b2", "name": "sleep", "status": "working", "phase": null,
                 "attempt": 2, "progress": null},
                {"taskId": "c3", "name": "echo", "status": "completed"}
            ]
        });
        let tasks = live_tasks(&status);
        assert_eq!(tasks.len(), 2);
        assert_eq!(tasks[0].state, "working/running");
        assert_eq!(tasks[0].progress_text(), "50/200 (25%) sieving");
        assert!(tasks[0].line().contains("count_primes"));
        assert!(tasks[0].line().ends_with("a1"));
        assert_eq!(tasks[1].state, "working");
        assert_eq!(tasks[1].attempt, 2);
        assert_eq!(tasks[1].progress_text(), "-");
        assert!(live_tasks(&json!({})).is_empty());
    }

    #[test]
    fn summarises_the_registry() {
        let status = json!({"registry": {"tasks": 3, "live": 1, "live_runners": 1,
            "uptime_ms": 1500, "accepting": true,
            "by_status": {"working": 1, "completed": 2, "failed": 0}, "by_phase": {"queued": 0},
            "limits": {"max_live_tasks": 100, "max_ttl_ms": null},
            "retries": 0, "late_results": 4}});
        assert_eq!(
            registry_text(&status),
            "registry: 3 tasks, 1 live, 1 runners, up 1.5 s, accepting\n  \
             by status: completed=2 working=1\n  \
             limits: max_live_tasks=100 max_ttl_ms=none\n  late_results=4"
        );
        assert_eq!(
            registry_text(&json!({"registry": null, "error": "stopped"})),
            "registry: (stopped)"
        );
    }
}
