//! The drop-in `TaskManager`, method by method: spawn, get (results and errors inline),
//! cancel reaching the work, the input round trip through update, status messages and
//! progress, unknown ids. (Timeouts, panics, TTL, limits and shutdown: `runtime_guarantees.rs`.)

mod common;

use common::{ask_name, error_of, manager, reached, result_text, text};
use rmcp::ErrorData as McpError;
use rmcp::model::{CallToolResult, ContentBlock, ErrorCode, TaskPayload, TaskStatus};
use serde_json::json;
use taskward_core::Status;
use taskward_rmcp::{TaskExit, TaskManager, TaskOptions};
use taskward_runtime::EventFilter;
use tokio::sync::oneshot;

#[tokio::test(start_paused = true)]
async fn spawn_returns_a_task_readable_at_once_and_get_reads_its_result() {
    let tasks = TaskManager::new();
    let (release, released) = oneshot::channel::<()>();
    let task = tasks
        .spawn(
            TaskOptions::new()
                .with_ttl_ms(60_000)
                .with_poll_interval_ms(250),
            |_ctx| {
                Box::pin(async move {
                    released.await.ok();
                    Ok(text("four"))
                })
            },
        )
        .await
        .unwrap();
    assert_eq!(task.status, TaskStatus::Working);
    assert_eq!(task.ttl_ms, Some(60_000));
    assert_eq!(task.poll_interval_ms, Some(250));

    let now = tasks.get_task(&task.task_id).unwrap();
    assert_eq!(now.status(), TaskStatus::Working);
    assert_eq!(now.task.task_id, task.task_id);
    assert_eq!(now.payload, TaskPayload::Working);
    assert_eq!(tasks.running_task_count(), 1);

    release.send(()).unwrap();
    let done = tasks.wait_task(&task.task_id).await.unwrap();
    assert_eq!(done.status(), TaskStatus::Completed);
    assert_eq!(result_text(&done), "four");
    assert_eq!(tasks.running_task_count(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_tool_error_result_completes_the_task_with_is_error() {
    let tasks = manager().await;
    let task = tasks
        .spawn(TaskOptions::default(), |_ctx| {
            Box::pin(async { Ok(CallToolResult::error(vec![ContentBlock::text("no disk")])) })
        })
        .await
        .unwrap();
    let done = tasks.wait_task(&task.task_id).await.unwrap();
    let TaskPayload::Completed { result } = &done.payload else {
        panic!("{done:?}");
    };
    assert_eq!(result["isError"], json!(true));
}

#[tokio::test(start_paused = true)]
async fn task_exit_error_fails_the_task_with_that_error_inline() {
    let tasks = manager().await;
    let task = tasks
        .spawn(TaskOptions::default(), |_ctx| {
            Box::pin(async {
                Err(TaskExit::Error(McpError::invalid_params(
                    "bad row",
                    Some(json!({ "row": 7 })),
                )))
            })
        })
        .await
        .unwrap();
    let done = tasks.wait_task(&task.task_id).await.unwrap();
    assert_eq!(done.status(), TaskStatus::Failed);
    let error = error_of(&done);
    assert_eq!(error["code"], json!(ErrorCode::INVALID_PARAMS.0));
    assert_eq!(error["message"], json!("bad row"));
    assert_eq!(error["data"], json!({ "row": 7 }));
}

#[tokio::test(start_paused = true)]
async fn cancel_reaches_the_work_and_ends_the_task_cancelled() {
    let tasks = manager().await;
    let (heard, heard_rx) = oneshot::channel::<bool>();
    let task = tasks
        .spawn(TaskOptions::default(), |ctx| {
            Box::pin(async move {
                ctx.cancelled().await;
                heard.send(ctx.is_cancel_requested()).ok();
                Err(TaskExit::Cancelled)
            })
        })
        .await
        .unwrap();
    tasks.cancel_task(&task.task_id).unwrap();
    assert!(heard_rx.await.unwrap(), "the work saw the cancel");
    let ended = tasks.wait_task(&task.task_id).await.unwrap();
    assert_eq!(ended.payload, TaskPayload::Cancelled);
    // Cancelling an ended task is acknowledged and changes nothing.
    tasks.cancel_task(&task.task_id).unwrap();
    assert_eq!(
        tasks.get_task(&task.task_id).unwrap().payload,
        TaskPayload::Cancelled
    );
}

#[tokio::test(start_paused = true)]
async fn input_round_trip_through_update_task() {
    let tasks = manager().await;
    let mut events = tasks
        .runtime()
        .expect("a runtime")
        .subscribe(EventFilter::all().without_progress());
    let task = tasks
        .spawn(TaskOptions::default(), |ctx| {
            Box::pin(async move {
                let answer = ctx.request_input("name", ask_name()).await?;
                let name = answer["content"]["who"].as_str().unwrap_or("nobody");
                Ok(text(&format!("Hello, {name}!")))
            })
        })
        .await
        .unwrap();
    reached(&mut events, &task.task_id, Status::InputRequired).await;

    let asking = tasks.get_task(&task.task_id).unwrap();
    let TaskPayload::InputRequired { input_requests } = &asking.payload else {
        panic!("{asking:?}");
    };
    assert_eq!(input_requests.keys().collect::<Vec<_>>(), ["name"]);
    assert_eq!(input_requests["name"], ask_name());

    tasks
        .update_task(
            &task.task_id,
            [
                ("unknown-key".to_owned(), json!("ignored")),
                (
                    "name".to_owned(),
                    json!({ "action": "accept", "content": { "who": "Ada" } }),
                ),
            ],
        )
        .unwrap();
    let done = tasks.wait_task(&task.task_id).await.unwrap();
    assert_eq!(result_text(&done), "Hello, Ada!");
}

#[tokio::test(start_paused = true)]
async fn cancel_wakes_work_parked_on_input() {
    let tasks = manager().await;
    let mut events = tasks
        .runtime()
        .expect("a runtime")
        .subscribe(EventFilter::all().without_progress());
    let (woken, woken_rx) = oneshot::channel::<bool>();
    let task = tasks
        .spawn(TaskOptions::default(), |ctx| {
            Box::pin(async move {
                let parked = ctx.request_input("name", ask_name()).await;
                woken.send(matches!(parked, Err(TaskExit::Cancelled))).ok();
                Err(TaskExit::Cancelled)
            })
        })
        .await
        .unwrap();
    reached(&mut events, &task.task_id, Status::InputRequired).await;
    tasks.cancel_task(&task.task_id).unwrap();
    assert!(
        woken_rx.await.unwrap(),
        "request_input ended with Cancelled"
    );
    assert_eq!(
        tasks.wait_task(&task.task_id).await.unwrap().payload,
        TaskPayload::Cancelled
    );
}

#[tokio::test(start_paused = true)]
async fn status_messages_and_progress_show_in_get() {
    let tasks = manager().await;
    let (release, released) = oneshot::channel::<()>();
    let (set, was_set) = oneshot::channel::<()>();
    let task = tasks
        .spawn(TaskOptions::new().with_status_message("starting"), |ctx| {
            Box::pin(async move {
                ctx.progress(3, Some(10), "three of ten");
                ctx.set_status_message("still going");
                set.send(()).ok();
                released.await.ok();
                Ok(text("done"))
            })
        })
        .await
        .unwrap();
    was_set.await.unwrap();
    // The runtime takes progress in every 10 ms.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let record = tasks
        .runtime()
        .unwrap()
        .inspect(task.task_id.parse().unwrap())
        .unwrap();
    let progress = record.progress.clone().expect("progress recorded");
    assert_eq!((progress.done, progress.total), (3, Some(10)));
    assert_eq!(
        tasks
            .get_task(&task.task_id)
            .unwrap()
            .task
            .status_message
            .as_deref(),
        Some("still going")
    );
    release.send(()).unwrap();
    tasks.wait_task(&task.task_id).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn unknown_and_malformed_ids_are_invalid_params() {
    let tasks = manager().await;
    let unknown = taskward_core::TaskId::new().to_string();
    for id in [unknown.as_str(), "not-a-task-id", ""] {
        for error in [
            tasks.get_task(id).unwrap_err(),
            tasks.cancel_task(id).unwrap_err(),
            tasks.update_task(id, []).unwrap_err(),
        ] {
            assert_eq!(error.code, ErrorCode::INVALID_PARAMS, "{id:?}");
            assert_eq!(error.message, format!("unknown task: {id}"));
        }
    }
    // A manager whose runtime has not started yet knows no task either.
    let idle = TaskManager::new();
    assert_eq!(
        idle.get_task(&unknown).unwrap_err().code,
        ErrorCode::INVALID_PARAMS
    );
    assert_eq!(idle.running_task_count(), 0);
}
