//! Registered kinds of work: handlers by name, run with a JSON input that the task records,
//! so that the work can run again after a restart or a suspend.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use taskward_core::TaskError;

use crate::context::TaskContext;
use crate::control::{WorkFn, WorkFuture, WorkParts};

type Handler = Arc<dyn Fn(TaskContext, Value) -> WorkFuture + Send + Sync>;

/// A kind of work registered by name: a handler from the task's context and its JSON input
/// to its result.
///
/// A task of a registered kind (submitted with
/// [`Taskward::submit_kind`](crate::Taskward::submit_kind)) records its kind and input. Its
/// work can save its state with [`TaskContext::checkpoint`]; when the process restarts while
/// it runs, or when it is [suspended](crate::Taskward::suspend) and resumed, the handler runs
/// again (the next attempt) and reads the last checkpoint with
/// [`TaskContext::last_checkpoint`]. A handler should therefore be written to continue from a
/// checkpoint, and to start over when there is none.
///
/// # Examples
///
/// ```
/// use serde_json::{Value, json};
/// use taskward_core::TaskError;
/// use taskward_runtime::{Kind, TaskContext};
///
/// async fn count(ctx: TaskContext, input: Value) -> Result<Value, TaskError> {
///     let to = input["to"].as_u64().unwrap_or(10);
///     let mut at = ctx.last_checkpoint().and_then(|c| c.as_u64()).unwrap_or(0);
///     while at < to {
///         at += 1;
///         ctx.checkpoint(json!(at));
///     }
///     Ok(json!({ "counted": at }))
/// }
///
/// let kind = Kind::new("count", count);
/// assert_eq!(kind.name(), "count");
/// ```
#[derive(Clone)]
pub struct Kind {
    name: Arc<str>,
    handler: Handler,
    cache_for: Option<Duration>,
}

impl fmt::Debug for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Kind")
            .field("name", &self.name)
            .field("cache_for", &self.cache_for)
            .finish_non_exhaustive()
    }
}

impl Kind {
    /// A kind named `name` whose work is `handler(ctx, input)`.
    pub fn new<F, Fut>(name: impl Into<Arc<str>>, handler: F) -> Self
    where
        F: Fn(TaskContext, Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, TaskError>> + Send + 'static,
    {
        Self {
            name: name.into(),
            handler: Arc::new(move |ctx, input| Box::pin(handler(ctx, input))),
            cache_for: None,
        }
    }

    /// Caches the kind's results for `ttl`: within it, a submit of this kind with the same
    /// input returns at once a completed task carrying the cached result, marked cached.
    ///
    /// The cache is the task table: a completed task of this kind is an entry, for its scope
    /// and its input (compared as JSON, object keys in any order), for `ttl` from its
    /// completion, as long as it stays in the table (its TTL, the retention caps). A submit
    /// ([`Taskward::submit_kind`](crate::Taskward::submit_kind), or a submit with
    /// [`TaskSpec::input`](crate::TaskSpec::input)) that finds an entry in its own scope
    /// creates a new task, completed at once with the entry's result: its work does not run,
    /// no live limit applies to it, its events are `created` then `completed`, and its record's
    /// [`cached_from`](taskward_core::TaskRecord::cached_from) names the task whose result it
    /// carries. A cached task is never an entry itself, so an entry's time is not extended by
    /// its hits; failed and cancelled tasks are never entries. An idempotency key that names
    /// an existing task still wins. With a durable store, the entries come back after a
    /// restart, for what is left of `ttl` on the wall clock.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use serde_json::{Value, json};
    /// use taskward_core::{Outcome, TaskError};
    /// use taskward_runtime::{Kind, TaskContext, TaskSpec, Taskward};
    ///
    /// async fn lookup(_ctx: TaskContext, input: Value) -> Result<Value, TaskError> {
    ///     Ok(json!({ "found": input["q"] }))
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), taskward_core::Error> {
    /// let kind = Kind::new("lookup", lookup).cache_results(Duration::from_secs(300));
    /// let ward = Taskward::builder().register_kind(kind).spawn().await?;
    /// let first = ward.submit_kind(TaskSpec::new("lookup"), json!({ "q": "rust" })).await?;
    /// first.wait().await?;
    /// // Within five minutes, the same input is served from the first task's result.
    /// let again = ward.submit_kind(TaskSpec::new("lookup"), json!({ "q": "rust" })).await?;
    /// assert_eq!(again.record().cached_from, Some(first.id()));
    /// assert_eq!(again.wait().await?, Outcome::completed(json!({ "found": "rust" })));
    /// ward.shutdown(Duration::from_secs(1)).await?;
    /// # Ok(()) }
    /// ```
    pub fn cache_results(mut self, ttl: Duration) -> Self {
        self.cache_for = Some(ttl);
        self
    }

    /// The kind's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How long the kind's results are cached, if they are.
    pub fn cache_for(&self) -> Option<Duration> {
        self.cache_for
    }

    /// The work of one task of this kind, with its input.
    pub(crate) fn work(&self, input: Arc<Value>) -> WorkFn {
        let handler = self.handler.clone();
        Arc::new(move |parts: WorkParts| handler(TaskContext::new(parts), (*input).clone()))
    }
}

/// The registered kinds of a runtime, by name.
#[derive(Debug, Clone, Default)]
pub(crate) struct Kinds {
    by_name: HashMap<Arc<str>, Kind>,
    /// Whether any kind caches its results.
    caching: bool,
}

impl Kinds {
    pub(crate) fn insert(&mut self, kind: Kind) {
        self.by_name.insert(kind.name.clone(), kind);
        self.caching = self.by_name.values().any(|k| k.cache_for.is_some());
    }

    /// Whether any kind caches its results.
    pub(crate) fn caching(&self) -> bool {
        self.caching
    }

    /// How long the kind named `name` caches its results, if it does.
    pub(crate) fn cache_for(&self, name: &str) -> Option<Duration> {
        self.get(name)?.cache_for
    }

    pub(crate) fn get(&self, name: &str) -> Option<&Kind> {
        self.by_name.get(name)
    }

    /// The names of the kinds, sorted.
    pub(crate) fn names(&self) -> Vec<Arc<str>> {
        let mut names: Vec<Arc<str>> = self.by_name.keys().cloned().collect();
        names.sort();
        names
    }
}
