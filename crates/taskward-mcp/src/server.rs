//! The MCP server: sessions and dispatch, independent of the transport.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serde_json::Value;
use taskward_core::{ClosePolicy, Scope};
use taskward_runtime::Taskward;
use tokio::sync::mpsc;
use tokio_util::task::AbortOnDropHandle;

use crate::dispatch;
use crate::expiry;
use crate::forward;
use crate::jsonrpc::{self, Message, Request};
use crate::modern;
use crate::session::{Session, SessionMap, Sink};
use crate::tool::Tool;

/// The session part of the scope of stateless (2026-07-28) tasks.
pub(crate) const MODERN_SCOPE: &str = "modern";

fn scoped(scope: Scope, principal: Option<&str>) -> Scope {
    match principal {
        Some(p) => scope.with_principal(p),
        None => scope,
    }
}

/// Settings of a [`Server`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerOptions {
    /// `serverInfo.name`.
    pub name: String,
    /// `serverInfo.version`.
    pub version: String,
    /// `instructions` at `initialize`.
    pub instructions: Option<String>,
    /// `pollInterval` advertised on every task, in ms.
    pub poll_interval_ms: u64,
    /// What happens to a session's tasks when the session ends (default: keep, so that a
    /// reconnecting client finds them until their TTL).
    pub close_policy: ClosePolicy,
    /// The shortest interval between two progress notifications for one task.
    pub min_progress_interval: Duration,
    /// How long the task of a plain (not task-augmented) call is kept after it ends.
    pub plain_call_ttl: Duration,
    /// The most sessions open at once (initialized ones; default 10,000); `None` for no cap.
    /// Over it, `initialize` is refused with
    /// [`SESSION_LIMIT_EXCEEDED`](crate::jsonrpc::SESSION_LIMIT_EXCEEDED) (`503` on HTTP).
    /// Sessions restored from a durable store count.
    pub max_sessions: Option<usize>,
    /// A session unused for this long is closed as if the client had ended it (its tasks get
    /// the close policy); default 30 minutes, `None` never. A session is used when a request
    /// names it; one with a request in flight or a stream open (an HTTP GET stream, a stdio
    /// connection) is never idle. Checked on a timer (started with the first session, on the
    /// tokio runtime it opens in), so a session goes between this and a quarter more (at most
    /// a minute more) after its last use. In a durable store, a session's expiry is its last
    /// use plus this; the use is written at most once per tenth of it.
    pub session_idle_timeout: Option<Duration>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            name: "taskward".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            instructions: None,
            poll_interval_ms: 1000,
            close_policy: ClosePolicy::Keep,
            min_progress_interval: Duration::from_millis(50),
            plain_call_ttl: Duration::from_secs(60),
            max_sessions: Some(10_000),
            session_idle_timeout: Some(Duration::from_secs(30 * 60)),
        }
    }
}

/// Builds a [`Server`].
#[derive(Debug)]
#[must_use]
pub struct ServerBuilder {
    ward: Taskward,
    tools: Vec<Tool>,
    options: ServerOptions,
}

impl ServerBuilder {
    /// Adds a tool.
    pub fn tool(mut self, tool: Tool) -> Self {
        self.tools.push(tool);
        self
    }

    /// Adds tools.
    pub fn tools(mut self, tools: impl IntoIterator<Item = Tool>) -> Self {
        self.tools.extend(tools);
        self
    }

    /// Sets every option at once.
    pub fn options(mut self, options: ServerOptions) -> Self {
        self.options = options;
        self
    }

