//! [`TaskOptions`]: what one spawned task asks of the runtime.

use std::time::Duration;

/// The suggested polling interval when none is set, in milliseconds (rmcp's default too).
pub const DEFAULT_POLL_INTERVAL_MS: u64 = 1_000;

/// Options for one task: TTL, suggested polling interval, first status message, and the
/// taskward additions (a timeout and a name).
///
/// The fields and builders are rmcp's, with one difference of meaning: `ttl_ms: None` asks for
/// the runtime's default TTL rather than unlimited retention, and every TTL is capped by the
/// runtime's maximum. The effective TTL is the one reported in the task's `ttlMs`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use taskward_rmcp::TaskOptions;
///
/// let options = TaskOptions::new()
///     .with_ttl_ms(60_000)
///     .with_poll_interval_ms(250)
///     .with_timeout(Duration::from_secs(30))
///     .with_status_message("queued");
/// assert_eq!(options.ttl_ms, Some(60_000));
/// assert_eq!(options.timeout, Some(Duration::from_secs(30)));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TaskOptions {
    /// The TTL in milliseconds, counted from creation; `None` for the runtime's default.
    pub ttl_ms: Option<u64>,
    /// The polling interval suggested to clients, in milliseconds.
    pub poll_interval_ms: Option<u64>,
    /// The task's first status message.
    pub status_message: Option<String>,
    /// How long the work may run: at the deadline it is cancelled, given the runtime's grace
    /// period, then aborted, and the task fails with cause `timed_out`. `None` for the
    /// runtime's default (none unless configured).
    pub timeout: Option<Duration>,
    /// The task's name in the runtime (status views, events); `rmcp-task` when unset.
    pub name: Option<String>,
}

impl Default for TaskOptions {
    fn default() -> Self {
        Self {
            ttl_ms: None,
            poll_interval_ms: Some(DEFAULT_POLL_INTERVAL_MS),
            status_message: None,
            timeout: None,
            name: None,
        }
    }
}

impl TaskOptions {
    /// The default options: the runtime's TTL, a 1 s polling interval, no timeout.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the TTL in milliseconds; `None` for the runtime's default.
    pub fn with_ttl_ms(mut self, ttl_ms: impl Into<Option<u64>>) -> Self {
        self.ttl_ms = ttl_ms.into();
        self
    }

    /// Sets the suggested polling interval in milliseconds.
    pub fn with_poll_interval_ms(mut self, poll_interval_ms: u64) -> Self {
        self.poll_interval_ms = Some(poll_interval_ms);
        self
    }

    /// Sets the first status message.
    pub fn with_status_message(mut self, message: impl Into<String>) -> Self {
        self.status_message = Some(message.into());
        self
    }

    /// Sets the timeout of the work (a taskward addition).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Sets the task's name in the runtime (a taskward addition).
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }
}
