//! Works that note when they start, for tests of start order (queues, dependencies).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use taskward::{TaskContext, TaskError};

/// The names of the works that started, in order.
pub type Log = Arc<Mutex<Vec<String>>>;

/// A work's future, boxed.
pub type Work = Pin<Box<dyn Future<Output = Result<Value, TaskError>> + Send>>;

/// Work that notes its start under `name`, then runs `body` (for the attempt's context).
fn noting<F>(log: &Log, name: &str, body: F) -> impl Fn(TaskContext) -> Work + Send + Sync + 'static
where
    F: Fn(TaskContext, String) -> Work + Send + Sync + 'static,
{
    let (log, name) = (log.clone(), name.to_owned());
    move |ctx| {
        log.lock().unwrap().push(name.clone());
        body(ctx, name.clone())
    }
}

/// Work that notes its start under `name` and returns `name` at once.
pub fn noted(log: &Log, name: &str) -> impl Fn(TaskContext) -> Work + Send + Sync + 'static {
    noting(log, name, |_ctx, name| {
        Box::pin(async move { Ok(json!(name)) })
    })
}

/// Work that notes its start under `name` and runs until cancelled.
pub fn noted_long(log: &Log, name: &str) -> impl Fn(TaskContext) -> Work + Send + Sync + 'static {
    noting(log, name, |ctx, _| Box::pin(super::long(ctx)))
}

/// Work that notes its start under `name`, sleeps `d` and returns `name`.
pub fn noted_sleep(
    log: &Log,
    name: &str,
    d: Duration,
) -> impl Fn(TaskContext) -> Work + Send + Sync + 'static {
    noting(log, name, move |_ctx, name| {
        Box::pin(async move {
            tokio::time::sleep(d).await;
            Ok(json!(name))
        })
    })
}

/// What started so far, in order.
pub fn started(log: &Log) -> Vec<String> {
    log.lock().unwrap().clone()
}
