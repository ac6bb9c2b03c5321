//! The configuration of a runtime, and supervisors' restart intensity.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use taskward_core::CancelPolicy;

/// How many restarts a supervisor accepts in a window before it gives up and fails itself,
/// escalating to its own supervisor (OTP's `intensity` and `period`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Intensity {
    /// Restarts allowed within `within`.
    pub max_restarts: u32,
    /// The sliding window.
    pub within: Duration,
}

impl Intensity {
    /// At most `max_restarts` restarts within `within`.
    pub const fn new(max_restarts: u32, within: Duration) -> Self {
        Self {
            max_restarts,
            within,
        }
    }
}

/// The configuration a runtime was built with; see [`Builder`](crate::Builder) for each field's meaning.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// Live tasks in all; `None` for no limit.
    pub max_live_tasks: Option<usize>,
    /// Live tasks per scope; `None` for no limit.
    pub max_live_per_scope: Option<usize>,
    /// TTL of tasks that ask for none; `None` keeps them until removed.
    pub default_ttl: Option<Duration>,
    /// The longest TTL granted.
    pub max_ttl: Option<Duration>,
    /// Reject a TTL above `max_ttl` instead of capping it.
    pub reject_ttl_above_max: bool,
    /// Finished tasks retained in all; `None` for no cap.
    pub max_retained_tasks: Option<usize>,
    /// Finished tasks retained per scope; `None` for no cap.
    pub max_retained_tasks_per_scope: Option<usize>,
    /// Bytes of results and errors of finished tasks retained in all; `None` for no cap.
    pub max_retained_bytes: Option<usize>,
    /// Bytes of results and errors of finished tasks retained per scope; `None` for no cap.
    pub max_retained_bytes_per_scope: Option<usize>,
    /// The largest result, in bytes of JSON, a task may complete with.
    pub max_result_bytes: Option<usize>,
    /// Tasks whose work runs at once, in all; `None` for no cap.
    pub max_running: Option<usize>,
    /// Tasks whose work runs at once, per task name; a name not here has no cap of its own.
    pub max_running_named: HashMap<Arc<str>, usize>,
    /// Timeout of tasks that ask for none.
    pub default_timeout: Option<Duration>,
    /// Cancel policy of tasks that ask for none.
    pub default_cancel_policy: CancelPolicy,
    /// How often the TTL sweep runs.
    pub sweep_interval: Duration,
    /// How often the registry reads the progress works report: the delivery latency.
    pub progress_interval: Duration,
    /// Events buffered per event channel (one per subscribed task, per subscribed scope, and
    /// one for unfiltered subscribers) before a subscriber on it lags.
    pub event_capacity: usize,
    /// Runner partitions (runner actors, each holding the tasks whose id hashes to it); `0`
    /// for one per worker thread of the tokio runtime the runtime is spawned on.
    pub runner_partitions: usize,
    /// Runner crashes tolerated by the runner supervisor.
    pub runner_intensity: Intensity,
    /// Child restarts tolerated by the root supervisor.
    pub root_intensity: Intensity,
    /// This runtime's slot among several nodes sharing a table (below
    /// [`NODE_SLOTS`](crate::NODE_SLOTS)), or `None` on a single node: see
    /// [`Builder::node_slot`](crate::Builder::node_slot).
    pub node_slot: Option<u16>,
}

/// How many nodes can share one table with distinct slots ([`Builder::node_slot`](
/// crate::Builder::node_slot)).
pub const NODE_SLOTS: u16 = 1 << 10;

impl Config {
    /// The number of runner partitions this configuration asks for, with `0` resolved to the
    /// worker threads of the current tokio runtime (1 outside one, or on a current-thread
    /// runtime).
    pub fn runner_partitions(&self) -> usize {
        match self.runner_partitions {
            0 => tokio::runtime::Handle::try_current()
                .map(|h| h.metrics().num_workers())
                .unwrap_or(1)
                .max(1),
            n => n,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_live_tasks: Some(100_000),
            max_live_per_scope: None,
            default_ttl: Some(Duration::from_secs(3600)),
            max_ttl: Some(Duration::from_secs(3600)),
            reject_ttl_above_max: false,
            max_retained_tasks: None,
            max_retained_tasks_per_scope: None,
            max_retained_bytes: None,
            max_retained_bytes_per_scope: None,
            max_result_bytes: Some(16 * 1024 * 1024),
            max_running: None,
            max_running_named: HashMap::new(),
            default_timeout: None,
            default_cancel_policy: CancelPolicy::default(),
            sweep_interval: Duration::from_secs(1),
            progress_interval: Duration::from_millis(10),
            event_capacity: 4096,
            runner_partitions: 0,
            runner_intensity: Intensity::new(10, Duration::from_secs(5)),
            root_intensity: Intensity::new(5, Duration::from_secs(10)),
            node_slot: None,
        }
    }
}
