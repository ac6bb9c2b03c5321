//! Answering a planned request: the whole JSON-RPC response, serialized once.

use std::sync::Arc;

use serde::Serialize;
use taskward_core::{Outcome, Status, TaskId};

use super::view::{Created, ModernTask, Success, Task};
use crate::calls::submit_task;
use crate::jsonrpc::{self, RequestId};
use crate::modern::submit_modern_task;
use crate::server::Server;
use crate::session::Session;
use crate::tool::Tool;
use crate::wire::CallToolParams;

fn success(id: &RequestId, result: impl Serialize) -> Vec<u8> {
    let success = Success {
        id,
        jsonrpc: "2.0",
        result,
    };
    // Room for a whole `Task` answer, so that writing it never reallocates.
    let mut bytes = Vec::with_capacity(512);
    match serde_json::to_writer(&mut bytes, &success) {
        Ok(()) => bytes,
        Err(_) => Vec::new(),
    }
}

/// `tasks/get` of a session (`session`) or of a stateless request (`None`) of `principal`;
/// `None` when the general path must answer (a task not in this node's memory, which on a
/// node of several it reads from the shared table; or in 2026-07-28 a failed or
/// input-waiting task, whose details it adds). So the fast path never awaits.
pub(crate) fn get(
    server: &Server,
    session: Option<&Session>,
    principal: Option<&str>,
    id: &RequestId,
    task: TaskId,
) -> Option<Vec<u8>> {
    let poll = server.options().poll_interval_ms;
    let Some(session) = session else {
        let record = server
            .ward()
            .get(&server.modern_scope(principal), task)
            .ok()?;
        let result = match (&record.outcome, record.status) {
            (Some(Outcome::Completed { value }), _) => Some(value),
            (Some(Outcome::Failed(_)), _) | (None, Status::InputRequired) => return None,
            _ => None,
        };
        return Some(success(
            id,
            ModernTask::new(&record, poll, "complete", result),
        ));
    };
    let record = server.ward().get(session.scope(), task).ok()?;
    Some(success(id, Task::new(&record, poll)))
}

/// A task-augmented `tools/call`, in a session's scope (`session`) or in the stateless
/// scope of `principal` (`None`): the `CreateTaskResult`, or the error of a refused submit.
pub(crate) async fn create(
    server: &Server,
    session: Option<&Arc<Session>>,
    principal: Option<&str>,
    id: &RequestId,
    tool: Tool,
    params: CallToolParams,
) -> Vec<u8> {
    let poll = server.options().poll_interval_ms;
    let submitted = match session {
        Some(session) => submit_task(server, session, tool, params)
            .await
            .map(|handle| {
                success(
                    id,
                    Created {
                        task: Task::new(handle.record(), poll),
                    },
                )
            }),
        None => {
            let scope = server.modern_scope(principal);
            let arguments = params.arguments.unwrap_or_default();
            submit_modern_task(server, &scope, tool, &params.name, arguments)
                .await
                .map(|handle| success(id, ModernTask::new(handle.record(), poll, "task", None)))
        }
    };
    submitted.unwrap_or_else(|error| {
        serde_json::to_vec(&jsonrpc::failure(Some(id), &error)).unwrap_or_default()
    })
}
