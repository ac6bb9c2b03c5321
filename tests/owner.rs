//! Semantic 6, owner: an owner actor is told its task's outcome in its own message type; when
//! the owner dies, or the task's scope is closed, the close policy applies (keep, cancel, or
//! transfer to another scope).

mod common;

use std::time::Duration;

use common::owner::{HostMsg, host, next_notice, no_more_notices, owned_by};
use common::wait_for;
use serde_json::json;
use taskward::{
    CancelledBy, ClosePolicy, Error, EventFilter, EventKind, FailureCause, ListQuery, Outcome,
    Phase, Scope, Status, TaskContext, TaskError, TaskHandle, TaskNotice, TaskSpec, Taskward,
};

async fn long_task(ward: &Taskward, spec: TaskSpec) -> TaskHandle {
    ward.submit(spec, common::long).await.expect("submit")
}

// ------------------------------------------------------------------ notices

#[tokio::test(start_paused = true)]
async fn owner_is_told_completed_with_the_value() {
    let ward = common::ward().await;
    let (host, mut rx) = host().await;
    let task = ward
        .submit(owned_by(&host, "ok"), |_ctx: TaskContext| async move {
            Ok(json!({ "answer": 42 }))
        })
        .await
        .unwrap();
    match next_notice(&mut rx).await {
        TaskNotice::Completed { id, value } => {
            assert_eq!(id, task.id());
            assert_eq!(value, json!({ "answer": 42 }));
        }
        other => panic!("expected completed, got {other:?}"),
    }
    no_more_notices(&mut rx).await;
}

#[tokio::test(start_paused = true)]
async fn owner_is_told_failed_with_the_cause() {
    let ward = common::ward().await;
    let (host, mut rx) = host().await;
    let task = ward
        .submit(owned_by(&host, "err"), |_ctx: TaskContext| async move {
            Err(TaskError::new("disk full"))
        })
        .await
        .unwrap();
    match next_notice(&mut rx).await {
        TaskNotice::Failed { id, failure } => {
            assert_eq!(id, task.id());
            assert_eq!(failure.cause, FailureCause::Error);
            assert_eq!(failure.message, "disk full");
        }
        other => panic!("expected failed, got {other:?}"),
    }
    no_more_notices(&mut rx).await;
}

