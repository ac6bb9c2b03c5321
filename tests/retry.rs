//! Semantic 9, retry: a transient restart policy re-runs failed work (error, panic) up to
//! `max_attempts` with backoff; cancel and timeout are not retried unless asked; an
//! idempotency key dedupes submit within a scope (the second submit returns the first task).

mod common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{HOUR, secs};
use serde_json::json;
use taskward::{
    Backoff, CancelledBy, Error, FailureCause, Outcome, Phase, Restart, Scope, Status, TaskContext,
    TaskError, TaskHandle, TaskSpec, Taskward,
};
use tokio::time::Instant;

/// Counts the attempts the work was called for, with the (virtual) time each started.
#[derive(Clone, Default)]
struct Attempts(Arc<Mutex<Vec<(u32, Instant)>>>);

impl Attempts {
    fn record(&self, ctx: &TaskContext) {
        self.0.lock().unwrap().push((ctx.attempt(), Instant::now()));
    }

    fn numbers(&self) -> Vec<u32> {
        self.0.lock().unwrap().iter().map(|(n, _)| *n).collect()
    }

    fn count(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    /// The gaps between consecutive attempt starts.
    fn gaps(&self) -> Vec<Duration> {
        let v = self.0.lock().unwrap();
        v.windows(2).map(|w| w[1].1 - w[0].1).collect()
    }
}

fn assert_about(d: Duration, expected: Duration) {
    assert!(
        d >= expected && d < expected + Duration::from_millis(100),
        "{d:?} is not about {expected:?}"
    );
}

/// Work that fails with an error until attempt `succeed_on`, then returns its attempt number.
async fn fail_until(
    ward: &Taskward,
    spec: TaskSpec,
    succeed_on: u32,
    attempts: &Attempts,
) -> TaskHandle {
    let attempts = attempts.clone();
    ward.submit(spec, move |ctx: TaskContext| {
        attempts.record(&ctx);
        async move {
            if ctx.attempt() < succeed_on {
                Err(TaskError::new(format!("attempt {} failed", ctx.attempt())))
            } else {
                Ok(json!({ "attempt": ctx.attempt() }))
            }
        }
    })
    .await
    .unwrap()
}

// ------------------------------------------------------------------ retried failures

#[tokio::test(start_paused = true)]
async fn an_error_is_retried_with_fixed_backoff_until_success() {
    let ward = common::ward().await;
    let attempts = Attempts::default();
    let started = Instant::now();
    let task = fail_until(
        &ward,
        TaskSpec::new("flaky").restart(Restart::transient(5, Backoff::fixed(secs(10)))),
        3,
        &attempts,
    )
    .await;

    let outcome = task.wait().await.unwrap();
    assert_eq!(outcome, Outcome::completed(json!({ "attempt": 3 })));
    // Two backoffs of 10 s each, no more.
    assert_about(started.elapsed(), secs(20));
    assert_eq!(attempts.numbers(), vec![1, 2, 3]);
    for gap in attempts.gaps() {
        assert_about(gap, secs(10));
    }
    let record = task.get().unwrap();
    assert_eq!(record.status, Status::Completed);
    assert_eq!(record.attempt, 3);
    assert_eq!(ward.status().await.unwrap().retries, 2);
}

#[tokio::test(start_paused = true)]
async fn between_attempts_the_task_is_working_in_retry_wait() {
    let ward = common::ward().await;
    let attempts = Attempts::default();
    let task = fail_until(
        &ward,
        TaskSpec::new("always-fails").restart(Restart::transient(3, Backoff::fixed(secs(10)))),
        u32::MAX,
        &attempts,
    )
    .await;

    // t = 5 s: attempt 1 failed at once; attempt 2 waits its backoff.
    tokio::time::sleep(secs(5)).await;
    let record = task.get().unwrap();
    assert_eq!(record.status, Status::Working);
    assert_eq!(record.phase, Some(Phase::RetryWait));
    assert_eq!(record.attempt, 2);
    assert!(record.outcome.is_none());
    assert!(matches!(
        task.runner_status().await,
        Err(Error::NoLiveRunner(_))
    ));
    let status = ward.status().await.unwrap();
    assert_eq!(status.phase_count(Phase::RetryWait), 1);
    assert_eq!(status.live, 1);
    assert_eq!(attempts.count(), 1);

    // t = 15 s: attempt 2 failed; attempt 3 waits.
    tokio::time::sleep(secs(10)).await;
    let record = task.get().unwrap();
    assert_eq!(record.phase, Some(Phase::RetryWait));
    assert_eq!(record.attempt, 3);
    assert_eq!(attempts.count(), 2);

    // Attempt 3 is the last: the task fails with the last attempt's error.
    let outcome = task.wait().await.unwrap();
    let failure = outcome.failure().expect("failed");
    assert_eq!(failure.cause, FailureCause::Error);
    assert_eq!(failure.message, "attempt 3 failed");
    let record = task.get().unwrap();
    assert_eq!(record.status, Status::Failed);
    assert_eq!(record.attempt, 3);
    assert_eq!(attempts.numbers(), vec![1, 2, 3]);

    // And no fourth attempt ever comes.
    tokio::time::sleep(HOUR).await;
    assert_eq!(attempts.count(), 3);
}

#[tokio::test(start_paused = true)]
async fn exponential_backoff_doubles_the_wait() {
    let ward = common::ward().await;
    let attempts = Attempts::default();
    let started = Instant::now();
    let task = fail_until(
        &ward,
        TaskSpec::new("backing-off").restart(Restart::transient(4, Backoff::exponential(secs(1)))),
        4,
        &attempts,
    )
    .await;
    assert_eq!(
        task.wait().await.unwrap(),
        Outcome::completed(json!({ "attempt": 4 }))
    );
    let gaps = attempts.gaps();
    assert_eq!(gaps.len(), 3);
    assert_about(gaps[0], secs(1));
    assert_about(gaps[1], secs(2));
    assert_about(gaps[2], secs(4));
    assert_about(started.elapsed(), secs(7));
    assert_eq!(task.get().unwrap().attempt, 4);
}

#[tokio::test(start_paused = true)]
async fn a_panic_is_retried() {
    let ward = common::ward().await;
    let attempts = Attempts::default();
    let seen = attempts.clone();
    let task = ward
        .submit(
            TaskSpec::new("panics-once").restart(Restart::transient(3, Backoff::fixed(secs(1)))),
            move |ctx: TaskContext| {
                seen.record(&ctx);
                async move {
                    if ctx.attempt() == 1 {
                        panic!("first attempt explodes");
                    }
                    Ok(json!("recovered"))
                }
            },
        )
        .await
        .unwrap();
    assert_eq!(
        task.wait().await.unwrap(),
        Outcome::completed(json!("recovered"))
    );
    assert_eq!(attempts.numbers(), vec![1, 2]);
    assert_eq!(task.get().unwrap().attempt, 2);
}

#[tokio::test(start_paused = true)]
async fn panics_on_every_attempt_fail_after_max_attempts() {
    let ward = common::ward().await;
    let calls = Arc::new(AtomicU32::new(0));
    let counter = calls.clone();
    let task = ward
        .submit(
            TaskSpec::new("always-panics").restart(Restart::transient(2, Backoff::fixed(secs(1)))),
            move |_ctx: TaskContext| {
                counter.fetch_add(1, Ordering::SeqCst);
                async move {
                    if true {
                        panic!("again");
                    }
                    Ok(json!(null))
                }
            },
        )
        .await
        .unwrap();
    let outcome = task.wait().await.unwrap();
    let failure = outcome.failure().expect("failed");
    assert_eq!(failure.cause, FailureCause::Panicked);
    assert!(failure.message.contains("again"), "{}", failure.message);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(task.get().unwrap().attempt, 2);
}

#[tokio::test(start_paused = true)]
async fn a_temporary_task_is_never_retried() {
    let ward = common::ward().await;
    let attempts = Attempts::default();
    let task = fail_until(&ward, TaskSpec::new("once"), 2, &attempts).await;
    let outcome = task.wait().await.unwrap();
    assert_eq!(outcome.failure().unwrap().message, "attempt 1 failed");
    tokio::time::sleep(HOUR).await;
    assert_eq!(attempts.count(), 1);
    assert_eq!(ward.status().await.unwrap().retries, 0);
}

// ------------------------------------------------------------------ not retried

#[tokio::test(start_paused = true)]
async fn a_cancelled_attempt_is_not_retried() {
    let ward = common::ward().await;
    let attempts = Attempts::default();
    let seen = attempts.clone();
    let task = ward
        .submit(
            TaskSpec::new("cancel-me").restart(Restart::transient(3, Backoff::fixed(secs(1)))),
            move |ctx: TaskContext| {
                seen.record(&ctx);
                common::sleepy(ctx, HOUR)
            },
        )
        .await
        .unwrap();
    tokio::time::sleep(secs(1)).await;
    task.cancel(Some("stop".into())).await.unwrap();
    let outcome = task.wait().await.unwrap();
    assert_eq!(outcome.cancellation().unwrap().by, CancelledBy::Client);

    tokio::time::sleep(secs(60)).await;
    assert_eq!(attempts.count(), 1);
    let record = task.get().unwrap();
    assert_eq!(record.status, Status::Cancelled);
    assert_eq!(record.attempt, 1);
    let status = ward.status().await.unwrap();
    assert_eq!(status.retries, 0);
    assert_eq!(status.live_runners, 0);
}

#[tokio::test(start_paused = true)]
async fn a_cancel_during_retry_wait_stops_the_retries() {
    let ward = common::ward().await;
    let attempts = Attempts::default();
    let task = fail_until(
        &ward,
        TaskSpec::new("cancel-while-waiting")
            .restart(Restart::transient(5, Backoff::fixed(secs(10)))),
        u32::MAX,
        &attempts,
    )
    .await;
    tokio::time::sleep(secs(5)).await;
    assert_eq!(task.get().unwrap().phase, Some(Phase::RetryWait));

    let record = task.cancel(None).await.unwrap();
    assert_eq!(record.status, Status::Cancelled);
    assert_eq!(
        task.wait().await.unwrap().cancellation().unwrap().by,
        CancelledBy::Client
    );
    // The scheduled attempt 2 never runs.
    tokio::time::sleep(secs(60)).await;
    assert_eq!(attempts.count(), 1);
    assert_eq!(task.get().unwrap().status, Status::Cancelled);
}

#[tokio::test(start_paused = true)]
async fn a_cancel_as_the_backoff_ends_lets_the_task_go() {
    // The backoff's end and the cancel race to the task's runner; whichever comes first, the
    // task ends cancelled, attempt 2 never runs, and nothing is left held for it.
    let ward = common::ward().await;
    let attempts = Attempts::default();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let spec = TaskSpec::new(format!("race{i}"))
            .restart(Restart::transient(5, Backoff::fixed(secs(10))));
        tasks.push(fail_until(&ward, spec, u32::MAX, &attempts).await);
    }
    let backoff_ends = Instant::now() + secs(10);
    tokio::time::sleep_until(backoff_ends).await;
    for task in &tasks {
        let _ = task.cancel(None).await;
    }
    tokio::time::sleep(secs(60)).await;
    for task in &tasks {
        let outcome = task.wait().await.unwrap();
        assert!(outcome.cancellation().is_some(), "{outcome:?}");
    }
    let status = ward.status().await.unwrap();
    assert_eq!(status.controls, 0, "a task is still held: {status:?}");
    assert_eq!(status.live_runners, 0);
}

