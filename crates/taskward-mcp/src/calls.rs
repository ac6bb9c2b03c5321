//! `tools/call` and the `tasks/*` methods.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value, json};
use taskward_core::{Error, ListQuery, Outcome, TaskError, TaskId, summary};
use taskward_runtime::{TaskContext, TaskHandle, TaskSpec};

use crate::elicit;
use crate::jsonrpc::{self, ErrorObject, RequestId, SERVER_ERROR};
use crate::server::Server;
use crate::session::{Session, Sink};
use crate::tool::{Tool, ToolCall};
use crate::wire::{
    CallToolParams, CallToolResult, ListParams, TaskIdParams, TaskSupport, cached_meta,
    related_task_meta, task_json,
};

/// Maps a runtime error on a request to its JSON-RPC error.
pub(crate) fn rpc_error(err: Error) -> ErrorObject {
    match err {
        Error::NotFound(id) => ErrorObject::invalid_params(format!("unknown task: {id}")),
        Error::AlreadyTerminal { status, .. } => ErrorObject::invalid_params(format!(
            "Cannot cancel task: already in terminal status '{status}'"
        )),
        Error::TtlAboveMaximum { .. } | Error::InvalidCursor(_) | Error::UnknownInput { .. } => {
            ErrorObject::invalid_params(err.to_string())
        }
        Error::LimitExceeded { .. } => ErrorObject::new(SERVER_ERROR, err.to_string()),
        other => ErrorObject::internal(other.to_string()),
    }
}

pub(crate) fn task_id(params: Option<&Value>) -> Result<TaskId, ErrorObject> {
    let params: TaskIdParams = jsonrpc::params(params)?;
    params
        .task_id
        .parse()
        .map_err(|_| ErrorObject::invalid_params(format!("unknown task: {}", params.task_id)))
}

/// The work of one tool call: runs the tool's handler and, when `fail_on_error` (2025-11-25),
/// turns `isError: true` into a failed task that keeps the whole result; otherwise (2026-07-28)
/// such a result completes the task.
pub(crate) fn work(
    tool: Tool,
    arguments: Map<String, Value>,
    progress: Option<(std::sync::Weak<Session>, Value)>,
    fail_on_error: bool,
) -> impl Fn(
    TaskContext,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Value, TaskError>> + Send>>
+ Send
+ Sync
+ 'static {
    move |ctx: TaskContext| {
        if let Some((session, token)) = &progress
            && let Some(session) = session.upgrade()
        {
            // Registered before the handler runs, so its first progress is forwarded.
            session.set_progress_token(ctx.id(), token.clone());
        }
        run(&tool, arguments.clone(), ctx, fail_on_error)
    }
}

