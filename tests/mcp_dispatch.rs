//! The MCP tasks binding (revision 2025-11-25), message by message against
//! `Server::handle_bytes`: capabilities, taskSupport, CreateTaskResult, tasks/get, blocking
//! tasks/result, scoped and paginated tasks/list, tasks/cancel, errors, and the notifications
//! pushed to the session.

mod mcp_support;

use std::collections::HashSet;
use std::time::Duration;

use mcp_support::{call, err, ok, server, session, settle, start_task};
use serde_json::{Value, json};
use tokio::sync::mpsc::UnboundedReceiver;

const RELATED: &str = "io.modelcontextprotocol/related-task";

#[tokio::test(start_paused = true)]
async fn initialize_declares_exactly_the_tasks_capability() {
    let server = server().await;
    let (session, _rx) = server.open_session(None);
    let answer = mcp_support::send(&server, &session, &mcp_support::initialize_request())
        .await
        .expect("answered");
    let result = &answer["result"];
    assert_eq!(result["protocolVersion"], "2025-11-25");
    assert_eq!(
        result["capabilities"]["tasks"],
        json!({"list": {}, "cancel": {}, "requests": {"tools": {"call": {}}}})
    );
    assert!(result["serverInfo"]["name"].is_string());
    assert!(session.is_initialized());
}

