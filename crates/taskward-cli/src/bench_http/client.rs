//! One client of the load: JSON-RPC over `POST /mcp` on a keep-alive connection pool
//! (hyper-util's client), in either generation.

use std::borrow::Cow;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::header::{ACCEPT, CONTENT_TYPE, HeaderValue};
use hyper_util::client::legacy::Client as Pool;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Deserialize;

use super::load::Generation;
use crate::BoxError;

/// The HTTP client shared by every load client: it keeps one idle connection per client.
pub(super) type Http = Pool<HttpConnector, Full<Bytes>>;

/// A client pool for `clients` concurrent clients.
pub(super) fn http(clients: usize) -> Http {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    Pool::builder(TokioExecutor::new())
        .pool_max_idle_per_host(clients)
        .build(connector)
}

/// The `_meta` of a stateless request that declares the tasks extension.
const MODERN_META: &str = r#""_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"bench-http","version":"0"},"io.modelcontextprotocol/clientCapabilities":{"extensions":{"io.modelcontextprotocol/tasks":{}}}}"#;

/// One client: its connection pool, its session (2025-11-25) and its request ids.
#[derive(Debug)]
pub(super) struct Client {
    http: Http,
    uri: hyper::Uri,
    generation: Generation,
    session: Option<HeaderValue>,
    next_id: u64,
}

/// The part of an answer the load reads: the task's id and status, wherever the
/// generation puts them.
#[derive(Deserialize)]
struct Answer<'a> {
    #[serde(borrow)]
    result: Option<TaskFields<'a>>,
    #[serde(borrow)]
    error: Option<ErrorFields<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TaskFields<'a> {
    /// 2025-11-25 `CreateTaskResult`.
    #[serde(borrow)]
    task: Option<Box<TaskFields<'a>>>,
    #[serde(borrow)]
    task_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    status: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct ErrorFields<'a> {
    #[serde(borrow)]
    message: Cow<'a, str>,
}

/// A task as an answer names it.
#[derive(Debug)]
pub(super) struct TaskState {
    pub(super) id: String,
    pub(super) terminal: bool,
}

impl Client {
    /// Connects (lazily) and, for sessions, initializes one.
    pub(super) async fn open(
        http: Http,
        addr: SocketAddr,
        generation: Generation,
    ) -> Result<Self, BoxError> {
        let mut client = Self {
            http,
            uri: format!("http://{addr}/mcp").parse()?,
            generation,
            session: None,
            next_id: 0,
        };
        if generation == Generation::Sessions {
            client.initialize().await?;
        }
        Ok(client)
    }

    async fn initialize(&mut self) -> Result<(), BoxError> {
        let body = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench-http","version":"0"}}}"#;
        let response = self
            .http
            .request(self.request(body.into(), "initialize", None)?)
            .await?;
        let session = response
            .headers()
            .get("mcp-session-id")
            .cloned()
            .ok_or("initialize answered no Mcp-Session-Id")?;
        response.into_body().collect().await?;
        self.session = Some(session);
        let body = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
        let request = self.request(body.into(), "notifications/initialized", None)?;
        self.http
            .request(request)
            .await?
            .into_body()
            .collect()
            .await?;
        Ok(())
    }

    /// Creates a task: a task-augmented `tools/call` of `sleep {seconds: 0}`.
    pub(super) async fn create(&mut self) -> Result<TaskState, BoxError> {
        let id = self.id();
        let body = match self.generation {
            Generation::Sessions => format!(
                r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"sleep","arguments":{{"seconds":0}},"task":{{}}}}}}"#
            ),
            Generation::Stateless => format!(
                r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"sleep","arguments":{{"seconds":0}},{MODERN_META}}}}}"#
            ),
        };
        self.call(body, "tools/call", None).await
    }

    /// Reads a task with `tasks/get`.
    pub(super) async fn get(&mut self, task: &str) -> Result<TaskState, BoxError> {
        let id = self.id();
        let body = match self.generation {
            Generation::Sessions => format!(
                r#"{{"jsonrpc":"2.0","id":{id},"method":"tasks/get","params":{{"taskId":"{task}"}}}}"#
            ),
            Generation::Stateless => format!(
                r#"{{"jsonrpc":"2.0","id":{id},"method":"tasks/get","params":{{"taskId":"{task}",{MODERN_META}}}}}"#
            ),
        };
        self.call(body, "tasks/get", Some(task)).await
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    async fn call(
        &self,
        body: String,
        method: &str,
        name: Option<&str>,
    ) -> Result<TaskState, BoxError> {
        let response = self
            .http
            .request(self.request(body.into(), method, name)?)
            .await?;
        let status = response.status();
        let bytes = response.into_body().collect().await?.to_bytes();
        let answer: Answer<'_> =
            serde_json::from_slice(&bytes).map_err(|e| format!("{method}: HTTP {status}: {e}"))?;
        if let Some(error) = answer.error {
            return Err(format!("{method}: {}", error.message).into());
        }
        let mut fields = answer
            .result
            .ok_or_else(|| format!("{method}: no result"))?;
        if let Some(task) = fields.task.take() {
            fields = *task;
        }
        let (Some(id), Some(status)) = (fields.task_id, fields.status) else {
            return Err(format!("{method}: no taskId or status").into());
        };
        Ok(TaskState {
            id: id.into_owned(),
            terminal: matches!(&*status, "completed" | "failed" | "cancelled"),
        })
    }

    fn request(
        &self,
        body: Bytes,
        method: &str,
        name: Option<&str>,
    ) -> Result<Request<Full<Bytes>>, BoxError> {
        let mut request = Request::post(self.uri.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json, text/event-stream");
        match (self.generation, &self.session) {
            (Generation::Sessions, session) => {
                request = request.header("mcp-protocol-version", "2025-11-25");
                if let Some(session) = session {
                    request = request.header("mcp-session-id", session);
                }
            }
            (Generation::Stateless, _) => {
                request = request
                    .header("mcp-protocol-version", "2026-07-28")
                    .header("mcp-method", method);
                if let Some(name) = name {
                    request = request.header("mcp-name", name);
                }
            }
        }
        Ok(request.body(Full::new(body))?)
    }
}
