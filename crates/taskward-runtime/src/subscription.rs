//! Subscribing to task events.

use futures_core::Stream;
use taskward_core::{Event, EventKind, Scope, TaskEvent, TaskId};
use tokio::sync::broadcast;

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

    /// Whether an event passes the filter.
    pub fn matches(&self, event: &TaskEvent) -> bool {
        self.scope.as_ref().is_none_or(|s| *s == event.scope)
            && self.task.is_none_or(|t| t == event.task_id)
            && !(self.skip_progress && matches!(event.kind, EventKind::Progress(_)))
    }
}

/// A stream of task events, from [`Taskward::subscribe`](crate::Taskward::subscribe).
///
/// Events arrive in sequence order. A subscriber that falls more than the runtime's event
/// capacity behind receives [`Event::Lagged`] with the number it missed, then continues with
/// the oldest event still buffered: never a silent gap.
#[derive(Debug)]
pub struct Subscription {
    receiver: broadcast::Receiver<TaskEvent>,
    filter: EventFilter,
}

impl Subscription {
    pub(crate) fn new(receiver: broadcast::Receiver<TaskEvent>, filter: EventFilter) -> Self {
        Self { receiver, filter }
    }

    /// The next event that passes the filter, or `None` once the runtime is gone.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: an event is removed from the subscription only when this returns it.
    pub async fn recv(&mut self) -> Option<Event> {
        loop {
            match self.receiver.recv().await {
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
