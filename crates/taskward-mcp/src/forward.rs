//! Forwarding task events to a session as notifications.

use std::collections::HashMap;
use std::sync::Weak;
use std::time::Duration;

use serde_json::{Map, Value, json};
use taskward_core::{Event, EventKind, Progress, Scope, Status, TaskEvent, TaskId, TaskRecord};
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
/// after the task ended. On a node of several, also the status and progress changes of the
/// scope's tasks that other nodes hold, as the shared table announces them (a queued call's
/// progress token travels with its input, so any node holding the stream can use it).
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
        let mut last_progress: HashMap<TaskId, ProgressSent> = HashMap::new();
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
                    let relay = Relay {
                        ward: &ward,
                        session: &session,
                        scope: &scope,
                        poll_interval_ms,
                        min_progress_interval,
                    };
                    relay.changed(id, &mut last_status, &mut last_progress).await;
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
                    let now = Instant::now();
                    if too_soon(&last_progress, id, now, min_progress_interval) {
                        continue;
                    }
                    // The session's own token, or the one a queued call recorded with its
                    // input (submitted on another node, or taken here from the queue).
                    let Some(token) = session
                        .progress_token(&id)
                        .or_else(|| ward.get(&scope, id).ok().and_then(|r| recorded_token(&r)))
                    else {
                        continue;
                    };
                    last_progress.insert(
                        id,
                        ProgressSent {
                            at: now,
                            progress: None,
                        },
                    );
                    session.send(progress_notification(token, id, p, status_updates));
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

/// The last `notifications/progress` sent for a task: when, and (for a task another node
/// holds, whose progress is read from the shared table) what.
struct ProgressSent {
    at: Instant,
    progress: Option<Progress>,
}

/// Whether a progress notification for `id` now would come sooner than `min` after the last.
fn too_soon(last: &HashMap<TaskId, ProgressSent>, id: TaskId, now: Instant, min: Duration) -> bool {
    last.get(&id)
        .is_some_and(|sent| now.duration_since(sent.at) < min)
}

/// The progress token a call recorded with its task's input ([`crate::tool_kind::input`]).
fn recorded_token(record: &TaskRecord) -> Option<Value> {
    record
        .input
        .as_deref()
        .and_then(crate::tool_kind::progress_token)
}

/// `notifications/progress` of task `id` under `token`; tied to the task (`_meta`) in the
/// task-augmented generation.
fn progress_notification(token: Value, id: TaskId, p: &Progress, related: bool) -> Value {
    let mut params = Map::new();
    params.insert("progressToken".into(), token);
    params.insert("progress".into(), json!(p.done));
    if let Some(total) = p.total {
        params.insert("total".into(), json!(total));
    }
    if let Some(message) = &p.message {
        params.insert("message".into(), json!(message.as_ref()));
    }
    if related {
        params.insert(
            "_meta".into(),
            json!({ RELATED_TASK: { "taskId": id.to_string() } }),
        );
    }
    notification("notifications/progress", Value::Object(params))
}

/// What a forwarder needs to relay the changes of a task held by another node.
struct Relay<'a> {
    ward: &'a Taskward,
    session: &'a Session,
    scope: &'a Scope,
    poll_interval_ms: u64,
    min_progress_interval: Duration,
}

impl Relay<'_> {
    /// Relays a change another node made to task `id`, read from the shared table:
    /// `notifications/progress` when its progress is not the one last sent (and the call
    /// gave a token), then `notifications/tasks/status` when its status is not. A task this
    /// node holds is left to its events.
    async fn changed(
        &self,
        id: TaskId,
        last_status: &mut HashMap<TaskId, Status>,
        last_progress: &mut HashMap<TaskId, ProgressSent>,
    ) {
        if !self.session.is_listened() || self.ward.get(self.scope, id).is_ok() {
            return;
        }
        let Ok(record) = self.ward.find(self.scope, id).await else {
            return;
        };
        if record.is_terminal() {
            // No progress after a terminal status.
            last_progress.remove(&id);
            self.session.end_progress(&id);
        } else {
            self.progress(&record, last_progress);
        }
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

    /// Sends the live `record`'s progress, if it changed since the last sent and the last
    /// was sent at least the minimum interval ago (the holding node writes it coalesced).
    fn progress(&self, record: &TaskRecord, last_progress: &mut HashMap<TaskId, ProgressSent>) {
        let id = record.id;
        let Some(p) = &record.progress else { return };
        let now = Instant::now();
        if last_progress
            .get(&id)
            .is_some_and(|sent| sent.progress.as_ref() == Some(p))
            || too_soon(last_progress, id, now, self.min_progress_interval)
        {
            return;
        }
        let Some(token) = self
            .session
            .progress_token(&id)
            .or_else(|| recorded_token(record))
        else {
            return;
        };
        last_progress.insert(
            id,
            ProgressSent {
                at: now,
                progress: Some(p.clone()),
            },
        );
        // A relay runs in the task-augmented scope only: tied to its task.
        self.session.send(progress_notification(token, id, p, true));
    }
}

fn is_terminal(event: &TaskEvent) -> bool {
    matches!(
        event.kind,
        EventKind::Completed | EventKind::Failed(_) | EventKind::Cancelled(_)
    )
}
