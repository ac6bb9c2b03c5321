//! Semantic 2, timeout: at the deadline the token fires with cause timeout, the work gets its
//! grace period, then it is aborted; the task fails with cause timed out.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::json;
use taskward::{FailureCause, Outcome, Phase, Scope, Status, TaskContext, TaskSpec};

#[tokio::test(start_paused = true)]
async fn cooperative_work_stops_at_the_deadline_and_fails_timed_out() {
    let ward = common::ward().await;
    let started = tokio::time::Instant::now();
    let task = ward
        .submit(
            TaskSpec::new("slow").timeout(Duration::from_secs(10)),
            |ctx: TaskContext| common::sleepy(ctx, Duration::from_secs(3600)),
        )
        .await
        .unwrap();
    let outcome = task.wait().await.unwrap();
    let failure = outcome.failure().expect("failed");
    assert_eq!(failure.cause, FailureCause::TimedOut);
    // It ended at the deadline, not at the work's own end (an hour).
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(10) && took < Duration::from_secs(11),
        "{took:?}"
    );
    assert_eq!(task.get().unwrap().status, Status::Failed);
}

#[tokio::test(start_paused = true)]
async fn work_that_ignores_the_token_is_aborted_after_the_grace_period() {
    let ward = common::ward().await;
    let finished = Arc::new(AtomicBool::new(false));
    let flag = finished.clone();
    let started = tokio::time::Instant::now();
    let task = ward
        .submit(
            TaskSpec::new("stubborn")
                .timeout(Duration::from_secs(5))
                .cancel_grace(Duration::from_secs(2)),
            move |ctx: TaskContext| {
                let flag = flag.clone();
                async move {
                    let r = common::stubborn(ctx, Duration::from_secs(3600)).await;
                    flag.store(true, Ordering::SeqCst);
                    r
                }
            },
        )
        .await
        .unwrap();
    // During the grace period the task is still working, phase cancelling.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let record = task.get().unwrap();
    assert_eq!(record.status, Status::Working);
    assert_eq!(record.phase, Some(Phase::Cancelling));

    let outcome = task.wait().await.unwrap();
    assert_eq!(outcome.failure().unwrap().cause, FailureCause::TimedOut);
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(7) && took < Duration::from_secs(8),
        "{took:?}"
    );
    // Aborted: the work never got to its end, even an hour later.
    tokio::time::sleep(Duration::from_secs(7200)).await;
    assert!(!finished.load(Ordering::SeqCst));
}

#[tokio::test(start_paused = true)]
async fn work_finishing_before_the_deadline_completes() {
    let ward = common::ward().await;
    let task = ward
        .submit(
            TaskSpec::new("quick")
                .scope(Scope::session("s"))
                .timeout(Duration::from_secs(10)),
            |ctx: TaskContext| async move { common::sleepy(ctx, Duration::from_secs(9)).await },
        )
        .await
        .unwrap();
    assert_eq!(
        task.wait().await.unwrap(),
        Outcome::completed(json!("slept"))
    );
}