    /// The `pollInterval` advertised on tasks.
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.options.poll_interval_ms = u64::try_from(interval.as_millis()).unwrap_or(u64::MAX);
        self
    }

    /// What happens to a session's tasks when it ends.
    pub fn close_policy(mut self, policy: ClosePolicy) -> Self {
        self.options.close_policy = policy;
        self
    }

    /// The most sessions open at once; `None` for no cap (see
    /// [`ServerOptions::max_sessions`]).
    pub fn max_sessions(mut self, max: Option<usize>) -> Self {
        self.options.max_sessions = max;
        self
    }

    /// How long an unused session lives; `None` forever (see
    /// [`ServerOptions::session_idle_timeout`]).
    pub fn session_idle_timeout(mut self, idle: Option<Duration>) -> Self {
        self.options.session_idle_timeout = idle;
        self
    }

    /// `serverInfo`.
    pub fn server_info(mut self, name: impl Into<String>, version: impl Into<String>) -> Self {
        self.options.name = name.into();
        self.options.version = version.into();
        self
    }

    /// Builds the server. A tool name given twice keeps the last.
    ///
    /// Over a runtime with a durable store, it re-creates the HTTP sessions the store kept
    /// (see [`ServerOptions::session_idle_timeout`] and `docs/mcp.md`): the HTTP transport
    /// (`transport::http::router`) serves them again. It does so only when called
    /// on a tokio runtime.
    pub fn build(self) -> Server {
        let mut by_name = HashMap::new();
        let mut tools: Vec<Tool> = Vec::new();
        for tool in self.tools {
            match by_name.get(tool.name()) {
                Some(&i) => tools[i] = tool,
                None => {
                    by_name.insert(tool.name().to_owned(), tools.len());
                    tools.push(tool);
                }
            }
        }
        let server = Server {
            inner: Arc::new(Inner {
                ward: self.ward,
                tools,
                by_name,
                options: self.options,
                sessions: Mutex::new(HashMap::new()),
                admitted: AtomicUsize::new(0),
                expiry: OnceLock::new(),
                anonymous_scope: Scope::session(MODERN_SCOPE),
                restored: Mutex::new(Vec::new()),
            }),
        };
        let restored = server.restore_sessions();
        *lock(&server.inner.restored) = restored;
        server
    }
}

/// An MCP server over a taskward runtime: answers JSON-RPC messages for sessions and pushes
/// notifications to them. Transports ([`crate::transport`]) feed it; it knows none of them.
///
/// # Examples
///
/// ```
/// use serde_json::json;
/// use taskward_mcp::{Server, Tool, jsonrpc, wire::CallToolResult};
/// use taskward_runtime::Taskward;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let ward = Taskward::builder().spawn().await.unwrap();
/// let server = Server::builder(ward)
///     .tool(Tool::new("hello", "Says hello.", json!({"type": "object"}), |_call| async {
///         Ok(CallToolResult::text("hello"))
///     }))
///     .build();
/// let (session, _notifications) = server.open_session(None);
/// let init = br#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"doc","version":"0"}}}"#;
/// let answer = server.handle_bytes(&session, init).await.unwrap();
/// assert_eq!(answer["result"]["protocolVersion"], "2025-11-25");
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Server {
    inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) ward: Taskward,
    pub(crate) tools: Vec<Tool>,
    pub(crate) by_name: HashMap<String, usize>,
    pub(crate) options: ServerOptions,
    sessions: SessionMap,
    /// Sessions admitted by `initialize` and not closed: those the cap counts.
    admitted: AtomicUsize,
    /// The timer that closes idle sessions, started with the first session.
    expiry: OnceLock<Option<tokio_util::task::AbortOnDropHandle<()>>>,
    /// [`Server::modern_scope`] without a principal, made once.
    anonymous_scope: Scope,
    /// The notification queues of the sessions restored at start, until the HTTP transport
    /// takes them.
    restored: Mutex<Vec<(String, mpsc::UnboundedReceiver<Value>)>>,
}

impl Server {
    /// A builder over a runtime.
    pub fn builder(ward: Taskward) -> ServerBuilder {
        ServerBuilder {
            ward,
            tools: Vec::new(),
            options: ServerOptions::default(),
        }
    }

    /// The runtime the server submits to.
    pub fn ward(&self) -> &Taskward {
        &self.inner.ward
    }

    /// The server's options.
    pub fn options(&self) -> &ServerOptions {
        &self.inner.options
    }

    pub(crate) fn inner(&self) -> &Inner {
        &self.inner
    }

    pub(crate) fn from_inner(inner: Arc<Inner>) -> Self {
        Self { inner }
    }

    /// Opens a session (bound to a principal when the transport authenticated one). Returns it
    /// with the receiver of the messages the server pushes to the client (notifications).
    pub fn open_session(
        &self,
        principal: Option<&str>,
    ) -> (Arc<Session>, mpsc::UnboundedReceiver<Value>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let id = uuid::Uuid::new_v4().simple().to_string();
        let session = Arc::new(Session::new(id, principal, tx));
        self.install(&session);
        (session, rx)
    }

