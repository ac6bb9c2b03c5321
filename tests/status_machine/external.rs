//! External tasks: `finish_external` (complete, fail, cancel), `cancel` and TTL expiry.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use proptest::collection::vec;
use proptest::prelude::*;
use serde_json::json;
use taskward::{Cancellation, CancelledBy, Outcome, TaskError, TaskHandle, TaskSpec};

use crate::model::{
    Expected, Seen, Waiters, cancelled, check_command, check_end, check_record, check_waiters,
    completed, failed, start, start_waiters,
};
use crate::{STEP, TASKS, common, config, runtime};

/// A transition of an external task, or time passing.
#[derive(Debug, Clone, Copy)]
enum ExternalOp {
    Complete(usize),
    Fail(usize),
    /// `finish_external` with `TaskError::cancelled()`.
    FinishCancelled(usize),
    /// A client's `cancel`.
    Cancel(usize),
    /// A step of virtual time (TTLs elapse).
    Advance,
}

fn external_op() -> impl Strategy<Value = ExternalOp> {
    let task = 0..TASKS;
    prop_oneof![
        task.clone().prop_map(ExternalOp::Complete),
        task.clone().prop_map(ExternalOp::Fail),
        task.clone().prop_map(ExternalOp::FinishCancelled),
        task.prop_map(ExternalOp::Cancel),
        Just(ExternalOp::Advance),
    ]
}

/// No TTL, or one that ends between two steps.
fn ttl() -> impl Strategy<Value = Option<u64>> {
    prop_oneof![Just(None), Just(Some(25)), Just(Some(45))]
}

struct External {
    handle: TaskHandle,
    ttl: Option<u64>,
    expected: Option<Expected>,
    removed: bool,
    seen: Seen,
    /// How often `on_cancel` was called.
    on_cancel: Arc<AtomicUsize>,
    /// Whether the winning transition was one that calls `on_cancel` (cancel, expiry).
    by_cancel: bool,
    waiters: Waiters,
}

async fn external_case(ttls: Vec<Option<u64>>, ops: Vec<ExternalOp>) {
    let (ward, scope, mut sub) = start().await;
    let mut tasks = Vec::new();
    for (i, ttl) in ttls.into_iter().enumerate() {
        let mut spec = TaskSpec::new(format!("external {i}")).scope(scope.clone());
        if let Some(ttl) = ttl {
            spec = spec.ttl(Duration::from_secs(ttl));
        }
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        let handle = ward
            .submit_external(spec, move |_| {
                counter.fetch_add(1, Ordering::SeqCst);
            })
            .await
            .expect("submit");
        let waiters = start_waiters(&handle);
        tasks.push(External {
            handle,
            ttl,
            expected: None,
            removed: false,
            seen: Seen::default(),
            on_cancel: calls,
            by_cancel: false,
            waiters,
        });
    }
    common::settle().await;

    let mut now = 0;
    // Every task still live at the end is cancelled, so that every task ends.
    let finale = (0..TASKS).map(ExternalOp::Cancel);
    for (k, op) in ops.into_iter().chain(finale).enumerate() {
        match op {
            ExternalOp::Advance => {
                tokio::time::sleep(STEP).await;
                now += STEP.as_secs();
                for t in &mut tasks {
                    t.expire_at(now);
                }
            }
            ExternalOp::Cancel(i) => {
                let t = &mut tasks[i];
                let answer = t.handle.cancel(Some(format!("cancel {k}"))).await;
                t.applied(answer, cancelled(k), true);
            }
            ExternalOp::Complete(i) | ExternalOp::Fail(i) | ExternalOp::FinishCancelled(i) => {
                let (next, result) = finishing(op, k);
                let t = &mut tasks[i];
                let answer = ward.finish_external(&scope, t.handle.id(), result).await;
                t.applied(answer, next, false);
            }
        }
        common::settle().await;
        for t in &mut tasks {
            check_record(&t.handle, t.expected.as_ref(), t.removed, &mut t.seen);
        }
    }

    let mut ended = Vec::new();
    for t in tasks {
        let expected = t.expected.expect("every task ended");
        let calls = t.on_cancel.load(Ordering::SeqCst);
        assert_eq!(
            calls,
            usize::from(t.by_cancel),
            "on_cancel calls, {expected:?}"
        );
        let outcome = check_waiters(t.waiters, &t.handle, t.removed, &expected).await;
        ended.push((t.handle, outcome));
    }
    check_end(&ward, &mut sub, &ended, 0).await;
}

/// The result `finish_external` is given for a finishing op at step `k`, and the outcome it
/// sets on a live task.
fn finishing(op: ExternalOp, k: usize) -> (Expected, Result<serde_json::Value, TaskError>) {
    match op {
        ExternalOp::Complete(_) => (completed(k), Ok(json!(k))),
        ExternalOp::Fail(_) => (failed(k), Err(TaskError::new(format!("fail {k}")))),
        _ => {
            let e = TaskError::cancelled();
            let cancellation = Cancellation::new(CancelledBy::Client, Some(e.message().to_owned()));
            (Expected::Exactly(Outcome::Cancelled(cancellation)), Err(e))
        }
    }
}

impl External {
    /// A command that would set `next` was answered: checks the answer, and records `next` if
    /// it won (`by_cancel`: it calls `on_cancel`).
    fn applied(
        &mut self,
        answer: Result<Arc<taskward::TaskRecord>, taskward::Error>,
        next: Expected,
        by_cancel: bool,
    ) {
        check_command(answer, self.expected.as_ref(), self.removed, &next);
        if self.expected.is_none() && !self.removed {
            self.expected = Some(next);
            self.by_cancel = by_cancel;
        }
    }

    /// Time is `now`: a TTL that elapsed cancels the task if it is live, and removes it.
    fn expire_at(&mut self, now: u64) {
        if !self.removed && self.ttl.is_some_and(|ttl| ttl <= now) {
            if self.expected.is_none() {
                self.expected = Some(Expected::Expired);
                self.by_cancel = true;
            }
            self.removed = true;
        }
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn external_tasks_end_once(ttls in vec(ttl(), TASKS), ops in vec(external_op(), 0..14)) {
        runtime().block_on(external_case(ttls, ops));
    }
}
