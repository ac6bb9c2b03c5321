//! Admission: the checks a new task passes before it is recorded (idempotency, the result
//! cache, live limits, dependencies, running caps, the TTL cap, the parent).

use std::sync::Arc;
use std::time::Duration;

use taskward_core::{Error, Limit, TaskRecord};

use super::Desk;
use crate::spec::TaskSpec;

impl Desk<'_> {
    /// The checks before a new task is admitted: idempotency, the result cache, live limits,
    /// dependencies, the running caps (for a task whose work runs here, unless it asks to
    /// queue or waits for dependencies anyway), the TTL cap, the parent. A task served from
    /// the cache is never live: no live limit applies to it.
    pub(super) fn admission(&mut self, spec: &TaskSpec, runs_here: bool) -> Result<Admit, Error> {
        if let Some(key) = &spec.idempotency_key
            && let Some(id) = self
                .book
                .idempotency
                .get(&(spec.scope.clone(), key.clone()))
            && let Some(existing) = self.shared.store.get(id)
        {
            return Ok(Admit::Existing(existing));
        }
        if let Some(source) = self.cached(spec) {
            let ttl = self.ttl_and_parent(spec)?;
            return Ok(Admit::Cached { ttl, source });
        }
        let config = &self.shared.config;
        let counted = spec.counted;
        if counted
            && let Some(max) = config.max_live_tasks
            && self.book.live_total >= max
        {
            return Err(Error::LimitExceeded {
                limit: Limit::LiveTasks,
                max: max as u64,
            });
        }
        if counted
            && let Some(max) = config.max_live_per_scope
            && self.book.live_in(&spec.scope) >= max
        {
            return Err(Error::LimitExceeded {
                limit: Limit::LiveTasksPerScope,
                max: max as u64,
            });
        }
        self.check_dependencies(spec)?;
        if runs_here
            && spec.depends_on.is_empty()
            && !spec.queue_when_busy
            && let Some((global, max)) = self.book.queue.full(&spec.name)
        {
            return Err(Error::LimitExceeded {
                limit: if global {
                    Limit::RunningTasks
                } else {
                    Limit::RunningTasksNamed
                },
                max: max as u64,
            });
        }
        let ttl = self.ttl_and_parent(spec)?;
        Ok(Admit::New { ttl })
    }

    /// The effective TTL of a new task (the TTL cap applied), once its parent is checked.
    pub(super) fn ttl_and_parent(&self, spec: &TaskSpec) -> Result<Option<Duration>, Error> {
        let config = &self.shared.config;
        let ttl = match (spec.ttl.or(config.default_ttl), config.max_ttl) {
            (Some(requested), Some(max)) if requested > max => {
                if config.reject_ttl_above_max && spec.ttl.is_some() {
                    return Err(Error::TtlAboveMaximum { requested, max });
                }
                Some(max)
            }
            (ttl, _) => ttl,
        };
        if let Some(parent) = spec.parent {
            let live = self
                .shared
                .store
                .get(&parent)
                .is_some_and(|p| p.scope == spec.scope && !p.is_terminal());
            if !live {
                return Err(Error::InvalidParent(parent));
            }
        }
        Ok(ttl)
    }
}

/// What the admission checks decided.
pub(super) enum Admit {
    /// The idempotency key names a task already created.
    Existing(Arc<TaskRecord>),
    /// A new task, with its effective TTL.
    New { ttl: Option<Duration> },
    /// A new task served from the result cache: completed at once with `source`'s result.
    Cached {
        ttl: Option<Duration>,
        source: Arc<TaskRecord>,
    },
}
