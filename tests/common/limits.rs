//! Checks shared by the resource-limit tests (tests/resource_limits.rs, tests/memory_limit.rs).

use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::Value;
use taskward::{FailureCause, Outcome, Phase, Status, TaskHandle};

use super::{secs, wait_for};

/// Waits for the task, checks that it failed with `cause`, and returns its failure's data.
pub async fn failed_over_limit(task: &TaskHandle, cause: FailureCause) -> Value {
    let outcome = wait_for(task).await;
    let failure = outcome.failure().expect("failed");
    assert_eq!(failure.cause, cause, "{failure}");
    assert_eq!(task.get().unwrap().status, Status::Failed);
    failure
        .data
        .clone()
        .expect("the failure carries its figures")
}

/// For a task over a limit at virtual time zero whose work ignores its token, with a grace
/// period of 5 s: checks that it is still cancelling at 4 s, then fails with `cause` once
/// aborted, its work never having finished (`finished` unset).
pub async fn aborted_after_grace(task: &TaskHandle, finished: &AtomicBool, cause: FailureCause) {
    tokio::time::sleep(secs(4)).await;
    let record = task.get().unwrap();
    assert_eq!(record.status, Status::Working);
    assert_eq!(record.phase, Some(Phase::Cancelling));

    let outcome: Outcome = wait_for(task).await;
    let failure = outcome.failure().expect("failed");
    assert_eq!(failure.cause, cause, "{failure}");
    assert!(failure.message.contains("grace"), "{failure}");
    assert!(!finished.load(Ordering::SeqCst), "the work was aborted");
}
