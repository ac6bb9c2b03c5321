//! MCP sessions: one per connected client.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::Value;
use taskward_core::{Scope, TaskId};
use tokio::sync::mpsc;
use tokio_util::task::AbortOnDropHandle;

use crate::jsonrpc::RequestId;

/// One client's session: its scope, its outgoing message queue, and what is in flight.
///
/// Tasks created by task-augmented calls belong to the session's scope; plain calls run as
/// tasks in a private scope beside it, so they never show in `tasks/list`.
pub struct Session {
    id: String,
    scope: Scope,
    sync_scope: Scope,
    outgoing: mpsc::UnboundedSender<Value>,
    initialized: AtomicBool,
    state: Mutex<SessionState>,
    forwarders: Mutex<Vec<AbortOnDropHandle<()>>>,
}

#[derive(Default)]
struct SessionState {
    protocol_version: Option<String>,
    /// Plain calls in flight, for `notifications/cancelled`.
    inflight: HashMap<RequestId, TaskId>,
    /// Progress tokens of running tasks.
    progress: HashMap<TaskId, Value>,
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
            scope,
            sync_scope,
            outgoing,
            initialized: AtomicBool::new(false),
            state: Mutex::new(SessionState::default()),
            forwarders: Mutex::new(Vec::new()),
        }
    }

    /// The session id (`Mcp-Session-Id` on HTTP).
    pub fn id(&self) -> &str {
        &self.id
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

    /// Queues a message for the client. Returns false when the transport is gone.
    pub(crate) fn send(&self, message: Value) -> bool {
        self.outgoing.send(message).is_ok()
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
