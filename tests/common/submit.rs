//! Scope set-ups: submitting, in a scope, work that is done at once, fails at once, or runs
//! for an hour.

use std::future::Future;

use serde_json::Value;
use taskward::{Scope, TaskContext, TaskError, TaskHandle, TaskSpec, Taskward};

use super::{HOUR, instant, sleepy};

/// Work that sleeps an hour, watching its token.
pub fn long(ctx: TaskContext) -> impl Future<Output = Result<Value, TaskError>> {
    sleepy(ctx, HOUR)
}

/// Submits a task `name` in `scope` whose work returns `value` at once.
pub async fn submit_instant(
    ward: &Taskward,
    scope: &Scope,
    name: &str,
    value: Value,
) -> TaskHandle {
    ward.submit(TaskSpec::new(name).scope(scope.clone()), instant(value))
        .await
        .unwrap()
}

/// Submits a task `name` in `scope` whose work fails with `message` at once.
pub async fn submit_failing(
    ward: &Taskward,
    scope: &Scope,
    name: &str,
    message: &'static str,
) -> TaskHandle {
    ward.submit(
        TaskSpec::new(name).scope(scope.clone()),
        move |_ctx| async move { Err(TaskError::new(message)) },
    )
    .await
    .unwrap()
}

/// Submits a task `name` in `scope` whose work sleeps an hour, watching its token.
pub async fn submit_long(ward: &Taskward, scope: &Scope, name: &str) -> TaskHandle {
    ward.submit(TaskSpec::new(name).scope(scope.clone()), long)
        .await
        .unwrap()
}
