//! `tools/call` and `tasks/get|update|cancel` in 2026-07-28.

use serde::Deserialize;
use serde_json::{Map, Value, json};
use taskward_core::{Error, Outcome, Scope};
use taskward_runtime::{TaskHandle, TaskSpec};

use super::Ctx;
use super::detail;
use super::negotiate::missing_tasks;
use crate::calls::{answer_of, find_tool, rpc_error, task_id, work};
use crate::jsonrpc::{self, ErrorObject};
use crate::server::Server;
use crate::tool::Tool;
use crate::wire::{CallToolParams, TaskSupport};

fn complete() -> Value {
    json!({ "resultType": "complete" })
}

fn with_result_type(mut object: Map<String, Value>, result_type: &str) -> Value {
    object.insert("resultType".into(), json!(result_type));
    Value::Object(object)
}

/// `tools/call`: a task when the request declared the extension and the tool allows one
/// (answered once the task is recorded), otherwise synchronous. The legacy `task` param is
/// ignored. A tool result with `isError: true` completes the task.
pub(crate) async fn call_tool(ctx: &Ctx<'_>, params: Option<&Value>) -> Result<Value, ErrorObject> {
    let params: CallToolParams = jsonrpc::params(params)?;
    let tool = find_tool(ctx.server, &params.name)?;
    let arguments = params.arguments.clone().unwrap_or_default();
    let ward = ctx.server.ward();
    let support = tool.support();
    if ctx.tasks && support != TaskSupport::Forbidden {
        let handle =
            submit_task(ctx.server, &ctx.tasks_scope, tool, &params.name, arguments).await?;
        let task = detail::task(handle.record(), ctx.server.options().poll_interval_ms);
        return Ok(with_result_type(task, "task"));
    }
    if support == TaskSupport::Required {
        return Err(missing_tasks(&format!(
            "tool {} must run as a task",
            params.name
        )));
    }
    let mut spec = TaskSpec::new(params.name.as_str())
        .scope(ctx.calls_scope.clone())
        .ttl(ctx.server.options().plain_call_ttl)
        .outside_live_limits()
        .queue_when_busy();
    if let Some(timeout) = tool.deadline() {
        spec = spec.timeout(timeout);
    }
    let handle = ward
        .submit(spec, work(tool, arguments, None, false))
        .await
        .map_err(rpc_error)?;
    let outcome: Outcome = handle.wait().await.map_err(rpc_error)?;
    match answer_of(&outcome)? {
        Value::Object(result) => Ok(with_result_type(result, "complete")),
        other => Ok(json!({ "resultType": "complete", "content": [], "structuredContent": other })),
    }
}

/// The task of a task-augmented call (the request declared the extension and the tool
/// allows tasks), submitted in `scope`.
pub(crate) async fn submit_task(
    server: &Server,
    scope: &Scope,
    tool: Tool,
    name: &str,
    arguments: Map<String, Value>,
) -> Result<TaskHandle, ErrorObject> {
    // Under a running cap (`taskward serve --max-running`) a call waits for a slot, queued.
    let mut spec = TaskSpec::new(name).scope(scope.clone()).queue_when_busy();
    if let Some(timeout) = tool.deadline() {
        spec = spec.timeout(timeout);
    }
    crate::calls::submit_call(server, spec, tool, arguments, None, false).await
}

fn require_tasks(ctx: &Ctx<'_>, method: &str) -> Result<(), ErrorObject> {
    if ctx.tasks {
        Ok(())
    } else {
        Err(missing_tasks(&format!(
            "{method} needs the tasks extension"
        )))
    }
}

/// `tasks/get`: the `DetailedTask`, `resultType: "complete"`, of a task wherever it runs.
pub(crate) async fn get(ctx: &Ctx<'_>, params: Option<&Value>) -> Result<Value, ErrorObject> {
    require_tasks(ctx, "tasks/get")?;
    let id = task_id(params)?;
    let record = ctx
        .server
        .ward()
        .find(&ctx.tasks_scope, id)
        .await
        .map_err(rpc_error)?;
    let task = detail::detailed_anywhere(ctx.server, &ctx.tasks_scope, &record).await;
    Ok(with_result_type(task, "complete"))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateParams {
    #[serde(default)]
    input_responses: Map<String, Value>,
}

/// `tasks/update`: each response answers the input request of its key; keys the task does not
/// wait for are ignored. Acknowledged.
pub(crate) async fn update(ctx: &Ctx<'_>, params: Option<&Value>) -> Result<Value, ErrorObject> {
    require_tasks(ctx, "tasks/update")?;
    let id = task_id(params)?;
    let update: UpdateParams = jsonrpc::params(params)?;
    let ward = ctx.server.ward();
    ward.find(&ctx.tasks_scope, id).await.map_err(rpc_error)?;
    for (key, response) in update.input_responses {
        if let Err(error) = ward
            .provide_input(&ctx.tasks_scope, id, &key, response)
            .await
        {
            tracing::debug!(%id, key, %error, "tasks/update: response ignored");
        }
    }
    Ok(complete())
}

/// `tasks/cancel`: acknowledged, also for a task that already ended; `-32602` for an
/// unknown one.
pub(crate) async fn cancel(ctx: &Ctx<'_>, params: Option<&Value>) -> Result<Value, ErrorObject> {
    require_tasks(ctx, "tasks/cancel")?;
    let id = task_id(params)?;
    match ctx
        .server
        .ward()
        .cancel(&ctx.tasks_scope, id, Some("cancelled by the client".into()))
        .await
    {
        Ok(_) | Err(Error::AlreadyTerminal { .. }) => Ok(complete()),
        Err(error) => Err(rpc_error(error)),
    }
}
