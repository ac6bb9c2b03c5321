//! Forwarding task events to a session as notifications.

use std::collections::HashMap;
use std::sync::Weak;
use std::time::Duration;

use serde_json::{Map, Value, json};
use taskward_core::{Event, EventKind, Scope, Status, TaskEvent, TaskId};
use taskward_runtime::{ElsewhereStatuses, EventFilter, Taskward};
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
/// after the task ended. On a node of several, also the status changes of the scope's
/// tasks that other nodes hold, as the shared table announces them.
pub(crate) fn spawn(
    ward: Taskward,
    session: Weak<Session>,
    scope: Scope,
    status_updates: bool,
    poll_interval_ms: u64,
    min_progress_interval: Duration,
) -> tokio::task::JoinHandle<()> {
    let mut events = ward.subscribe(EventFilter::all().scope(scope.clone()).buffer(BUFFER));
    // On a node of several: the status changes of the scope's tasks held by other nodes.
    let mut elsewhere = status_updates
        .then(|| ward.watch_elsewhere(&scope))
        .flatten();
    tokio::spawn(async move {
        let mut last_status: HashMap<TaskId, Status> = HashMap::new();
        let mut last_progress: HashMap<TaskId, Instant> = HashMap::new();
        loop {
            let event = tokio::select! {
                event = events.recv() => match event {
                    Some(event) => event,
                    None => return,
                },
                Some(id) = next_elsewhere(&mut elsewhere) => {
                    let Some(session) = session.upgrade() else {
                        return;
                    };
                    let relay = Relay { ward: &ward, session: &session, scope: &scope, poll_interval_ms };
                    relay.status(id, &mut last_status).await;
                    continue;
                }
            };
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

/// The next task whose status another node changed; never, on a single node.
async fn next_elsewhere(elsewhere: &mut Option<ElsewhereStatuses>) -> Option<TaskId> {
    match elsewhere {
        Some(statuses) => statuses.recv().await,
        None => std::future::pending().await,
    }
}

/// What a forwarder needs to relay the status of a task held by another node.
struct Relay<'a> {
    ward: &'a Taskward,
    session: &'a Session,
    scope: &'a Scope,
    poll_interval_ms: u64,
}

impl Relay<'_> {
    /// Sends `notifications/tasks/status` for task `id`, which another node changed, if its
    /// status (read from the shared table) is not the one last sent. A task this node
    /// holds is left to its events.
    async fn status(&self, id: TaskId, last_status: &mut HashMap<TaskId, Status>) {
        if !self.session.is_listened() || self.ward.get(self.scope, id).is_ok() {
            return;
        }
        let Ok(record) = self.ward.find(self.scope, id).await else {
            return;
        };
        if last_status.get(&id) == Some(&record.status) {
            return;
        }
        if record.is_terminal() {
            last_status.remove(&id);
        } else {
            last_status.insert(id, record.status);
        }
        self.session.send(notification(
            "notifications/tasks/status",
            task_json(&record, self.poll_interval_ms),
        ));
    }
}

fn is_terminal(event: &TaskEvent) -> bool {
    matches!(
        event.kind,
        EventKind::Completed | EventKind::Failed(_) | EventKind::Cancelled(_)
    )
}
