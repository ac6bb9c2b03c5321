//! [`WithTasks`]: any rmcp `ServerHandler`, with the tasks extension served by taskward.

mod handler;

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use rmcp::ErrorData as McpError;
use rmcp::ServerHandler;
use rmcp::model::{CallToolRequestParams, CallToolResponse, CreateTaskResult, ServerCapabilities};
use rmcp::service::{RequestContext, RoleServer};
use taskward_core::Scope;

use crate::caller::caller_scope;
use crate::context::{TaskContext, TaskExit};
use crate::manager::TaskManager;
use crate::options::TaskOptions;

/// A `ServerHandler` that serves the MCP tasks extension (`io.modelcontextprotocol/tasks`)
/// for the handler it wraps, on a [`TaskManager`].
///
/// It answers `tasks/get`, `tasks/update` and `tasks/cancel` itself and advertises the
/// extension in the server's capabilities. A `tools/call` of a tool marked with
/// [`task_tool`](Self::task_tool), from a client that declared the extension, becomes a task:
/// the answer is a `CreateTaskResult` at once, and the wrapped handler's `call_tool` runs as
/// the task's work under a supervised runner. Inside it, the request context's
/// `extensions` hold the task's [`TaskContext`] (for progress and input requests), and its
/// cancellation token `ct` is the task's, so `tasks/cancel` reaches the work. Every other
/// request, and every call of an unmarked tool, goes to the wrapped handler unchanged.
///
/// Each task is bound to its caller's scope ([`caller_scope`]: the authenticated
/// [`Principal`](crate::Principal), else the HTTP session, else this value's connection
/// scope, which its clones share): a task id of another caller gets the same `-32602` as
/// an unknown id.
///
/// # Examples
///
/// ```
/// use rmcp::{ServerHandler, model::ServerConfig};
/// use taskward_rmcp::{TaskManager, WithTasks};
///
/// struct Tools;
/// impl ServerHandler for Tools {}
///
/// let server = WithTasks::new(Tools, TaskManager::new()).task_tool("slow_sum");
/// assert!(server.get_info().capabilities.supports_tasks());
/// assert!(server.is_task_tool("slow_sum"));
/// ```
pub struct WithTasks<H> {
    inner: Arc<H>,
    tasks: TaskManager,
    task_tools: Arc<HashSet<String>>,
    options: TaskOptions,
    /// The scope of callers known only by their connection.
    connection: Scope,
}

impl<H> Clone for WithTasks<H> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            tasks: self.tasks.clone(),
            task_tools: self.task_tools.clone(),
            options: self.options.clone(),
            connection: self.connection.clone(),
        }
    }
}

impl<H> fmt::Debug for WithTasks<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WithTasks")
            .field("task_tools", &self.task_tools)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl<H: ServerHandler> WithTasks<H> {
    /// Wraps `handler`; its tasks run on `tasks`. No tool is task-capable until marked.
    pub fn new(handler: H, tasks: TaskManager) -> Self {
        Self {
            inner: Arc::new(handler),
            tasks,
            task_tools: Arc::new(HashSet::new()),
            options: TaskOptions::default(),
            connection: Scope::session(format!("connection-{}", uuid::Uuid::new_v4())),
        }
    }

    /// Marks a tool task-capable: a call of it from a client that declared the tasks
    /// extension runs as a task.
    pub fn task_tool(mut self, name: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.task_tools).insert(name.into());
        self
    }

    /// Marks several tools task-capable.
    pub fn task_tools<S: Into<String>>(self, names: impl IntoIterator<Item = S>) -> Self {
        names.into_iter().fold(self, Self::task_tool)
    }

    /// The options every task is spawned with (TTL, polling interval, timeout); the task's
    /// name is the tool's.
    pub fn task_options(mut self, options: TaskOptions) -> Self {
        self.options = options;
        self
    }

    /// Whether calls of `name` run as tasks.
    pub fn is_task_tool(&self, name: &str) -> bool {
        self.task_tools.contains(name)
    }

    /// The wrapped handler.
    pub fn handler(&self) -> &H {
        &self.inner
    }

    /// The task manager.
    pub fn tasks(&self) -> &TaskManager {
        &self.tasks
    }

    /// The scope a request's tasks are bound to.
    fn scope_of(&self, context: &RequestContext<RoleServer>) -> Scope {
        caller_scope(context).unwrap_or_else(|| self.connection.clone())
    }

    /// Runs a call of a task-capable tool as a task: the wrapped handler's `call_tool`, with
    /// the task's context in the request's extensions and its token as the request's.
    async fn call_as_task(
        &self,
        request: CallToolRequestParams,
        mut context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let scope = self.scope_of(&context);
        let options = self.options.clone().with_name(request.name.to_string());
        let inner = self.inner.clone();
        let task = self
            .tasks
            .spawn_in(&scope, options, move |ctx: TaskContext| {
                Box::pin(async move {
                    context.ct = ctx.runtime().cancellation_token();
                    context.extensions.insert(ctx);
                    match inner.call_tool(request, context).await? {
                        CallToolResponse::Complete(result) => Ok(result),
                        _ => Err(TaskExit::Error(McpError::internal_error(
                            "the tool answered a task or an input request from inside a task",
                            None,
                        ))),
                    }
                })
            })
            .await?;
        Ok(CallToolResponse::Task(CreateTaskResult::new(task)))
    }
}

/// `capabilities` with the tasks extension declared.
fn with_tasks_extension(mut capabilities: ServerCapabilities) -> ServerCapabilities {
    capabilities
        .extensions
        .get_or_insert_with(Default::default)
        .entry(rmcp::model::TASKS_EXTENSION_ID.to_owned())
        .or_default();
    capabilities
}
