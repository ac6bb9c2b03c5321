//! Subscribing to task events.

use std::sync::{Arc, Weak};

use futures_core::Stream;
use taskward_core::{Event, EventKind, Scope, TaskEvent, TaskId};
use tokio::sync::broadcast;

use crate::event_router::{EventRouter, Route};

/// Which events a subscription receives.
///
/// # Examples
///
/// ```
/// use taskward_core::Scope;
/// use taskward_runtime::EventFilter;
///
/// let filter = EventFilter::all().scope(Scope::session("s-1")).without_progress();
/// # let _ = filter;
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct EventFilter {
    /// Only this scope's tasks.
    pub scope: Option<Scope>,
    /// Only this task.
    pub task: Option<TaskId>,
    /// Whether progress events are included (default: yes).
    pub skip_progress: bool,
    /// The buffer of the channel this subscription creates, when it is its route's first
    /// subscriber; `None` for the runtime's event capacity.
    pub buffer: Option<usize>,
}

impl EventFilter {
    /// Every event.
    pub fn all() -> Self {
        Self::default()
    }

    /// Only events of tasks in this scope.
    pub fn scope(mut self, scope: Scope) -> Self {
        self.scope = Some(scope);
        self
    }

    /// Only events of this task.
    pub fn task(mut self, id: TaskId) -> Self {
        self.task = Some(id);
        self
    }

    /// Leave out progress events.
    pub fn without_progress(mut self) -> Self {
        self.skip_progress = true;
        self
    }

    /// Buffers at most `events` for the subscribers of this route, instead of the runtime's
    /// [event capacity](crate::Builder::event_capacity), when this subscription is the first
    /// of its route (later ones share the channel it made). A channel's buffer is allocated
    /// whole when it is made, so a host that holds a subscription per client (an MCP server,
    /// one per session) keeps it small; a subscriber that falls further behind is told it
    /// lagged, as always.
    pub fn buffer(mut self, events: usize) -> Self {
        self.buffer = Some(events.max(1));
        self
    }

    /// Whether an event passes the filter.
    pub fn matches(&self, event: &TaskEvent) -> bool {
        self.scope.as_ref().is_none_or(|s| *s == event.scope)
            && self.task.is_none_or(|t| t == event.task_id)
            && !(self.skip_progress && matches!(event.kind, EventKind::Progress(_)))
    }
}

/// A stream of task events, from [`Taskward::subscribe`](crate::Taskward::subscribe).
///
/// Events arrive in sequence order. A subscription listens only to the events it asked for:
/// one with a task in its filter to that task's, one with a scope to that scope's, one
/// without either to every event, so the events of other scopes and tasks cost it nothing
/// and never make it lag. One that falls more than the runtime's event capacity behind its
/// own events receives [`Event::Lagged`] with the number of them it missed, then continues
/// with the oldest one still buffered: never a silent gap.
///
/// A subscription ends (`recv` returns `None`) once the runtime has shut down, after the
/// events buffered for it, or once every handle to the runtime is dropped.
#[derive(Debug)]
pub struct Subscription {
    /// `None` once ended, or when subscribed after shutdown.
    receiver: Option<broadcast::Receiver<TaskEvent>>,
    route: Route,
    router: Weak<EventRouter>,
    filter: EventFilter,
}

impl Subscription {
    /// Subscribes on the narrowest route the filter allows: its task, else its scope, else
    /// every event.
    pub(crate) fn new(router: &Arc<EventRouter>, filter: EventFilter) -> Self {
        let route = match (&filter.task, &filter.scope) {
            (Some(id), _) => Route::Task(*id),
            (None, Some(scope)) => Route::Scope(scope.clone()),
            (None, None) => Route::All,
        };
        Self {
            receiver: router.subscribe(&route, filter.buffer),
            route,
            router: Arc::downgrade(router),
            filter,
        }
    }

    /// The next event that passes the filter, or `None` once the runtime has shut down (after
    /// the events buffered for this subscription) or is gone.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: an event is removed from the subscription only when this returns it.
    pub async fn recv(&mut self) -> Option<Event> {
        let receiver = self.receiver.as_mut()?;
        loop {
            match receiver.recv().await {
                Ok(event) if self.filter.matches(&event) => return Some(Event::Task(event)),
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(n)) => return Some(Event::Lagged(n)),
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }

    /// The subscription as a [`Stream`].
    pub fn into_stream(self) -> impl Stream<Item = Event> + Send + Unpin + 'static {
        Box::pin(futures_util::stream::unfold(self, |mut sub| async move {
            sub.recv().await.map(|event| (event, sub))
        }))
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let (Some(receiver), Some(router)) = (self.receiver.take(), self.router.upgrade()) {
            router.release(&self.route, receiver);
        }
    }
}