    /// Makes a session open: starts its forwarders and the expiry timer, and records it.
    pub(crate) fn install(&self, session: &Arc<Session>) {
        let options = &self.inner.options;
        for (scope, status_updates) in [
            (session.scope().clone(), true),
            (session.sync_scope().clone(), false),
        ] {
            let handle = forward::spawn(
                self.inner.ward.clone(),
                Arc::downgrade(session),
                scope,
                status_updates,
                options.poll_interval_ms,
                options.min_progress_interval,
            );
            session.add_forwarder(AbortOnDropHandle::new(handle));
        }
        self.sessions()
            .insert(session.id().to_owned(), session.clone());
        self.inner
            .expiry
            .get_or_init(|| expiry::spawn(&self.inner, options.session_idle_timeout));
    }

    /// A session by id; looking it up counts as using it (see
    /// [`ServerOptions::session_idle_timeout`]).
    pub fn session(&self, id: &str) -> Option<Arc<Session>> {
        let session = self.find_session(id);
        if let Some(session) = &session {
            session.touch();
            self.seen(session, tokio::time::Instant::now());
        }
        session
    }

    /// A session by id, without using it.
    pub(crate) fn find_session(&self, id: &str) -> Option<Arc<Session>> {
        self.sessions().get(id).cloned()
    }

    /// Reserves the place of a session about to be installed: false when a session of its
    /// id is open already.
    #[cfg_attr(not(feature = "http"), allow(dead_code))]
    pub(crate) fn claim_slot(&self, session: &Arc<Session>) -> bool {
        let mut sessions = self.sessions();
        if sessions.contains_key(session.id()) {
            return false;
        }
        sessions.insert(session.id().to_owned(), session.clone());
        true
    }

    /// Gives back a place [`claim_slot`](Self::claim_slot) reserved, if it still holds
    /// `session`.
    #[cfg_attr(not(feature = "http"), allow(dead_code))]
    pub(crate) fn release_slot(&self, session: &Arc<Session>) {
        let mut sessions = self.sessions();
        if sessions
            .get(session.id())
            .is_some_and(|s| Arc::ptr_eq(s, session))
        {
            sessions.remove(session.id());
        }
    }

    /// Every open session.
    pub(crate) fn session_list(&self) -> Vec<Arc<Session>> {
        self.sessions().values().cloned().collect()
    }

    /// The notification queues of the sessions restored at start (taken once), for the
    /// HTTP transport to serve them.
    #[cfg_attr(not(feature = "http"), allow(dead_code))]
    pub(crate) fn take_restored(&self) -> Vec<(String, mpsc::UnboundedReceiver<Value>)> {
        std::mem::take(&mut *lock(&self.inner.restored))
    }

    /// Counts a session in at `initialize`; over [`ServerOptions::max_sessions`], refuses
    /// it. A session initialized again is not counted twice.
    pub(crate) fn admit(&self, session: &Session) -> Result<(), usize> {
        if session.is_admitted() {
            return Ok(());
        }
        let max = self.inner.options.max_sessions.unwrap_or(usize::MAX);
        self.inner
            .admitted
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .map_err(|_| max)?;
        if !session.admit() {
            self.inner.admitted.fetch_sub(1, Ordering::AcqRel);
        }
        Ok(())
    }

    /// The ids of the sessions idle at `now` (see [`Session::is_idle`]).
    pub(crate) fn idle_sessions(&self, now: tokio::time::Instant, idle: Duration) -> Vec<String> {
        self.sessions()
            .values()
            .filter(|s| s.is_idle(now, idle))
            .map(|s| s.id().to_owned())
            .collect()
    }

    /// The number of open sessions.
    pub fn session_count(&self) -> usize {
        self.sessions().len()
    }

    /// Ends a session: its plain calls are cancelled, and its tasks get the close policy.
    /// Returns false for an unknown session.
    pub async fn close_session(&self, id: &str) -> bool {
        let Some(session) = self.sessions().remove(id) else {
            return false;
        };
        self.end_session(session).await;
        true
    }

