//! External tasks: work that runs elsewhere (a child process, another service), registered with
//! a cancel callback and driven to its end by the host, under the same registry, events and TTL.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use taskward::{
    Cancellation, CancelledBy, Error, Event, EventFilter, EventKind, FailureCause, Outcome, Phase,
    Scope, Status, Subscription, TaskError, TaskSpec,
};

/// Records the cancellations an external task's callback receives.
fn recorder() -> (
    Arc<Mutex<Vec<Cancellation>>>,
    impl Fn(&Cancellation) + Send + Sync + 'static,
) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    (seen, move |c: &Cancellation| {
        sink.lock().unwrap().push(c.clone())
    })
}

/// The kinds of the events received until none comes within a few (paused-clock) ms.
async fn drain(events: &mut Subscription) -> Vec<EventKind> {
    let mut kinds = Vec::new();
    while let Ok(Some(Event::Task(event))) =
        tokio::time::timeout(Duration::from_millis(5), events.recv()).await
    {
        kinds.push(event.kind);
    }
    kinds
}

#[tokio::test(start_paused = true)]
async fn the_host_drives_an_external_task_to_completion() {
    let ward = common::ward().await;
    let scope = Scope::session("host");
    let mut events = ward.subscribe(EventFilter::all().scope(scope.clone()));
    let (cancels, on_cancel) = recorder();
    let task = ward
        .submit_external(TaskSpec::new("build").scope(scope.clone()), on_cancel)
        .await
        .unwrap();
    let record = task.get().unwrap();
    assert!(record.external);
    assert_eq!(record.status, Status::Working);
    assert_eq!(record.phase, Some(Phase::Running));
    // No runner: status queries say so rather than inventing one.
    assert!(matches!(
        task.runner_status().await,
        Err(Error::NoLiveRunner(_))
    ));

    ward.external_progress(&scope, task.id(), 3, Some(4), Some("linking"))
        .unwrap();
    // Delivered by the registry's next progress tick (every 10 ms).
    tokio::time::sleep(Duration::from_millis(20)).await;
    let progress = task
        .get()
        .unwrap()
        .progress
        .clone()
        .expect("progress recorded");
    assert_eq!((progress.done, progress.total), (3, Some(4)));

    let done = ward
        .finish_external(&scope, task.id(), Ok(json!({"artifact": "a.out"})))
        .await
        .unwrap();
    assert_eq!(done.status, Status::Completed);
    assert_eq!(
        task.wait().await.unwrap(),
        Outcome::completed(json!({"artifact": "a.out"}))
    );
    assert!(cancels.lock().unwrap().is_empty());

    let kinds = drain(&mut events).await;
    assert!(
        matches!(kinds.first(), Some(EventKind::Created { .. })),
        "{kinds:?}"
    );
    assert!(
        kinds.iter().any(|k| matches!(k, EventKind::Progress(_))),
        "{kinds:?}"
    );
    assert!(
        matches!(kinds.last(), Some(EventKind::Completed)),
        "{kinds:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn an_external_failure_and_an_external_cancel_end_the_task() {
    let ward = common::ward().await;
    let scope = Scope::session("host");
    let (_, on_cancel) = recorder();
    let failed = ward
        .submit_external(TaskSpec::new("deploy").scope(scope.clone()), on_cancel)
        .await
        .unwrap();
    ward.finish_external(&scope, failed.id(), Err(TaskError::new("exit code 2")))
        .await
        .unwrap();
    let failure = failed.wait().await.unwrap().failure().cloned().unwrap();
    assert_eq!(failure.cause, FailureCause::Error);
    assert_eq!(failure.message, "exit code 2");

    // A second end is refused, naming the status the first one set.
    let again = ward
        .finish_external(&scope, failed.id(), Ok(json!(1)))
        .await;
    assert!(
        matches!(
            again,
            Err(Error::AlreadyTerminal {
                status: Status::Failed,
                ..
            })
        ),
        "{again:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn cancelling_an_external_task_calls_its_callback() {
    let ward = common::ward().await;
    let scope = Scope::session("host");
    let (cancels, on_cancel) = recorder();
    let task = ward
        .submit_external(TaskSpec::new("crawl").scope(scope.clone()), on_cancel)
        .await
        .unwrap();
    let record = task.cancel(Some("user stop".into())).await.unwrap();
    assert_eq!(record.status, Status::Cancelled);
    let seen = cancels.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].by, CancelledBy::Client);
    assert_eq!(seen[0].reason.as_deref(), Some("user stop"));
    // The host reporting its end afterwards is refused, and changes nothing.
    let late = ward.finish_external(&scope, task.id(), Ok(json!(1))).await;
    assert!(
        matches!(late, Err(Error::AlreadyTerminal { .. })),
        "{late:?}"
    );
    assert_eq!(task.get().unwrap().status, Status::Cancelled);
}

#[tokio::test(start_paused = true)]
async fn an_external_task_expires_like_any_other() {
    let ward = common::ward_with_sweep().await;
    let scope = Scope::session("host");
    let (cancels, on_cancel) = recorder();
    let task = ward
        .submit_external(
            TaskSpec::new("watch")
                .scope(scope.clone())
                .ttl(Duration::from_secs(5)),
            on_cancel,
        )
        .await
        .unwrap();
    let outcome = task.wait().await.unwrap();
    assert_eq!(outcome.cancellation().unwrap().by, CancelledBy::Expiry);
    assert_eq!(cancels.lock().unwrap()[0].by, CancelledBy::Expiry);
    assert!(matches!(task.get(), Err(Error::NotFound(_))));
}

#[tokio::test(start_paused = true)]
async fn external_calls_are_scoped_and_refused_for_ordinary_tasks() {
    let ward = common::ward().await;
    let scope = Scope::session("host");
    let (_, on_cancel) = recorder();
    let external = ward
        .submit_external(TaskSpec::new("x").scope(scope.clone()), on_cancel)
        .await
        .unwrap();
    let other = Scope::session("other");
    assert!(matches!(
        ward.finish_external(&other, external.id(), Ok(json!(1)))
            .await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        ward.external_progress(&other, external.id(), 1, None, None),
        Err(Error::NotFound(_))
    ));

    let ordinary = ward
        .submit(
            TaskSpec::new("ordinary").scope(scope.clone()),
            |ctx: taskward::TaskContext| common::sleepy(ctx, Duration::from_secs(60)),
        )
        .await
        .unwrap();
    assert!(matches!(
        ward.finish_external(&scope, ordinary.id(), Ok(json!(1)))
            .await,
        Err(Error::NotExternal(_))
    ));
    assert!(matches!(
        ward.external_progress(&scope, ordinary.id(), 1, None, None),
        Err(Error::NotExternal(_))
    ));
}
