//! The event router: a broadcast channel per route, so an event reaches only the subscribers
//! that asked for its scope or its task.
//!
//! One channel carries every event (for unfiltered subscribers); the others are keyed by scope
//! and by task id, created by the first subscriber of a route and removed when its last one
//! goes. Publishing costs three hash lookups and a send on each channel that exists, whatever
//! the number of subscribers to other routes: an idle subscriber to another scope costs
//! nothing. Once the runtime has shut down the router is closed: every channel is dropped, so
//! subscriptions end after their buffered events, and new ones end at once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use taskward_core::{Scope, TaskEvent, TaskId};
use tokio::sync::broadcast::{self, Receiver, Sender};

/// Which channel a subscription listens on.
#[derive(Debug, Clone)]
pub(crate) enum Route {
    All,
    Scope(Scope),
    Task(TaskId),
}

#[derive(Debug, Default)]
struct Routes {
    closed: bool,
    all: Option<Sender<TaskEvent>>,
    scopes: HashMap<Scope, Sender<TaskEvent>>,
    tasks: HashMap<TaskId, Sender<TaskEvent>>,
}

/// The runtime's event channels, owned by `Shared`.
#[derive(Debug)]
pub(crate) struct EventRouter {
    capacity: usize,
    routes: Mutex<Routes>,
    /// Live receivers, for the status and for publishing nothing when there are none.
    subscribers: AtomicUsize,
}

impl EventRouter {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            routes: Mutex::new(Routes::default()),
            subscribers: AtomicUsize::new(0),
        }
    }

    fn routes(&self) -> MutexGuard<'_, Routes> {
        self.routes.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The number of live subscriptions.
    pub(crate) fn subscribers(&self) -> usize {
        self.subscribers.load(Ordering::SeqCst)
    }

    /// A receiver on `route`, creating its channel if needed (buffering `buffer` events, or
    /// the router's capacity); `None` once the router is closed.
    pub(crate) fn subscribe(
        &self,
        route: &Route,
        buffer: Option<usize>,
    ) -> Option<Receiver<TaskEvent>> {
        let mut routes = self.routes();
        if routes.closed {
            return None;
        }
        let capacity = buffer.unwrap_or(self.capacity).max(1);
        let channel = || broadcast::channel(capacity).0;
        let receiver = match route {
            Route::All => routes.all.get_or_insert_with(channel).subscribe(),
            Route::Scope(scope) => routes
                .scopes
                .entry(scope.clone())
                .or_insert_with(channel)
                .subscribe(),
            Route::Task(id) => routes.tasks.entry(*id).or_insert_with(channel).subscribe(),
        };
        self.subscribers.fetch_add(1, Ordering::SeqCst);
        Some(receiver)
    }

    /// Drops a receiver of `route` and, if it was the channel's last, the channel. Receivers
    /// are only created and dropped under the lock, so the count read here is exact.
    pub(crate) fn release(&self, route: &Route, receiver: Receiver<TaskEvent>) {
        let mut routes = self.routes();
        drop(receiver);
        self.subscribers.fetch_sub(1, Ordering::SeqCst);
        let unused = |sender: &Sender<TaskEvent>| sender.receiver_count() == 0;
        match route {
            Route::All => {
                if routes.all.as_ref().is_some_and(unused) {
                    routes.all = None;
                }
            }
            Route::Scope(scope) => {
                if routes.scopes.get(scope).is_some_and(unused) {
                    routes.scopes.remove(scope);
                }
            }
            Route::Task(id) => {
                if routes.tasks.get(id).is_some_and(unused) {
                    routes.tasks.remove(id);
                }
            }
        }
    }

    /// Sends an event to the unfiltered channel, its scope's and its task's, those that exist.
    /// A channel found without receivers is removed on the way.
    pub(crate) fn publish(&self, event: TaskEvent) {
        if self.subscribers() == 0 {
            return;
        }
        let mut routes = self.routes();
        let routes = &mut *routes;
        if let Some(all) = &routes.all
            && all.send(event.clone()).is_err()
        {
            routes.all = None;
        }
        if let Some(scope) = routes.scopes.get(&event.scope)
            && scope.send(event.clone()).is_err()
        {
            routes.scopes.remove(&event.scope);
        }
        if let Some(task) = routes.tasks.get(&event.task_id)
            && task.send(event.clone()).is_err()
        {
            routes.tasks.remove(&event.task_id);
        }
    }

    /// Ends every subscription (after its buffered events) and refuses new ones.
    pub(crate) fn close(&self) {
        let mut routes = self.routes();
        routes.closed = true;
        routes.all = None;
        routes.scopes.clear();
        routes.tasks.clear();
    }

    /// The channels that exist (for tests).
    #[cfg(test)]
    fn channels(&self) -> usize {
        let routes = self.routes();
        usize::from(routes.all.is_some()) + routes.scopes.len() + routes.tasks.len()
    }
}

#[cfg(test)]
mod tests {
    use taskward_core::EventKind;

    use super::*;

    fn event(seq: u64, scope: &Scope, id: TaskId) -> TaskEvent {
        TaskEvent::new(seq, id, scope.clone(), EventKind::Completed)
    }

    #[test]
    fn each_route_gets_only_its_events_and_channels_go_with_their_last_receiver() {
        let router = EventRouter::new(8);
        let (a, b) = (Scope::session("a"), Scope::session("b"));
        let (t1, t2) = (TaskId::new(), TaskId::new());
        let scope_a = Route::Scope(a.clone());
        let task_2 = Route::Task(t2);
        let mut all = router.subscribe(&Route::All, None).unwrap();
        let mut in_a = router.subscribe(&scope_a, None).unwrap();
        let mut of_t2 = router.subscribe(&task_2, None).unwrap();
        let also_a = router.subscribe(&scope_a, None).unwrap();
        assert_eq!((router.channels(), router.subscribers()), (3, 4));

        router.publish(event(1, &a, t1));
        router.publish(event(2, &b, t2));
        assert_eq!(all.try_recv().unwrap().seq, 1);
        assert_eq!(all.try_recv().unwrap().seq, 2);
        assert_eq!(in_a.try_recv().unwrap().seq, 1);
        assert!(in_a.try_recv().is_err());
        assert_eq!(of_t2.try_recv().unwrap().seq, 2);
        assert!(of_t2.try_recv().is_err());

        router.release(&scope_a, also_a);
        assert_eq!(router.channels(), 3, "scope a still has a receiver");
        router.release(&scope_a, in_a);
        router.release(&task_2, of_t2);
        router.release(&Route::All, all);
        assert_eq!((router.channels(), router.subscribers()), (0, 0));
    }

    #[test]
    fn a_closed_router_ends_its_subscriptions_after_their_buffered_events() {
        let router = EventRouter::new(8);
        let a = Scope::session("a");
        let mut rx = router.subscribe(&Route::Scope(a.clone()), None).unwrap();
        router.publish(event(1, &a, TaskId::new()));
        router.close();
        assert_eq!(rx.try_recv().unwrap().seq, 1);
        assert!(matches!(
            rx.try_recv(),
            Err(broadcast::error::TryRecvError::Closed)
        ));
        assert!(router.subscribe(&Route::All, None).is_none());
        assert_eq!(router.channels(), 0);
    }
}
