//! [`SharedTable`]: the runtime's [`SharedTasks`] on the cluster's tables, so that any node
//! answers for any task.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use serde_json::Value;
use taskward_core::{
    BoxFuture, CancelledBy, ClosePolicy, Enqueue, Enqueued, InputRequest, ListQuery, Page, Scope,
    ScopeWatch, SessionRecord, SharedCancel, SharedInput, SharedTasks, Status, StatusChanged,
    StoreError, TaskId, TaskRecord,
};
use time::OffsetDateTime;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::batch::Batcher;
use super::cache::TerminalCache;
use super::{Answered, CancelRequested, Cluster, Listener, Notification};

/// A node's view of the tasks other nodes hold: reads by key and by page, cancels and input
/// answers through the shared table, and waits woken by the cluster's notifications.
///
/// A read by key of a terminal record is kept in a bounded cache
/// ([`ClusterOptions::terminal_cache`](crate::ClusterOptions::terminal_cache)) and answered
/// from memory until the task's expiry: a terminal row never changes again, and leaves the
/// table only at that expiry (the leader's sweep). A live record is always read from the row.
///
/// Give it to the runtime with `Builder::shared_tasks`; `Taskward::find`, `find_page`,
/// `cancel`, `provide_input` and `wait` then answer for a task held by any node, and
/// `Taskward::find_session` reads a session any node wrote to the `sessions` table.
///
/// Started with [`start`](Self::start), it listens on one dedicated connection
/// ([`Listener`]); the view a [`Node`](crate::Node) joins with is woken by the node's own
/// listener instead. Either way a task's terminal write, a rescue or a cancel wakes whoever
/// waits for it. A notification that was lost (the connection
/// dropped) wakes every waiter, and a waiter reads the row again at least every heartbeat
/// period, so a missed notification costs a delay, never a hang.
///
/// # Examples
///
/// ```no_run
/// use taskward_postgres::{Cluster, ClusterOptions, SharedTable};
/// use taskward_runtime::Taskward;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let url = "postgres://taskward@db/taskward";
/// let cluster = Cluster::connect(url, ClusterOptions::new()).await?;
/// let shared = SharedTable::start(cluster, url).await?;
/// let ward = Taskward::builder().shared_tasks(shared).spawn().await?;
/// # drop(ward);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct SharedTable {
    cluster: Cluster,
    waiters: Arc<Waiters>,
    /// The listener of a table started on its own; `None` when a node's listener feeds it.
    listening: Option<JoinHandle<()>>,
    /// The shared queue's group commit: a node's view only (a node claims what is queued).
    queue: Option<Batcher>,
}

/// Who waits for which task's row to change, who watches which scope's statuses, and the
/// view's cache of terminal records, which the same notifications keep honest.
#[derive(Debug)]
pub(crate) struct Waiters {
    by_task: Mutex<HashMap<TaskId, Vec<oneshot::Sender<()>>>>,
    routes: Mutex<Routes>,
    cache: TerminalCache,
}

/// The watches of scopes' statuses, by route (see [`route`](super::route)).
#[derive(Default)]
struct Routes {
    next: u64,
    by_route: HashMap<String, Vec<(u64, StatusChanged)>>,
}

impl std::fmt::Debug for Routes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Routes")
            .field("routes", &self.by_route.len())
            .finish_non_exhaustive()
    }
}

/// A watch of one scope: unregistered when dropped.
struct Watch {
    waiters: Weak<Waiters>,
    route: String,
    n: u64,
}

impl Drop for Watch {
    fn drop(&mut self) {
        let Some(waiters) = self.waiters.upgrade() else {
            return;
        };
        let mut routes = waiters.routes();
        if let Some(watches) = routes.by_route.get_mut(&self.route) {
            watches.retain(|(n, _)| *n != self.n);
            if watches.is_empty() {
                routes.by_route.remove(&self.route);
            }
        }
    }
}

impl Waiters {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<TaskId, Vec<oneshot::Sender<()>>>> {
        self.by_task.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A receiver woken at the next change of `id`; waiters that gave up are pruned.
    fn watch(&self, id: TaskId) -> oneshot::Receiver<()> {
        let (tx, rx) = oneshot::channel();
        let mut by_task = self.lock();
        let waiting = by_task.entry(id).or_default();
        waiting.retain(|w| !w.is_closed());
        waiting.push(tx);
        rx
    }

    fn wake(&self, id: &TaskId) {
        let woken = self.lock().remove(id);
        for waiter in woken.into_iter().flatten() {
            let _ = waiter.send(());
        }
    }

