//! MCP sessions: one per connected client.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::Value;
use taskward_core::{Scope, TaskId};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::task::AbortOnDropHandle;

use crate::jsonrpc::RequestId;
use crate::kept::Kept;

/// Where the messages tied to one request go before its answer: the session's outgoing queue
/// on stdio, the request's own SSE stream on HTTP.
pub(crate) type Sink = mpsc::UnboundedSender<Value>;

/// One client's session: its scope, its outgoing message queue, and what is in flight.
///
/// Tasks created by task-augmented calls belong to the session's scope; plain calls run as
/// tasks in a private scope beside it, so they never show in `tasks/list`.
pub struct Session {
    id: String,
    principal: Option<String>,
    scope: Scope,
    sync_scope: Scope,
    outgoing: Sink,
    initialized: AtomicBool,
    /// Whether the session's notifications can reach its client (always on stdio; on HTTP
    /// only while a GET stream is open): the forwarders build none otherwise.
    listened: AtomicBool,
    next_request: AtomicU64,
    state: Mutex<SessionState>,
    forwarders: Mutex<Vec<AbortOnDropHandle<()>>>,
    /// Counted among the sessions the server admits (see `ServerOptions::max_sessions`).
    admitted: AtomicBool,
    /// Requests in flight and streams open: a busy session is never idle.
    busy: AtomicUsize,
    /// When the session was last used (a request named it, or it stopped being busy).
    last_used: Mutex<Instant>,
    /// What the durable store holds of the session, while it is kept there (see
    /// [`crate::kept`]).
    kept: Mutex<Option<Kept>>,
}

/// Keeps a session busy (never idle) while held: a request in flight, an open stream.
#[derive(Debug)]
pub(crate) struct Busy(Arc<Session>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.touch();
        self.0.busy.fetch_sub(1, Ordering::AcqRel);
    }
}

