//! Routing: on a node of several with a shared queue, a task of a registered kind is queued
//! for whichever node has room, not run by the node that received it.

use std::sync::Arc;
use std::time::Duration;

use taskward_core::{
    Enqueue, Enqueued, Error, Phase, SharedTasks, StoreError, StoredTask, TaskId, TaskRecord,
};

use super::Taskward;
use crate::handle::TaskHandle;
use crate::kinds::Kind;
use crate::spec::{MAX_DEPENDENCIES, TaskSpec};

/// The status message of a task waiting in the shared queue.
const WAITING: &str = "queued: waiting for a node";

impl Taskward {
    /// The shared queue `spec` goes to, if this runtime has one and the task can travel: a
    /// task with an owner actor, a parent, an idempotency key, resource limits, outside the
    /// live limits, of a kind that caches its results, or asked to
    /// [`stay_local`](TaskSpec::stay_local), stays on this node (what it needs is here).
    pub(super) fn routes(&self, spec: &TaskSpec, kind: &Kind) -> Option<Arc<dyn SharedTasks>> {
        let shared = self.shared_tasks()?;
        let travels = shared.queues()
            && !spec.stays_local
            && spec.owner.is_none()
            && spec.parent.is_none()
            && spec.idempotency_key.is_none()
            && spec.counted
            && spec.limits.boxed().is_none()
            && kind.cache_for().is_none();
        travels.then(|| Arc::clone(shared))
    }

    /// Queues `spec` (of a registered kind, with its input) in the shared queue: admitted
    /// there under the live limits counted across every node, its dependencies checked;
    /// returns once the queued row is durable.
    pub(super) async fn enqueue_elsewhere(
        &self,
        shared: &Arc<dyn SharedTasks>,
        spec: TaskSpec,
    ) -> Result<TaskHandle, Error> {
        if self.shared().is_stopping() {
            return Err(Error::ShutDown);
        }
        if spec.depends_on.len() > MAX_DEPENDENCIES {
            let distinct: std::collections::HashSet<&TaskId> = spec.depends_on.iter().collect();
            return Err(Error::TooManyDependencies {
                count: distinct.len(),
                max: MAX_DEPENDENCIES,
            });
        }
        let ttl = self.ttl_of(&spec)?;
        let config = self.config();
        let record = self.queued_record(spec, ttl);
        let task = Enqueue::new(record.clone()).limits(
            config.max_live_tasks.map(|n| n as u64),
            config.max_live_per_scope.map(|n| n as u64),
        );
        match shared.enqueue(task).await.map_err(Error::Store)? {
            Enqueued::Queued => Ok(TaskHandle::new(self.clone(), Arc::new(record), false)),
            // Held here already: it runs here at once, as a claimed task would.
            Enqueued::Taken => self.adopt(StoredTask::new(record, None)).await,
            Enqueued::Refused { limit, max } => Err(Error::LimitExceeded { limit, max }),
            Enqueued::UnknownDependency(id) => Err(Error::NotFound(id)),
            other => Err(Error::Store(StoreError::new(format!(
                "the shared queue answered {other:?}"
            )))),
        }
    }

    /// The effective TTL of a routed task (the TTL cap applied), as at a local submit.
    fn ttl_of(&self, spec: &TaskSpec) -> Result<Option<Duration>, Error> {
        let config = self.config();
        match (spec.ttl.or(config.default_ttl), config.max_ttl) {
            (Some(requested), Some(max)) if requested > max => {
                if config.reject_ttl_above_max && spec.ttl.is_some() {
                    return Err(Error::TtlAboveMaximum { requested, max });
                }
                Ok(Some(max))
            }
            (ttl, _) => Ok(ttl),
        }
    }

    /// The record of a task waiting in the shared queue: `working`, phase `queued`, attempt
    /// 1 (the attempt it is queued for), with the policies it runs under wherever claimed.
    fn queued_record(&self, spec: TaskSpec, ttl: Option<Duration>) -> TaskRecord {
        let mut record = TaskRecord::new(
            TaskId::new(),
            spec.scope.clone(),
            spec.name.clone(),
            self.shared().seqs.next(),
        );
        record.kind = spec.kind;
        record.producer = spec.producer.clone();
        record.ttl = ttl;
        record.priority = spec.priority;
        record.policies = spec.carried_policies();
        record.input = spec.input;
        record.depends_on = spec.depends_on;
        record.phase = Some(Phase::Queued);
        record.status_message = Some(WAITING.to_owned());
        record
    }
}
