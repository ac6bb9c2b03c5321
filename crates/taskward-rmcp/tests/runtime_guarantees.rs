//! What the runtime guarantees under the drop-in `TaskManager`: work that ignores cancel is
//! aborted, a timeout fails the task, a panic fails it and the manager carries on, TTLs are
//! capped and expire on a paused clock, limits refuse a task with a typed error, and shutdown
//! ends every task.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::{answers, error_of, manager, result_text, secs, text, until_cancelled};
use rmcp::ErrorData as McpError;
use rmcp::model::{ErrorCode, TaskPayload, TaskStatus};
use serde_json::json;
use taskward_core::{Error, Limit};
use taskward_rmcp::{TaskManager, TaskOptions};
use taskward_runtime::Taskward;

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