#[derive(Default)]
struct SessionState {
    protocol_version: Option<String>,
    /// Plain calls in flight, for `notifications/cancelled`.
    inflight: HashMap<RequestId, TaskId>,
    /// Progress tokens of running tasks.
    progress: HashMap<TaskId, Value>,
    /// Requests the server sent (`elicitation/create` during `tasks/result`), by their id:
    /// the task and the input key the answer is for.
    pending: HashMap<RequestId, (TaskId, String)>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl Session {
    pub(crate) fn new(
        id: String,
        principal: Option<&str>,
        outgoing: mpsc::UnboundedSender<Value>,
    ) -> Self {
        let mut scope = Scope::session(id.as_str());
        let mut sync_scope = Scope::session(format!("{id}#calls"));
        if let Some(p) = principal {
            scope = scope.with_principal(p);
            sync_scope = sync_scope.with_principal(p);
        }
        Self {
            id,
            principal: principal.map(str::to_owned),
            scope,
            sync_scope,
            outgoing,
            initialized: AtomicBool::new(false),
            listened: AtomicBool::new(true),
            next_request: AtomicU64::new(1),
            state: Mutex::new(SessionState::default()),
            forwarders: Mutex::new(Vec::new()),
            admitted: AtomicBool::new(false),
            busy: AtomicUsize::new(0),
            last_used: Mutex::new(Instant::now()),
            kept: Mutex::new(None),
        }
    }

    /// When the session was last used, and whether it is busy (in use now).
    pub(crate) fn last_use(&self) -> (Instant, bool) {
        let at = *self.last_used.lock().unwrap_or_else(|e| e.into_inner());
        (at, self.busy.load(Ordering::Acquire) > 0)
    }

    /// Sets when the session was last used (a restored session: before the restart).
    pub(crate) fn set_last_used(&self, at: Instant) {
        *self.last_used.lock().unwrap_or_else(|e| e.into_inner()) = at;
    }

    /// What the durable store holds of the session, under its lock.
    pub(crate) fn kept(&self) -> std::sync::MutexGuard<'_, Option<Kept>> {
        self.kept.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Marks the session used now.
    pub(crate) fn touch(&self) {
        *self.last_used.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
    }

    /// Keeps the session busy until the guard drops.
    pub(crate) fn busy(self: &Arc<Self>) -> Busy {
        self.busy.fetch_add(1, Ordering::AcqRel);
        self.touch();
        Busy(self.clone())
    }

    /// Whether the session has been neither busy nor used for `idle` by `now`.
    pub(crate) fn is_idle(&self, now: Instant, idle: std::time::Duration) -> bool {
        self.busy.load(Ordering::Acquire) == 0
            && now.saturating_duration_since(
                *self.last_used.lock().unwrap_or_else(|e| e.into_inner()),
            ) >= idle
    }

    /// Marks the session admitted; false when it already was.
    pub(crate) fn admit(&self) -> bool {
        !self.admitted.swap(true, Ordering::AcqRel)
    }

    /// Whether the session was admitted (and counts among the open sessions).
    pub(crate) fn is_admitted(&self) -> bool {
        self.admitted.load(Ordering::Acquire)
    }

    /// The session id (`Mcp-Session-Id` on HTTP).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The principal the transport authenticated, if any.
    pub fn principal(&self) -> Option<&str> {
        self.principal.as_deref()
    }

    /// The scope of the session's tasks.
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    pub(crate) fn sync_scope(&self) -> &Scope {
        &self.sync_scope
    }

    /// Whether `initialize` succeeded.
    pub fn is_initialized(&self) -> bool {
        self.initialized.load(Ordering::Acquire)
    }

    /// The protocol revision agreed at `initialize`.
    pub fn protocol_version(&self) -> Option<String> {
        self.state().protocol_version.clone()
    }

    pub(crate) fn initialize(&self, version: &str) {
        self.state().protocol_version = Some(version.to_owned());
        self.initialized.store(true, Ordering::Release);
    }

    /// Whether a notification queued now can reach the client.
    pub(crate) fn is_listened(&self) -> bool {
        self.listened.load(Ordering::Relaxed)
    }

    /// Says whether the transport has a way to the client for notifications now.
    pub(crate) fn set_listened(&self, listened: bool) {
        self.listened.store(listened, Ordering::Relaxed);
    }

    /// Queues a message for the client. Returns false when the transport is gone.
    pub(crate) fn send(&self, message: Value) -> bool {
        self.outgoing.send(message).is_ok()
    }

    /// The session's outgoing queue, as the sink of a request's related messages.
    pub(crate) fn outgoing(&self) -> Sink {
        self.outgoing.clone()
    }

    /// Records a request the server is about to send for a task's input, and returns its id
    /// (`taskward-<n>:<task>:<key>`, unique in the session): it names the task and the key,
    /// so that the client's response may land on any node of several ([`parse_request`]).
    pub(crate) fn register_request(&self, task: TaskId, key: &str) -> RequestId {
        let n = self.next_request.fetch_add(1, Ordering::Relaxed);
        let id = RequestId::String(format!("taskward-{n}:{task}:{key}"));
        self.state()
            .pending
            .insert(id.clone(), (task, key.to_owned()));
        id
    }

    /// The task and input key a client's response answers, forgotten once taken.
    pub(crate) fn take_request(&self, id: &RequestId) -> Option<(TaskId, String)> {
        self.state().pending.remove(id)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, SessionState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn track_call(&self, id: RequestId, task: TaskId) {
        self.state().inflight.insert(id, task);
    }

    pub(crate) fn untrack_call(&self, id: &RequestId) {
        self.state().inflight.remove(id);
    }

    pub(crate) fn call_task(&self, id: &RequestId) -> Option<TaskId> {
        self.state().inflight.get(id).copied()
    }

    pub(crate) fn set_progress_token(&self, task: TaskId, token: Value) {
        self.state().progress.insert(task, token);
    }

    pub(crate) fn progress_token(&self, task: &TaskId) -> Option<Value> {
        self.state().progress.get(task).cloned()
    }

    pub(crate) fn end_progress(&self, task: &TaskId) {
        self.state().progress.remove(task);
    }

    pub(crate) fn add_forwarder(&self, handle: AbortOnDropHandle<()>) {
        self.forwarders
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(handle);
    }

    pub(crate) fn stop_forwarders(&self) {
        self.forwarders
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}

pub(crate) type SessionMap = Mutex<HashMap<String, Arc<Session>>>;

/// The task and input key a request id of [`Session::register_request`] names, for a response
/// that lands on a node that did not send the request (the session is shared): `None` for
/// any other id. The answer goes through the task's scope like any other, so an id a client
/// makes up answers at most its own task's request.
pub(crate) fn parse_request(id: &RequestId) -> Option<(TaskId, String)> {
    let RequestId::String(id) = id else {
        return None;
    };
    let rest = id.strip_prefix("taskward-")?;
    let (_, rest) = rest.split_once(':')?;
    let (task, key) = rest.split_once(':')?;
    Some((task.parse().ok()?, key.to_owned()))
}
