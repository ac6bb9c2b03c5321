//! The opt-in memory accounting: a wrapping global allocator the host installs, and the
//! attribution of each allocation to the attempt whose work is being polled.
//!
//! `tracking-allocator` does the unsafe part (the `GlobalAlloc` that stores the group of each
//! allocation in a header and hands allocation events to one global tracker); this module is
//! that tracker. Each metered attempt with a memory limit registers an allocation group, enters
//! it around each poll of its work, and the tracker adds and subtracts the requested sizes in
//! the group's counter. The counters live in a table behind a read-write lock: the allocation
//! path only reads it, and every write to it runs with tracking suspended on its thread, so the
//! tracker is never re-entered while the table is locked for writing.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, LazyLock, OnceLock, RwLock};

use tracking_allocator::{
    AllocationGroupId, AllocationGroupToken, AllocationGuard, AllocationRegistry, AllocationTracker,
};

/// The global allocator that lets taskward count the heap bytes each task's work holds, so
/// that [`TaskSpec::memory_limit`](crate::TaskSpec::memory_limit) is enforced and
/// [`RunnerStatus::live_bytes`](crate::RunnerStatus::live_bytes) is reported.
///
/// It is `tracking-allocator`'s wrapping allocator over the system allocator. The host opts
/// in by installing it in its binary; nothing else is needed:
///
/// ```
/// #[global_allocator]
/// static ALLOC: taskward_runtime::TrackingAllocator = taskward_runtime::TrackingAllocator::system();
///
/// fn main() {
///     assert!(taskward_runtime::memory_tracking_installed());
/// }
/// ```
///
/// Installed, every allocation of the process carries a one-word header (the group that made
/// it). Per-allocation bookkeeping starts with the first task that has a memory limit (or the
/// first call of [`memory_tracking_installed`]); from then on an allocation outside a
/// limited task costs a thread-local read and a comparison, and one inside a limited task
/// an uncontended read lock, a hash lookup and an atomic add.
pub type TrackingAllocator = tracking_allocator::Allocator<std::alloc::System>;

/// Whether per-task memory accounting works in this process: `true` when
/// [`TrackingAllocator`] is the global allocator (and no other `tracking-allocator` tracker
/// was set before).
///
/// The first call sets the accounting up (it takes `tracking-allocator`'s one global tracker
/// slot for taskward's tracker, turns tracking on and checks with one allocation that the
/// allocator reports it), so a host may call it at startup to fail fast; otherwise the first
/// task with a memory limit does. The answer never changes afterwards. Where it returns
/// `false`, a task with a memory limit is refused (see
/// [`TaskSpec::memory_limit`](crate::TaskSpec::memory_limit)).
///
/// # Examples
///
/// ```
/// // This doctest does not install the allocator.
/// assert!(!taskward_runtime::memory_tracking_installed());
/// ```
pub fn memory_tracking_installed() -> bool {
    setup().is_ok()
}

/// Sets the accounting up, once; the same answer afterwards.
fn setup() -> Result<(), MemoryTrackingUnavailable> {
    static SETUP: OnceLock<Result<(), MemoryTrackingUnavailable>> = OnceLock::new();
    *SETUP.get_or_init(install)
}

fn install() -> Result<(), MemoryTrackingUnavailable> {
    if AllocationRegistry::set_global_tracker(Tracker).is_err() {
        // Someone else's tracker receives the events: nothing would reach ours.
        return Err(MemoryTrackingUnavailable::TrackerTaken);
    }
    AllocationRegistry::enable_tracking();
    if probe() {
        Ok(())
    } else {
        AllocationRegistry::disable_tracking();
        Err(MemoryTrackingUnavailable::NotInstalled)
    }
}

/// Whether an allocation made inside a group reaches the tracker.
fn probe() -> bool {
    let Some(mut group) = Attribution::register() else {
        return false;
    };
    let block = {
        let _entered = group.enter();
        std::hint::black_box(Box::new([1u8; 64]))
    };
    let seen = group.live.get() >= 64;
    drop(block);
    seen
}

/// The heap bytes an attempt's work holds: requested sizes of its allocations still live.
#[derive(Debug, Default)]
pub(crate) struct LiveBytes(AtomicI64);

impl LiveBytes {
    /// The bytes held now.
    pub(crate) fn get(&self) -> u64 {
        u64::try_from(self.0.load(Ordering::Relaxed)).unwrap_or(0)
    }

