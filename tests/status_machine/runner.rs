//! Runner tasks: work that completes, fails or panics when told, or answers an input request,
//! against `cancel`, timeouts and the grace period after them.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use proptest::collection::vec;
use proptest::prelude::*;
use serde_json::json;
use taskward::{Error, Status, TaskContext, TaskError, TaskHandle, TaskSpec};
use tokio::sync::oneshot;

use crate::model::{
    Expected, Seen, Waiters, cancelled, check_command, check_end, check_record, check_waiters,
    completed, failed, panicked, start, start_waiters,
};
use crate::{GRACE, STEP, TASKS, common, config, runtime};

/// What a runner task's work does when told.
#[derive(Debug, Clone, Copy)]
enum Act {
    Complete,
    Fail,
    Panic,
}

/// A transition of a runner task, or time passing.
#[derive(Debug, Clone, Copy)]
enum RunnerOp {
    /// The work ends this way now (if it still runs).
    Work(usize, Act),
    /// A client's `cancel`.
    Cancel(usize),
    /// A client's answer to the work's input request.
    Answer(usize),
    /// A step of virtual time (deadlines and grace periods pass).
    Advance,
}

fn runner_op() -> impl Strategy<Value = RunnerOp> {
    let act = prop_oneof![Just(Act::Complete), Just(Act::Fail), Just(Act::Panic)];
    prop_oneof![
        (0..TASKS, act).prop_map(|(i, a)| RunnerOp::Work(i, a)),
        (0..TASKS).prop_map(RunnerOp::Cancel),
        (0..TASKS).prop_map(RunnerOp::Answer),
        Just(RunnerOp::Advance),
    ]
}

/// No timeout, or one (and its grace period) ending between two steps.
fn timeout() -> impl Strategy<Value = Option<u64>> {
    prop_oneof![Just(None), Just(Some(12)), Just(Some(33))]
}

/// Why the runner stopped its work (it then waits out the grace period).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Cause {
    Cancelled,
    TimedOut,
}

struct Running {
    handle: TaskHandle,
    /// Tells the work how to end (and with which step's name).
    tell: Option<oneshot::Sender<(usize, Act)>>,
    expected: Option<Expected>,
    seen: Seen,
    /// The work is still running: it neither ended nor was aborted.
    alive: bool,
    /// The work's input request is outstanding (the task is `input_required`).
    input: bool,
    cause: Option<Cause>,
    deadline: Option<u64>,
    grace_ends: Option<u64>,
    waiters: Waiters,
}

/// How the test tells one task's work to end: the step's number and the way.
type Telling = Arc<Mutex<Option<oneshot::Receiver<(usize, Act)>>>>;

/// Work that asks for input, and ends as it is told whether or not the request was answered,
/// ignoring its token: completes with the step's number, fails with an error naming it, or
/// panics naming it.
async fn told(ctx: TaskContext, rx: Telling) -> Result<serde_json::Value, TaskError> {
    let mut rx = rx.lock().unwrap().take().expect("one attempt");
    let told = tokio::select! {
        told = &mut rx => told,
        // Answered, or withdrawn when the token fires: the work goes on waiting to be told.
        _ = ctx.request_input("go", json!({ "ask": "go" })) => rx.await,
    };
    let Ok((k, act)) = told else {
        return std::future::pending().await;
    };
    match act {
        Act::Complete => Ok(json!(k)),
        Act::Fail => Err(TaskError::new(format!("fail {k}"))),
        Act::Panic => panic!("panic {k}"),
    }
}

impl Running {
    /// The work ended (or was aborted) with this result while the runner's stop cause was
    /// `self.cause`: the model's terminal transition, or a late result. Returns the late
    /// results counted.
    fn work_ended(&mut self, result: Option<Expected>) -> u64 {
        self.alive = false;
        self.input = false;
        self.grace_ends = None;
        let result = match self.cause {
            Some(Cause::TimedOut) => Some(Expected::TimedOut),
            // After a client cancel only a value is reported (and dropped); an error, a panic
            // or the abort reads as the cancellation itself.
            Some(Cause::Cancelled) => result.filter(|r| r.status() == Status::Completed),
            None => result,
        };
        match (result, &self.expected) {
            (Some(result), None) => {
                self.expected = Some(result);
                0
            }
            (Some(_), Some(_)) => 1,
            (None, _) => 0,
        }
    }