#[tokio::test(start_paused = true)]
async fn a_timeout_is_not_retried_by_default() {
    let ward = common::ward().await;
    let attempts = Attempts::default();
    let seen = attempts.clone();
    let started = Instant::now();
    let task = ward
        .submit(
            TaskSpec::new("slow")
                .timeout(secs(5))
                .restart(Restart::transient(3, Backoff::fixed(secs(1)))),
            move |ctx: TaskContext| {
                seen.record(&ctx);
                common::sleepy(ctx, HOUR)
            },
        )
        .await
        .unwrap();
    let outcome = task.wait().await.unwrap();
    assert_eq!(outcome.failure().unwrap().cause, FailureCause::TimedOut);
    assert_about(started.elapsed(), secs(5));
    tokio::time::sleep(secs(60)).await;
    assert_eq!(attempts.count(), 1);
    assert_eq!(task.get().unwrap().attempt, 1);
}

#[tokio::test(start_paused = true)]
async fn a_timeout_is_retried_with_retry_timeouts() {
    let ward = common::ward().await;
    let attempts = Attempts::default();
    let seen = attempts.clone();
    let started = Instant::now();
    let task = ward
        .submit(
            TaskSpec::new("slow-then-fast")
                .timeout(secs(5))
                .restart(Restart::transient(3, Backoff::fixed(secs(1))).retry_timeouts()),
            move |ctx: TaskContext| {
                seen.record(&ctx);
                async move {
                    if ctx.attempt() < 3 {
                        common::sleepy(ctx, HOUR).await
                    } else {
                        Ok(json!("made it"))
                    }
                }
            },
        )
        .await
        .unwrap();
    assert_eq!(
        task.wait().await.unwrap(),
        Outcome::completed(json!("made it"))
    );
    // Two timeouts of 5 s and two backoffs of 1 s.
    assert_about(started.elapsed(), secs(12));
    assert_eq!(attempts.numbers(), vec![1, 2, 3]);
    assert_eq!(task.get().unwrap().attempt, 3);
}