    fn wake_all(&self) {
        let woken = std::mem::take(&mut *self.lock());
        for waiter in woken.into_values().flatten() {
            let _ = waiter.send(());
        }
    }

    fn routes(&self) -> std::sync::MutexGuard<'_, Routes> {
        self.routes.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Watches the statuses of `scope`'s tasks (see [`SharedTasks::watch_scope`]).
    fn watch_scope(self: &Arc<Self>, scope: &Scope, changed: StatusChanged) -> ScopeWatch {
        let route = super::route(scope);
        let mut routes = self.routes();
        routes.next += 1;
        let n = routes.next;
        routes
            .by_route
            .entry(route.clone())
            .or_default()
            .push((n, changed));
        Box::new(Watch {
            waiters: Arc::downgrade(self),
            route,
            n,
        })
    }

    /// Wakes whoever waits for what `notification` says changed (and drops the cached
    /// record it names, or all of them when one may have been missed); a status goes to the
    /// watches of its route (a node with none only looks the route up).
    pub(crate) fn notified(&self, notification: &Notification) {
        if let Notification::Status { id, route } = notification {
            if let Some(watches) = self.routes().by_route.get(route) {
                for (_, changed) in watches {
                    changed(*id);
                }
            }
            return;
        }
        match notification {
            Notification::Changed { id, .. } | Notification::Cancel { id, .. } => {
                self.cache.forget(*id);
                self.wake(id);
            }
            Notification::MaybeMissed => {
                self.cache.clear();
                self.wake_all();
            }
            _ => {}
        }
    }
}

impl SharedTable {
    /// Starts listening for the cluster's notifications on a dedicated connection to `url`
    /// (the same database as `cluster`'s).
    ///
    /// # Errors
    ///
    /// The listening connection cannot be opened.
    ///
    /// # Cancel safety
    ///
    /// Cancelling it drops the connection; nothing is left running.
    pub async fn start(cluster: Cluster, url: &str) -> Result<Self, StoreError> {
        let mut listener = Listener::connect(url, cluster.options()).await?;
        let mut shared = Self::fed(cluster);
        let woken = shared.waiters();
        shared.listening = Some(tokio::spawn(async move {
            while let Some(notification) = listener.recv().await {
                woken.notified(&notification);
            }
        }));
        Ok(shared)
    }

    /// A view with no listener of its own: whoever listens (a [`Node`](crate::Node)'s
    /// duties) hands each notification to [`waiters`](Self::waiters), so that a node keeps
    /// one listening connection, not two.
    pub(crate) fn fed(cluster: Cluster) -> Self {
        let options = cluster.options();
        let cache = TerminalCache::new(options.terminal_cache, options.terminal_cache_bytes);
        Self {
            waiters: Arc::new(Waiters {
                by_task: Mutex::default(),
                routes: Mutex::default(),
                cache,
            }),
            cluster,
            listening: None,
            queue: None,
        }
    }

    /// The view of a node: as [`fed`](Self::fed), with the shared queue, so that its runtime
    /// routes the tasks of registered kinds there.
    /// Its admissions take a task at once when the node has room (see [`Cluster::admit`]).
    pub(crate) fn of_node(cluster: Cluster, room: Arc<crate::node::Room>) -> Self {
        let mut view = Self::fed(cluster);
        view.queue = Some(Batcher::new(room));
        view
    }

    /// Who waits on this view: to be woken by the notifications a node's listener receives.
    pub(crate) fn waiters(&self) -> Arc<Waiters> {
        Arc::clone(&self.waiters)
    }

