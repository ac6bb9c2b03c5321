//! The cluster's options: lease, heartbeat, pool size, retry intervals, TLS, read cache.

use std::path::PathBuf;
use std::time::Duration;

/// How a node takes part in a cluster: the lease its claims hold, how often it should
/// heartbeat, the pool's size and how often the dedicated connections retry.
///
/// The lease is the dead-node bound: a node that has not heartbeated for a lease loses its
/// tasks to [`Cluster::rescue`](crate::Cluster::rescue). By default it is three heartbeat
/// periods (10 s heartbeat, 30 s lease); [`heartbeat`](Self::heartbeat) keeps that ratio
/// unless [`lease`](Self::lease) is set after it.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// use taskward_postgres::ClusterOptions;
///
/// let options = ClusterOptions::new().heartbeat(Duration::from_secs(2));
/// assert_eq!(options.lease, Duration::from_secs(6));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClusterOptions {
    /// How often a node should call [`Cluster::heartbeat`](crate::Cluster::heartbeat)
    /// (default 10 s). The cluster does not run a timer of its own: the runtime does.
    pub heartbeat: Duration,
    /// How long a claim or a heartbeat holds a task (default 30 s, three heartbeats).
    pub lease: Duration,
    /// The pool's maximum number of connections (default 8).
    pub pool_size: usize,
    /// How long opening a connection may take (default 10 s).
    pub connect_timeout: Duration,
    /// How long the [`Listener`](crate::Listener) and the
    /// [`Leadership`](crate::Leadership) wait before trying again after a failure, and how
    /// often a non-leader tries to take the lead (default 1 s).
    pub retry: Duration,
    /// The CA certificates (a PEM file) the server's certificate must chain to, for the
    /// URL's `sslmode` (default none: `verify-ca` and `verify-full` then trust the system's
    /// roots, `prefer` and `require` encrypt without checking the certificate, as libpq).
    pub ca_file: Option<PathBuf>,
    /// How many terminal records of other nodes' tasks a node keeps to answer reads from
    /// memory (default 10,000; 0: none). See [`SharedTable`](crate::SharedTable).
    pub terminal_cache: usize,
    /// How many bytes (their JSON text) those records may take (default 16 MiB).
    pub terminal_cache_bytes: usize,
}

impl ClusterOptions {
    /// The defaults: heartbeat 10 s, lease 30 s, 8 connections, connect timeout 10 s, retry
    /// 1 s, no CA file, a cache of 10,000 terminal records or 16 MiB.
    pub fn new() -> Self {
        Self {
            heartbeat: Duration::from_secs(10),
            lease: Duration::from_secs(30),
            pool_size: 8,
            connect_timeout: Duration::from_secs(10),
            retry: Duration::from_secs(1),
            ca_file: None,
            terminal_cache: 10_000,
            terminal_cache_bytes: 16 << 20,
        }
    }

    /// Sets the heartbeat period, and the lease to three periods.
    pub fn heartbeat(mut self, period: Duration) -> Self {
        self.heartbeat = period;
        self.lease = period.saturating_mul(3);
        self
    }

    /// Sets the lease (after [`heartbeat`](Self::heartbeat), which resets it).
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// Sets the pool's maximum number of connections (at least 1).
    pub fn pool_size(mut self, size: usize) -> Self {
        self.pool_size = size.max(1);
        self
    }

    /// Sets the connect timeout.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets the CA file (PEM) the server's certificate must chain to.
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }

    /// Sets the bounds of the cache of terminal records: at most `records` of them and
    /// `bytes` bytes (either 0: no cache).
    pub fn terminal_cache(mut self, records: usize, bytes: usize) -> Self {
        self.terminal_cache = records;
        self.terminal_cache_bytes = bytes;
        self
    }

    /// Sets the retry interval of the dedicated connections.
    pub fn retry(mut self, retry: Duration) -> Self {
        self.retry = retry;
        self
    }
}

impl Default for ClusterOptions {
    fn default() -> Self {
        Self::new()
    }
}

/// A duration in whole milliseconds for SQL (`$n * interval '1 millisecond'`), saturating.
pub(crate) fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
