//! Revision 2026-07-28, served statelessly per request, with the tasks extension
//! `io.modelcontextprotocol/tasks` (SEP-2663).
//!
//! A request is "modern" when its `params._meta` names a protocol version
//! (`io.modelcontextprotocol/protocolVersion`), or when it is `server/discover`. It needs no
//! `initialize` and no session: its tasks live in the shared scope of its principal
//! ([`Server::modern_scope`]). The tasks extension applies to a request only when that
//! request's own `_meta` client capabilities declare it.
//!
//! | method | answer |
//! |---|---|
//! | `server/discover` | versions, capabilities (`tools`, the tasks extension), `serverInfo` |
//! | `tools/list` | the tools, without the 2025-11-25 `execution` |
//! | `tools/call` | a flat `CreateTaskResult` (`resultType: "task"`) when the extension is declared and the tool allows tasks; else the `CallToolResult` (`resultType: "complete"`); `-32021` for a tool that requires a task |
//! | `tasks/get` | the `DetailedTask`: `result`, `error` or `inputRequests` by status |
//! | `tasks/update` | answers input requests, acknowledged |
//! | `tasks/cancel` | acknowledged, even for a finished task |
//! | `subscriptions/listen` | `notifications/tasks` on each status change of `notifications.taskIds` |
//! | `tasks/result`, `tasks/list`, others | `-32601` |

mod detail;
mod listen;
mod negotiate;
mod tasks;

use serde_json::{Value, json};
use taskward_core::Scope;

use crate::jsonrpc::{self, ErrorObject, Request, RequestId};
use crate::server::Server;
use crate::session::Sink;
use crate::wire::{ListParams, MODERN_VERSIONS, TASKS_EXTENSION};

/// The result `_meta` key naming the server's implementation.
const SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";

pub(crate) use negotiate::meta_version;
pub(crate) use tasks::submit_task as submit_modern_task;

/// Whether a request is served as 2026-07-28.
pub(crate) fn is_modern(request: &Request) -> bool {
    request.method == "server/discover" || meta_version(request.params.as_ref()).is_some()
}

/// What a modern request's handlers need.
pub(crate) struct Ctx<'a> {
    pub(crate) server: &'a Server,
    /// Where tasks live.
    pub(crate) tasks_scope: Scope,
    /// Where synchronous calls run.
    pub(crate) calls_scope: Scope,
    /// Whether this request declared the tasks extension.
    pub(crate) tasks: bool,
    /// The request's id.
    pub(crate) id: &'a RequestId,
    /// The request's own stream.
    pub(crate) sink: &'a Sink,
}

/// Answers a modern request with its whole JSON-RPC response.
pub(crate) async fn handle(
    server: &Server,
    principal: Option<&str>,
    request: Request,
    sink: &Sink,
) -> Value {
    let id = request.id.clone();
    match answer(server, principal, &request, sink).await {
        Ok(result) => jsonrpc::success(&id, result),
        Err(error) => jsonrpc::failure(Some(&id), &error),
    }
}

async fn answer(
    server: &Server,
    principal: Option<&str>,
    request: &Request,
    sink: &Sink,
) -> Result<Value, ErrorObject> {
    let params = request.params.as_ref();
    let negotiated = negotiate::negotiate(params)?;
    let ctx = Ctx {
        server,
        tasks_scope: server.modern_scope(principal),
        calls_scope: server.modern_calls_scope(principal),
        tasks: negotiated.tasks,
        id: &request.id,
        sink,
    };
    match request.method.as_str() {
        "server/discover" => Ok(discover(server)),
        "ping" => Ok(json!({ "resultType": "complete" })),
        "tools/list" => {
            let _: ListParams = jsonrpc::params(params)?;
            let tools: Vec<Value> = server
                .inner()
                .tools
                .iter()
                .map(|t| {
                    let mut info = serde_json::to_value(t.info()).unwrap_or_default();
                    if let Value::Object(info) = &mut info {
                        info.remove("execution");
                    }
                    info
                })
                .collect();
            // 2026-07-28 list results carry their cacheability (SEP-2549): not cacheable here.
            Ok(json!({
                "resultType": "complete",
                "tools": tools,
                "ttlMs": 0,
                "cacheScope": "private"
            }))
        }
        "tools/call" => tasks::call_tool(&ctx, params).await,
        "tasks/get" => tasks::get(&ctx, params).await,
        "tasks/update" => tasks::update(&ctx, params).await,
        "tasks/cancel" => tasks::cancel(&ctx, params).await,
        "subscriptions/listen" => listen::listen(&ctx, params).await,
        other => Err(ErrorObject::method_not_found(format!(
            "method not found in {}: {other}",
            MODERN_VERSIONS[0]
        ))),
    }
}

fn discover(server: &Server) -> Value {
    let options = server.options();
    let server_info = json!({ "name": options.name, "version": options.version });
    // `serverInfo` both at the top (as 2025-11-25 `initialize` has it) and in `_meta`, where
    // the 2026-07-28 result carries it; `ttlMs: 0` and `cacheScope: "private"`: not cacheable.
    let mut result = json!({
        "resultType": "complete",
        "supportedVersions": MODERN_VERSIONS,
        "capabilities": {
            "tools": {},
            "extensions": { TASKS_EXTENSION: {} }
        },
        "serverInfo": server_info,
        "ttlMs": 0,
        "cacheScope": "private",
        "_meta": { SERVER_INFO: server_info }
    });
    if let Some(instructions) = &options.instructions {
        result["instructions"] = json!(instructions);
    }
    result
}