#[tokio::test(start_paused = true)]
async fn retried_timeouts_still_fail_timed_out_after_max_attempts() {
    let ward = common::ward().await;
    let attempts = Attempts::default();
    let seen = attempts.clone();
    let task = ward
        .submit(
            TaskSpec::new("always-slow")
                .timeout(secs(5))
                .restart(Restart::transient(2, Backoff::fixed(secs(1))).retry_timeouts()),
            move |ctx: TaskContext| {
                seen.record(&ctx);
                common::sleepy(ctx, HOUR)
            },
        )
        .await
        .unwrap();
    let outcome = task.wait().await.unwrap();
    assert_eq!(outcome.failure().unwrap().cause, FailureCause::TimedOut);
    assert_eq!(attempts.numbers(), vec![1, 2]);
}

// ------------------------------------------------------------------ idempotency

#[tokio::test(start_paused = true)]
async fn an_idempotency_key_dedupes_submit_within_a_scope() {
    let ward = common::ward().await;
    let scope = Scope::session("s");
    let calls = Arc::new(AtomicU32::new(0));
    let submit = |name: &str| {
        let counter = calls.clone();
        ward.submit(
            TaskSpec::new(name)
                .scope(scope.clone())
                .idempotency_key("k1"),
            move |ctx: TaskContext| {
                counter.fetch_add(1, Ordering::SeqCst);
                common::sleepy(ctx, HOUR)
            },
        )
    };
    let first = submit("first").await.unwrap();
    assert!(!first.is_deduplicated());
    let second = submit("second").await.unwrap();
    assert!(second.is_deduplicated());
    assert_eq!(second.id(), first.id());
    assert_eq!(second.record().name.as_ref(), "first");
    assert_eq!(second.record().idempotency_key.as_deref(), Some("k1"));

    tokio::time::sleep(secs(1)).await;
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "the duplicate's work never ran"
    );
    let status = ward.status().await.unwrap();
    assert_eq!((status.tasks, status.live), (1, 1));

    // Still the first task once it has ended.
    first.cancel(None).await.unwrap();
    let third = submit("third").await.unwrap();
    assert!(third.is_deduplicated());
    assert_eq!(third.id(), first.id());
    assert_eq!(third.get().unwrap().status, Status::Cancelled);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn an_idempotency_key_does_not_dedupe_across_scopes() {
    let ward = common::ward().await;
    let a = Scope::session("a");
    let b = Scope::session("b");
    let in_a = ward
        .submit(
            TaskSpec::new("job").scope(a.clone()).idempotency_key("k"),
            common::instant(json!("a")),
        )
        .await
        .unwrap();
    let in_b = ward
        .submit(
            TaskSpec::new("job").scope(b.clone()).idempotency_key("k"),
            common::instant(json!("b")),
        )
        .await
        .unwrap();
    assert!(!in_a.is_deduplicated());
    assert!(!in_b.is_deduplicated());
    assert_ne!(in_a.id(), in_b.id());
    assert_eq!(in_a.wait().await.unwrap(), Outcome::completed(json!("a")));
    assert_eq!(in_b.wait().await.unwrap(), Outcome::completed(json!("b")));
    // Neither scope can see the other's task.
    assert!(matches!(ward.get(&a, in_b.id()), Err(Error::NotFound(_))));
    assert!(matches!(ward.get(&b, in_a.id()), Err(Error::NotFound(_))));
    assert_eq!(ward.status().await.unwrap().tasks, 2);
}

