//! A node's room: its capacity, shared by the claims of its duties and the admissions that
//! take a task at once (see [`Cluster::admit`](crate::Cluster::admit)), so that together
//! they never run more claimed tasks than the capacity.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use taskward_core::TaskId;
use taskward_runtime::Taskward;

use crate::{Caps, Fences, NodeId};

/// The claimed tasks a node runs, the ones taken at admission that its runtime has not
/// adopted yet, and the slots reserved by a claim or an admission under way.
#[derive(Debug)]
pub(crate) struct Room {
    pub(crate) node: NodeId,
    pub(crate) fences: Fences,
    capacity: u32,
    caps: Caps,
    /// How long a task taken at admission counts before its runtime adopts it.
    grace: Duration,
    state: Mutex<State>,
    /// Notified as a claim of the duties returns.
    claimed: tokio::sync::Notify,
}

#[derive(Debug, Default)]
struct State {
    /// The runtime, while the node's duties run (taken out when they stop).
    ward: Option<Taskward>,
    claimed: HashSet<TaskId>,
    taking: HashMap<TaskId, Instant>,
    reserved: u32,
    /// Whether a claim of the duties is under way (its slots reserved until it returns).
    claiming: bool,
}

impl State {
    /// Drops the tasks that ended (or left) here; a task taken at admission counts as
    /// claimed once the runtime runs it, and no more after `grace` if it never did.
    fn prune(&mut self, grace: Duration) {
        let Some(ward) = self.ward.clone() else {
            return;
        };
        let live = |id: &TaskId| ward.inspect(*id).map(|r| !r.is_terminal());
        self.claimed.retain(|id| live(id) == Some(true));
        let mut adopted = Vec::new();
        self.taking.retain(|id, at| match live(id) {
            Some(true) => {
                adopted.push(*id);
                false
            }
            Some(false) => false,
            None => at.elapsed() < grace,
        });
        self.claimed.extend(adopted);
    }

    fn used(&self) -> u32 {
        let held = self.claimed.len() + self.taking.len();
        u32::try_from(held)
            .unwrap_or(u32::MAX)
            .saturating_add(self.reserved)
    }
}

impl Room {
    pub(crate) fn new(node: NodeId, fences: Fences, capacity: u32, caps: Caps) -> Self {
        Self {
            node,
            fences,
            capacity,
            caps,
            grace: Duration::from_secs(60),
            state: Mutex::default(),
            claimed: tokio::sync::Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The node's duties run `ward` (`Some`), or stopped (`None`): admissions take tasks
    /// only while they run (they renew the leases).
    pub(crate) fn running(&self, ward: Option<Taskward>) {
        self.lock().ward = ward;
    }

    /// Reserves up to `wanted` free slots and returns how many (none while the duties do
    /// not run), and whether a claim is under way. Each is [`release`](Self::release)d once
    /// its claim or admission is done.
    fn reserve(&self, wanted: u32) -> (u32, bool) {
        let mut state = self.lock();
        if state.ward.is_none() {
            return (0, false);
        }
        state.prune(self.grace);
        let free = self.capacity.saturating_sub(state.used()).min(wanted);
        state.reserved += free;
        (free, state.claiming)
    }

    /// Gives back `n` reserved slots.
    fn release(&self, n: u32) {
        let mut state = self.lock();
        state.reserved = state.reserved.saturating_sub(n);
    }

    /// Counts `id`, claimed by the duties and run here.
    pub(crate) fn claimed(&self, id: TaskId) {
        let mut state = self.lock();
        state.taking.remove(&id);
        state.claimed.insert(id);
    }

    /// Counts `id`, taken at admission or claimed: the runtime adopts it next.
    pub(crate) fn taken(&self, id: TaskId) {
        self.lock().taking.insert(id, Instant::now());
    }

    /// Stops counting `id` (released: another node holds it now).
    pub(crate) fn forget(&self, id: TaskId) {
        let mut state = self.lock();
        state.claimed.remove(&id);
        state.taking.remove(&id);
    }

    /// Whether an admission may take a task of `kind`: no cap applies to it.
    pub(crate) fn uncapped(&self, kind: &str) -> bool {
        self.caps.global.is_none() && !self.caps.per_kind.contains_key(kind)
    }
}

/// Slots reserved in a [`Room`], released when dropped (whatever happened meanwhile).
#[derive(Debug)]
pub(crate) struct Reserved<'a> {
    room: &'a Room,
    /// How many slots are reserved.
    pub(crate) n: u32,
    /// Whether they are a claim's.
    claim: bool,
}

impl<'a> Reserved<'a> {
    /// Reserves up to `wanted` slots of `room` for a claim of its duties: the admissions
    /// that find the room short meanwhile wait for the claim to return.
    pub(crate) fn claim(room: &'a Room, wanted: u32) -> Self {
        let (n, _) = room.reserve(wanted);
        if n > 0 {
            room.lock().claiming = true;
        }
        Self {
            room,
            n,
            claim: n > 0,
        }
    }

    /// Reserves up to `wanted` slots of `room` for an admission: when a claim under way
    /// holds the slots it lacks, it waits for the claim to return (and what it claimed to
    /// count), once.
    pub(crate) async fn admission(room: &'a Room, wanted: u32) -> Self {
        let returned = room.claimed.notified();
        tokio::pin!(returned);
        returned.as_mut().enable();
        let (n, claiming) = room.reserve(wanted);
        if n == wanted || !claiming {
            return Self {
                room,
                n,
                claim: false,
            };
        }
        room.release(n);
        returned.await;
        let (n, _) = room.reserve(wanted);
        Self {
            room,
            n,
            claim: false,
        }
    }
}

impl Drop for Reserved<'_> {
    fn drop(&mut self) {
        self.room.release(self.n);
        if self.claim {
            self.room.lock().claiming = false;
            self.room.claimed.notify_waiters();
        }
    }
}