    /// Time moves to `now`: the deadline fires, the grace period runs out.
    fn advance(&mut self, now: u64) -> u64 {
        if self.alive
            && self.cause.is_none()
            && let Some(deadline) = self.deadline.filter(|d| *d <= now)
        {
            self.cause = Some(Cause::TimedOut);
            self.grace_ends = Some(deadline + GRACE);
            // The token fired: the input request is withdrawn.
            self.input = false;
        }
        if self.alive && self.grace_ends.is_some_and(|g| g <= now) {
            return self.work_ended(None);
        }
        0
    }
}

async fn runner_case(timeouts: Vec<Option<u64>>, ops: Vec<RunnerOp>) {
    let (ward, scope, mut sub) = start().await;
    let mut tasks = Vec::new();
    for (i, timeout) in timeouts.into_iter().enumerate() {
        let mut spec = TaskSpec::new(format!("runner {i}"))
            .scope(scope.clone())
            .cancel_grace(Duration::from_secs(GRACE));
        if let Some(t) = timeout {
            spec = spec.timeout(Duration::from_secs(t));
        }
        let (tell, rx) = oneshot::channel();
        let rx = Arc::new(Mutex::new(Some(rx)));
        let handle = ward
            .submit(spec, move |ctx| told(ctx, rx.clone()))
            .await
            .expect("submit");
        let waiters = start_waiters(&handle);
        tasks.push(Running {
            handle,
            tell: Some(tell),
            expected: None,
            seen: Seen::default(),
            alive: true,
            input: true,
            cause: None,
            deadline: timeout,
            grace_ends: None,
            waiters,
        });
    }
    common::settle().await;

    let mut now = 0;
    let mut late = 0;
    // At the end every task still live is cancelled and the grace periods run out.
    let finale = (0..TASKS)
        .map(RunnerOp::Cancel)
        .chain([RunnerOp::Advance, RunnerOp::Advance]);
    for (k, op) in ops.into_iter().chain(finale).enumerate() {
        match op {
            RunnerOp::Advance => {
                tokio::time::sleep(STEP).await;
                now += STEP.as_secs();
                for t in &mut tasks {
                    late += t.advance(now);
                }
            }
            RunnerOp::Work(i, act) => {
                let t = &mut tasks[i];
                if let Some(tell) = t.tell.take() {
                    let _ = tell.send((k, act));
                    if t.alive {
                        let result = match act {
                            Act::Complete => completed(k),
                            Act::Fail => failed(k),
                            Act::Panic => panicked(k),
                        };
                        late += t.work_ended(Some(result));
                    }
                }
            }
            RunnerOp::Cancel(i) => {
                let t = &mut tasks[i];
                let answer = t.handle.cancel(Some(format!("cancel {k}"))).await;
                check_command(answer, t.expected.as_ref(), false, &cancelled(k));
                if t.expected.is_none() {
                    t.expected = Some(cancelled(k));
                    t.input = false;
                    if t.alive && t.cause.is_none() {
                        t.cause = Some(Cause::Cancelled);
                        t.grace_ends = Some(now + GRACE);
                    }
                }
            }
            RunnerOp::Answer(i) => {
                let t = &mut tasks[i];
                let answer = ward
                    .provide_input(&scope, t.handle.id(), "go", json!(k))
                    .await;
                match (&t.expected, t.input) {
                    (Some(expected), _) => match answer {
                        Err(Error::AlreadyTerminal { status, .. }) => {
                            assert_eq!(status, expected.status());
                        }
                        other => panic!("expected AlreadyTerminal, got {other:?}"),
                    },
                    (None, true) => {
                        let record = answer.expect("the outstanding request is answered");
                        assert_eq!(record.status, Status::Working, "{record:?}");
                        t.input = false;
                    }
                    (None, false) => {
                        assert!(
                            matches!(answer, Err(Error::UnknownInput { .. })),
                            "{answer:?}"
                        );
                    }
                }
            }
        }
        common::settle().await;
        for t in &mut tasks {
            check_record(&t.handle, t.expected.as_ref(), false, &mut t.seen);
            if t.expected.is_none() {
                let status = t.handle.get().expect("readable").status;
                let parked = if t.input {
                    Status::InputRequired
                } else {
                    Status::Working
                };
                assert_eq!(status, parked, "input outstanding: {}", t.input);
            }
        }
    }

    let mut ended = Vec::new();
    for t in tasks {
        assert!(!t.alive, "every work ended or was aborted");
        let expected = t.expected.expect("every task ended");
        let outcome = check_waiters(t.waiters, &t.handle, false, &expected).await;
        ended.push((t.handle, outcome));
    }
    check_end(&ward, &mut sub, &ended, late).await;
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn runner_tasks_end_once(timeouts in vec(timeout(), TASKS), ops in vec(runner_op(), 0..14)) {
        runtime().block_on(runner_case(timeouts, ops));
    }
}
