//! A node's options: capacity, caps, cluster options, durability.

use taskward_core::Durability;

use crate::{Caps, ClusterOptions};

/// How a [`Node`](crate::Node) takes part in its cluster: how many claimed tasks it runs at
/// once, the [`Caps`] it claims under, the [`ClusterOptions`] (heartbeat period, lease, pool)
/// and the durability of its store's commits.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// use taskward_postgres::{Caps, ClusterOptions, NodeOptions};
///
/// let options = NodeOptions::new()
///     .capacity(16)
///     .caps(Caps::new().global(100))
///     .cluster(ClusterOptions::new().heartbeat(Duration::from_secs(2)));
/// assert_eq!(options.capacity, 16);
/// assert_eq!(options.cluster.lease, Duration::from_secs(6));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NodeOptions {
    /// The most claimed tasks the node runs at once (default 64): each claim asks for the
    /// capacity minus the claimed tasks still live on the node, and a routed task submitted
    /// on the node is taken there at once (not queued) while that leaves room; taken tasks
    /// count as claimed ones. Tasks that stay on the node do not count (the runtime's own
    /// limits bound them).
    pub capacity: u32,
    /// The caps every claim honours (default none); give every node the same.
    pub caps: Caps,
    /// The cluster's options: the heartbeat period (every duty of the node runs at it), the
    /// lease, the pool.
    pub cluster: ClusterOptions,
    /// The policy of the store's commits (default `process`; `memory` is refused).
    pub durability: Durability,
}

impl NodeOptions {
    /// Capacity 64, no caps, the default cluster options, policy `process`.
    pub fn new() -> Self {
        Self {
            capacity: 64,
            caps: Caps::new(),
            cluster: ClusterOptions::new(),
            durability: Durability::Process,
        }
    }

    /// Sets the capacity.
    pub fn capacity(mut self, capacity: u32) -> Self {
        self.capacity = capacity;
        self
    }

    /// Sets the caps of the claims.
    pub fn caps(mut self, caps: Caps) -> Self {
        self.caps = caps;
        self
    }

    /// Sets the cluster's options.
    pub fn cluster(mut self, cluster: ClusterOptions) -> Self {
        self.cluster = cluster;
        self
    }

    /// Sets the store's policy.
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }
}

impl Default for NodeOptions {
    fn default() -> Self {
        Self::new()
    }
}