#[tokio::test(start_paused = true)]
async fn owner_is_told_failed_when_the_work_panics() {
    let ward = common::ward().await;
    let (host, mut rx) = host().await;
    let task = ward
        .submit(owned_by(&host, "panic"), |_ctx: TaskContext| async move {
            if true {
                panic!("kaboom");
            }
            Ok(json!(null))
        })
        .await
        .unwrap();
    match next_notice(&mut rx).await {
        TaskNotice::Failed { id, failure } => {
            assert_eq!(id, task.id());
            assert_eq!(failure.cause, FailureCause::Panicked);
            assert!(failure.message.contains("kaboom"), "{}", failure.message);
        }
        other => panic!("expected failed, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn owner_is_told_cancelled_with_who_and_why() {
    let ward = common::ward().await;
    let (host, mut rx) = host().await;
    let task = long_task(&ward, owned_by(&host, "cancel-me")).await;
    task.cancel(Some("user pressed stop".into())).await.unwrap();
    match next_notice(&mut rx).await {
        TaskNotice::Cancelled { id, cancellation } => {
            assert_eq!(id, task.id());
            assert_eq!(cancellation.by, CancelledBy::Client);
            assert_eq!(cancellation.reason.as_deref(), Some("user pressed stop"));
        }
        other => panic!("expected cancelled, got {other:?}"),
    }
    no_more_notices(&mut rx).await;
}

#[tokio::test(start_paused = true)]
async fn owner_is_told_timed_out() {
    let ward = common::ward().await;
    let (host, mut rx) = host().await;
    let task = long_task(
        &ward,
        owned_by(&host, "slow").timeout(Duration::from_secs(5)),
    )
    .await;
    match next_notice(&mut rx).await {
        TaskNotice::TimedOut { id } => assert_eq!(id, task.id()),
        other => panic!("expected timed out, got {other:?}"),
    }
    assert_eq!(
        task.get()
            .unwrap()
            .outcome
            .as_ref()
            .unwrap()
            .failure()
            .unwrap()
            .cause,
        FailureCause::TimedOut
    );
    no_more_notices(&mut rx).await;
}

// ------------------------------------------------------------------ owner death

#[tokio::test(start_paused = true)]
async fn owner_death_with_cancel_policy_cancels_by_owner() {
    let ward = common::ward().await;
    let (host, _rx) = host().await;
    let task = long_task(
        &ward,
        owned_by(&host, "child").on_owner_exit(ClosePolicy::Cancel),
    )
    .await;
    assert_eq!(task.get().unwrap().status, Status::Working);

    host.stop_and_wait(None, None).await.unwrap();

    let outcome = wait_for(&task).await;
    let cancellation = outcome.cancellation().expect("cancelled");
    assert_eq!(cancellation.by, CancelledBy::Owner);
    assert_eq!(task.get().unwrap().status, Status::Cancelled);
}

#[tokio::test(start_paused = true)]
async fn owner_crash_with_cancel_policy_cancels_by_owner() {
    let ward = common::ward().await;
    let (host, _rx) = host().await;
    let task = long_task(
        &ward,
        owned_by(&host, "child").on_owner_exit(ClosePolicy::Cancel),
    )
    .await;

    // The owner fails (a handler error), rather than stopping normally.
    host.cast(HostMsg::Crash).unwrap();

    let outcome = wait_for(&task).await;
    assert_eq!(
        outcome.cancellation().expect("cancelled").by,
        CancelledBy::Owner
    );
}

#[tokio::test(start_paused = true)]
async fn owner_death_with_keep_policy_leaves_the_task_working() {
    let ward = common::ward().await;
    let (host, _rx) = host().await;
    let kept = ward
        .submit(
            owned_by(&host, "kept").on_owner_exit(ClosePolicy::Keep),
            |ctx: TaskContext| common::sleepy(ctx, Duration::from_secs(120)),
        )
        .await
        .unwrap();
    // A sibling with the cancel policy tells us when the owner's death has been handled.
    let marker = long_task(
        &ward,
        owned_by(&host, "marker").on_owner_exit(ClosePolicy::Cancel),
    )
    .await;

    host.stop_and_wait(None, None).await.unwrap();
    let marker_outcome = wait_for(&marker).await;
    assert_eq!(
        marker_outcome.cancellation().unwrap().by,
        CancelledBy::Owner
    );

    // The kept task is untouched: still working, its runner still answering.
    let record = kept.get().unwrap();
    assert_eq!(record.status, Status::Working);
    assert!(record.outcome.is_none());
    let runner = kept.runner_status().await.expect("runner still alive");
    assert_eq!(runner.phase, Phase::Running);

    // And it runs to its own end.
    assert_eq!(wait_for(&kept).await, Outcome::completed(json!("slept")));
}

#[tokio::test(start_paused = true)]
async fn owner_death_with_transfer_policy_moves_the_task_to_the_new_scope() {
    let ward = common::ward().await;
    let (host, _rx) = host().await;
    let old = Scope::session("client-1");
    let heir = Scope::session("heir");
    let task = long_task(
        &ward,
        owned_by(&host, "orphan")
            .scope(old.clone())
            .on_owner_exit(ClosePolicy::Transfer(heir.clone())),
    )
    .await;
    let id = task.id();
    let mut events = ward.subscribe(EventFilter::all().task(id).without_progress());

    host.stop_and_wait(None, None).await.unwrap();

    let transferred = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let e = common::next_event(&mut events).await;
            if let EventKind::Transferred { from } = &e.kind {
                return (e.scope.clone(), from.clone());
            }
        }
    })
    .await
    .expect("a transferred event");
    assert_eq!(transferred, (heir.clone(), old.clone()));

    // Only the new scope sees it now.
    assert!(matches!(ward.get(&old, id), Err(Error::NotFound(x)) if x == id));
    assert!(matches!(
        ward.cancel(&old, id, None).await,
        Err(Error::NotFound(_))
    ));
    assert!(ward.list(&old, &ListQuery::new()).unwrap().tasks.is_empty());
    let record = ward.get(&heir, id).unwrap();
    assert_eq!(record.scope, heir);
    assert_eq!(record.status, Status::Working);
    let listed = ward.list(&heir, &ListQuery::new()).unwrap();
    assert_eq!(listed.tasks.len(), 1);
    assert_eq!(listed.tasks[0].id, id);

    // It still runs and is driven from its new scope.
    let cancelled = ward.cancel(&heir, id, None).await.unwrap();
    assert_eq!(cancelled.status, Status::Cancelled);
    let outcome = ward.wait(&heir, id).await.unwrap();
    assert_eq!(outcome.cancellation().unwrap().by, CancelledBy::Client);
}

