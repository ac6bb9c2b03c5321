//! What travels between nodes over MCP (issue 12): two runtimes joined as nodes of one
//! database, each serving MCP. The input requests of a task running on one node are shown
//! and answered on the other, in both generations.
//!
//! A real database has no paused clock: the tests wait for outcomes under a hang guard
//! (bounded polls), never asserting a timing.

mod common;

use std::sync::Arc;

use common::fresh;
use common::mcp::{McpNode, mcp_node, mcp_node_with, modern_scope, session_scope};
use common::node::{Probe, spec, within};
use serde_json::{Value, json};
use taskward_core::{ClosePolicy, Outcome, Status};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_input_requests_of_a_task_on_node_a_are_shown_on_b_and_answered_there_in_2026_07_28() {
    let (_server, url) = fresh();
    let (_, a, b) = two_nodes(&url).await;
    let task = a
        .ward
        .submit_kind(spec("ask").scope(modern_scope()), json!(null))
        .await
        .expect("submitted on A");
    let id = task.id();

    // Polled on B until its shared view shows the task waiting with its request.
    let got = within("B shows the request", async {
        loop {
            let got = b.modern("tasks/get", json!({"taskId": id})).await;
            if got["result"]["status"] == "input_required"
                && got["result"].get("inputRequests").is_some()
            {
                return got;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await;
    assert_eq!(
        got["result"]["inputRequests"],
        json!({"name": {"message": "name?"}}),
        "{got}"
    );

    let updated = b
        .modern(
            "tasks/update",
            json!({"taskId": id, "inputResponses": {"name": "Ada"}}),
        )
        .await;
    assert_eq!(updated["result"]["resultType"], "complete", "{updated}");
    let outcome = within("A's work ends", task.wait()).await.unwrap();
    assert_eq!(outcome, Outcome::completed(json!({"hello": "Ada"})));
    let got = b.modern("tasks/get", json!({"taskId": id})).await;
    assert_eq!(got["result"]["status"], "completed", "{got}");
    assert!(got["result"].get("inputRequests").is_none(), "{got}");
    a.stop().await;
    b.stop().await;
}

/// Two MCP nodes on `url` (sessions idle after 5 s), and the probe of node A's works.
async fn two_nodes(url: &str) -> (Arc<Probe>, McpNode, McpNode) {
    let probe_a = Arc::new(Probe::default());
    let a = mcp_node(url, &probe_a).await;
    let b = mcp_node(url, &Arc::new(Probe::default())).await;
    (probe_a, a, b)
}

/// The JSON-RPC messages of a `text/event-stream` body.
fn events(body: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(body)
        .lines()
        .filter_map(|line| line.strip_prefix("data:"))
        .filter_map(|data| serde_json::from_str(data.trim()).ok())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_result_on_node_b_relays_the_elicitation_of_a_task_on_a_in_2025_11_25() {
    let (_server, url) = fresh();
    let (_, a, b) = two_nodes(&url).await;
    let sid = a.session().await;
    let task = a
        .ward
        .submit_kind(spec("ask").scope(session_scope(&sid)), json!(null))
        .await
        .expect("submitted on A");
    let id = task.id();
    within("A's work asks", async {
        while a.ward.get(&session_scope(&sid), id).unwrap().status != Status::InputRequired {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    })
    .await;

    // tasks/result on B: its stream carries the elicitation before the result.
    let result = common::mcp::request("tasks/result", json!({"taskId": id}));
    let response = within(
        "B answers tasks/result",
        b.call("POST", Some(&sid), Some(&result)),
    )
    .await;
    assert_eq!(response.status(), 200);
    let mut body = response.into_body().into_data_stream();
    let elicitation = within("B relays the elicitation", async {
        use futures_util::StreamExt;
        let mut seen = Vec::new();
        loop {
            let chunk = body.next().await.expect("the stream is open").unwrap();
            seen.extend_from_slice(&chunk);
            if let Some(message) = events(&seen)
                .into_iter()
                // The `ask` kind's request is not an MCP one: a request without a method,
                // tied to the task.
                .find(|m| {
                    m["id"]
                        .as_str()
                        .is_some_and(|id| id.starts_with("taskward-"))
                })
            {
                return message;
            }
        }
    })
    .await;
    assert_eq!(
        elicitation["params"]["_meta"]["io.modelcontextprotocol/related-task"]["taskId"],
        json!(id),
        "{elicitation}"
    );

    // The client's answer lands on a third place: node A, which did not send the request.
    let answer = json!({"jsonrpc": "2.0", "id": elicitation["id"], "result": {"action": "accept", "content": {"name": "Ada"}}});
    let (status, _, _) = a.send("POST", Some(&sid), Some(&answer)).await;
    assert_eq!(status, 202);
    let outcome = within("A's work ends", task.wait()).await.unwrap();
    assert_eq!(
        outcome,
        Outcome::completed(json!({"hello": {"action": "accept", "content": {"name": "Ada"}}}))
    );
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_deleted_on_a_is_gone_on_b_and_c_and_its_tasks_on_b_are_cancelled() {
    let (_server, url) = fresh();
    let (probe_a, probe_b) = (Arc::new(Probe::default()), Arc::new(Probe::default()));
    let mut options = taskward_mcp::ServerOptions::default();
    // Long enough that no node's idle expiry plays a part.
    options.session_idle_timeout = Some(std::time::Duration::from_secs(30));
    options.close_policy = ClosePolicy::Cancel;
    let a = mcp_node_with(&url, &probe_a, options.clone()).await;
    let b = mcp_node_with(&url, &probe_b, options.clone()).await;
    let sid = a.session().await;
    // B holds the session too, and runs one of its tasks.
    let (status, _) = b.legacy(&sid, "ping", json!({})).await;
    assert_eq!(status, 200);
    let task = b
        .ward
        .submit_kind(
            spec("wait_for_cancel").scope(session_scope(&sid)),
            json!(null),
        )
        .await
        .expect("submitted on B");
    within("the work starts on B", probe_b.started.notified()).await;

    let (status, _, _) = a.send("DELETE", Some(&sid), None).await;
    assert_eq!(status, 200);
    // The close policy reached the task on B before the DELETE was answered.
    let reader = common::cluster::cluster(&url).await;
    let row = reader.get(&session_scope(&sid), task.id()).await.unwrap();
    assert_eq!(row.map(|r| r.status), Some(Status::Cancelled));
    within("B's work sees its token", probe_b.saw_cancel.notified()).await;
    let outcome = within("B's task ends", task.wait()).await.unwrap();
    assert!(matches!(outcome, Outcome::Cancelled(_)), "{outcome:?}");

    // A node that never held it does not take it in; B, which did, lets go of it (bounded:
    // polled).
    let c = mcp_node_with(&url, &Arc::new(Probe::default()), options).await;
    let (status, _) = c.legacy(&sid, "ping", json!({})).await;
    assert_eq!(status, 404);
    within("B finds the session ended", async {
        while b.legacy(&sid, "ping", json!({})).await.0 != 404 {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    })
    .await;
    let (status, _) = c.legacy(&sid, "ping", json!({})).await;
    assert_eq!(status, 404, "not written back by B");
    a.stop().await;
    b.stop().await;
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_idle_on_a_but_used_on_b_is_not_ended_by_a() {
    let (_server, url) = fresh();
    let mut options = taskward_mcp::ServerOptions::default();
    options.session_idle_timeout = Some(std::time::Duration::from_secs(2));
    let a = mcp_node_with(&url, &Arc::new(Probe::default()), options.clone()).await;
    let b = mcp_node_with(&url, &Arc::new(Probe::default()), options).await;
    let sid = a.session().await;
    // Used on B only, until A's expiry timer has dealt with its idle copy.
    within("A's idle copy goes", async {
        while a.server.session_count() != 0 {
            let (status, _) = b.legacy(&sid, "ping", json!({})).await;
            assert_eq!(status, 200, "the session ended while in use on B");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    })
    .await;
    // B goes on serving it past its next look in the shared table (a tenth of the idle
    // timeout), and A takes it in again.
    for _ in 0..5 {
        let (status, _) = b.legacy(&sid, "ping", json!({})).await;
        assert_eq!(status, 200, "ended by A's idle expiry");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (status, _) = a.legacy(&sid, "ping", json!({})).await;
    assert_eq!(status, 200);
    a.stop().await;
    b.stop().await;
}

/// Whether a message is notification `method` of task `id` with `status`.
fn of_task(method: &'static str, id: &Value, status: &'static str) -> impl Fn(&Value) -> bool {
    let id = id.clone();
    move |m: &Value| {
        m["method"] == method && m["params"]["taskId"] == id && m["params"]["status"] == status
    }
}

/// Reads `body` (a `text/event-stream`) until a message `wanted` accepts.
async fn next_message(
    body: &mut (impl futures_util::Stream<Item = Result<axum::body::Bytes, axum::Error>> + Unpin),
    seen: &mut Vec<u8>,
    wanted: impl Fn(&Value) -> bool,
) -> Value {
    use futures_util::StreamExt;
    loop {
        if let Some(at) = events(seen).iter().position(&wanted) {
            let message = events(seen).swap_remove(at);
            // Forget what was read up to the end of the last complete event.
            let text = String::from_utf8_lossy(seen).into_owned();
            let end = text.rfind("\n\n").map_or(0, |i| i + 2);
            seen.drain(..end);
            return message;
        }
        let chunk = body.next().await.expect("the stream is open").unwrap();
        seen.extend_from_slice(&chunk);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_of_a_task_on_node_b_is_notified_on_the_stream_held_on_node_a() {
    let (_server, url) = fresh();
    let (_, a, b) = two_nodes(&url).await;
    let sid = a.session().await;
    let stream = a.call("GET", Some(&sid), None).await;
    assert_eq!(stream.status(), 200);
    let mut body = stream.into_body().into_data_stream();
    let mut seen = Vec::new();

    let task = b
        .ward
        .submit_kind(spec("ask").scope(session_scope(&sid)), json!(null))
        .await
        .expect("submitted on B");
    let id = json!(task.id());
    let of_task = |status| of_task("notifications/tasks/status", &id, status);
    within(
        "A notifies input_required",
        next_message(&mut body, &mut seen, of_task("input_required")),
    )
    .await;
    b.ward
        .provide_input(&session_scope(&sid), task.id(), "name", json!("Ada"))
        .await
        .unwrap();
    within(
        "A notifies completed",
        next_message(&mut body, &mut seen, of_task("completed")),
    )
    .await;
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_listen_on_b_follows_a_task_running_on_a_in_2026_07_28() {
    let (_server, url) = fresh();
    let (probe_a, a, b) = two_nodes(&url).await;
    let task = a
        .ward
        .submit_kind(spec("ask_later").scope(modern_scope()), json!(null))
        .await
        .expect("submitted on A");
    let id = json!(task.id());
    let listening = within(
        "B answers subscriptions/listen",
        b.modern_call(
            "subscriptions/listen",
            json!({"notifications": {"taskIds": [id]}}),
        ),
    )
    .await;
    assert_eq!(listening.status(), 200);
    let mut body = listening.into_body().into_data_stream();
    let mut seen = Vec::new();
    let of_task = |status| of_task("notifications/tasks", &id, status);
    within(
        "the state as of the subscription",
        next_message(&mut body, &mut seen, of_task("working")),
    )
    .await;
    probe_a.go.notify_one();
    let asked = within(
        "B notifies input_required",
        next_message(&mut body, &mut seen, of_task("input_required")),
    )
    .await;
    assert_eq!(
        asked["params"]["inputRequests"],
        json!({"name": {"message": "name?"}}),
        "{asked}"
    );
    b.modern(
        "tasks/update",
        json!({"taskId": id, "inputResponses": {"name": "Ada"}}),
    )
    .await;
    within(
        "B notifies completed",
        next_message(&mut body, &mut seen, of_task("completed")),
    )
    .await;
    a.stop().await;
    b.stop().await;
}
