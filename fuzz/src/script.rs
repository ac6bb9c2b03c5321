//! A structured input: a short script of JSON-RPC messages built from the methods, tools,
//! params and `_meta` the server knows (both generations), with task ids and server-request
//! ids taken from earlier answers, and arbitrary JSON where a value may be anything.

use std::sync::Arc;

use arbitrary::Arbitrary;
use serde_json::{Map, Value, json};
use taskward_mcp::{Server, Session};
use tokio::sync::mpsc::UnboundedReceiver;

use crate::{PATIENCE, check_answer};

/// Any JSON value (nesting bounded by the input's size).
#[derive(Arbitrary, Debug, Clone)]
pub enum Json {
    /// `null`.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A large unsigned integer.
    Big(u64),
    /// A float (NaN and infinities become `null`).
    Float(f64),
    /// A string.
    Str(String),
    /// An array.
    Array(Vec<Json>),
    /// An object.
    Object(Vec<(String, Json)>),
}

impl Json {
    /// As a `serde_json` value.
    pub fn value(&self) -> Value {
        match self {
            Json::Null => Value::Null,
            Json::Bool(b) => json!(b),
            Json::Int(i) => json!(i),
            Json::Big(u) => json!(u),
            Json::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
            Json::Str(s) => json!(s),
            Json::Array(items) => Value::Array(items.iter().map(Json::value).collect()),
            Json::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(k, v)| (k.clone(), v.value()))
                    .collect::<Map<_, _>>(),
            ),
        }
    }
}

const METHODS: [&str; 16] = [
    "tools/call",
    "tasks/get",
    "tasks/cancel",
    "tasks/update",
    "tasks/result",
    "tasks/list",
    "subscriptions/listen",
    "tools/list",
    "server/discover",
    "ping",
    "initialize",
    "notifications/initialized",
    "notifications/cancelled",
    "resources/list",
    "logging/setLevel",
    "completion/complete",
];
const TOOLS: [&str; 8] = [
    "echo",
    "sleep",
    "steps",
    "fail",
    "plain_only",
    "task_only",
    "ask_name",
    "nope",
];
const VERSIONS: [&str; 4] = ["2026-07-28", "2025-11-25", "2099-01-01", ""];

/// A value that may refer to something seen earlier in the script.
#[derive(Arbitrary, Debug, Clone)]
pub enum Pick {
    /// The n-th task id seen (modulo their number), or an unknown id when none was.
    Seen(u8),
    /// A well-formed id no task has.
    Unknown,
    /// Anything.
    Any(Json),
}

/// How a message names its id.
#[derive(Arbitrary, Debug, Clone)]
pub enum Id {
    /// No id: a notification.
    None,
    /// An integer.
    Int(i64),
    /// A string.
    Str(String),
    /// Anything (mostly invalid).
    Any(Json),
}

/// The generation a message speaks.
#[derive(Arbitrary, Debug, Clone)]
pub enum Generation {
    /// No `_meta` version: the session's (2025-11-25 when initialized).
    Legacy,
    /// `_meta` with a protocol version, with or without the tasks extension.
    Modern {
        /// Index into the versions tried.
        version: u8,
        /// Whether the tasks extension is declared.
        tasks: bool,
    },
    /// An arbitrary `_meta`.
    Any(Json),
}

/// One message of a script.
#[derive(Arbitrary, Debug, Clone)]
#[allow(
    clippy::large_enum_variant,
    reason = "a fuzz input, built once per run: its size does not matter"
)]
pub enum Step {
    /// A request or notification built from known parts.
    Call {
        /// Index into the known methods.
        method: u8,
        /// Its id.
        id: Id,
        /// Its generation.
        generation: Generation,
        /// Index into the known tool names (`tools/call`).
        tool: u8,
        /// Tool arguments: `ms`, `n`, `text`, or anything.
        arguments: Option<Json>,
        /// `params.task` (2025-11-25 task augmentation): a `ttl`, or anything.
        task: Option<Json>,
        /// `params.taskId` (and `notifications.taskIds`).
        task_id: Option<Pick>,
        /// `params.inputResponses` (`tasks/update`): answers the name, or anything.
        input: Option<Json>,
        /// `params.cursor`.
        cursor: Option<Json>,
        /// `params._meta.progressToken`.
        progress_token: Option<Json>,
        /// Whether the message is sent without waiting for its answer (to overlap with the
        /// next ones).
        overlap: bool,
    },
    /// A JSON-RPC response to a request the server sent (an `elicitation/create`).
    Respond {
        /// Which pending server request (modulo their number).
        which: u8,
        /// Its result, or anything.
        result: Option<Json>,
        /// An error instead of the result.
        error: bool,
    },
    /// Raw bytes, as they are.
    Raw(Vec<u8>),
    /// Lets virtual time pass, in milliseconds.
    Wait(u16),
}

/// What the script learned from answers so far.
#[derive(Debug, Default)]
struct Seen {
    tasks: Vec<String>,
    requests: Vec<Value>,
}

impl Seen {
    fn task(&self, pick: &Pick) -> Value {
        match pick {
            Pick::Seen(n) if !self.tasks.is_empty() => {
                json!(self.tasks[usize::from(*n) % self.tasks.len()])
            }
            Pick::Seen(_) | Pick::Unknown => json!("00000000-0000-4000-8000-000000000000"),
            Pick::Any(j) => j.value(),
        }
    }

    fn learn(&mut self, answer: &Value) {
        let result = &answer["result"];
        for id in [&result["taskId"], &result["task"]["taskId"]] {
            if let Some(id) = id.as_str()
                && self.tasks.len() < 64
            {
                self.tasks.push(id.to_owned());
            }
        }
    }
}