    /// The cluster this view reads.
    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    async fn read(&self, scope: &Scope, id: TaskId) -> Result<TaskRecord, StoreError> {
        self.cluster.get(scope, id).await?.ok_or_else(|| {
            StoreError::new(format!("task {id} left the shared table as it was changed"))
        })
    }
}

impl Drop for SharedTable {
    fn drop(&mut self) {
        if let Some(listening) = &self.listening {
            listening.abort();
        }
    }
}

/// The statuses a list query admits, as the cluster's `list` takes them (empty: all).
fn statuses(query: &ListQuery) -> Vec<Status> {
    match (query.status, query.live_only) {
        (Some(status), _) => vec![status],
        (None, true) => vec![Status::Working, Status::InputRequired],
        (None, false) => Vec::new(),
    }
}

impl SharedTasks for SharedTable {
    fn get<'a>(
        &'a self,
        scope: &'a Scope,
        id: TaskId,
    ) -> BoxFuture<'a, Result<Option<TaskRecord>, StoreError>> {
        Box::pin(async move {
            let cache = &self.waiters.cache;
            if let Some(record) = cache.get(scope, id, OffsetDateTime::now_utc()) {
                return Ok(Some(record));
            }
            let Some((record, bytes)) = self.cluster.get_sized(scope, id).await? else {
                return Ok(None);
            };
            cache.put(&record, bytes, OffsetDateTime::now_utc());
            Ok(Some(record))
        })
    }

    fn list<'a>(
        &'a self,
        scope: &'a Scope,
        query: &'a ListQuery,
    ) -> BoxFuture<'a, Result<Page, StoreError>> {
        Box::pin(async move {
            let size = query.page_size();
            let after = query.cursor.map(|c| c.seq());
            let mut tasks = self
                .cluster
                .list(
                    scope,
                    after,
                    u32::try_from(size + 1).unwrap_or(u32::MAX),
                    &statuses(query),
                )
                .await?;
            let more = tasks.len() > size;
            tasks.truncate(size);
            let next = more
                .then(|| {
                    tasks
                        .last()
                        .map(|r| taskward_core::Cursor::after_seq(r.seq))
                })
                .flatten();
            Ok(Page::new(tasks.into_iter().map(Arc::new).collect(), next))
        })
    }

    fn cancel<'a>(
        &'a self,
        scope: &'a Scope,
        id: TaskId,
        reason: Option<String>,
    ) -> BoxFuture<'a, Result<SharedCancel, StoreError>> {
        Box::pin(async move {
            let requested = self
                .cluster
                .request_cancel(scope, id, CancelledBy::Client, reason)
                .await?;
            Ok(match requested {
                None => SharedCancel::Unknown,
                Some(CancelRequested::AlreadyTerminal(status)) => SharedCancel::Terminal(status),
                Some(_) => SharedCancel::Cancelled(Arc::new(self.read(scope, id).await?)),
            })
        })
    }

    fn provide_input<'a>(
        &'a self,
        scope: &'a Scope,
        id: TaskId,
        key: &'a str,
        response: Value,
    ) -> BoxFuture<'a, Result<SharedInput, StoreError>> {
        Box::pin(async move {
            let answered = self.cluster.answer_input(scope, id, key, &response).await?;
            Ok(match answered {
                None => SharedInput::Unknown,
                Some(Answered::AlreadyAnswered) => SharedInput::AlreadyAnswered,
                Some(Answered::NotLive(status)) => SharedInput::Terminal(status),
                Some(_) => SharedInput::Answered(Arc::new(self.read(scope, id).await?)),
            })
        })
    }

    fn input_requests<'a>(
        &'a self,
        scope: &'a Scope,
        id: TaskId,
    ) -> BoxFuture<'a, Result<Option<Vec<InputRequest>>, StoreError>> {
        Box::pin(self.cluster.input_requests(scope, id))
    }

    fn close_scope<'a>(
        &'a self,
        scope: &'a Scope,
        policy: &'a ClosePolicy,
    ) -> BoxFuture<'a, Result<usize, StoreError>> {
        Box::pin(async move {
            if *policy != ClosePolicy::Cancel {
                return Ok(0);
            }
            let cancelled = self
                .cluster
                .cancel_scope(scope, Some("its session was closed".into()))
                .await?;
            Ok(cancelled.len())
        })
    }

    fn session<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<SessionRecord>, StoreError>> {
        Box::pin(self.cluster.session(id))
    }

    fn watch_scope(&self, scope: &Scope, changed: StatusChanged) -> Option<ScopeWatch> {
        Some(self.waiters.watch_scope(scope, changed))
    }

    fn changed(&self, id: TaskId) -> BoxFuture<'static, ()> {
        let woken = self.waiters.watch(id);
        let fallback: Duration = self.cluster.options().heartbeat;
        Box::pin(async move {
            let _ = tokio::time::timeout(fallback, woken).await;
        })
    }

    fn queues(&self) -> bool {
        self.queue.is_some()
    }

    fn enqueue<'a>(&'a self, task: Enqueue) -> BoxFuture<'a, Result<Enqueued, StoreError>> {
        Box::pin(async move {
            match &self.queue {
                Some(queue) => queue.enqueue(&self.cluster, task).await,
                None => Err(StoreError::new(
                    "postgres cluster: this shared view has no queue (a node's has)",
                )),
            }
        })
    }
}
