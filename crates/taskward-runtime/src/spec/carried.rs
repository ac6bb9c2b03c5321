//! The policies a task of a registered kind carries in its record
//! ([`TaskRecord::policies`](taskward_core::TaskRecord::policies)), and the spec rebuilt
//! from a record on the node that claims it or after a restart.

use taskward_core::{TaskPolicies, TaskRecord};

use super::TaskSpec;

impl TaskSpec {
    /// Runs the task on the node that received it, even on a node of several whose shared
    /// queue would route it (see [`Taskward::submit_kind`](crate::Taskward::submit_kind)):
    /// for work that needs this node (a local file, a session's progress channel). Without a
    /// shared queue it changes nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// use taskward_runtime::TaskSpec;
    ///
    /// let spec = TaskSpec::new("tail_log").stay_local();
    /// assert!(spec.is_local());
    /// ```
    pub fn stay_local(mut self) -> Self {
        self.stays_local = true;
        self
    }

    /// Whether the task stays on the node that received it (see
    /// [`stay_local`](Self::stay_local)).
    pub fn is_local(&self) -> bool {
        self.stays_local
    }

    /// The spec's own policies to carry in its record: `None` when all are the defaults or
    /// the task is not of a registered kind (nothing runs it again elsewhere).
    pub(crate) fn carried_policies(&self) -> Option<Box<TaskPolicies>> {
        self.input.as_ref()?;
        let mut policies = TaskPolicies::new().restart(self.restart);
        policies.timeout = self.timeout;
        policies.cancel = self.cancel_policy;
        (!policies.is_default()).then(|| Box::new(policies))
    }

    /// The spec of a task of a registered kind run again from its record (a claim, a
    /// restart): its name, scope, kind, producer, input, priority and carried policies.
    /// Its TTL and dependencies are the record's business (admitted already).
    pub(crate) fn of_record(record: &TaskRecord) -> Self {
        let mut spec = TaskSpec::new(record.name.clone()).scope(record.scope.clone());
        spec.kind = record.kind;
        spec.producer = record.producer.clone();
        spec.input = Some(record.input.clone().unwrap_or_default());
        spec.priority = record.priority;
        if let Some(policies) = &record.policies {
            spec.timeout = policies.timeout;
            spec.cancel_policy = policies.cancel;
            spec.restart = policies.restart;
        }
        spec
    }
}