    /// Closes a session as [`close_session`](Self::close_session) does, if it is still idle
    /// (checked under the lock that lookups take, so a request that found it keeps it).
    pub(crate) async fn close_if_idle(&self, id: &str, now: tokio::time::Instant, idle: Duration) {
        let session = {
            let mut sessions = self.sessions();
            match sessions.get(id) {
                Some(s) if s.is_idle(now, idle) => sessions.remove(id),
                _ => None,
            }
        };
        if let Some(session) = session {
            self.end_session(session).await;
        }
    }

    /// Lets go of a session idle here that another node of several still serves: out of
    /// this node's memory (its place, its forwarders, what it kept), but neither forgotten in
    /// the shared table nor closed, so its tasks are left alone and a request here takes it
    /// in again. Nothing when it was used meanwhile (checked under the lookups' lock).
    pub(crate) fn let_go_if_idle(&self, id: &str, now: tokio::time::Instant, idle: Duration) {
        let session = {
            let mut sessions = self.sessions();
            match sessions.get(id) {
                Some(s) if s.is_idle(now, idle) => sessions.remove(id),
                _ => None,
            }
        };
        let Some(session) = session else { return };
        session.kept().take();
        if session.is_admitted() {
            self.inner.admitted.fetch_sub(1, Ordering::AcqRel);
        }
        session.stop_forwarders();
    }

    /// Ends a session taken out of the open ones: frees its place, forgets it in the
    /// durable store, and closes its tasks' scopes.
    pub(crate) async fn end_session(&self, session: Arc<Session>) {
        self.forget(&session);
        if session.is_admitted() {
            self.inner.admitted.fetch_sub(1, Ordering::AcqRel);
        }
        session.stop_forwarders();
        let ward = &self.inner.ward;
        let _ = ward
            .close_scope(session.sync_scope(), ClosePolicy::Cancel)
            .await;
        let _ = ward
            .close_scope(session.scope(), self.inner.options.close_policy.clone())
            .await;
    }

    /// Answers one message: `Some(response)` for a request, `None` for a notification or a
    /// response. Messages tied to the request that come before its answer (an
    /// `elicitation/create` during `tasks/result`, the notifications of
    /// `subscriptions/listen`) are queued with the session's notifications.
    ///
    /// A request whose `params._meta` carries `io.modelcontextprotocol/protocolVersion`, and
    /// `server/discover`, are served statelessly as revision 2026-07-28, in the shared scope
    /// of the session's principal ([`Server::modern_scope`]), whether or not the session is
    /// initialized.
    pub async fn handle(&self, session: &Arc<Session>, message: Message) -> Option<Value> {
        let _busy = session.busy();
        dispatch::handle(self, session, message, &session.outgoing()).await
    }

    /// [`Server::handle`], with the request's related messages sent to `sink` (its own
    /// stream, on HTTP).
    pub(crate) async fn handle_related(
        &self,
        session: &Arc<Session>,
        message: Message,
        sink: &Sink,
    ) -> Option<Value> {
        let _busy = session.busy();
        dispatch::handle(self, session, message, sink).await
    }

    /// Answers a stateless (2026-07-28) request outside any session.
    pub(crate) async fn handle_modern(
        &self,
        principal: Option<&str>,
        request: Request,
        sink: &Sink,
    ) -> Value {
        modern::handle(self, principal, request, sink).await
    }

    /// The scope of the tasks that stateless (2026-07-28) requests create: one per principal
    /// (one anonymous scope without authentication), shared by every connection of that
    /// principal. Every request of the principal sees them; their ids are unguessable.
    pub fn modern_scope(&self, principal: Option<&str>) -> Scope {
        match principal {
            None => self.inner.anonymous_scope.clone(),
            Some(_) => scoped(Scope::session(MODERN_SCOPE), principal),
        }
    }

    /// The private scope where the synchronous tool calls of stateless requests run.
    pub(crate) fn modern_calls_scope(&self, principal: Option<&str>) -> Scope {
        scoped(Scope::session(format!("{MODERN_SCOPE}#calls")), principal)
    }

    /// Parses and answers one message; text that is not a JSON-RPC message gets its error
    /// response (`-32700` or `-32600`).
    pub async fn handle_bytes(&self, session: &Arc<Session>, bytes: &[u8]) -> Option<Value> {
        match jsonrpc::parse(bytes) {
            Ok(message) => self.handle(session, message).await,
            Err(error) => Some(error),
        }
    }

    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Session>>> {
        lock(&self.inner.sessions)
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
