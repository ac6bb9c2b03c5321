//! What the fuzz targets share: one runtime and one MCP server with demo tools, kept for the
//! whole fuzzing run, on a single-threaded tokio runtime whose clock is paused (a tool that
//! sleeps, a blocking `tasks/result`, a TTL: virtual time jumps ahead as soon as nothing
//! else can run, so no input waits for real).
//!
//! The invariant every target checks besides "never panics": a request is answered exactly
//! once, with its own id; notifications and responses get no answer.

pub mod script;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde_json::{Value, json};
use taskward_mcp::jsonrpc::{self, Message};
use taskward_mcp::transport::http::{self, HttpOptions};
use taskward_mcp::wire::{CallToolResult, TaskSupport};
use taskward_mcp::{Server, Session, Tool};
use taskward_runtime::Taskward;
use tokio::runtime::Runtime;
use tokio::sync::mpsc::UnboundedReceiver;

/// How long (virtual time) one input may take before the harness gives up on it.
pub const PATIENCE: Duration = Duration::from_secs(600);

/// The longest a demo tool sleeps, whatever its arguments say.
const MAX_SLEEP: Duration = Duration::from_secs(120);

/// The runtime, the server and its HTTP router, built once.
pub struct Harness {
    /// The single-threaded runtime with a paused clock.
    pub rt: Runtime,
    /// The MCP server with the demo tools.
    pub server: Server,
    /// The Streamable HTTP routes over the same server.
    pub router: axum::Router,
}

/// The harness, built on first use.
pub fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .expect("a runtime");
        let server = rt.block_on(async {
            let ward = Taskward::builder()
                .default_ttl(Duration::from_secs(60))
                .max_ttl(Duration::from_secs(300))
                .spawn()
                .await
                .expect("the runtime starts");
            demo_server(ward)
        });
        let router = http::router(server.clone(), HttpOptions::default());
        Harness { rt, server, router }
    })
}

fn question() -> Value {
    json!({
        "method": "elicitation/create",
        "params": {
            "mode": "form",
            "message": "What is your name?",
            "requestedSchema": {
                "type": "object",
                "properties": { "name": { "type": "string" } },
                "required": ["name"]
            }
        }
    })
}

fn millis(call: &taskward_mcp::ToolCall, key: &str) -> Duration {
    let ms = call.arguments.get(key).and_then(Value::as_u64).unwrap_or(0);
    Duration::from_millis(ms).min(MAX_SLEEP)
}

/// The demo tools (none panics on purpose: a panic is what the fuzzer looks for):
/// `echo {text}`, `sleep {ms}` (cancellable), `steps {n, ms}` (progress), `fail` (isError),
/// `plain_only` (forbidden), `task_only` (required), `ask_name` (required, asks for input).
pub fn demo_server(ward: Taskward) -> Server {
    let object = json!({"type": "object"});
    Server::builder(ward)
        .poll_interval(Duration::from_millis(50))
        .tool(Tool::new(
            "echo",
            "Echoes.",
            object.clone(),
            |call| async move {
                let text = call.arguments.get("text").and_then(Value::as_str);
                Ok(CallToolResult::text(text.unwrap_or_default()))
            },
        ))
        .tool(Tool::new(
            "sleep",
            "Sleeps.",
            object.clone(),
            |call| async move {
                let pause = millis(&call, "ms");
                tokio::select! {
                    () = tokio::time::sleep(pause) => {}
                    () = call.ctx.cancelled() => return Err(taskward_core::TaskError::cancelled()),
                }
                Ok(CallToolResult::text("slept"))
            },
        ))
        .tool(Tool::new(
            "steps",
            "Reports progress.",
            object.clone(),
            |call| async move {
                let n = call
                    .arguments
                    .get("n")
                    .and_then(Value::as_u64)
                    .unwrap_or(3)
                    .min(50);
                let pause = millis(&call, "ms");
                for i in 1..=n {
                    call.ctx.progress(i, Some(n), "step");
                    tokio::time::sleep(pause).await;
                }
                Ok(CallToolResult::text("done"))
            },
        ))
        .tool(Tool::new(
            "fail",
            "Fails.",
            object.clone(),
            |_| async move { Ok(CallToolResult::error("it broke")) },
        ))
        .tool(
            Tool::new(
                "plain_only",
                "Never a task.",
                object.clone(),
                |_| async move { Ok(CallToolResult::text("plain")) },
            )
            .task_support(TaskSupport::Forbidden),
        )
        .tool(
            Tool::new(
                "task_only",
                "Always a task.",
                object.clone(),
                |_| async move { Ok(CallToolResult::text("task")) },
            )
            .task_support(TaskSupport::Required),
        )
        .tool(
            Tool::new("ask_name", "Asks a name.", object, |call| async move {
                let answer = call.ctx.request_input("name", question()).await?;
                let name = answer["content"]["name"].as_str().unwrap_or("nobody");
                Ok(CallToolResult::text(format!("Hello, {name}!")))
            })
            .task_support(TaskSupport::Required),
        )
        .build()
}

/// A session for one input: initialized (2025-11-25) or bare (only stateless requests).
pub async fn open(server: &Server, initialized: bool) -> (Arc<Session>, UnboundedReceiver<Value>) {
    let (session, rx) = server.open_session(None);
    if initialized {
        let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {"elicitation": {}},
            "clientInfo": {"name": "fuzz", "version": "0"}
        }});
        let answer = server
            .handle_bytes(&session, init.to_string().as_bytes())
            .await;
        assert!(
            answer.is_some_and(|a| a.get("result").is_some()),
            "initialize answers"
        );
        let done = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        assert!(
            server
                .handle_bytes(&session, done.to_string().as_bytes())
                .await
                .is_none()
        );
    }
    (session, rx)
}

/// Checks the answer to one message against the message: a request gets exactly one answer
/// with its id and either a result or an error; anything else that parses gets none; what
/// does not parse gets an error with a null id.
pub fn check_answer(bytes: &[u8], answer: Option<&Value>) {
    match jsonrpc::parse(bytes) {
        Ok(Message::Request(request)) => {
            let answer = answer.unwrap_or_else(|| panic!("request {} unanswered", request.method));
            check_response(answer, Some(&request.id));
        }
        Ok(_) => assert!(
            answer.is_none(),
            "a notification or response answered: {answer:?}"
        ),
        Err(error) => {
            let answer = answer.expect("a malformed message is answered");
            assert_eq!(answer, &error, "the parse error is the answer");
        }
    }
}

/// A JSON-RPC response: `jsonrpc`, the id, exactly one of `result` and `error` (an error
/// with an integer code and a string message).
pub fn check_response(answer: &Value, id: Option<&jsonrpc::RequestId>) {
    assert_eq!(answer["jsonrpc"], "2.0", "{answer}");
    if let Some(id) = id {
        assert_eq!(answer["id"], serde_json::to_value(id).unwrap(), "{answer}");
    }
    match (answer.get("result"), answer.get("error")) {
        (Some(_), None) => {}
        (None, Some(error)) => {
            assert!(error["code"].is_i64(), "{answer}");
            assert!(error["message"].is_string(), "{answer}");
        }
        _ => panic!("not a response: {answer}"),
    }
}

/// After every 64th input, lets virtual time run on past the longest TTL, so that the tasks
/// of earlier inputs expire and are removed (memory stays flat over a long run).
pub async fn let_time_pass() {
    static INPUTS: AtomicU64 = AtomicU64::new(0);
    if INPUTS.fetch_add(1, Ordering::Relaxed) % 64 == 63 {
        tokio::time::sleep(Duration::from_secs(400)).await;
    }
}
