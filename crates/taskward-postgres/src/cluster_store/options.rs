//! The cluster store's options.

use std::time::Duration;

use taskward_core::Durability;

use crate::ClusterOptions;

/// How a [`ClusterStore`](crate::ClusterStore) connects and commits: the cluster's options
/// (its [`lease`](ClusterOptions::lease) is the lease of the rows the store inserts, the one
/// [`Cluster::heartbeat`](crate::Cluster::heartbeat) renews; its
/// [`connect_timeout`](ClusterOptions::connect_timeout) bounds each connection), the
/// durability policy, the capacity of the refusal channel, and the interval progress is
/// coalesced over.
///
/// # Examples
///
/// ```
/// use taskward_core::Durability;
/// use taskward_postgres::{ClusterOptions, ClusterStoreOptions};
///
/// let options = ClusterStoreOptions::new(ClusterOptions::new())
///     .durability(Durability::Power)
///     .refusals(64)
///     .progress_interval(std::time::Duration::from_millis(500));
/// assert_eq!((options.durability, options.refusals), (Durability::Power, 64));
/// assert_eq!(options.progress_interval.as_millis(), 500);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClusterStoreOptions {
    /// The cluster's options (use the same as the node's [`Cluster`](crate::Cluster)).
    pub cluster: ClusterOptions,
    /// The policy of the commits (default `process`; `memory` is refused, `power` needs the
    /// server's `fsync` on).
    pub durability: Durability,
    /// How many refusals wait unread before later ones are dropped (default 1024, at
    /// least 1).
    pub refusals: usize,
    /// The least time between two writes of a held task that change only its progress,
    /// status message or other detail, not its status or phase (default 250 ms; zero writes
    /// every record). A record within the interval waits as the task's pending record, and
    /// is written with the task's next write or once the interval has passed: see
    /// [`ClusterStore`](crate::ClusterStore#progress-is-coalesced).
    pub progress_interval: Duration,
}

impl ClusterStoreOptions {
    /// The `cluster` options, policy `process`, 1024 refusals, progress every 250 ms.
    pub fn new(cluster: ClusterOptions) -> Self {
        Self {
            cluster,
            durability: Durability::Process,
            refusals: 1024,
            progress_interval: Duration::from_millis(250),
        }
    }

    /// Sets the interval a held task's progress is coalesced over (zero: no coalescing).
    pub fn progress_interval(mut self, interval: Duration) -> Self {
        self.progress_interval = interval;
        self
    }

    /// Sets the policy.
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// Sets the capacity of the refusal channel.
    pub fn refusals(mut self, capacity: usize) -> Self {
        self.refusals = capacity.max(1);
        self
    }
}

impl Default for ClusterStoreOptions {
    fn default() -> Self {
        Self::new(ClusterOptions::new())
    }
}
