//! The policies a task of a registered kind carries in its record, so that whichever node
//! runs it (a claim from the shared queue, a restart) runs it under the policies it was
//! submitted with.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{CancelPolicy, Restart};

/// A task's own policies as submitted: its timeout, cancel policy and restart policy
/// (`TaskSpec::timeout`, `cancel_policy`, `restart` in taskward-runtime). Its TTL and
/// priority are fields of the record already.
///
/// A record carries them only when one differs from the default (`TaskRecord::policies` is
/// `None` otherwise, so most records pay one pointer for it); a field left unset takes the
/// running runtime's default. In JSON, durations are whole milliseconds and unset fields
/// are left out.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use taskward_core::{Backoff, Restart, TaskPolicies};
///
/// let policies = TaskPolicies::new()
///     .timeout(Duration::from_secs(30))
///     .restart(Restart::transient(3, Backoff::fixed(Duration::from_millis(100))));
/// let json = serde_json::to_value(policies).unwrap();
/// assert_eq!(json["timeout"], 30_000);
/// assert_eq!(serde_json::from_value::<TaskPolicies>(json).unwrap(), policies);
/// assert!(TaskPolicies::new().is_default());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TaskPolicies {
    /// Each attempt's deadline; `None` takes the runtime's default.
    #[serde(default, with = "opt_ms", skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// How a cancel reaches the work; `None` takes the runtime's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel: Option<CancelPolicy>,
    /// Whether failed work runs again (default temporary).
    #[serde(default, skip_serializing_if = "is_temporary")]
    pub restart: Restart,
}

fn is_temporary(restart: &Restart) -> bool {
    *restart == Restart::Temporary
}

impl TaskPolicies {
    /// No policy of its own: the runtime's defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Sets the cancel policy.
    pub fn cancel(mut self, policy: CancelPolicy) -> Self {
        self.cancel = Some(policy);
        self
    }

    /// Sets the restart policy.
    pub fn restart(mut self, restart: Restart) -> Self {
        self.restart = restart;
        self
    }

    /// Whether every policy is the default (nothing to carry).
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

/// A duration as whole milliseconds.
pub(crate) mod ms {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

/// An optional duration as whole milliseconds.
mod opt_ms {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => super::ms::serialize(d, s),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(Duration::from_millis))
    }
}
