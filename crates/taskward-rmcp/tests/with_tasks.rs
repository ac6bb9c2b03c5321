//! `WithTasks` over Streamable HTTP with rmcp's own client: task-capable tools run as tasks,
//! `tasks/*` are answered by the wrapper, cancel reaches the wrapped handler's work, input
//! goes through `tasks/update`, and a task is bound to its caller: another caller's id gets
//! the same error as an unknown id.

mod common;

use std::collections::BTreeMap;

use common::ask_name;
use common::served::{Client, connect, connect_with, serve};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, CancelTaskParams, ContentBlock,
    GetTaskParams, GetTaskResult, TaskPayload, TaskStatus, UpdateTaskParams,
};
use rmcp::service::{RequestContext, RoleServer, ServiceError};
use rmcp::{ErrorData as McpError, ServerHandler};
use serde_json::json;
use taskward_rmcp::{TaskContext, TaskManager, WithTasks};
use tokio::sync::mpsc;

/// The wrapped handler: `wait` runs until its request is cancelled and reports it; `ask`
/// asks for input through the task's context; `now` (plain) and `quick` (task-capable)
/// answer at once.
#[derive(Clone)]
struct Tools {
    cancelled: mpsc::UnboundedSender<()>,
}

impl ServerHandler for Tools {
    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let text = match request.name.as_ref() {
            "wait" => {
                context.ct.cancelled().await;
                self.cancelled.send(()).ok();
                "stopped".to_owned()
            }
            "ask" => {
                let task = context
                    .extensions
                    .get::<TaskContext>()
                    .ok_or_else(|| McpError::invalid_request("only as a task", None))?;
                let answer = task
                    .request_input("who", ask_name())
                    .await
                    .map_err(|_| McpError::internal_error("no answer", None))?;
                format!(
                    "Hello, {}!",
                    answer["content"]["who"].as_str().unwrap_or("?")
                )
            }
            _ => "now".to_owned(),
        };
        Ok(CallToolResult::success(vec![ContentBlock::text(text)]).into())
    }
}

struct Fixture {
    addr: std::net::SocketAddr,
    cancelled: mpsc::UnboundedReceiver<()>,
}

async fn fixture() -> Fixture {
    let (cancelled, cancelled_rx) = mpsc::unbounded_channel();
    let server = WithTasks::new(
        Tools { cancelled },
        TaskManager::new().with_poll_interval_ms(10),
    )
    .task_tools(["wait", "ask", "quick"]);
    let addr = serve(move || server.clone()).await;
    Fixture {
        addr,
        cancelled: cancelled_rx,
    }
}

async fn call(client: &Client, tool: &str) -> CallToolResponse {
    client
        .call_tool_once(CallToolRequestParams::new(tool.to_owned()))
        .await
        .unwrap_or_else(|error| panic!("tools/call {tool}: {error}"))
}

async fn call_as_task(client: &Client, tool: &str) -> String {
    match call(client, tool).await {
        CallToolResponse::Task(created) => created.task.task_id,
        other => panic!("{tool} was not answered with a task: {other:?}"),
    }
}

async fn get(client: &Client, id: &str) -> Result<GetTaskResult, McpError> {
    match client.peer().get_task(GetTaskParams::new(id)).await {
        Ok(got) => Ok(got),
        Err(ServiceError::McpError(error)) => Err(error),
        Err(other) => panic!("tasks/get {id}: {other}"),
    }
}

