//! The hot path of a transport: `tasks/get` and task-augmented `tools/call`, in both
//! generations, read into typed structs straight from the request bytes and answered with
//! typed structs serialized once, without building `serde_json::Value` trees.
//!
//! It answers only what it is sure of: a well-formed request in the shape these methods
//! take in practice. Anything else (another method, unusual params, an unknown tool, a
//! missing task, a failed or input-waiting task in 2026-07-28) is left to the general
//! dispatch, which gives the answer it always gave; planning has no side effects, so
//! falling back is safe. The bytes answered are those the general path would send.

mod answer;
mod parse;
mod view;

use taskward_core::TaskId;

use crate::jsonrpc::RequestId;
use crate::server::Server;
use crate::tool::Tool;
use crate::wire::{CallToolParams, TaskSupport};

pub(crate) use answer::{create, get};

/// A request the hot path will answer.
#[derive(Debug)]
pub(crate) struct Plan<'a> {
    /// The request's id.
    pub(crate) id: RequestId,
    /// The method, as sent.
    pub(crate) method: &'a str,
    /// Whether it is a stateless 2026-07-28 request (with the tasks extension declared).
    pub(crate) modern: bool,
    /// What to do.
    pub(crate) op: Op,
}

/// What a planned request does.
#[derive(Debug)]
pub(crate) enum Op {
    /// `tasks/get` of a task id, as sent and parsed.
    Get { sent: String, task: TaskId },
    /// A task-augmented `tools/call` of a tool that allows tasks.
    Create {
        tool: Tool,
        params: Box<CallToolParams>,
    },
}

impl Plan<'_> {
    /// The `taskId` the request names, if it names one (`tasks/get`).
    pub(crate) fn task_id(&self) -> Option<&str> {
        match &self.op {
            Op::Get { sent, .. } => Some(sent),
            Op::Create { .. } => None,
        }
    }
}

/// Plans a request, or `None` when the general path must answer it.
pub(crate) fn plan<'a>(server: &Server, bytes: &'a [u8]) -> Option<Plan<'a>> {
    let envelope = parse::envelope(bytes)?;
    let params = envelope.params.get();
    let (modern, op) = match envelope.method {
        "tasks/get" => {
            let get: parse::GetParams<'_> = serde_json::from_str(params).ok()?;
            let modern = parse::kind(get.meta.as_ref())?;
            let task = get.task_id.parse().ok()?;
            (
                modern,
                Op::Get {
                    sent: get.task_id,
                    task,
                },
            )
        }
        "tools/call" => {
            let call: CallToolParams = serde_json::from_str(params).ok()?;
            let modern = parse::call_kind(call.meta.as_ref())?;
            let tool = server
                .inner()
                .by_name
                .get(&call.name)
                .map(|&i| server.inner().tools[i].clone())?;
            if tool.support() == TaskSupport::Forbidden || (!modern && call.task.is_none()) {
                return None;
            }
            let params = Box::new(call);
            (modern, Op::Create { tool, params })
        }
        _ => return None,
    };
    Some(Plan {
        id: envelope.id,
        method: envelope.method,
        modern,
        op,
    })
}
