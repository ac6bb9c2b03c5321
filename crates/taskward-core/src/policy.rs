//! Policies: restart, backoff, cancel and close.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::Scope;
use crate::policies::ms;

/// Whether and how a task's failed work is run again, as OTP's child restart types.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use taskward_core::{Backoff, Restart};
///
/// let restart = Restart::transient(3, Backoff::exponential(Duration::from_millis(100)));
/// assert_eq!(restart.max_attempts(), 3);
/// assert_eq!(restart.delay_before(2), Some(Duration::from_millis(100)));
/// assert_eq!(restart.delay_before(3), Some(Duration::from_millis(200)));
/// assert_eq!(restart.delay_before(4), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Restart {
    /// Never run again: the first failure is final. The default.
    #[default]
    Temporary,
    /// Run again after a failure (error, panic, lost runner), up to `max_attempts` attempts in
    /// all, waiting `backoff` between them. Cancels are never retried; timeouts only when
    /// `retry_timeouts` is set.
    Transient {
        /// Attempts in all, the first included.
        max_attempts: u32,
        /// The wait before each further attempt.
        backoff: Backoff,
        /// Whether a timed-out attempt is retried.
        retry_timeouts: bool,
    },
}

impl Restart {
    /// Never retry.
    pub const fn temporary() -> Self {
        Restart::Temporary
    }

    /// Retry failures up to `max_attempts` attempts in all (timeouts excluded).
    pub const fn transient(max_attempts: u32, backoff: Backoff) -> Self {
        Restart::Transient {
            max_attempts,
            backoff,
            retry_timeouts: false,
        }
    }

    /// This policy, also retrying attempts that timed out.
    pub const fn retry_timeouts(self) -> Self {
        match self {
            Restart::Temporary => Restart::Temporary,
            Restart::Transient {
                max_attempts,
                backoff,
                ..
            } => Restart::Transient {
                max_attempts,
                backoff,
                retry_timeouts: true,
            },
        }
    }

    /// Attempts in all.
    pub const fn max_attempts(&self) -> u32 {
        match self {
            Restart::Temporary => 1,
            Restart::Transient { max_attempts, .. } => *max_attempts,
        }
    }

    /// The wait before attempt `attempt` (from 2), or `None` when no such attempt is allowed.
    pub fn delay_before(&self, attempt: u32) -> Option<Duration> {
        match self {
            Restart::Temporary => None,
            Restart::Transient {
                max_attempts,
                backoff,
                ..
            } => (attempt >= 2 && attempt <= *max_attempts).then(|| backoff.delay(attempt - 1)),
        }
    }

    /// Whether a timed-out attempt may be retried.
    pub const fn retries_timeouts(&self) -> bool {
        matches!(
            self,
            Restart::Transient {
                retry_timeouts: true,
                ..
            }
        )
    }
}

/// The wait between attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Backoff {
    /// The same wait each time.
    Fixed(#[serde(with = "ms")] Duration),
    /// `base`, then doubled for each further retry, capped at `max`.
    Exponential {
        /// The first wait.
        #[serde(with = "ms")]
        base: Duration,
        /// The longest wait.
        #[serde(with = "ms")]
        max: Duration,
    },
}

impl Backoff {
    /// The same wait each time.
    pub const fn fixed(delay: Duration) -> Self {
        Backoff::Fixed(delay)
    }

    /// Doubling waits from `base`, capped at 60 s.
    pub const fn exponential(base: Duration) -> Self {
        Backoff::Exponential {
            base,
            max: Duration::from_secs(60),
        }
    }

    /// The wait before retry number `retry` (1 for the first retry).
    pub fn delay(&self, retry: u32) -> Duration {
        match *self {
            Backoff::Fixed(d) => d,
            Backoff::Exponential { base, max } => {
                let factor = 1u32
                    .checked_shl(retry.saturating_sub(1))
                    .unwrap_or(u32::MAX);
                base.saturating_mul(factor).min(max)
            }
        }
    }
}

/// How a cancel (or a timeout) reaches the work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CancelPolicy {
    /// Fire the cooperative token at once, give the work this long to return, then abort it.
    Cooperative {
        /// The grace period.
        #[serde(with = "ms")]
        grace: Duration,
    },
    /// Abort the work at once.
    Abort,
}

impl CancelPolicy {
    /// Cooperative with a grace period.
    pub const fn cooperative(grace: Duration) -> Self {
        CancelPolicy::Cooperative { grace }
    }

    /// The grace period (zero for [`CancelPolicy::Abort`]).
    pub const fn grace(&self) -> Duration {
        match self {
            CancelPolicy::Cooperative { grace } => *grace,
            CancelPolicy::Abort => Duration::ZERO,
        }
    }
}

impl Default for CancelPolicy {
    fn default() -> Self {
        CancelPolicy::Cooperative {
            grace: Duration::from_secs(5),
        }
    }
}

/// What happens to a live task when its owner dies or its scope is closed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum ClosePolicy {
    /// Leave the task running; it stays reachable in its scope until its TTL. The default, so
    /// a reconnecting client finds its tasks.
    #[default]
    Keep,
    /// Cancel the task (cancelled by owner).
    Cancel,
    /// Move the task to another scope.
    Transfer(Scope),
}
