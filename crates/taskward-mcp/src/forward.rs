//! Forwarding task events to a session as notifications.

use std::collections::HashMap;
use std::sync::Weak;
use std::time::Duration;

use serde_json::{Map, Value, json};
use taskward_core::{Event, EventKind, Scope, Status, TaskEvent, TaskId};
use taskward_runtime::{EventFilter, Taskward};
use tokio::time::Instant;

use crate::jsonrpc::notification;
use crate::session::Session;
use crate::wire::{RELATED_TASK, task_json};

/// Events buffered for one session's scope. A channel's buffer is allocated whole, per
/// session and scope (with the runtime's 4,096, a session cost over 1 MiB); a forwarder
/// turns each event into at most one notification at once, so it rarely falls behind, and
/// one that does loses notifications only (the tasks' state is still read by `tasks/get`).
const BUFFER: usize = 64;

/// Spawns the forwarder of one scope's events to a session: `notifications/tasks/status` on
/// each status change of a task-augmented task (when `status_updates`), and
/// `notifications/progress` with the request's own progress token, rate-limited, and never
/// after the task ended.
pub(crate) fn spawn(
    ward: Taskward,
    session: Weak<Session>,
    scope: Scope,
    status_updates: bool,
    poll_interval_ms: u64,
    min_progress_interval: Duration,
) -> tokio::task::JoinHandle<()> {
    let mut events = ward.subscribe(EventFilter::all().scope(scope.clone()).buffer(BUFFER));
    tokio::spawn(async move {
        let mut last_status: HashMap<TaskId, Status> = HashMap::new();
        let mut last_progress: HashMap<TaskId, Instant> = HashMap::new();
        while let Some(event) = events.recv().await {
            let Event::Task(event) = event else { continue };
            let Some(session) = session.upgrade() else {
                return;
            };
            let id = event.task_id;
            match &event.kind {
                // Tasks start `working`: only a change from there is a transition to notify.
                EventKind::Created { .. } if status_updates => {
                    last_status.insert(id, Status::Working);
                }
                // Nothing is built for a client that cannot hear it.
                EventKind::Progress(_) if !session.is_listened() => {}
                EventKind::Progress(p) => {
                    let Some(token) = session.progress_token(&id) else {
                        continue;
                    };
                    let now = Instant::now();
                    if last_progress
                        .get(&id)
                        .is_some_and(|t| now.duration_since(*t) < min_progress_interval)
                    {
                        continue;
                    }
                    last_progress.insert(id, now);
                    let mut params = Map::new();
                    params.insert("progressToken".into(), token);
                    params.insert("progress".into(), json!(p.done));
                    if let Some(total) = p.total {
                        params.insert("total".into(), json!(total));
                    }
                    if let Some(message) = &p.message {
                        params.insert("message".into(), json!(message.as_ref()));
                    }
                    if status_updates {
                        params.insert(
                            "_meta".into(),
                            json!({ RELATED_TASK: { "taskId": id.to_string() } }),
                        );
                    }
                    session.send(notification(
                        "notifications/progress",
                        Value::Object(params),
                    ));
                }
                EventKind::StatusChanged { .. }
                | EventKind::Completed
                | EventKind::Failed(_)
                | EventKind::Cancelled(_) => {
                    let terminal = is_terminal(&event);
                    if terminal {
                        // No progress after a terminal status.
                        session.end_progress(&id);
                        last_progress.remove(&id);
                    }
                    if status_updates
                        && session.is_listened()
                        && let Ok(record) = ward.get(&scope, id)
                        && last_status.get(&id) != Some(&record.status)
                    {
                        last_status.insert(id, record.status);
                        session.send(notification(
                            "notifications/tasks/status",
                            task_json(&record, poll_interval_ms),
                        ));
                    }
                    if terminal {
                        last_status.remove(&id);
                    }
                }
                EventKind::Expired | EventKind::Evicted => {
                    last_status.remove(&id);
                    last_progress.remove(&id);
                    session.end_progress(&id);
                }
                _ => {}
            }
        }
    })
}

fn is_terminal(event: &TaskEvent) -> bool {
    matches!(
        event.kind,
        EventKind::Completed | EventKind::Failed(_) | EventKind::Cancelled(_)
    )
}
