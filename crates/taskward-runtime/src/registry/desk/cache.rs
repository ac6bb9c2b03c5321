//! The result cache (`Kind::cache_results`): a submit served from an earlier completed task of
//! the same kind, input and scope, and the index kept as such tasks complete.

use std::sync::Arc;
use std::time::Duration;

use taskward_core::{Error, EventKind, Outcome, TaskId, TaskRecord};
use time::OffsetDateTime;
use tokio::time::Instant;

use super::Desk;
use super::transitions::{notice, write_terminal};
use crate::registry::CacheKey;
use crate::spec::TaskSpec;

impl Desk<'_> {
    /// The completed task whose result a submit of `spec` is served, if its kind caches
    /// results and one is in the table within the kind's duration.
    pub(super) fn cached(&mut self, spec: &TaskSpec) -> Option<Arc<TaskRecord>> {
        let input = spec.input.as_deref()?;
        self.shared.kinds.cache_for(&spec.name)?;
        let key = CacheKey::new(&spec.scope, &spec.name, input);
        let id = self.book.results.fresh(&key, Instant::now())?;
        // The digest found it; the record decides (it may have moved to another scope).
        self.shared.store.get(&id).filter(|source| {
            source.scope == spec.scope
                && source.name == spec.name
                && source.input.as_deref() == Some(input)
                && matches!(source.outcome, Some(Outcome::Completed { .. }))
        })
    }

    /// Records a new task for `spec`, completed at once with `source`'s result: no runner,
    /// no work. Created and completed are evented as for any task.
    pub(super) fn serve_cached(
        &mut self,
        spec: TaskSpec,
        ttl: Option<Duration>,
        source: &TaskRecord,
    ) -> Result<Arc<TaskRecord>, Error> {
        let Some(outcome) = source.outcome.clone() else {
            return Err(Error::NotFound(source.id));
        };
        let mut record = self.fresh_record(&spec, ttl);
        let id = record.id;
        record.cached_from = Some(source.id);
        write_terminal(&mut record, &outcome, None);
        let record = Arc::new(record);
        let expires_at = ttl.map(|t| (Instant::now() + t).into_std());
        self.shared.store.insert(record.clone(), expires_at)?;
        self.book.count_in(&record);
        self.book_created(&spec, id);
        self.publish(id, &spec.scope, EventKind::from(&outcome));
        if let Some(owner) = spec.owner {
            self.effects.push(super::effects::Effect::Notify {
                notify: owner.notify,
                notice: notice(id, &outcome),
            });
        }
        self.retain(id, &spec.scope, &outcome);
        tracing::debug!(task = %id, from = %source.id, "task served from the result cache");
        Ok(record)
    }

    /// A task's terminal record is written: a completed task of a kind that caches its
    /// results becomes the cache entry for its scope, kind and input, for the kind's duration.
    pub(super) fn note_result(&mut self, id: TaskId, outcome: &Outcome) {
        if !self.shared.kinds.caching() || !matches!(outcome, Outcome::Completed { .. }) {
            return;
        }
        if let Some(record) = self.shared.store.get(&id) {
            self.note_cacheable(&record, Duration::ZERO);
        }
    }

    /// Makes `record` a cache entry when it is a completed, uncached task of a kind that
    /// caches its results and less than the kind's duration has passed (`age` already).
    pub(super) fn note_cacheable(&mut self, record: &TaskRecord, age: Duration) {
        let (Some(input), None, Some(Outcome::Completed { .. })) =
            (&record.input, record.cached_from, &record.outcome)
        else {
            return;
        };
        let Some(left) = self
            .shared
            .kinds
            .cache_for(&record.name)
            .and_then(|ttl| ttl.checked_sub(age))
            .filter(|left| !left.is_zero())
        else {
            return;
        };
        let key = CacheKey::new(&record.scope, &record.name, input);
        self.book.results.put(key, record.id, Instant::now() + left);
    }
}

/// How long ago, on the wall clock, a restored record was last written (its completion, for
/// a completed task).
pub(super) fn wall_age(record: &TaskRecord, now: OffsetDateTime) -> Duration {
    Duration::try_from(now - record.last_updated_at).unwrap_or_default()
}
