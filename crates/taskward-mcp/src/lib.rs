//! The MCP tasks binding of taskward: serve tools as supervised tasks to MCP clients.
//!
//! A [`Server`] over a [`taskward_runtime::Taskward`] answers JSON-RPC messages for sessions
//! and pushes notifications to them; the [`transport`] module connects it to stdio
//! (newline-delimited JSON-RPC) and to Streamable HTTP (feature `http`, on axum).
//!
//! It speaks the tasks of MCP revision 2025-11-25: capability `tasks {list, cancel,
//! requests.tools.call}`, per-tool `execution.taskSupport`, task-augmented `tools/call`
//! answered with `CreateTaskResult` as soon as the task is recorded, `tasks/get`,
//! blocking `tasks/result`, scoped and paginated `tasks/list`, `tasks/cancel`,
//! `notifications/tasks/status` and `notifications/progress` with the request's own token.
//!
//! It also serves revision 2026-07-28 statelessly, per request: a request whose `_meta` names
//! `io.modelcontextprotocol/protocolVersion` (and `server/discover`) needs no `initialize`,
//! and the tasks extension `io.modelcontextprotocol/tasks` (SEP-2663) applies when that
//! request declares it: flat `CreateTaskResult`, detailed `tasks/get`, `tasks/update`,
//! acknowledged `tasks/cancel`, `subscriptions/listen`. See `docs/mcp.md` for the table of
//! both generations. A tool asks the client for input with
//! [`TaskContext::request_input`](taskward_runtime::TaskContext): 2025-11-25 clients get the
//! `elicitation/create` through `tasks/result`, 2026-07-28 clients in `tasks/get`.
//!
//! Every tool call, plain or task-augmented, runs as a taskward task: supervised, with its
//! timeout, progress and cancel. Plain calls take no live-task slot
//! ([`TaskSpec::outside_live_limits`](taskward_runtime::TaskSpec::outside_live_limits)), so a
//! session whose tasks fill its slots can still make them.
//!
//! Sessions are bounded ([`ServerOptions`]): at most `max_sessions` (default 10,000; over it
//! `initialize` gets [`jsonrpc::SESSION_LIMIT_EXCEEDED`]), and one unused for
//! `session_idle_timeout` (default 30 min) is closed as its client's DELETE would close it.
//! Over a runtime with a durable store, HTTP sessions are kept in it and re-created when the
//! server is built again after a restart (see `docs/mcp.md`, "Sessions across a restart").
//!
//! [`status::status_json`] renders a runtime's status for operators (`GET /status` on HTTP).
//!
//! On HTTP every request can act for a principal ([`transport::http::auth`]): static bearer
//! tokens, OAuth 2.1 JWT access tokens checked against a JWKS (with the protected-resource
//! metadata of RFC 9728), or an embedder's own layer. Sessions and stateless tasks are bound
//! to it: another principal's session or task id is answered as an unknown one.
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `http` | yes | [`transport::http`]: Streamable HTTP on axum |

pub mod jsonrpc;
pub mod status;
pub mod transport;
pub mod wire;

mod adopt;
mod calls;
mod dispatch;
mod elicit;
mod expiry;
mod fast;
mod forward;
mod kept;
mod modern;
mod server;
mod session;
mod tool;
mod tool_kind;

pub use server::{Server, ServerBuilder, ServerOptions};
pub use session::Session;
pub use tool::{Tool, ToolCall};
