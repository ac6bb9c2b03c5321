//! An rmcp 3.x server on taskward: the demo tools of `taskward serve` (`sleep`,
//! `count_primes`, `fail`, `crash`, `ask_name`, `echo`, with the same arguments and results),
//! written as one plain rmcp `ServerHandler` and served over Streamable HTTP through
//! `taskward_rmcp::WithTasks`, which runs the task-capable tools as supervised tasks and
//! answers `tasks/get`, `tasks/update` and `tasks/cancel`.
//!
//! ```text
//! cargo run --example rmcp_server -- 127.0.0.1:8000 [--poll-interval-ms 1000]
//! ```
//!
//! The MCP endpoint is `http://ADDR/mcp`. The rmcp-client interop suite
//! (`tests/interop-rmcp`) runs against it as against `taskward serve`.

use std::net::SocketAddr;
use std::time::Duration;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, JsonObject,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData as McpError, ServerHandler};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use taskward::Taskward;
use taskward_rmcp::{TaskContext, TaskManager, WithTasks};

// The sieve `taskward serve` counts primes with, shared rather than copied.
#[allow(dead_code)]
#[path = "../crates/taskward-cli/src/demo/sieve.rs"]
mod sieve;

/// The largest `seconds` of `sleep` (one day) and `limit` of `count_primes`, as in `serve`.
const MAX_SECONDS: f64 = 86_400.0;
const MAX_LIMIT: u64 = 1_000_000_000_000;

/// The demo tools, as any rmcp server writes them: `call_tool` only. The task's context, when
/// the call runs as a task, is in the request's extensions.
#[derive(Debug, Clone)]
struct Demo;

fn schema(value: Value) -> JsonObject {
    match value {
        Value::Object(object) => object,
        _ => JsonObject::new(),
    }
}

fn tools() -> Vec<Tool> {
    let number = |kind: &str, max: Value, what: &str| {
        schema(json!({ "type": "object", "additionalProperties": false,
            "properties": { what: { "type": kind, "minimum": 0, "maximum": max } }, "required": [what] }))
    };
    vec![
        Tool::new(
            "sleep",
            "Waits `seconds`, reporting progress each second; cancel stops it.",
            number("number", json!(MAX_SECONDS), "seconds"),
        ),
        Tool::new(
            "count_primes",
            "Counts the primes below `limit`, one segment at a time.",
            number("integer", json!(MAX_LIMIT), "limit"),
        ),
        Tool::new(
            "fail",
            "Answers a tool error (isError: true) with `message`.",
            schema(json!({ "type": "object", "additionalProperties": false,
                "properties": { "message": { "type": "string" } } })),
        ),
        Tool::new(
            "crash",
            "Panics: the task fails with cause panicked; the server goes on.",
            schema(json!({ "type": "object", "properties": {}, "additionalProperties": false })),
        ),
        Tool::new(
            "ask_name",
            "Asks your name by form elicitation, then greets you (task only).",
            schema(json!({ "type": "object", "additionalProperties": false })),
        ),
        Tool::new(
            "echo",
            "Answers `text` (never a task).",
            schema(json!({ "type": "object", "additionalProperties": false,
                "properties": { "text": { "type": "string" } }, "required": ["text"] })),
        ),
    ]
}

fn args<T: DeserializeOwned>(request: &CallToolRequestParams) -> Result<T, McpError> {
    let arguments = Value::Object(request.arguments.clone().unwrap_or_default());
    serde_json::from_value(arguments)
        .map_err(|e| McpError::invalid_params(format!("{}: {e}", request.name), None))
}

fn text(text: String) -> CallToolResult {
    CallToolResult::success(vec![ContentBlock::text(text)])
}

fn structured(text_part: String, value: Value) -> CallToolResult {
    let mut result = text(text_part);
    result.structured_content = Some(value);
    result
}

fn tool_error(message: String) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(message)])
}

impl ServerHandler for Demo {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_instructions("The demo tools of `taskward serve`, on rmcp and taskward.")
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(tools()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let task = context.extensions.get::<TaskContext>().cloned();
        let result = match request.name.as_ref() {
            "sleep" => sleep(args(&request)?, task, &context).await,
            "count_primes" => count_primes(args(&request)?, task).await,
            "fail" => {
                #[derive(Deserialize)]
                struct Args {
                    message: Option<String>,
                }
                let Args { message } = args(&request)?;
                tool_error(message.unwrap_or_else(|| "failed on purpose".into()))
            }
            "crash" => panic!("crash: the demo tool panicked on purpose"),
            "ask_name" => ask_name(task).await?,
            "echo" => {
                #[derive(Deserialize)]
                struct Args {
                    text: String,
                }
                text(args::<Args>(&request)?.text)
            }
            other => return Err(McpError::invalid_params(format!("no tool {other}"), None)),
        };
        Ok(result.into())
    }
}

