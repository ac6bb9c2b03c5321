//! Input for 2025-11-25 tasks: while a task is `input_required`, a pending `tasks/result`
//! delivers the task's queued requests (`elicitation/create`) to the client as server →
//! client JSON-RPC requests, and the client's responses answer them.

use std::collections::HashSet;

use serde_json::{Map, Value, json};
use taskward_core::{Error, InputRequest, Outcome, Status, TaskId};
use taskward_runtime::EventFilter;

use crate::jsonrpc::RequestId;
use crate::server::Server;
use crate::session::{Session, Sink};
use crate::wire::related_task_meta;

/// Waits for a task's outcome (returned once durable, as [`Taskward::wait`] returns it).
/// Each time the task is `input_required`, its outstanding requests not yet sent by this
/// call are sent on `sink`, with ids the session keeps to match the client's responses
/// ([`on_response`]).
///
/// [`Taskward::wait`]: taskward_runtime::Taskward::wait
pub(crate) async fn await_outcome(
    server: &Server,
    session: &Session,
    id: TaskId,
    sink: &Sink,
) -> Result<Outcome, Error> {
    let ward = server.ward();
    let scope = session.scope();
    // Subscribed before the first read, so that no change is missed.
    let mut events = ward.subscribe(
        EventFilter::all()
            .scope(scope.clone())
            .task(id)
            .without_progress(),
    );
    let mut delivered: HashSet<String> = HashSet::new();
    loop {
        let record = match ward.get(scope, id) {
            Ok(record) => record,
            // Not in this node's memory: held by another node (or unknown); its requests
            // are read from the shared table.
            Err(Error::NotFound(_)) if ward.has_shared_tasks() => {
                return await_elsewhere(server, session, id, sink, delivered).await;
            }
            Err(Error::NotFound(_)) => return ward.wait(scope, id).await,
            Err(error) => return Err(error),
        };
        if record.outcome.is_some() {
            // Through `wait`, which returns once the end is durable: a `get` shows it as it
            // happens, before the store has it.
            return ward.wait(scope, id).await;
        }
        if record.status == Status::InputRequired {
            let requests = ward.input_requests(scope, id)?;
            deliver(session, id, sink, requests, &mut delivered);
        }
        tokio::select! {
            outcome = ward.wait(scope, id) => return outcome,
            // Any event of the task (or a lag) is a reason to look again; none means the
            // runtime is gone.
            event = events.recv() => {
                if event.is_none() {
                    return ward.wait(scope, id).await;
                }
            }
        }
    }
}

/// [`await_outcome`] for a task held by another node: its record and its outstanding
/// requests are read from the shared table, again at each change the shared table signals
/// (the holding node writes the requests with the status change they cause).
async fn await_elsewhere(
    server: &Server,
    session: &Session,
    id: TaskId,
    sink: &Sink,
    mut delivered: HashSet<String>,
) -> Result<Outcome, Error> {
    let ward = server.ward();
    let scope = session.scope();
    loop {
        // Armed before the reads, so that no change between them and the wait is missed.
        let changed = ward.changed_elsewhere(id);
        let record = ward.find(scope, id).await?;
        if record.outcome.is_some() {
            return ward.wait(scope, id).await;
        }
        if record.status == Status::InputRequired
            && let Some(requests) = ward.find_input_requests(scope, id).await?
        {
            deliver(session, id, sink, requests, &mut delivered);
        }
        changed.await;
    }
}

/// Sends each request not sent yet by this call on `sink`, registered in the session.
fn deliver(
    session: &Session,
    id: TaskId,
    sink: &Sink,
    requests: Vec<InputRequest>,
    delivered: &mut HashSet<String>,
) {
    for input in requests {
        if delivered.insert(input.key.clone()) {
            let request_id = session.register_request(id, &input.key);
            let _ = sink.send(request_message(&request_id, &input.request, id));
        }
    }
}

/// The JSON-RPC request for one input request (`{method, params}`), tied to its task.
fn request_message(id: &RequestId, request: &Value, task: TaskId) -> Value {
    let method = request.get("method").cloned().unwrap_or(Value::Null);
    let mut params = match request.get("params") {
        Some(Value::Object(p)) => p.clone(),
        _ => Map::new(),
    };
    let related = related_task_meta(&task.to_string());
    match params.get_mut("_meta") {
        Some(Value::Object(meta)) => {
            if let Value::Object(related) = related {
                meta.extend(related);
            }
        }
        _ => {
            params.insert("_meta".into(), related);
        }
    }
    json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params })
}

/// A client's response to a request the server sent: its result answers the task's input
/// (an error response answers it `{"action": "cancel"}`). Responses to unknown ids, and
/// answers the task no longer waits for, are ignored.
pub(crate) async fn on_response(server: &Server, session: &Session, response: &Value) {
    let Some(id) = response
        .get("id")
        .and_then(|id| serde_json::from_value::<RequestId>(id.clone()).ok())
    else {
        return;
    };
    // A request this node sent, or, on a node of several, one another node sent for the
    // shared session.
    let taken = session.take_request(&id).or_else(|| {
        server
            .ward()
            .has_shared_tasks()
            .then(|| crate::session::parse_request(&id))
            .flatten()
    });
    let Some((task, key)) = taken else {
        return;
    };
    let answer = match response.get("result") {
        Some(result) => result.clone(),
        None => json!({ "action": "cancel" }),
    };
    if let Err(error) = server
        .ward()
        .provide_input(session.scope(), task, &key, answer)
        .await
    {
        tracing::debug!(%task, key, %error, "input answer not taken");
    }
}
