//! Per-task resource limits without the tracking allocator: the CPU budget (the time the work
//! spends being polled) cancels the work like a timeout, with cause `cpu_budget_exceeded`; a
//! memory limit is refused where no tracking allocator is installed (tests/memory_limit.rs
//! installs it). Outcomes are asserted, never timings.

mod common;

use common::limits::{aborted_after_grace, failed_over_limit};

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use taskward::{
    Backoff, Error, FailureCause, Outcome, Restart, Scope, TaskContext, TaskError, TaskSpec,
};

/// Keeps the thread busy for `d` of real time, without awaiting.
fn busy(d: Duration) {
    let start = Instant::now();
    while start.elapsed() < d {
        std::hint::spin_loop();
    }
}

/// Spins 2 ms per poll until the token fires; returns whether it did (it gives up after a
/// thousand polls, so that a budget nobody enforces fails a test instead of hanging it).
async fn spin_until_cancelled(ctx: &TaskContext) -> bool {
    for _ in 0..1_000 {
        if ctx.is_cancelled() {
            return true;
        }
        busy(Duration::from_millis(2));
        tokio::task::yield_now().await;
    }
    false
}

/// Work that spins until its token fires, then returns `cancelled`.
async fn spinner(ctx: TaskContext) -> Result<Value, TaskError> {
    if spin_until_cancelled(&ctx).await {
        Err(TaskError::cancelled())
    } else {
        Ok(json!("never cancelled"))
    }
}

#[tokio::test(start_paused = true)]
async fn a_work_over_its_cpu_budget_is_cancelled_and_fails_cpu_budget_exceeded() {
    let ward = common::ward().await;
    let task = ward
        .submit(
            TaskSpec::new("spin").cpu_budget(Duration::from_millis(10)),
            spinner,
        )
        .await
        .unwrap();
    let data = failed_over_limit(&task, FailureCause::CpuBudgetExceeded).await;
    assert_eq!(data["cpu_budget_ms"], json!(10));
    assert!(data["cpu_time_ms"].as_u64().unwrap() >= 10, "{data}");
}

#[tokio::test(start_paused = true)]
async fn a_work_that_ignores_the_token_is_aborted_after_the_grace_period() {
    let ward = common::ward().await;
    let finished = Arc::new(AtomicBool::new(false));
    let flag = finished.clone();
    let task = ward
        .submit(
            TaskSpec::new("stubborn")
                .cpu_budget(Duration::from_millis(10))
                .cancel_grace(common::secs(5)),
            move |ctx: TaskContext| {
                let flag = flag.clone();
                async move {
                    spin_until_cancelled(&ctx).await;
                    // Ignores the cancel: parks for an hour.
                    tokio::time::sleep(common::HOUR).await;
                    flag.store(true, Ordering::SeqCst);
                    Ok(json!("late"))
                }
            },
        )
        .await
        .unwrap();
    // The clock stands still while the work spins, so the budget runs out at virtual time
    // zero.
    aborted_after_grace(&task, &finished, FailureCause::CpuBudgetExceeded).await;
}

#[tokio::test(start_paused = true)]
async fn a_work_under_its_cpu_budget_completes() {
    let ward = common::ward().await;
    let task = ward
        .submit(
            TaskSpec::new("brief").cpu_budget(Duration::from_secs(60)),
            |_ctx: TaskContext| async move {
                for _ in 0..3 {
                    busy(Duration::from_millis(1));
                    tokio::task::yield_now().await;
                }
                Ok(json!("done"))
            },
        )
        .await
        .unwrap();
    assert_eq!(
        common::wait_for(&task).await,
        Outcome::completed(json!("done"))
    );
}

#[tokio::test(start_paused = true)]
async fn a_task_over_its_cpu_budget_is_not_retried() {
    let ward = common::ward().await;
    let task = ward
        .submit(
            TaskSpec::new("spin")
                .cpu_budget(Duration::from_millis(10))
                .restart(Restart::transient(3, Backoff::fixed(common::secs(1)))),
            spinner,
        )
        .await
        .unwrap();
    let outcome = common::wait_for(&task).await;
    assert_eq!(
        outcome.failure().map(|f| f.cause),
        Some(FailureCause::CpuBudgetExceeded)
    );
    assert_eq!(task.get().unwrap().attempt, 1);
}

#[tokio::test(start_paused = true)]
async fn the_runner_status_reports_the_cpu_time_of_a_metered_work_only() {
    let ward = common::ward().await;
    let scope = Scope::global();
    let work = |ctx: TaskContext| async move {
        busy(Duration::from_millis(3));
        common::long(ctx).await
    };
    let metered = ward
        .submit(TaskSpec::new("metered").cpu_budget(common::HOUR), work)
        .await
        .unwrap();
    let plain = ward.submit(TaskSpec::new("plain"), work).await.unwrap();
    common::settle().await;

    let status = ward.runner_status(&scope, metered.id()).await.unwrap();
    let used = status
        .cpu_time
        .expect("a metered work reports its CPU time");
    // The first poll alone kept the thread busy for 3 ms.
    assert!(used >= Duration::from_millis(3), "{used:?}");
    // No tracking allocator in this binary: live bytes are not known.
    assert_eq!(status.live_bytes, None);

    let status = plain.runner_status().await.unwrap();
    assert_eq!((status.cpu_time, status.live_bytes), (None, None));

    metered.cancel(None).await.unwrap();
    plain.cancel(None).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_memory_limit_without_the_tracking_allocator_is_refused() {
    let ward = common::ward().await;
    let scope = Scope::global();
    let err = ward
        .submit(TaskSpec::new("hungry").memory_limit(1 << 20), common::long)
        .await
        .expect_err("refused");
    let Error::RunnerStart { id, source } = err else {
        panic!("expected Error::RunnerStart, got {err:?}");
    };
    assert!(source.to_string().contains("TrackingAllocator"), "{source}");
    let record = ward.get(&scope, id).unwrap();
    let failure = record.outcome.as_ref().and_then(Outcome::failure).unwrap();
    assert_eq!(failure.cause, FailureCause::StartFailed);
}

#[test]
fn the_new_causes_have_snake_case_wire_names() {
    for (cause, name) in [
        (FailureCause::CpuBudgetExceeded, "cpu_budget_exceeded"),
        (FailureCause::MemoryLimitExceeded, "memory_limit_exceeded"),
    ] {
        assert_eq!(cause.as_str(), name);
        assert_eq!(serde_json::to_value(cause).unwrap(), json!(name));
        assert_eq!(
            serde_json::from_value::<FailureCause>(json!(name)).unwrap(),
            cause
        );
    }
}