/// Polls `tasks/get` (10 ms apart, the interval the server suggests) until `done` holds.
async fn until(client: &Client, id: &str, done: impl Fn(&GetTaskResult) -> bool) -> GetTaskResult {
    loop {
        let got = get(client, id).await.expect("tasks/get");
        if done(&got) {
            return got;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

fn mcp_error<T: std::fmt::Debug>(result: Result<T, ServiceError>) -> McpError {
    match result {
        Err(ServiceError::McpError(error)) => error,
        other => panic!("expected a JSON-RPC error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn marked_tools_run_as_tasks_and_others_answer_at_once() {
    let fixture = fixture().await;
    let client = connect(fixture.addr, None).await;
    assert!(
        client
            .peer()
            .peer_info()
            .unwrap()
            .capabilities
            .supports_tasks(),
        "the wrapper advertises the tasks extension"
    );
    let CallToolResponse::Complete(result) = call(&client, "now").await else {
        panic!("an unmarked tool ran as a task");
    };
    assert_eq!(result.content[0].as_text().unwrap().text, "now");
    let id = call_as_task(&client, "wait").await;
    assert_eq!(
        get(&client, &id).await.unwrap().task.status(),
        TaskStatus::Working
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_without_the_extension_gets_a_plain_answer_from_a_task_capable_tool() {
    let fixture = fixture().await;
    let plain = connect_with(fixture.addr, None, Default::default()).await;
    let CallToolResponse::Complete(result) = call(&plain, "quick").await else {
        panic!("a client without the tasks extension was answered with a task");
    };
    assert_eq!(result.content[0].as_text().unwrap().text, "now");
    let with_tasks = connect(fixture.addr, None).await;
    assert!(matches!(
        call(&with_tasks, "quick").await,
        CallToolResponse::Task(_)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_cancel_reaches_the_wrapped_handlers_work() {
    let mut fixture = fixture().await;
    let client = connect(fixture.addr, Some("alice")).await;
    let id = call_as_task(&client, "wait").await;
    client
        .peer()
        .cancel_task(CancelTaskParams::new(id.clone()))
        .await
        .expect("tasks/cancel is acknowledged");
    fixture
        .cancelled
        .recv()
        .await
        .expect("the work saw the cancel");
    let ended = get(&client, &id).await.unwrap();
    assert_eq!(ended.task.payload, TaskPayload::Cancelled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn input_goes_to_the_wrapped_handler_through_tasks_update() {
    let fixture = fixture().await;
    let client = connect(fixture.addr, Some("alice")).await;
    let id = call_as_task(&client, "ask").await;
    let asking = until(&client, &id, |got| {
        got.task.status() == TaskStatus::InputRequired
    })
    .await;
    let TaskPayload::InputRequired { input_requests } = &asking.task.payload else {
        panic!("{asking:?}");
    };
    assert_eq!(input_requests["who"], ask_name());
    let answer = BTreeMap::from([(
        "who".to_owned(),
        json!({ "action": "accept", "content": { "who": "Ada" } }),
    )]);
    client
        .peer()
        .update_task(UpdateTaskParams::new(id.clone(), answer))
        .await
        .expect("tasks/update is acknowledged");
    let done = until(&client, &id, |got| got.task.status().is_terminal()).await;
    let TaskPayload::Completed { result } = &done.task.payload else {
        panic!("{done:?}");
    };
    assert_eq!(result["content"][0]["text"], json!("Hello, Ada!"));
}

/// The errors of `tasks/get`, `tasks/cancel` and `tasks/update` about `id`.
async fn answers_about(client: &Client, id: &str) -> [McpError; 3] {
    let peer = client.peer();
    [
        get(client, id).await.unwrap_err(),
        mcp_error(peer.cancel_task(CancelTaskParams::new(id)).await),
        mcp_error(
            peer.update_task(UpdateTaskParams::new(id, BTreeMap::new()))
                .await,
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_callers_task_id_gets_the_same_error_as_an_unknown_id() {
    let fixture = fixture().await;
    let alice = connect(fixture.addr, Some("alice")).await;
    let bob = connect(fixture.addr, Some("bob")).await;
    let anonymous = connect(fixture.addr, None).await;
    let id = call_as_task(&alice, "wait").await;
    let unknown = taskward_core::TaskId::new().to_string();

    for other in [&bob, &anonymous] {
        let foreign = answers_about(other, &id).await;
        let not_found = answers_about(other, &unknown).await;
        for (foreign, not_found) in foreign.iter().zip(&not_found) {
            assert_eq!(foreign.code, not_found.code);
            assert_eq!(
                foreign.message.replace(&id, "ID"),
                not_found.message.replace(&unknown, "ID")
            );
            assert_eq!(foreign.data, not_found.data);
        }
    }
    // Bob's cancel did not reach it: Alice's task still runs, and Alice may cancel it.
    assert_eq!(
        get(&alice, &id).await.unwrap().task.status(),
        TaskStatus::Working
    );
    alice
        .peer()
        .cancel_task(CancelTaskParams::new(id.clone()))
        .await
        .expect("the owner's cancel");
}