#[tokio::test(start_paused = true)]
async fn different_keys_in_one_scope_are_different_tasks() {
    let ward = common::ward().await;
    let scope = Scope::session("s");
    let one = ward
        .submit(
            TaskSpec::new("job")
                .scope(scope.clone())
                .idempotency_key("k1"),
            common::instant(json!(1)),
        )
        .await
        .unwrap();
    let two = ward
        .submit(
            TaskSpec::new("job")
                .scope(scope.clone())
                .idempotency_key("k2"),
            common::instant(json!(2)),
        )
        .await
        .unwrap();
    assert!(!two.is_deduplicated());
    assert_ne!(one.id(), two.id());
}

#[tokio::test(start_paused = true)]
async fn a_duplicate_submit_returns_the_first_task_even_at_the_live_limit() {
    let ward = Taskward::builder().max_live_tasks(1).spawn().await.unwrap();
    let spec = || TaskSpec::new("job").idempotency_key("once");
    let first = ward
        .submit(spec(), |ctx: TaskContext| common::sleepy(ctx, HOUR))
        .await
        .unwrap();
    let again = ward
        .submit(spec(), |ctx: TaskContext| common::sleepy(ctx, HOUR))
        .await
        .expect("a duplicate creates nothing, so no limit applies");
    assert!(again.is_deduplicated());
    assert_eq!(again.id(), first.id());
}

#[tokio::test(start_paused = true)]
async fn concurrent_submits_with_one_key_create_one_task() {
    let ward = common::ward().await;
    let scope = Scope::session("s");
    let calls = Arc::new(AtomicU32::new(0));
    let submits = (0..8).map(|_| {
        let ward = ward.clone();
        let scope = scope.clone();
        let counter = calls.clone();
        tokio::spawn(async move {
            ward.submit(
                TaskSpec::new("job").scope(scope).idempotency_key("same"),
                move |ctx: TaskContext| {
                    counter.fetch_add(1, Ordering::SeqCst);
                    common::sleepy(ctx, HOUR)
                },
            )
            .await
            .unwrap()
        })
    });
    let mut handles = Vec::new();
    for s in submits.collect::<Vec<_>>() {
        handles.push(s.await.unwrap());
    }
    let first = handles[0].id();
    assert!(handles.iter().all(|h| h.id() == first));
    assert_eq!(handles.iter().filter(|h| !h.is_deduplicated()).count(), 1);
    tokio::time::sleep(secs(1)).await;
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(ward.status().await.unwrap().tasks, 1);
}