#[tokio::test(start_paused = true)]
async fn owner_already_dead_at_submit_applies_the_policy_at_once() {
    let ward = common::ward().await;
    let (host, _rx) = host().await;
    host.stop_and_wait(None, None).await.unwrap();
    let task = long_task(
        &ward,
        owned_by(&host, "late").on_owner_exit(ClosePolicy::Cancel),
    )
    .await;
    let outcome = wait_for(&task).await;
    assert_eq!(
        outcome.cancellation().expect("cancelled").by,
        CancelledBy::Owner
    );
}

#[tokio::test(start_paused = true)]
async fn owner_death_after_the_task_ended_changes_nothing() {
    let ward = common::ward().await;
    let (host, mut rx) = host().await;
    let task = ward
        .submit(
            owned_by(&host, "done").on_owner_exit(ClosePolicy::Cancel),
            |_ctx: TaskContext| async move { Ok(json!(1)) },
        )
        .await
        .unwrap();
    assert!(matches!(
        next_notice(&mut rx).await,
        TaskNotice::Completed { .. }
    ));
    host.stop_and_wait(None, None).await.unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let _ = ward.status().await.unwrap();
    let record = task.get().unwrap();
    assert_eq!(record.status, Status::Completed);
    assert_eq!(record.outcome, Some(Outcome::completed(json!(1))));
}

// ------------------------------------------------------------------ close_scope

#[tokio::test(start_paused = true)]
async fn close_scope_keep_leaves_every_task_working() {
    let ward = common::ward().await;
    let scope = Scope::session("s");
    let a = long_task(&ward, TaskSpec::new("a").scope(scope.clone())).await;
    let b = long_task(&ward, TaskSpec::new("b").scope(scope.clone())).await;

    let affected = ward.close_scope(&scope, ClosePolicy::Keep).await.unwrap();
    assert_eq!(affected, 0);
    for t in [&a, &b] {
        let r = ward.get(&scope, t.id()).unwrap();
        assert_eq!(r.status, Status::Working);
    }
    assert_eq!(ward.status().await.unwrap().live, 2);
}

#[tokio::test(start_paused = true)]
async fn close_scope_cancel_cancels_live_tasks_by_owner_only_in_that_scope() {
    let ward = common::ward().await;
    let scope = Scope::session("closing");
    let other = Scope::session("other");
    let (host, mut rx) = host().await;
    let a = long_task(&ward, owned_by(&host, "a").scope(scope.clone())).await;
    let b = long_task(&ward, TaskSpec::new("b").scope(scope.clone())).await;
    let done = ward
        .submit(
            TaskSpec::new("done").scope(scope.clone()),
            |_ctx: TaskContext| async move { Ok(json!("early")) },
        )
        .await
        .unwrap();
    wait_for(&done).await;
    let elsewhere = long_task(&ward, TaskSpec::new("elsewhere").scope(other.clone())).await;

    let affected = ward.close_scope(&scope, ClosePolicy::Cancel).await.unwrap();
    assert_eq!(affected, 2);

    for t in [&a, &b] {
        let r = ward.get(&scope, t.id()).unwrap();
        assert_eq!(r.status, Status::Cancelled);
        let outcome = wait_for(t).await;
        assert_eq!(outcome.cancellation().unwrap().by, CancelledBy::Owner);
    }
    // The owner of `a` (alive) is told, in its own message type.
    match next_notice(&mut rx).await {
        TaskNotice::Cancelled { id, cancellation } => {
            assert_eq!(id, a.id());
            assert_eq!(cancellation.by, CancelledBy::Owner);
        }
        other => panic!("expected cancelled, got {other:?}"),
    }
    // A task that had ended keeps its outcome; another scope is untouched.
    assert_eq!(
        ward.get(&scope, done.id()).unwrap().outcome,
        Some(Outcome::completed(json!("early")))
    );
    assert_eq!(
        ward.get(&other, elsewhere.id()).unwrap().status,
        Status::Working
    );
    assert_eq!(ward.status().await.unwrap().live, 1);
}

