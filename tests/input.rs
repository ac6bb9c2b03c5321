//! Semantic "live input_required": work that asks for input parks (status `input_required`,
//! evented) until a client answers, resumes where it awaited (never replayed), and is back to
//! `working` once no request is outstanding; cancel, timeout and TTL expiry wake parked work.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::secs;
use serde_json::{Value, json};
use taskward::{
    CancelledBy, Error, EventFilter, EventKind, FailureCause, InputRequest, Outcome, Phase, Scope,
    Status, Subscription, TaskContext, TaskError, TaskSpec,
};
use tokio::sync::mpsc;

/// Reads events until the task's status changes to `status`, within a minute of virtual time.
async fn until_status(sub: &mut Subscription, status: Status) {
    tokio::time::timeout(secs(60), async {
        loop {
            let event = common::next_event(sub).await;
            if let EventKind::StatusChanged { status: s, .. } = event.kind
                && s == status
            {
                return;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no change to {status} within a minute"));
}

fn count(status: &taskward::RegistryStatus, which: Status) -> u64 {
    status
        .by_status
        .iter()
        .find(|(s, _)| *s == which)
        .map_or(0, |(_, n)| *n)
}

/// Work that asks for `key` once and sends what the request returned on `seen`.
fn asker(
    key: &'static str,
    seen: mpsc::UnboundedSender<Result<Value, TaskError>>,
) -> impl Fn(
    TaskContext,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Value, TaskError>> + Send>>
+ Send
+ Sync
+ 'static {
    move |ctx: TaskContext| {
        let seen = seen.clone();
        Box::pin(async move {
            let answer = ctx.request_input(key, json!({ "ask": key })).await;
            let _ = seen.send(answer.clone());
            answer
        })
    }
}

#[tokio::test(start_paused = true)]
async fn parked_work_resumes_where_it_awaited_once_answered() {
    let ward = common::ward().await;
    let scope = Scope::session("park");
    let mut sub = ward.subscribe(EventFilter::all().scope(scope.clone()));
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let task = ward
        .submit(
            TaskSpec::new("greet").scope(scope.clone()),
            move |ctx: TaskContext| {
                counter.fetch_add(1, Ordering::SeqCst);
                async move {
                    ctx.progress(1, Some(2), "asking");
                    let name = ctx
                        .request_input("name", json!({ "message": "Your name?" }))
                        .await?;
                    ctx.progress(2, Some(2), "greeting");
                    Ok(json!({ "hello": name }))
                }
            },
        )
        .await
        .unwrap();
    let id = task.id();

    until_status(&mut sub, Status::InputRequired).await;
    let record = ward.get(&scope, id).unwrap();
    assert_eq!(record.status, Status::InputRequired);
    assert_eq!(record.phase, Some(Phase::Running));
    assert!(!record.is_terminal());
    assert_eq!(
        ward.input_requests(&scope, id).unwrap(),
        vec![InputRequest::new(
            "name",
            json!({ "message": "Your name?" })
        )]
    );
    let status = ward.status().await.unwrap();
    assert_eq!(count(&status, Status::InputRequired), 1);
    assert_eq!(count(&status, Status::Working), 0);
    assert_eq!(status.live, 1);

    // Parked, not busy: ten minutes later it still waits.
    tokio::time::sleep(secs(600)).await;
    assert_eq!(ward.get(&scope, id).unwrap().status, Status::InputRequired);

    let record = ward
        .provide_input(&scope, id, "name", json!("Ada"))
        .await
        .unwrap();
    assert_eq!(record.status, Status::Working);
    assert!(ward.input_requests(&scope, id).unwrap().is_empty());
    until_status(&mut sub, Status::Working).await;

    assert_eq!(
        task.wait().await.unwrap(),
        Outcome::completed(json!({ "hello": "Ada" }))
    );
    // Resumed where it awaited: the work was built once, never replayed.
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(task.get().unwrap().attempt, 1);
    let status = ward.status().await.unwrap();
    assert_eq!(count(&status, Status::InputRequired), 0);
    assert_eq!(count(&status, Status::Working), 0);
    assert_eq!(count(&status, Status::Completed), 1);
    assert!(ward.input_requests(&scope, id).unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_partial_answer_keeps_the_task_input_required() {
    let ward = common::ward().await;
    let scope = Scope::session("two");
    let mut sub = ward.subscribe(EventFilter::all().scope(scope.clone()));
    let task = ward
        .submit(
            TaskSpec::new("two").scope(scope.clone()),
            |ctx: TaskContext| async move {
                let (a, b) = tokio::join!(
                    ctx.request_input("a", json!("first?")),
                    ctx.request_input("b", json!("second?")),
                );
                // Keys are unique over the task's lifetime.
                let again = ctx.request_input("a", json!("first, again?")).await;
                Ok(json!({
                    "a": a?,
                    "b": b?,
                    "again": again.unwrap_err().message(),
                }))
            },
        )
        .await
        .unwrap();
    let id = task.id();

    until_status(&mut sub, Status::InputRequired).await;
    assert_eq!(
        ward.input_requests(&scope, id).unwrap(),
        vec![
            InputRequest::new("a", json!("first?")),
            InputRequest::new("b", json!("second?")),
        ]
    );

    let record = ward.provide_input(&scope, id, "b", json!(2)).await.unwrap();
    assert_eq!(record.status, Status::InputRequired);
    assert_eq!(
        ward.input_requests(&scope, id).unwrap(),
        vec![InputRequest::new("a", json!("first?"))]
    );
    tokio::time::sleep(secs(60)).await;
    assert_eq!(ward.get(&scope, id).unwrap().status, Status::InputRequired);

    let record = ward.provide_input(&scope, id, "a", json!(1)).await.unwrap();
    assert_eq!(record.status, Status::Working);
    until_status(&mut sub, Status::Working).await;
    assert_eq!(
        task.wait().await.unwrap(),
        Outcome::completed(json!({ "a": 1, "b": 2, "again": "input key already used" }))
    );
}

#[tokio::test(start_paused = true)]
async fn unknown_keys_and_foreign_scopes_are_refused() {
    let ward = common::ward().await;
    let scope = Scope::session("mine");
    let other = Scope::session("theirs");
    let mut sub = ward.subscribe(EventFilter::all().scope(scope.clone()));
    let (seen, mut results) = mpsc::unbounded_channel();
    let task = ward
        .submit(TaskSpec::new("ask").scope(scope.clone()), asker("k", seen))
        .await
        .unwrap();
    let id = task.id();
    until_status(&mut sub, Status::InputRequired).await;

    // Never asked.
    match ward.provide_input(&scope, id, "nope", json!(1)).await {
        Err(Error::UnknownInput { id: i, key }) => {
            assert_eq!(i, id);
            assert_eq!(key, "nope");
        }
        other => panic!("expected UnknownInput, got {other:?}"),
    }
    // Another scope sees nothing, and cannot answer.
    assert!(matches!(
        ward.input_requests(&other, id),
        Err(Error::NotFound(i)) if i == id
    ));
    assert!(matches!(
        ward.provide_input(&other, id, "k", json!(1)).await,
        Err(Error::NotFound(i)) if i == id
    ));
    // Neither does an unknown id.
    let unknown = taskward::TaskId::new();
    assert!(matches!(
        ward.input_requests(&scope, unknown),
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        ward.provide_input(&scope, unknown, "k", json!(1)).await,
        Err(Error::NotFound(_))
    ));
    // Still parked, still asking.
    assert_eq!(ward.get(&scope, id).unwrap().status, Status::InputRequired);
    assert_eq!(ward.input_requests(&scope, id).unwrap().len(), 1);

    ward.provide_input(&scope, id, "k", json!("v"))
        .await
        .unwrap();
    assert_eq!(results.recv().await.unwrap().unwrap(), json!("v"));
    // Answered already: the key is no longer outstanding.
    let again = ward.provide_input(&scope, id, "k", json!("v")).await;
    assert!(
        matches!(
            again,
            Err(Error::UnknownInput { .. } | Error::AlreadyTerminal { .. })
        ),
        "{again:?}"
    );
    assert_eq!(task.wait().await.unwrap(), Outcome::completed(json!("v")));
}

#[tokio::test(start_paused = true)]
async fn cancel_wakes_parked_work_at_once() {
    let ward = common::ward().await;
    let scope = Scope::session("cancel");
    let mut sub = ward.subscribe(EventFilter::all().scope(scope.clone()));
    let (seen, mut results) = mpsc::unbounded_channel();
    let task = ward
        .submit(
            TaskSpec::new("ask")
                .scope(scope.clone())
                .cancel_grace(secs(30)),
            asker("k", seen),
        )
        .await
        .unwrap();
    let id = task.id();
    until_status(&mut sub, Status::InputRequired).await;

    let record = ward
        .cancel(&scope, id, Some("changed my mind".into()))
        .await
        .unwrap();
    assert_eq!(record.status, Status::Cancelled);
    // The work's request returned at once, long before the grace period would abort it.
    let seen = tokio::time::timeout(Duration::from_millis(1), results.recv())
        .await
        .expect("the parked work woke at once")
        .unwrap();
    assert!(seen.unwrap_err().is_cancelled());

    let outcome = task.wait().await.unwrap();
    assert_eq!(outcome.cancellation().unwrap().by, CancelledBy::Client);
    assert!(ward.input_requests(&scope, id).unwrap().is_empty());
    assert!(matches!(
        ward.provide_input(&scope, id, "k", json!(1)).await,
        Err(Error::AlreadyTerminal {
            status: Status::Cancelled,
            ..
        })
    ));
    let status = ward.status().await.unwrap();
    assert_eq!(count(&status, Status::InputRequired), 0);
    assert_eq!(count(&status, Status::Cancelled), 1);
    assert_eq!(status.live, 0);
    assert_eq!(status.late_results, 0);
}

#[tokio::test(start_paused = true)]
async fn a_timeout_while_parked_fails_the_task_timed_out() {
    let ward = common::ward().await;
    let scope = Scope::session("timeout");
    let (seen, mut results) = mpsc::unbounded_channel();
    let started = tokio::time::Instant::now();
    let task = ward
        .submit(
            TaskSpec::new("ask").scope(scope.clone()).timeout(secs(10)),
            asker("k", seen),
        )
        .await
        .unwrap();
    let id = task.id();

    let outcome = task.wait().await.unwrap();
    assert_eq!(outcome.failure().unwrap().cause, FailureCause::TimedOut);
    let took = started.elapsed();
    assert!(took >= secs(10) && took < secs(11), "{took:?}");
    assert!(results.recv().await.unwrap().unwrap_err().is_cancelled());
    assert_eq!(ward.get(&scope, id).unwrap().status, Status::Failed);
    assert!(matches!(
        ward.provide_input(&scope, id, "k", json!(1)).await,
        Err(Error::AlreadyTerminal {
            status: Status::Failed,
            ..
        })
    ));
    let status = ward.status().await.unwrap();
    assert_eq!(count(&status, Status::InputRequired), 0);
    assert_eq!(count(&status, Status::Failed), 1);
}

#[tokio::test(start_paused = true)]
async fn ttl_expiry_while_parked_cancels_by_expiry() {
    let ward = common::ward_with_sweep().await;
    let scope = Scope::session("ttl");
    let mut sub = ward.subscribe(EventFilter::all().scope(scope.clone()));
    let (seen, mut results) = mpsc::unbounded_channel();
    let task = ward
        .submit(
            TaskSpec::new("ask").scope(scope.clone()).ttl(secs(5)),
            asker("k", seen),
        )
        .await
        .unwrap();
    let id = task.id();
    until_status(&mut sub, Status::InputRequired).await;

    let outcome = task.wait().await.unwrap();
    assert_eq!(outcome.cancellation().unwrap().by, CancelledBy::Expiry);
    assert!(results.recv().await.unwrap().unwrap_err().is_cancelled());
    // Removed: get, input_requests and provide_input all say not found.
    assert!(matches!(ward.get(&scope, id), Err(Error::NotFound(_))));
    assert!(matches!(
        ward.input_requests(&scope, id),
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        ward.provide_input(&scope, id, "k", json!(1)).await,
        Err(Error::NotFound(_))
    ));
    let status = ward.status().await.unwrap();
    assert_eq!(count(&status, Status::InputRequired), 0);
    assert_eq!(status.tasks, 0);
    assert_eq!(status.live, 0);
}

#[tokio::test(start_paused = true)]
async fn a_request_the_work_stops_waiting_for_is_withdrawn() {
    let ward = common::ward().await;
    let scope = Scope::session("withdraw");
    let mut sub = ward.subscribe(EventFilter::all().scope(scope.clone()));
    let task = ward
        .submit(
            TaskSpec::new("impatient").scope(scope.clone()),
            |ctx: TaskContext| async move {
                tokio::select! {
                    answer = ctx.request_input("quick", json!("answer within a second")) => {
                        return Ok(json!({ "quick": answer? }));
                    }
                    () = tokio::time::sleep(secs(1)) => {}
                }
                // Nothing outstanding for a while: working again.
                tokio::time::sleep(secs(1)).await;
                let slow = ctx.request_input("slow", json!("take your time")).await?;
                Ok(json!({ "slow": slow }))
            },
        )
        .await
        .unwrap();
    let id = task.id();

    until_status(&mut sub, Status::InputRequired).await;
    // Withdrawn after a second: back to working, then parked on the second request.
    until_status(&mut sub, Status::Working).await;
    assert!(ward.input_requests(&scope, id).unwrap().is_empty());
    assert_eq!(ward.get(&scope, id).unwrap().status, Status::Working);
    until_status(&mut sub, Status::InputRequired).await;
    assert_eq!(
        ward.input_requests(&scope, id).unwrap(),
        vec![InputRequest::new("slow", json!("take your time"))]
    );
    assert!(matches!(
        ward.provide_input(&scope, id, "quick", json!(1)).await,
        Err(Error::UnknownInput { .. })
    ));
    ward.provide_input(&scope, id, "slow", json!(2))
        .await
        .unwrap();
    assert_eq!(
        task.wait().await.unwrap(),
        Outcome::completed(json!({ "slow": 2 }))
    );
}

#[tokio::test(start_paused = true)]
async fn provide_input_after_completion_is_already_terminal() {
    let ward = common::ward().await;
    let scope = Scope::session("done");
    let task = common::submit_instant(&ward, &scope, "instant", json!(1)).await;
    task.wait().await.unwrap();
    assert!(ward.input_requests(&scope, task.id()).unwrap().is_empty());
    assert!(matches!(
        ward.provide_input(&scope, task.id(), "k", json!(1)).await,
        Err(Error::AlreadyTerminal {
            status: Status::Completed,
            ..
        })
    ));
}