#[derive(Deserialize)]
struct SleepArgs {
    seconds: f64,
}

/// `sleep {seconds}`: one progress step per started second; the request's token (the
/// task's, when it runs as one) stops it.
async fn sleep(
    SleepArgs { seconds }: SleepArgs,
    task: Option<TaskContext>,
    context: &RequestContext<RoleServer>,
) -> CallToolResult {
    if !(0.0..=MAX_SECONDS).contains(&seconds) {
        return tool_error(format!(
            "seconds must be between 0 and {MAX_SECONDS}, got {seconds}"
        ));
    }
    let total = Duration::from_secs_f64(seconds);
    let steps = total.as_secs() + u64::from(total.subsec_nanos() > 0);
    let mut left = total;
    for step in 0..steps {
        if let Some(task) = &task {
            task.progress(step, Some(steps), &format!("{step} of {seconds} s"));
        }
        let nap = left.min(Duration::from_secs(1));
        tokio::select! {
            () = context.ct.cancelled() => return tool_error("cancelled".into()),
            () = tokio::time::sleep(nap) => {}
        }
        left -= nap;
    }
    structured(format!("slept {seconds} s"), json!({ "seconds": seconds }))
}

#[derive(Deserialize)]
struct PrimesArgs {
    limit: u64,
}

/// `count_primes {limit}`: a segment at a time, with progress, yielding between segments.
async fn count_primes(
    PrimesArgs { limit }: PrimesArgs,
    task: Option<TaskContext>,
) -> CallToolResult {
    if limit > MAX_LIMIT {
        return tool_error(format!("limit must be at most {MAX_LIMIT}, got {limit}"));
    }
    let mut sieve = sieve::Sieve::new(limit);
    while sieve.step() {
        if let Some(task) = &task {
            task.progress(sieve.sieved(), Some(limit), "sieving");
            if task.is_cancel_requested() {
                return tool_error("cancelled".into());
            }
        }
        tokio::task::yield_now().await;
    }
    let count = sieve.count();
    structured(
        format!("{count} primes below {limit}"),
        json!({ "count": count }),
    )
}

/// `ask_name {}`: asks under key `name` by form elicitation and greets; only as a task.
async fn ask_name(task: Option<TaskContext>) -> Result<CallToolResult, McpError> {
    let Some(task) = task else {
        return Ok(tool_error("ask_name runs only as a task".into()));
    };
    let question = serde_json::from_value(json!({ "method": "elicitation/create", "params": {
        "mode": "form", "message": "What is your name?", "requestedSchema": { "type": "object",
        "properties": { "name": { "type": "string" } }, "required": ["name"] } } }))
    .map_err(|e| McpError::internal_error(e.to_string(), None))?;
    let answer = task
        .request_input("name", question)
        .await
        .map_err(|exit| McpError::internal_error(exit.to_string(), None))?;
    let name = answer["content"]["name"].as_str();
    Ok(match (answer["action"].as_str(), name) {
        (Some("accept"), Some(name)) => text(format!("Hello, {name}!")),
        (action, _) => tool_error(format!(
            "no name given (action: {})",
            action.unwrap_or("none")
        )),
    })
}

/// `ADDR [--poll-interval-ms N]`.
fn parse_args() -> Result<(SocketAddr, u64), String> {
    let mut args = std::env::args().skip(1);
    let mut addr = None;
    let mut poll_interval_ms = taskward_rmcp::DEFAULT_POLL_INTERVAL_MS;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--poll-interval-ms" => {
                let value = args.next().ok_or("--poll-interval-ms needs a value")?;
                poll_interval_ms = value
                    .parse()
                    .map_err(|e| format!("--poll-interval-ms: {e}"))?;
            }
            other => addr = Some(other.parse().map_err(|e| format!("address {other}: {e}"))?),
        }
    }
    let addr = addr.ok_or("usage: rmcp_server ADDR [--poll-interval-ms N]")?;
    Ok((addr, poll_interval_ms))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (addr, poll_interval_ms) = parse_args()?;
    let ward = Taskward::builder().spawn().await?;
    let tasks = TaskManager::with_runtime(ward).with_poll_interval_ms(poll_interval_ms);
    let server = WithTasks::new(Demo, tasks.clone()).task_tools([
        "sleep",
        "count_primes",
        "fail",
        "crash",
        "ask_name",
    ]);

    let service = StreamableHttpService::new(
        move || Ok(server.clone()),
        LocalSessionManager::default().into(),
        StreamableHttpServerConfig::default(),
    );
    let router = axum::Router::new().nest_service("/mcp", service);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!(
        "rmcp server on taskward: http://{}/mcp",
        listener.local_addr()?
    );
    axum::serve(listener, router)
        .with_graceful_shutdown(async {
            tokio::signal::ctrl_c().await.ok();
        })
        .await?;
    tasks.shutdown().await?;
    Ok(())
}
