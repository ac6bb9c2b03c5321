//! JSON-RPC requests of a 2025-11-25 MCP client over [`http`](super::http).

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use super::http;

/// Why a request got no result.
#[derive(Debug)]
pub(crate) enum Fail {
    /// No answer: the server is down (refused, reset, or the answer cut short).
    Down(io::Error),
    /// A JSON-RPC error (with the HTTP status it came with).
    Rpc {
        http: u16,
        code: i64,
        message: String,
    },
    /// An answer that is not JSON-RPC.
    Odd(String),
}

impl Fail {
    /// A JSON-RPC error with this code.
    pub(crate) fn is_code(&self, want: i64) -> bool {
        matches!(self, Fail::Rpc { code, .. } if *code == want)
    }
}

impl std::fmt::Display for Fail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fail::Down(e) => write!(f, "no answer ({e})"),
            Fail::Rpc {
                http,
                code,
                message,
            } => write!(f, "HTTP {http}, error {code}: {message}"),
            Fail::Odd(what) => write!(f, "odd answer: {what}"),
        }
    }
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn message(method: &str, params: Value) -> (u64, Value) {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let message = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
    (id, message)
}

/// Opens a session: `initialize`, then `notifications/initialized`; its id.
pub(crate) fn initialize(addr: SocketAddr) -> Result<String, Fail> {
    let (_, init) = message(
        "initialize",
        json!({
            "protocolVersion": "2025-11-25",
            "capabilities": {"elicitation": {"form": {}}},
            "clientInfo": {"name": "crash-restart", "version": "0"}
        }),
    );
    let mut answer = http::post(addr, None, &init).map_err(Fail::Down)?;
    let session = answer.session.clone();
    let reply = answer.next_message().map_err(Fail::Down)?;
    let session = session.ok_or_else(|| Fail::Odd(format!("no Mcp-Session-Id: {reply:?}")))?;
    let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    http::post(addr, Some(&session), &note)
        .and_then(|mut a| a.next_message())
        .map_err(Fail::Down)?;
    Ok(session)
}

/// The JSON-RPC answer with `id` in `answer`, as `{result}` or `{error}` (without `id` and
/// `jsonrpc`), answering the elicitation requests met on the way with `name`.
fn answer_of(
    addr: SocketAddr,
    session: &str,
    id: u64,
    mut answer: http::Answer,
    name: Option<(&str, Duration)>,
) -> Result<Value, Fail> {
    loop {
        let Some(mut reply) = answer.next_message().map_err(Fail::Down)? else {
            return Err(Fail::Down(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("HTTP {}: the answer ended without a message", answer.status),
            )));
        };
        if reply.get("method").and_then(Value::as_str) == Some("elicitation/create") {
            let Some((name, delay)) = name else {
                return Err(Fail::Odd(format!("an unexpected request: {reply}")));
            };
            std::thread::sleep(delay);
            let response = json!({
                "jsonrpc": "2.0",
                "id": reply["id"],
                "result": {"action": "accept", "content": {"name": name}}
            });
            http::post(addr, Some(session), &response)
                .and_then(|mut a| a.next_message())
                .map_err(Fail::Down)?;
            continue;
        }
        if reply.get("id") != Some(&json!(id)) && reply.get("error").is_none() {
            // A notification on the stream.
            continue;
        }
        let Some(object) = reply.as_object_mut() else {
            return Err(Fail::Odd(reply.to_string()));
        };
        object.remove("id");
        object.remove("jsonrpc");
        return Ok(reply);
    }
}

/// Sends a request in `session` and returns its `result`; a JSON-RPC error is a [`Fail`].
pub(crate) fn request(
    addr: SocketAddr,
    session: &str,
    method: &str,
    params: Value,
) -> Result<Value, Fail> {
    let (id, request) = message(method, params);
    let answer = http::post(addr, Some(session), &request).map_err(Fail::Down)?;
    let status = answer.status;
    let mut reply = answer_of(addr, session, id, answer, None)?;
    if let Some(result) = reply.get_mut("result") {
        return Ok(result.take());
    }
    let error = &reply["error"];
    match error["code"].as_i64() {
        Some(code) => Err(Fail::Rpc {
            http: status,
            code,
            message: error["message"].as_str().unwrap_or_default().to_owned(),
        }),
        None => Err(Fail::Odd(format!("HTTP {status}: {reply}"))),
    }
}

/// `tasks/result` of `task`: the whole answer (`{result}` or `{error}`), once the task
/// is terminal; an `ask_name` task's question is answered with `name` after `delay`.
pub(crate) fn task_result(
    addr: SocketAddr,
    session: &str,
    task: &str,
    name: Option<(&str, Duration)>,
) -> Result<Value, Fail> {
    let (id, request) = message("tasks/result", json!({"taskId": task}));
    let answer = http::post(addr, Some(session), &request).map_err(Fail::Down)?;
    let status = answer.status;
    let reply = answer_of(addr, session, id, answer, name)?;
    if status == 404 {
        // The session is unknown.
        return Err(Fail::Rpc {
            http: status,
            code: reply["error"]["code"].as_i64().unwrap_or_default(),
            message: reply.to_string(),
        });
    }
    Ok(reply)
}