/// Runs one call of a tool as a task's work: its `CallToolResult` as the task's value, or,
/// with `fail_on_error` (the 2025-11-25 generation), a result marked `isError` as a failure.
pub(crate) fn run(
    tool: &Tool,
    arguments: Map<String, Value>,
    ctx: TaskContext,
    fail_on_error: bool,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Value, TaskError>> + Send>> {
    let fut = tool.call(ToolCall { arguments, ctx });
    Box::pin(async move {
        let result = fut.await?;
        let value = serde_json::to_value(&result)?;
        if fail_on_error && result.is_error {
            // The whole result is the failure's data: its message is a summary, so that
            // the text is stored once.
            let text = summary(result.first_text().unwrap_or("the tool failed")).into_owned();
            return Err(TaskError::new(text).with_data(value));
        }
        Ok(value)
    })
}

/// The spec of a task-augmented call, made resumable when the tool is registered as a kind
/// of the runtime ([`Tool::kind`]): the call's arguments are recorded with the task, so that
/// after a restart the tool runs again from its last checkpoint.
pub(crate) fn resumable(
    server: &Server,
    spec: TaskSpec,
    tool: &Tool,
    arguments: &Map<String, Value>,
    fail_on_error: bool,
    progress_token: Option<&Value>,
) -> TaskSpec {
    if server.ward().has_kind(tool.name()) {
        spec.input(crate::tool_kind::input(
            arguments,
            fail_on_error,
            progress_token,
        ))
    } else {
        spec
    }
}

/// What the original `tools/call` would have answered for an outcome: the `CallToolResult`,
/// or a JSON-RPC error for a cancelled task.
pub(crate) fn answer_of(outcome: &Outcome) -> Result<Value, ErrorObject> {
    match outcome {
        Outcome::Completed { value } => Ok(value.clone()),
        Outcome::Failed(failure) => Ok(match &failure.data {
            Some(data) if data.get("content").is_some() => data.clone(),
            _ => serde_json::to_value(CallToolResult::error(failure.to_string()))
                .unwrap_or_else(|_| json!({})),
        }),
        Outcome::Cancelled(c) => Err(ErrorObject::new(
            SERVER_ERROR,
            format!("task cancelled {c}"),
        )),
        other => Err(ErrorObject::internal(format!(
            "unexpected outcome: {other}"
        ))),
    }
}

/// A tool by name; `-32602` for an unknown one.
pub(crate) fn find_tool(server: &Server, name: &str) -> Result<Tool, ErrorObject> {
    let inner = server.inner();
    inner
        .by_name
        .get(name)
        .map(|&i| inner.tools[i].clone())
        .ok_or_else(|| ErrorObject::invalid_params(format!("unknown tool: {name}")))
}

pub(crate) async fn call_tool(
    server: &Server,
    session: &Arc<Session>,
    request_id: &RequestId,
    params: Option<&Value>,
) -> Result<Value, ErrorObject> {
    let params: CallToolParams = jsonrpc::params(params)?;
    let tool = find_tool(server, &params.name)?;
    if params.task.is_some() {
        let handle = submit_task(server, session, tool, params).await?;
        return Ok(
            json!({ "task": task_json(handle.record(), server.options().poll_interval_ms) }),
        );
    }
    let progress = params
        .progress_token()
        .map(|token| (Arc::downgrade(session), token));
    let arguments = params.arguments.clone().unwrap_or_default();
    let ward = server.ward();
    if tool.support() == TaskSupport::Required {
        return Err(ErrorObject::method_not_found(format!(
            "tool {} must be called as a task",
            params.name
        )));
    }
    let mut spec = TaskSpec::new(params.name.as_str())
        .scope(session.sync_scope().clone())
        .ttl(server.options().plain_call_ttl)
        .outside_live_limits()
        .queue_when_busy();
    if let Some(timeout) = tool.deadline() {
        spec = spec.timeout(timeout);
    }
    let handle = ward
        .submit(spec, work(tool, arguments, progress, true))
        .await
        .map_err(rpc_error)?;
    session.track_call(request_id.clone(), handle.id());
    let outcome = handle.wait().await;
    session.untrack_call(request_id);
    answer_of(&outcome.map_err(rpc_error)?)
}

/// The task of a task-augmented `tools/call` (`params.task` present), submitted in the
/// session's scope; `-32601` for a tool that does not support tasks.
pub(crate) async fn submit_task(
    server: &Server,
    session: &Arc<Session>,
    tool: Tool,
    params: CallToolParams,
) -> Result<TaskHandle, ErrorObject> {
    if tool.support() == TaskSupport::Forbidden {
        return Err(ErrorObject::method_not_found(format!(
            "tool {} does not support task-augmented calls",
            params.name
        )));
    }
    let progress = params
        .progress_token()
        .map(|token| (Arc::downgrade(session), token));
    // Under a running cap (`taskward serve --max-running`) a call waits for a slot, queued.
    let mut spec = TaskSpec::new(params.name.as_str())
        .scope(session.scope().clone())
        .queue_when_busy();
    if let Some(ttl) = params.task.as_ref().and_then(|task| task.ttl) {
        spec = spec.ttl(Duration::from_millis(ttl));
    }
    if let Some(timeout) = tool.deadline() {
        spec = spec.timeout(timeout);
    }
    let arguments = params.arguments.unwrap_or_default();
    submit_call(server, spec, tool, arguments, progress, true).await
}

/// Submits the task of a task-augmented call. On a node of several with a shared queue, a
/// tool registered as a kind of the runtime is queued for whichever node has room and runs
/// there as the kind ([`Taskward::submit_kind`](taskward_runtime::Taskward::submit_kind);
/// the request's progress token goes with its input, for the node that holds the session's
/// stream); otherwise it runs here, made resumable when the tool is a kind.
pub(crate) async fn submit_call(
    server: &Server,
    spec: TaskSpec,
    tool: Tool,
    arguments: Map<String, Value>,
    progress: Option<(std::sync::Weak<Session>, Value)>,
    fail_on_error: bool,
) -> Result<TaskHandle, ErrorObject> {
    let ward = server.ward();
    if ward.has_shared_queue() && ward.has_kind(tool.name()) {
        let token = progress.as_ref().map(|(_, token)| token);
        let input = crate::tool_kind::input(&arguments, fail_on_error, token);
        return ward.submit_kind(spec, input).await.map_err(rpc_error);
    }
    let token = progress.as_ref().map(|(_, token)| token);
    let spec = resumable(server, spec, &tool, &arguments, fail_on_error, token);
    ward.submit(spec, work(tool, arguments, progress, fail_on_error))
        .await
        .map_err(rpc_error)
}

/// `tasks/get`: the task wherever it runs (this node's memory first, then the shared table
/// of a node of several).
pub(crate) async fn get(
    server: &Server,
    session: &Session,
    params: Option<&Value>,
) -> Result<Value, ErrorObject> {
    let id = task_id(params)?;
    let record = server
        .ward()
        .find(session.scope(), id)
        .await
        .map_err(rpc_error)?;
    Ok(task_json(&record, server.options().poll_interval_ms))
}

/// `tasks/result`: waits for the outcome, delivering the task's input requests to the client
/// on `sink` while it waits.
pub(crate) async fn result(
    server: &Server,
    session: &Session,
    params: Option<&Value>,
    sink: &Sink,
) -> Result<Value, ErrorObject> {
    let id = task_id(params)?;
    let outcome = elicit::await_outcome(server, session, id, sink)
        .await
        .map_err(rpc_error)?;
    let mut meta = related_task_meta(&id.to_string());
    if let (Some(Value::Object(cached)), Value::Object(meta)) = (
        server
            .ward()
            .find(session.scope(), id)
            .await
            .ok()
            .and_then(|r| cached_meta(&r)),
        &mut meta,
    ) {
        meta.extend(cached);
    }
    match answer_of(&outcome) {
        Ok(mut value) => {
            if let Value::Object(object) = &mut value {
                object.insert("_meta".into(), meta);
            }
            Ok(value)
        }
        Err(error) => Err(error.with_data(json!({ "_meta": meta }))),
    }
}

/// `tasks/list`: one page of the session's tasks across every node (see
/// `Taskward::find_page`).
pub(crate) async fn list(
    server: &Server,
    session: &Session,
    params: Option<&Value>,
) -> Result<Value, ErrorObject> {
    let params: ListParams = jsonrpc::params(params)?;
    let mut query = ListQuery::new();
    if let Some(cursor) = &params.cursor {
        query = query.after(
            cursor
                .parse()
                .map_err(|_| ErrorObject::invalid_params(format!("invalid cursor: {cursor}")))?,
        );
    }
    let page = server
        .ward()
        .find_page(session.scope(), &query)
        .await
        .map_err(rpc_error)?;
    let poll = server.options().poll_interval_ms;
    let tasks: Vec<Value> = page.tasks.iter().map(|r| task_json(r, poll)).collect();
    let mut result = json!({ "tasks": tasks });
    if let Some(next) = page.next_cursor {
        result["nextCursor"] = json!(next.to_string());
    }
    Ok(result)
}

pub(crate) async fn cancel(
    server: &Server,
    session: &Session,
    params: Option<&Value>,
) -> Result<Value, ErrorObject> {
    let id = task_id(params)?;
    let record = server
        .ward()
        .cancel(session.scope(), id, Some("cancelled by the client".into()))
        .await
        .map_err(rpc_error)?;
    Ok(task_json(&record, server.options().poll_interval_ms))
}