fn meta(generation: &Generation, progress_token: Option<&Json>) -> Option<Value> {
    let mut meta = match generation {
        Generation::Legacy => json!({}),
        Generation::Modern { version, tasks } => {
            let extensions = if *tasks {
                json!({"io.modelcontextprotocol/tasks": {}})
            } else {
                json!({})
            };
            json!({
                "io.modelcontextprotocol/protocolVersion": VERSIONS[usize::from(*version) % VERSIONS.len()],
                "io.modelcontextprotocol/clientCapabilities": {"extensions": extensions},
            })
        }
        Generation::Any(j) => j.value(),
    };
    if let (Some(token), Value::Object(m)) = (progress_token, &mut meta) {
        m.insert("progressToken".into(), token.value());
    }
    match &meta {
        Value::Object(m) if m.is_empty() => None,
        _ => Some(meta),
    }
}

/// Builds the message of a `Call` step.
fn message(step: &Step, seen: &Seen) -> Option<Value> {
    let Step::Call {
        method,
        id,
        generation,
        tool,
        arguments,
        task,
        task_id,
        input,
        cursor,
        progress_token,
        ..
    } = step
    else {
        return None;
    };
    let method = METHODS[usize::from(*method) % METHODS.len()];
    let mut params = Map::new();
    if method == "tools/call" {
        params.insert(
            "name".into(),
            json!(TOOLS[usize::from(*tool) % TOOLS.len()]),
        );
        let arguments = arguments.as_ref().map_or_else(
            || json!({"ms": 50, "n": 3, "text": "hi"}),
            |a| match a {
                Json::Int(ms) => json!({"ms": ms, "n": ms}),
                other => other.value(),
            },
        );
        params.insert("arguments".into(), arguments);
    }
    if let Some(task) = task {
        let task = match task {
            Json::Big(ttl) => json!({ "ttl": ttl }),
            other => other.value(),
        };
        params.insert("task".into(), task);
    }
    if let Some(pick) = task_id {
        let id = seen.task(pick);
        if method == "subscriptions/listen" {
            params.insert("notifications".into(), json!({ "taskIds": [id] }));
        } else {
            params.insert("taskId".into(), id);
        }
    }
    if let Some(input) = input {
        let responses = match input {
            Json::Str(name) => json!({"name": {"action": "accept", "content": {"name": name}}}),
            Json::Bool(accept) => {
                json!({"name": {"action": if *accept { "decline" } else { "cancel" }}})
            }
            other => other.value(),
        };
        params.insert("inputResponses".into(), responses);
    }
    if let Some(cursor) = cursor {
        params.insert("cursor".into(), cursor.value());
    }
    if method == "initialize" {
        params.insert("protocolVersion".into(), json!("2025-11-25"));
        params.insert("capabilities".into(), json!({}));
        params.insert("clientInfo".into(), json!({"name": "fuzz", "version": "0"}));
    }
    if let Some(meta) = meta(generation, progress_token.as_ref()) {
        params.insert("_meta".into(), meta);
    }
    let mut message = json!({"jsonrpc": "2.0", "method": method, "params": params});
    match id {
        Id::None => {}
        Id::Int(i) => message["id"] = json!(i),
        Id::Str(s) => message["id"] = json!(s),
        Id::Any(j) => message["id"] = j.value(),
    }
    Some(message)
}

/// Runs a script (at most 16 steps) on a fresh session; every answer is checked.
pub async fn run(
    server: &Server,
    session: &Arc<Session>,
    pushed: &mut UnboundedReceiver<Value>,
    steps: &[Step],
) {
    let mut seen = Seen::default();
    let mut overlapping = Vec::new();
    for step in steps.iter().take(16) {
        while let Ok(m) = pushed.try_recv() {
            if m.get("id").is_some() && m.get("method").is_some() && seen.requests.len() < 64 {
                seen.requests.push(m);
            }
        }
        let bytes = match step {
            Step::Call { .. } => match message(step, &seen) {
                Some(m) => serde_json::to_vec(&m).expect("serializes"),
                None => continue,
            },
            Step::Respond {
                which,
                result,
                error,
            } => {
                if seen.requests.is_empty() {
                    continue;
                }
                let request = &seen.requests[usize::from(*which) % seen.requests.len()];
                let mut response = json!({"jsonrpc": "2.0", "id": request["id"]});
                if *error {
                    response["error"] = json!({"code": -1, "message": "no"});
                } else {
                    response["result"] = result.as_ref().map_or_else(
                        || json!({"action": "accept", "content": {"name": "Fuzz"}}),
                        Json::value,
                    );
                }
                serde_json::to_vec(&response).expect("serializes")
            }
            Step::Raw(bytes) => bytes.clone(),
            Step::Wait(ms) => {
                tokio::time::sleep(std::time::Duration::from_millis(u64::from(*ms))).await;
                continue;
            }
        };
        let overlap = matches!(step, Step::Call { overlap: true, .. });
        let (server, session) = (server.clone(), Arc::clone(session));
        let handled = tokio::spawn(async move {
            let answer =
                tokio::time::timeout(PATIENCE, server.handle_bytes(&session, &bytes)).await;
            if let Ok(answer) = &answer {
                check_answer(&bytes, answer.as_ref());
            }
            answer.ok().flatten()
        });
        if overlap {
            overlapping.push(handled);
        } else if let Ok(Some(answer)) = handled.await {
            seen.learn(&answer);
        }
    }
    for handled in overlapping {
        let _ = handled.await;
    }
}
