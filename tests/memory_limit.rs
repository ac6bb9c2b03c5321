//! The memory limit, in a binary of its own that installs the tracking allocator: the work's
//! live heap bytes are attributed to its attempt, reported by the runner status, and a work
//! that holds more than its limit is cancelled with cause `memory_limit_exceeded`.

mod common;

use common::limits::{aborted_after_grace, failed_over_limit};

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Value, json};
use taskward::{FailureCause, Outcome, Phase, TaskContext, TaskError, TaskSpec};

#[global_allocator]
static ALLOC: taskward::TrackingAllocator = taskward::TrackingAllocator::system();

const MIB: usize = 1 << 20;

/// Work that allocates `bytes`, holds them until cancelled, then returns `cancelled`.
async fn hold(ctx: TaskContext, bytes: usize) -> Result<Value, TaskError> {
    let block = std::hint::black_box(vec![1u8; bytes]);
    ctx.cancelled().await;
    drop(block);
    Err(TaskError::cancelled())
}

#[tokio::test(start_paused = true)]
async fn a_work_that_holds_more_than_its_limit_fails_memory_limit_exceeded() {
    let ward = common::ward().await;
    let task = ward
        .submit(
            TaskSpec::new("hungry").memory_limit(256 * 1024),
            |ctx: TaskContext| hold(ctx, 4 * MIB),
        )
        .await
        .unwrap();
    let data = failed_over_limit(&task, FailureCause::MemoryLimitExceeded).await;
    assert_eq!(data["memory_limit"], json!(256 * 1024));
    assert!(
        data["live_bytes"].as_u64().unwrap() >= 4 * MIB as u64,
        "{data}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_work_that_ignores_the_token_is_aborted_after_the_grace_period() {
    let ward = common::ward().await;
    let finished = Arc::new(AtomicBool::new(false));
    let flag = finished.clone();
    let task = ward
        .submit(
            TaskSpec::new("stubborn")
                .memory_limit(256 * 1024)
                .cancel_grace(common::secs(5)),
            move |_ctx: TaskContext| {
                let flag = flag.clone();
                async move {
                    let block = std::hint::black_box(vec![1u8; 4 * MIB]);
                    tokio::time::sleep(common::HOUR).await;
                    flag.store(true, Ordering::SeqCst);
                    Ok(json!(block.len()))
                }
            },
        )
        .await
        .unwrap();
    aborted_after_grace(&task, &finished, FailureCause::MemoryLimitExceeded).await;
}

#[tokio::test(start_paused = true)]
async fn a_work_under_its_limit_completes() {
    let ward = common::ward().await;
    let task = ward
        .submit(
            TaskSpec::new("modest").memory_limit(4 * MIB as u64),
            |_ctx: TaskContext| async move {
                let block = std::hint::black_box(vec![1u8; 64 * 1024]);
                tokio::task::yield_now().await;
                Ok(json!(block.len()))
            },
        )
        .await
        .unwrap();
    assert_eq!(
        common::wait_for(&task).await,
        Outcome::completed(json!(64 * 1024))
    );
}

#[tokio::test(start_paused = true)]
async fn the_runner_status_reports_the_live_bytes_while_the_work_runs() {
    let ward = common::ward().await;
    let holding = ward
        .submit(
            TaskSpec::new("holding").memory_limit(64 * MIB as u64),
            |ctx: TaskContext| hold(ctx, 2 * MIB),
        )
        .await
        .unwrap();
    // Allocates 2 MiB, frees it, and parks: nothing is held.
    let freed = ward
        .submit(
            TaskSpec::new("freed").memory_limit(64 * MIB as u64),
            |ctx: TaskContext| async move {
                drop(std::hint::black_box(vec![1u8; 2 * MIB]));
                common::long(ctx).await
            },
        )
        .await
        .unwrap();
    let unlimited = ward
        .submit(TaskSpec::new("unlimited"), |ctx: TaskContext| {
            hold(ctx, MIB)
        })
        .await
        .unwrap();
    common::settle().await;

    let status = holding.runner_status().await.unwrap();
    assert_eq!(status.phase, Phase::Running);
    let live = status.live_bytes.expect("tracked");
    assert!(live >= 2 * MIB as u64, "{live}");
    assert!(status.cpu_time.is_some());

    let live = freed
        .runner_status()
        .await
        .unwrap()
        .live_bytes
        .expect("tracked");
    assert!(live < MIB as u64, "{live}");

    // Without a memory limit the work is not tracked, allocator or not.
    assert_eq!(unlimited.runner_status().await.unwrap().live_bytes, None);

    for task in [&holding, &freed, &unlimited] {
        task.cancel(None).await.unwrap();
        assert!(matches!(
            common::wait_for(task).await,
            Outcome::Cancelled(_)
        ));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allocations_count_on_whichever_worker_polls_the_work() {
    let ward = common::ward().await;
    let task = ward
        .submit(
            TaskSpec::new("roaming").memory_limit(3 * MIB as u64 / 2),
            |ctx: TaskContext| async move {
                // Each block is under the limit; held together they are over it, whichever
                // threads the polls that made them ran on.
                let mut blocks = Vec::new();
                for _ in 0..4 {
                    blocks.push(std::hint::black_box(vec![1u8; MIB / 2]));
                    tokio::task::yield_now().await;
                }
                ctx.cancelled().await;
                Err(TaskError::cancelled())
            },
        )
        .await
        .unwrap();
    let data = failed_over_limit(&task, FailureCause::MemoryLimitExceeded).await;
    assert!(
        data["live_bytes"].as_u64().unwrap() > 3 * MIB as u64 / 2,
        "{data}"
    );
}
