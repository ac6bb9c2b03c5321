//! The drop-in `TaskManager`: each method, cancel reaching the work, timeout, a panic in the
//! work, TTL on a paused clock, the input round trip and limits refused with a typed error.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::{answers, ask_name, error_of, reached, result_text, secs, text, until_cancelled};
use rmcp::ErrorData as McpError;
use rmcp::model::{CallToolResult, ContentBlock, ErrorCode, TaskPayload, TaskStatus};
use serde_json::json;
use taskward_core::{Error, Limit, Status};
use taskward_rmcp::{TaskExit, TaskManager, TaskOptions};
use taskward_runtime::{EventFilter, Taskward};
use tokio::sync::oneshot;

/// A manager on a runtime that sweeps expired tasks every 100 ms.
async fn manager() -> TaskManager {
    let ward = Taskward::builder()
        .sweep_interval(std::time::Duration::from_millis(100))
        .spawn()
        .await
        .expect("the runtime starts");
    TaskManager::with_runtime(ward)
}

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
async fn work_that_ignores_cancel_is_aborted_after_the_grace() {
    let tasks = manager().await;
    let finished = Arc::new(AtomicBool::new(false));
    let flag = finished.clone();
    let task = tasks
        .spawn(TaskOptions::default(), move |_ctx| {
            Box::pin(async move {
                tokio::time::sleep(secs(3600)).await;
                flag.store(true, Ordering::SeqCst);
                Ok(text("too late"))
            })
        })
        .await
        .unwrap();
    tasks.cancel_task(&task.task_id).unwrap();
    let ended = tasks.wait_task(&task.task_id).await.unwrap();
    assert_eq!(ended.payload, TaskPayload::Cancelled);
    tokio::time::sleep(secs(7200)).await;
    assert!(!finished.load(Ordering::SeqCst), "the work was aborted");
    assert_eq!(
        tasks.get_task(&task.task_id).map(|t| t.payload).ok(),
        None,
        "the task expired with its TTL (one hour by default)"
    );
}

#[tokio::test(start_paused = true)]
async fn a_timeout_fails_the_task_with_cause_timed_out() {
    let tasks = manager().await;
    let task = tasks
        .spawn(TaskOptions::new().with_timeout(secs(2)), |_ctx| {
            Box::pin(async {
                tokio::time::sleep(secs(3600)).await;
                Ok(text("never"))
            })
        })
        .await
        .unwrap();
    let ended = tasks.wait_task(&task.task_id).await.unwrap();
    assert_eq!(ended.status(), TaskStatus::Failed);
    assert_eq!(error_of(&ended)["data"]["cause"], json!("timed_out"));
}

#[tokio::test(start_paused = true)]
async fn a_panic_in_the_work_fails_the_task_and_the_manager_carries_on() {
    let tasks = manager().await;
    let task = tasks
        .spawn(TaskOptions::default(), |_ctx| {
            Box::pin(async { panic!("the work panicked on purpose") })
        })
        .await
        .unwrap();
    let ended = tasks.wait_task(&task.task_id).await.unwrap();
    assert_eq!(ended.status(), TaskStatus::Failed);
    let error = error_of(&ended);
    assert_eq!(error["data"]["cause"], json!("panicked"));
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("panicked on purpose")),
        "{error:?}"
    );

    let next = tasks
        .spawn(TaskOptions::default(), answers("fine"))
        .await
        .unwrap();
    assert_eq!(
        result_text(&tasks.wait_task(&next.task_id).await.unwrap()),
        "fine"
    );
}

#[tokio::test(start_paused = true)]
async fn ttl_removes_an_ended_task_and_expires_a_live_one() {
    let tasks = manager().await;
    let ended = tasks
        .spawn(
            TaskOptions::new().with_ttl_ms(10_000),
            answers("kept ten seconds"),
        )
        .await
        .unwrap();
    let live = tasks
        .spawn(TaskOptions::new().with_ttl_ms(10_000), until_cancelled)
        .await
        .unwrap();
    tasks.wait_task(&ended.task_id).await.unwrap();

    // Still served just before the TTL, from creation.
    tokio::time::sleep(secs(9)).await;
    assert_eq!(
        tasks.get_task(&ended.task_id).unwrap().status(),
        TaskStatus::Completed
    );
    assert_eq!(
        tasks.get_task(&live.task_id).unwrap().status(),
        TaskStatus::Working
    );

    tokio::time::sleep(secs(2)).await;
    for id in [&ended.task_id, &live.task_id] {
        let gone = tasks.get_task(id).unwrap_err();
        assert_eq!(gone.code, ErrorCode::INVALID_PARAMS, "{id}");
    }
    assert_eq!(tasks.running_task_count(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_ttl_above_the_maximum_is_capped_and_reported() {
    let ward = Taskward::builder().max_ttl(secs(60)).spawn().await.unwrap();
    let tasks = TaskManager::with_runtime(ward);
    let task = tasks
        .spawn(TaskOptions::new().with_ttl_ms(3_600_000), answers(""))
        .await
        .unwrap();
    assert_eq!(task.ttl_ms, Some(60_000));
    assert_eq!(
        tasks.get_task(&task.task_id).unwrap().task.ttl_ms,
        Some(60_000)
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
async fn over_the_live_limit_spawn_is_refused_with_a_typed_error() {
    let ward = Taskward::builder().max_live_tasks(1).spawn().await.unwrap();
    let tasks = TaskManager::with_runtime(ward);
    let first = tasks
        .spawn(TaskOptions::default(), until_cancelled)
        .await
        .unwrap();
    let refused = tasks
        .spawn(TaskOptions::default(), answers(""))
        .await
        .unwrap_err();
    assert!(
        matches!(
            refused.runtime_error(),
            Error::LimitExceeded {
                limit: Limit::LiveTasks,
                max: 1
            }
        ),
        "{refused}"
    );
    assert_eq!(McpError::from(refused).code.0, -32000);
    assert_eq!(tasks.running_task_count(), 1, "nothing was created");
    tasks.cancel_task(&first.task_id).unwrap();
    tasks.wait_task(&first.task_id).await.unwrap();
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

#[tokio::test(start_paused = true)]
async fn shutdown_ends_every_task_and_refuses_new_ones() {
    let tasks = manager().await;
    let live = tasks
        .spawn(TaskOptions::default(), until_cancelled)
        .await
        .unwrap();
    let report = tasks.shutdown().await.unwrap();
    assert!(report.is_some(), "a runtime ran");
    assert_eq!(
        tasks.get_task(&live.task_id).unwrap().payload,
        TaskPayload::Cancelled
    );
    let refused = tasks
        .spawn(TaskOptions::default(), answers(""))
        .await
        .unwrap_err();
    assert!(
        matches!(refused.runtime_error(), Error::ShutDown),
        "{refused}"
    );
    assert!(TaskManager::new().shutdown().await.unwrap().is_none());
}