    fn add(&self, bytes: usize) {
        self.0
            .fetch_add(i64::try_from(bytes).unwrap_or(i64::MAX), Ordering::Relaxed);
    }

    fn sub(&self, bytes: usize) {
        self.0
            .fetch_sub(i64::try_from(bytes).unwrap_or(i64::MAX), Ordering::Relaxed);
    }
}

/// The groups being counted, by group id.
static GROUPS: LazyLock<RwLock<HashMap<usize, Arc<LiveBytes>>>> = LazyLock::new(Default::default);

fn with_group(group: &AllocationGroupId, f: impl FnOnce(&LiveBytes)) {
    if *group == AllocationGroupId::ROOT {
        return;
    }
    let groups = GROUPS.read().unwrap_or_else(|e| e.into_inner());
    if let Some(live) = groups.get(&group.as_usize().get()) {
        f(live);
    }
}

/// taskward's allocation tracker: counts the bytes of registered groups, ignores the rest.
#[derive(Debug)]
struct Tracker;

impl AllocationTracker for Tracker {
    fn allocated(
        &self,
        _addr: usize,
        object_size: usize,
        _wrapped: usize,
        group: AllocationGroupId,
    ) {
        with_group(&group, |live| live.add(object_size));
    }

    fn deallocated(
        &self,
        _addr: usize,
        object_size: usize,
        _wrapped: usize,
        source: AllocationGroupId,
        _current: AllocationGroupId,
    ) {
        // Freed wherever it is freed, an allocation counts against the group that made it.
        with_group(&source, |live| live.sub(object_size));
    }
}

/// Why a task with a memory limit cannot run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MemoryTrackingUnavailable {
    /// [`TrackingAllocator`] is not the global allocator.
    NotInstalled,
    /// Another `tracking-allocator` tracker was set before taskward's.
    TrackerTaken,
    /// The allocator has no allocation group ids left (2^64 on 64-bit targets).
    GroupsExhausted,
}

impl fmt::Display for MemoryTrackingUnavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotInstalled => f.write_str(
                "the task has a memory limit, but taskward's TrackingAllocator is not the \
                 global allocator, so the limit cannot be enforced",
            ),
            Self::TrackerTaken => f.write_str(
                "the task has a memory limit, but another tracking-allocator tracker was set \
                 before taskward's, so the limit cannot be enforced",
            ),
            Self::GroupsExhausted => {
                f.write_str("the tracking allocator has no allocation group ids left")
            }
        }
    }
}

impl std::error::Error for MemoryTrackingUnavailable {}

/// The allocation group of one attempt: entered around each poll of its work, counted until
/// dropped.
pub(crate) struct Attribution {
    token: AllocationGroupToken,
    live: Arc<LiveBytes>,
}

impl fmt::Debug for Attribution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attribution")
            .field("group", &self.token.id())
            .field("live", &self.live)
            .finish()
    }
}

impl Attribution {
    /// A new counted group, once the accounting is known to work.
    pub(crate) fn start() -> Result<Self, MemoryTrackingUnavailable> {
        setup()?;
        Self::register().ok_or(MemoryTrackingUnavailable::GroupsExhausted)
    }

    fn register() -> Option<Self> {
        // tracking-allocator 0.4 hands out ids with a `fetch_add` checked against a
        // `fetch_max`: two registrations that race can leave the lower one without an id.
        // Registering one at a time avoids it.
        static REGISTER: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let token = {
            let _one_at_a_time = REGISTER.lock().unwrap_or_else(|e| e.into_inner());
            AllocationGroupToken::register()?
        };
        let live = Arc::new(LiveBytes::default());
        let id = token.id().as_usize().get();
        AllocationRegistry::untracked(|| {
            GROUPS
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .insert(id, live.clone());
        });
        Some(Self { token, live })
    }

    /// The group's counter.
    pub(crate) fn live(&self) -> &Arc<LiveBytes> {
        &self.live
    }

    /// Attributes this thread's allocations to the group until the guard drops.
    pub(crate) fn enter(&mut self) -> AllocationGuard<'_> {
        self.token.enter()
    }
}

impl Drop for Attribution {
    fn drop(&mut self) {
        let id = self.token.id().as_usize().get();
        AllocationRegistry::untracked(|| {
            let removed = GROUPS
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&id);
            drop(removed);
        });
    }
}