#[tokio::test(start_paused = true)]
async fn close_scope_transfer_moves_live_tasks_to_the_new_scope() {
    let ward = common::ward().await;
    let scope = Scope::session("closing");
    let heir = Scope::principal("alice");
    let a = long_task(&ward, TaskSpec::new("a").scope(scope.clone())).await;
    let b = long_task(&ward, TaskSpec::new("b").scope(scope.clone())).await;
    let done = ward
        .submit(
            TaskSpec::new("done").scope(scope.clone()),
            |_ctx: TaskContext| async move { Ok(json!("early")) },
        )
        .await
        .unwrap();
    wait_for(&done).await;

    let affected = ward
        .close_scope(&scope, ClosePolicy::Transfer(heir.clone()))
        .await
        .unwrap();
    assert_eq!(affected, 2);

    for t in [&a, &b] {
        assert!(matches!(ward.get(&scope, t.id()), Err(Error::NotFound(_))));
        let r = ward.get(&heir, t.id()).unwrap();
        assert_eq!(r.scope, heir);
        assert_eq!(r.status, Status::Working);
    }
    let mut moved: Vec<_> = ward
        .list(&heir, &ListQuery::new())
        .unwrap()
        .tasks
        .iter()
        .map(|r| r.id)
        .collect();
    moved.sort();
    let mut expected = vec![a.id(), b.id()];
    expected.sort();
    assert_eq!(moved, expected);
    // Only the terminal task stays behind.
    let left = common::listed_ids(&ward, &scope);
    assert_eq!(left, vec![done.id()]);

    // Moved tasks are still live and can be cancelled in their new scope.
    let r = ward.cancel(&heir, a.id(), None).await.unwrap();
    assert_eq!(r.status, Status::Cancelled);
}

// ------------------------------------------------------------------ with other semantics

#[tokio::test(start_paused = true)]
async fn owner_is_told_once_after_retries_not_per_attempt() {
    let ward = common::ward().await;
    let (host, mut rx) = host().await;
    let task = ward
        .submit(
            owned_by(&host, "flaky").restart(taskward::Restart::transient(
                3,
                taskward::Backoff::fixed(Duration::from_secs(1)),
            )),
            |ctx: TaskContext| async move {
                if ctx.attempt() < 3 {
                    Err(TaskError::new("not yet"))
                } else {
                    Ok(json!("third time"))
                }
            },
        )
        .await
        .unwrap();
    match next_notice(&mut rx).await {
        TaskNotice::Completed { id, value } => {
            assert_eq!(id, task.id());
            assert_eq!(value, json!("third time"));
        }
        other => panic!("expected completed, got {other:?}"),
    }
    no_more_notices(&mut rx).await;
}

#[tokio::test(start_paused = true)]
async fn owner_is_told_when_the_ttl_cancels_its_task() {
    let ward = common::ward_with_sweep().await;
    let (host, mut rx) = host().await;
    let task = long_task(
        &ward,
        owned_by(&host, "expiring").ttl(Duration::from_secs(10)),
    )
    .await;
    match next_notice(&mut rx).await {
        TaskNotice::Cancelled { id, cancellation } => {
            assert_eq!(id, task.id());
            assert_eq!(cancellation.by, CancelledBy::Expiry);
        }
        other => panic!("expected cancelled, got {other:?}"),
    }
}
