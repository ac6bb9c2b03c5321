//! The scoped methods (`*_in`): each call names its caller's scope, under which another
//! scope's task is unknown. The plain methods call them with the manager's own scope.

use std::sync::atomic::Ordering;
use std::time::Duration;

use rmcp::ErrorData as McpError;
use rmcp::model::{DetailedTask, Task, TaskStatus};
use serde_json::Value;
use taskward_core::{Error, Scope, Status, TaskError, TaskId};
use taskward_runtime::{TaskSpec, Taskward};

use super::{DEFAULT_NAME, PRODUCER, TaskManager};
use crate::context::{TaskContext, TaskExit, TaskFuture};
use crate::detail::{self, unknown_task};
use crate::error::SpawnError;
use crate::options::TaskOptions;

impl TaskManager {
    /// [`spawn`](Self::spawn) in `scope`: only calls in the same scope see the task.
    ///
    /// # Errors
    ///
    /// As [`spawn`](Self::spawn).
    pub async fn spawn_in<F>(
        &self,
        scope: &Scope,
        options: TaskOptions,
        make_future: F,
    ) -> Result<Task, SpawnError>
    where
        F: FnOnce(TaskContext) -> TaskFuture + Send + 'static,
    {
        let ward = self.ward().await?;
        let name = options.name.as_deref().unwrap_or(DEFAULT_NAME);
        let mut spec = TaskSpec::new(name).scope(scope.clone()).producer(PRODUCER);
        if let Some(ttl_ms) = options.ttl_ms {
            spec = spec.ttl(Duration::from_millis(ttl_ms));
        }
        if let Some(timeout) = options.timeout {
            spec = spec.timeout(timeout);
        }
        let first_message = options.status_message;
        let work = move |ctx: taskward_runtime::TaskContext| {
            let ctx = TaskContext::new(ctx);
            if let Some(message) = first_message {
                ctx.set_status_message(message);
            }
            let future = make_future(ctx);
            async move { finished(future.await) }
        };
        let handle = ward.submit_once(spec, work).await?;
        let mut task = detail::task(handle.record(), options.poll_interval_ms);
        // The record as admitted: `working` (or queued, which is `working` too).
        task.status = TaskStatus::Working;
        Ok(task)
    }

    /// [`get_task`](Self::get_task) in `scope`: a task of another scope is unknown here.
    ///
    /// # Errors
    ///
    /// As [`get_task`](Self::get_task), for foreign ids too.
    pub fn get_task_in(&self, scope: &Scope, task_id: &str) -> Result<DetailedTask, McpError> {
        let (ward, id) = self.known(scope, task_id)?;
        let record = ward.get(scope, id).map_err(|_| unknown_task(task_id))?;
        let requests = match (&record.outcome, record.status) {
            (None, Status::InputRequired) => ward.input_requests(scope, id).unwrap_or_default(),
            _ => Vec::new(),
        };
        Ok(detail::detailed(
            &record,
            requests,
            Some(self.inner.poll_interval_ms.load(Ordering::Relaxed)),
        ))
    }

    /// [`wait_task`](Self::wait_task) in `scope`.
    ///
    /// # Errors
    ///
    /// As [`wait_task`](Self::wait_task), for foreign ids too.
    pub async fn wait_task_in(
        &self,
        scope: &Scope,
        task_id: &str,
    ) -> Result<DetailedTask, McpError> {
        let (ward, id) = self.known(scope, task_id)?;
        ward.wait(scope, id)
            .await
            .map_err(|_| unknown_task(task_id))?;
        self.get_task_in(scope, task_id)
    }

    /// [`update_task`](Self::update_task) in `scope`, returning once the runtime has taken
    /// every answer.
    ///
    /// # Errors
    ///
    /// As [`update_task`](Self::update_task), for foreign ids too.
    pub async fn update_task_in(
        &self,
        scope: &Scope,
        task_id: &str,
        input_responses: impl IntoIterator<Item = (String, Value)>,
    ) -> Result<(), McpError> {
        let (ward, id) = self.known(scope, task_id)?;
        deliver(ward, scope, id, input_responses.into_iter().collect()).await;
        Ok(())
    }

    /// [`cancel_task`](Self::cancel_task) in `scope`, returning once the task is recorded
    /// `cancelled` (or found ended already).
    ///
    /// # Errors
    ///
    /// As [`cancel_task`](Self::cancel_task), for foreign ids too; `-32603` when the runtime
    /// cannot take the command (shut down).
    pub async fn cancel_task_in(&self, scope: &Scope, task_id: &str) -> Result<(), McpError> {
        let (ward, id) = self.known(scope, task_id)?;
        match ward.cancel(scope, id, None).await {
            Ok(_) | Err(Error::AlreadyTerminal { .. }) => Ok(()),
            Err(Error::NotFound(_)) => Err(unknown_task(task_id)),
            Err(error) => Err(McpError::internal_error(error.to_string(), None)),
        }
    }

    /// The runtime and the parsed id of a task that exists in `scope`, or the unknown-task
    /// answer.
    pub(super) fn known(
        &self,
        scope: &Scope,
        task_id: &str,
    ) -> Result<(&Taskward, TaskId), McpError> {
        let ward = self.runtime().ok_or_else(|| unknown_task(task_id))?;
        let id: TaskId = task_id.parse().map_err(|_| unknown_task(task_id))?;
        ward.get(scope, id).map_err(|_| unknown_task(task_id))?;
        Ok((ward, id))
    }
}

/// Hands each answer to the runtime; keys that are unknown or already answered, and a task
/// that ended meanwhile, are ignored.
pub(super) async fn deliver(
    ward: &Taskward,
    scope: &Scope,
    id: TaskId,
    responses: Vec<(String, Value)>,
) {
    for (key, response) in responses {
        let _ = ward.provide_input(scope, id, &key, response).await;
    }
}

/// The work's end as the runtime's result.
fn finished(end: Result<rmcp::model::CallToolResult, TaskExit>) -> Result<Value, TaskError> {
    match end {
        Ok(result) => Ok(detail::result_value(&result)),
        Err(TaskExit::Cancelled) => Err(TaskError::cancelled()),
        Err(TaskExit::Error(error)) => Err(detail::task_error(&error)),
    }
}
