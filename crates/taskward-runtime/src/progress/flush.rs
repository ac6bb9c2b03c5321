//! The dirty-progress list and its timer: how progress reaches the table without a wake-up
//! from the work's thread.
//!
//! A wake-up from the thread of a work that never awaits would put the woken task in that
//! worker's LIFO slot, which no other worker can steal, until the work yields: if that task
//! were the registry, every transition, cancel and status query would wait for the work. So
//! reporting progress only lists the task; a timer has the registry read the list every
//! progress interval while progress keeps coming, and sleeps (costing nothing) once a tick
//! finds the list empty. The first report after such a quiet tick re-arms the timer through a
//! blocking-pool thread, whose wake-up goes to the runtime's shared queue, which any free
//! worker takes (and which a paused test clock waits for). If every blocking thread is busy,
//! re-arming waits for one; the registry still reads the list at each drain meanwhile.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use ractor::ActorId;
use taskward_core::TaskId;
use tokio::runtime::Handle;
use tokio::sync::Notify;
use tokio::task::AbortHandle;

/// The tasks whose progress cell has news, and the timer that has the registry flush them.
#[derive(Debug)]
pub(crate) struct ProgressFlush {
    inner: Arc<Inner>,
    /// The timer, and the registry it works for.
    timer: Mutex<Option<(ActorId, AbortHandle)>>,
}

#[derive(Debug)]
struct Inner {
    list: Mutex<List>,
    wake: Notify,
    runtime: Option<Handle>,
}

#[derive(Debug, Default)]
struct List {
    dirty: Vec<TaskId>,
    /// Whether the timer is ticking (or being woken to tick).
    armed: bool,
}

impl ProgressFlush {
    pub(crate) fn new() -> Self {
        Self {
            inner: Arc::new(Inner {
                list: Mutex::new(List::default()),
                wake: Notify::new(),
                runtime: Handle::try_current().ok(),
            }),
            timer: Mutex::new(None),
        }
    }

    /// Lists a task whose progress cell just became dirty, and arms the timer if it sleeps.
    /// Never wakes a task from the caller's thread.
    pub(crate) fn list(&self, id: TaskId) {
        let arm = {
            let mut list = self.inner.lock();
            list.dirty.push(id);
            !std::mem::replace(&mut list.armed, true)
        };
        if arm {
            let inner = self.inner.clone();
            match &self.inner.runtime {
                Some(runtime) => drop(runtime.spawn_blocking(move || inner.wake.notify_one())),
                None => inner.wake.notify_one(),
            }
        }
    }

    /// Takes the list as it is now; cells dirtied later list themselves anew.
    pub(crate) fn take(&self) -> Vec<TaskId> {
        std::mem::take(&mut self.inner.lock().dirty)
    }

    /// Starts the timer for the registry `id` (replacing a predecessor's), ticking every
    /// `every`: each tick calls `flush`, which asks the registry to flush and says whether it
    /// is still there. It starts armed, so news listed while no registry ran is flushed.
    pub(crate) fn start(
        &self,
        id: ActorId,
        flush: impl Fn() -> bool + Send + 'static,
        every: Duration,
    ) {
        self.inner.lock().armed = true;
        let timer = tokio::spawn(tick(self.inner.clone(), flush, every));
        let old = self
            .timer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .replace((id, timer.abort_handle()));
        if let Some((_, old)) = old {
            old.abort();
        }
    }

    /// Stops the timer of `registry`, if a successor has not replaced it.
    pub(crate) fn stop(&self, registry: ActorId) {
        let mut timer = self.timer.lock().unwrap_or_else(|e| e.into_inner());
        if timer.as_ref().is_some_and(|(id, _)| *id == registry) {
            if let Some((_, timer)) = timer.take() {
                timer.abort();
            }
        }
    }
}

impl Drop for ProgressFlush {
    fn drop(&mut self) {
        if let Some((_, timer)) = self
            .timer
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            timer.abort();
        }
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, List> {
        self.list.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Disarms the timer if no task is listed; `false` if it must keep ticking.
    fn disarm_if_idle(&self) -> bool {
        let mut list = self.lock();
        list.armed = !list.dirty.is_empty();
        !list.armed
    }
}

async fn tick(inner: Arc<Inner>, flush: impl Fn() -> bool, every: Duration) {
    loop {
        // Armed: flush now, then every interval while news keeps coming.
        loop {
            if !flush() {
                // The registry is gone; its successor starts a timer of its own.
                return;
            }
            tokio::time::sleep(every).await;
            if inner.disarm_if_idle() {
                break;
            }
        }
        inner.wake.notified().await;
    }
}