#[tokio::test(start_paused = true)]
async fn tools_list_gives_each_tools_task_support() {
    let server = server().await;
    let (session, _rx) = session(&server).await;
    let result = ok(&server, &session, "tools/list", json!({})).await;
    let support = |name: &str| {
        result["tools"]
            .as_array()
            .expect("tools")
            .iter()
            .find(|t| t["name"] == name)
            .unwrap_or_else(|| panic!("{name} listed"))["execution"]["taskSupport"]
            .clone()
    };
    assert_eq!(support("echo"), "optional");
    assert_eq!(support("plain_only"), "forbidden");
    assert_eq!(support("task_only"), "required");
    for tool in result["tools"].as_array().expect("tools") {
        assert!(tool["inputSchema"].is_object(), "{tool}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_task_augmented_call_answers_create_task_result_at_once() {
    let server = server().await;
    let (session, _rx) = session(&server).await;
    let result = ok(
        &server,
        &session,
        "tools/call",
        json!({"name": "sleep", "arguments": {"ms": 60_000}, "task": {"ttl": 30_000}}),
    )
    .await;
    let task = &result["task"];
    let keys: HashSet<&str> = task
        .as_object()
        .expect("task object")
        .keys()
        .map(String::as_str)
        .collect();
    for key in [
        "taskId",
        "status",
        "createdAt",
        "lastUpdatedAt",
        "ttl",
        "pollInterval",
    ] {
        assert!(keys.contains(key), "{key} missing from {task}");
    }
    assert_eq!(task["status"], "working");
    assert_eq!(task["ttl"], 30_000);
    assert_eq!(task["pollInterval"], 1000);
    assert_eq!(result.as_object().expect("result").len(), 1, "{result}");
    let id = task["taskId"].as_str().expect("id");
    assert_eq!(id.len(), 36, "a uuid: {id}");
    for stamp in ["createdAt", "lastUpdatedAt"] {
        let s = task[stamp].as_str().expect("a timestamp");
        assert!(
            s.contains('T') && (s.ends_with('Z') || s.contains('+')),
            "{s}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn tasks_get_answers_the_task_flat() {
    let server = server().await;
    let (session, _rx) = session(&server).await;
    let id = start_task(&server, &session, "sleep", json!({"ms": 1000})).await;
    let task = ok(&server, &session, "tasks/get", json!({"taskId": id})).await;
    assert_eq!(task["taskId"], id.as_str());
    assert_eq!(task["status"], "working");
    assert!(task.get("task").is_none(), "flat, no wrapper: {task}");
    assert!(
        task.get("_meta").is_none(),
        "get carries no related-task: {task}"
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let task = ok(&server, &session, "tasks/get", json!({"taskId": id})).await;
    assert_eq!(task["status"], "completed");
}

#[tokio::test(start_paused = true)]
async fn tasks_result_blocks_until_terminal_and_answers_the_call_tool_result() {
    let server = server().await;
    let (session, _rx) = session(&server).await;
    let id = start_task(&server, &session, "sleep", json!({"ms": 1000})).await;
    let waiter = {
        let (server, session, id) = (server.clone(), session.clone(), id.clone());
        tokio::spawn(
            async move { ok(&server, &session, "tasks/result", json!({"taskId": id})).await },
        )
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!waiter.is_finished(), "tasks/result waits for the task");
    let result = waiter.await.expect("no panic");
    assert_eq!(
        result,
        json!({
            "content": [{"type": "text", "text": "slept 1000"}],
            "structuredContent": {"ms": 1000},
            "_meta": {RELATED: {"taskId": id}},
        })
    );
    // And again, now that it is terminal.
    let again = ok(&server, &session, "tasks/result", json!({"taskId": id})).await;
    assert_eq!(again, result);
}

#[tokio::test(start_paused = true)]
async fn is_error_fails_the_task_and_tasks_result_returns_that_result() {
    let server = server().await;
    let (session, _rx) = session(&server).await;
    let id = start_task(&server, &session, "fail", json!({})).await;
    let result = ok(&server, &session, "tasks/result", json!({"taskId": id})).await;
    assert_eq!(
        result,
        json!({
            "content": [{"type": "text", "text": "it broke"}],
            "isError": true,
            "_meta": {RELATED: {"taskId": id}},
        })
    );
    let task = ok(&server, &session, "tasks/get", json!({"taskId": id})).await;
    assert_eq!(task["status"], "failed");
    assert!(task["statusMessage"].is_string(), "{task}");
    // A plain call of the same tool answers the same result, without the related-task key.
    let plain = ok(&server, &session, "tools/call", json!({"name": "fail"})).await;
    assert_eq!(plain["isError"], true);
    assert!(plain.get("_meta").is_none());
}

#[tokio::test(start_paused = true)]
async fn tasks_list_is_scoped_and_paginated_with_an_opaque_cursor() {
    let server = server().await;
    let (mine, _rx1) = session(&server).await;
    let (theirs, _rx2) = session(&server).await;
    let mut created = Vec::new();
    for _ in 0..105 {
        created.push(start_task(&server, &mine, "echo", json!({"text": "x"})).await);
    }
    let foreign = start_task(&server, &theirs, "echo", json!({"text": "y"})).await;
    // Plain calls never show in tasks/list.
    ok(&server, &mine, "tools/call", json!({"name": "echo"})).await;

    let mut listed = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let params = match &cursor {
            Some(c) => json!({"cursor": c}),
            None => json!({}),
        };
        let page = ok(&server, &mine, "tasks/list", params).await;
        pages += 1;
        for task in page["tasks"].as_array().expect("tasks") {
            listed.push(task["taskId"].as_str().expect("id").to_owned());
            assert!(task.get("_meta").is_none());
        }
        match page.get("nextCursor").and_then(Value::as_str) {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert!(pages >= 2, "105 tasks take more than one page");
    assert_eq!(
        listed, created,
        "every task of the session once, oldest first"
    );
    assert!(!listed.contains(&foreign));

    let theirs_list = ok(&server, &theirs, "tasks/list", json!({})).await;
    assert_eq!(theirs_list["tasks"].as_array().expect("tasks").len(), 1);

    for bad in ["not-a-cursor", "", "9999999999999999999999999"] {
        let error = err(&server, &mine, "tasks/list", json!({"cursor": bad})).await;
        assert_eq!(error["code"], -32602, "cursor {bad:?}: {error}");
    }
}

#[tokio::test(start_paused = true)]
async fn tasks_cancel_answers_the_task_already_cancelled() {
    let server = server().await;
    let (session, _rx) = session(&server).await;
    let id = start_task(&server, &session, "sleep", json!({"ms": 60_000})).await;
    let task = ok(&server, &session, "tasks/cancel", json!({"taskId": id})).await;
    assert_eq!(task["taskId"], id.as_str());
    assert_eq!(task["status"], "cancelled");
    let task = ok(&server, &session, "tasks/get", json!({"taskId": id})).await;
    assert_eq!(task["status"], "cancelled", "it stays cancelled");

    let again = err(&server, &session, "tasks/cancel", json!({"taskId": id})).await;
    assert_eq!(again["code"], -32602);
    assert!(
        again["message"]
            .as_str()
            .expect("message")
            .contains("'cancelled'"),
        "{again}"
    );
    // tasks/result of a cancelled task is a JSON-RPC error tied to the task.
    let error = err(&server, &session, "tasks/result", json!({"taskId": id})).await;
    assert_eq!(error["data"]["_meta"][RELATED]["taskId"], id.as_str());

    let done = start_task(&server, &session, "echo", json!({"text": "x"})).await;
    ok(&server, &session, "tasks/result", json!({"taskId": done})).await;
    let error = err(&server, &session, "tasks/cancel", json!({"taskId": done})).await;
    assert_eq!(error["code"], -32602);
    assert!(
        error["message"]
            .as_str()
            .expect("message")
            .contains("'completed'"),
        "{error}"
    );
}

#[tokio::test(start_paused = true)]
async fn task_support_violations_are_method_not_found() {
    let server = server().await;
    let (session, _rx) = session(&server).await;
    let error = err(
        &server,
        &session,
        "tools/call",
        json!({"name": "plain_only", "task": {}}),
    )
    .await;
    assert_eq!(
        error["code"], -32601,
        "task-augmented call of a forbidden tool"
    );
    let error = err(
        &server,
        &session,
        "tools/call",
        json!({"name": "task_only"}),
    )
    .await;
    assert_eq!(error["code"], -32601, "plain call of a required tool");
    // The allowed ways work.
    let plain = ok(
        &server,
        &session,
        "tools/call",
        json!({"name": "plain_only"}),
    )
    .await;
    assert_eq!(plain["content"][0]["text"], "plain");
    start_task(&server, &session, "task_only", json!({})).await;
}

#[tokio::test(start_paused = true)]
async fn unknown_and_foreign_task_ids_get_the_same_error() {
    let server = server().await;
    let (mine, _rx1) = session(&server).await;
    let (theirs, _rx2) = session(&server).await;
    let foreign = start_task(&server, &theirs, "sleep", json!({"ms": 60_000})).await;
    let unknown = "4f1c0e6a-9d7b-4d53-8f7e-2b1a3c4d5e6f".to_owned();
    for method in ["tasks/get", "tasks/result", "tasks/cancel"] {
        let mut shapes = Vec::new();
        for id in [&foreign, &unknown, &"not-a-uuid".to_owned()] {
            let error = err(&server, &mine, method, json!({"taskId": id})).await;
            assert_eq!(error["code"], -32602, "{method} {id}: {error}");
            let message = error["message"]
                .as_str()
                .expect("message")
                .replace(id.as_str(), "ID");
            shapes.push((message, error.get("data").cloned()));
        }
        assert!(
            shapes.windows(2).all(|w| w[0] == w[1]),
            "{method}: foreign and unknown ids look alike: {shapes:?}"
        );
    }
    // The foreign task is untouched.
    let task = ok(&server, &theirs, "tasks/get", json!({"taskId": foreign})).await;
    assert_eq!(task["status"], "working");
}

/// The notifications queued for the session so far.
fn drain(rx: &mut UnboundedReceiver<Value>) -> Vec<Value> {
    let mut out = Vec::new();
    while let Ok(n) = rx.try_recv() {
        out.push(n);
    }
    out
}

#[tokio::test(start_paused = true)]
async fn status_notifications_follow_transitions() {
    let server = server().await;
    let (session, mut rx) = session(&server).await;
    let done = start_task(&server, &session, "sleep", json!({"ms": 100})).await;
    let cancelled = start_task(&server, &session, "sleep", json!({"ms": 60_000})).await;
    settle().await;
    ok(
        &server,
        &session,
        "tasks/cancel",
        json!({"taskId": cancelled}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let statuses: Vec<(String, String)> = drain(&mut rx)
        .into_iter()
        .filter(|n| n["method"] == "notifications/tasks/status")
        .map(|n| {
            assert!(n["params"]["createdAt"].is_string(), "a full Task: {n}");
            (
                n["params"]["taskId"].as_str().expect("id").to_owned(),
                n["params"]["status"].as_str().expect("status").to_owned(),
            )
        })
        .collect();
    assert!(
        statuses.contains(&(done.clone(), "completed".into())),
        "{statuses:?}"
    );
    assert!(
        statuses.contains(&(cancelled.clone(), "cancelled".into())),
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|(id, _)| *id == done).count(),
        1,
        "one notification a transition: {statuses:?}"
    );
    // Plain calls send no task status.
    ok(&server, &session, "tools/call", json!({"name": "echo"})).await;
    settle().await;
    assert!(drain(&mut rx).is_empty());
}

#[tokio::test(start_paused = true)]
async fn progress_uses_the_request_token_and_stops_at_the_terminal_status() {
    let server = server().await;
    let (session, mut rx) = session(&server).await;
    let result = ok(
        &server,
        &session,
        "tools/call",
        json!({
            "name": "steps",
            "arguments": {"n": 5, "ms": 100},
            "task": {},
            "_meta": {"progressToken": "tok-1"},
        }),
    )
    .await;
    let id = result["task"]["taskId"].as_str().expect("id").to_owned();
    ok(&server, &session, "tasks/result", json!({"taskId": id})).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let all = drain(&mut rx);
    let terminal = all
        .iter()
        .position(|n| {
            n["method"] == "notifications/tasks/status" && n["params"]["status"] == "completed"
        })
        .unwrap_or_else(|| panic!("a completed notification: {all:?}"));
    let progress: Vec<&Value> = all
        .iter()
        .filter(|n| n["method"] == "notifications/progress")
        .collect();
    assert!(progress.len() >= 2, "progress was forwarded: {all:?}");
    let mut last = 0;
    for n in &progress {
        assert_eq!(n["params"]["progressToken"], "tok-1");
        assert_eq!(n["params"]["total"], 5);
        assert_eq!(n["params"]["_meta"][RELATED]["taskId"], id.as_str());
        let p = n["params"]["progress"].as_u64().expect("progress");
        assert!(p > last, "progress increases");
        last = p;
    }
    assert!(
        all[terminal..]
            .iter()
            .all(|n| n["method"] != "notifications/progress"),
        "no progress after the terminal status: {all:?}"
    );

    // A plain call with a token gets progress too (an integer token, kept as sent).
    let answer = call(
        &server,
        &session,
        "tools/call",
        json!({"name": "steps", "arguments": {"n": 2, "ms": 100}, "_meta": {"progressToken": 7}}),
    )
    .await;
    assert_eq!(answer["result"]["content"][0]["text"], "done");
    settle().await;
    let plain: Vec<Value> = drain(&mut rx);
    assert!(
        plain
            .iter()
            .any(|n| n["method"] == "notifications/progress" && n["params"]["progressToken"] == 7),
        "{plain:?}"
    );
    assert!(
        plain
            .iter()
            .all(|n| n["method"] != "notifications/tasks/status")
    );
}

#[tokio::test(start_paused = true)]
async fn a_task_call_over_the_running_cap_queues_and_stays_working() {
    let ward = taskward::Taskward::builder()
        .max_running(1)
        .spawn()
        .await
        .expect("runtime starts");
    let server = mcp_support::server_on(ward);
    let (session, _rx) = session(&server).await;
    let first = start_task(&server, &session, "sleep", json!({"ms": 1000})).await;
    let second = start_task(&server, &session, "sleep", json!({"ms": 1000})).await;
    let task = ok(&server, &session, "tasks/get", json!({"taskId": second})).await;
    assert_eq!(task["status"], "working", "queued, not refused: {task}");
    assert_eq!(task["statusMessage"], "queued: waiting for a running slot");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    for id in [first, second] {
        let task = ok(&server, &session, "tasks/get", json!({"taskId": id})).await;
        assert_eq!(task["status"], "completed", "{task}");
    }
}
