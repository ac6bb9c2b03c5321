//! Semantic 4, progress: `ctx.progress` never blocks and never queues a message per call
//! (latest wins, coalesced); `done` never goes backwards; progress reaches the record and the
//! subscribers, and never after a terminal status.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use common::events_of;
use serde_json::json;
use taskward::{
    Event, EventFilter, EventKind, Outcome, Progress, ProgressMessage, Scope, Status, TaskContext,
    TaskError, TaskSpec,
};

const CALLS: u64 = 100_000;

fn progress_events(kinds: &[EventKind]) -> Vec<Progress> {
    kinds
        .iter()
        .filter_map(|k| match k {
            EventKind::Progress(p) => Some(p.clone()),
            _ => None,
        })
        .collect()
}

fn assert_done_never_decreases(progress: &[Progress]) {
    assert!(
        progress.windows(2).all(|w| w[0].done <= w[1].done),
        "done went backwards: {progress:?}"
    );
}

fn progress(done: u64, total: Option<u64>, message: &str) -> Progress {
    Progress::new(done, total, Some(Arc::from(message)))
}

#[tokio::test(start_paused = true)]
async fn a_hot_loop_never_blocks_and_is_coalesced() {
    let ward = common::ward().await;
    let mut sub = ward.subscribe(EventFilter::all());
    // The test runtime has one thread: while this loop runs, the registry cannot. A progress
    // call that waited for the registry, or queued a message per call, would hang here or lag
    // the subscriber.
    let task = ward
        .submit(TaskSpec::new("hot"), |ctx: TaskContext| async move {
            for i in 1..=CALLS {
                ctx.progress(i, Some(CALLS), "hot");
            }
            ctx.progress(CALLS, Some(CALLS), "last");
            Ok(json!("done"))
        })
        .await
        .unwrap();
    assert_eq!(
        task.wait().await.unwrap(),
        Outcome::completed(json!("done"))
    );

    let kinds = events_of(&mut sub, task.id()).await;
    let reported = progress_events(&kinds);
    assert!(
        reported.len() <= 2,
        "{} progress events for {CALLS} calls",
        reported.len()
    );
    assert_done_never_decreases(&reported);
    // Latest wins: the record holds the last call's values.
    assert_eq!(
        task.get().unwrap().progress,
        Some(progress(CALLS, Some(CALLS), "last"))
    );
}

#[tokio::test(start_paused = true)]
async fn progress_read_while_the_work_runs_is_coalesced_and_latest_wins() {
    let ward = common::ward().await;
    let mut sub = ward.subscribe(EventFilter::all());
    // This time the work yields now and then, so the registry reads progress mid-loop.
    let task = ward
        .submit(TaskSpec::new("warm"), |ctx: TaskContext| async move {
            for i in 1..=CALLS {
                ctx.progress(i, Some(CALLS), None);
                if i % 1000 == 0 {
                    tokio::task::yield_now().await;
                }
            }
            ctx.progress(CALLS, Some(CALLS), "last");
            tokio::time::sleep(Duration::from_secs(1)).await;
            Ok(json!("done"))
        })
        .await
        .unwrap();

    // Mid-run, the record holds the latest values.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        task.get().unwrap().progress,
        Some(progress(CALLS, Some(CALLS), "last"))
    );
    assert_eq!(
        task.wait().await.unwrap(),
        Outcome::completed(json!("done"))
    );

    let kinds = events_of(&mut sub, task.id()).await;
    let reported = progress_events(&kinds);
    assert!(!reported.is_empty(), "progress reached subscribers");
    // At most one event per registry read (one per yield), far fewer than calls.
    assert!(
        reported.len() <= 101,
        "{} progress events for {CALLS} calls",
        reported.len()
    );
    assert_done_never_decreases(&reported);
    assert_eq!(
        reported.last().unwrap(),
        &progress(CALLS, Some(CALLS), "last")
    );
    assert_eq!(
        task.get().unwrap().progress,
        Some(progress(CALLS, Some(CALLS), "last"))
    );
}

#[tokio::test(start_paused = true)]
async fn done_never_goes_backwards() {
    let ward = common::ward().await;
    let mut sub = ward.subscribe(EventFilter::all());
    let task = ward
        .submit(TaskSpec::new("wobbly"), |ctx: TaskContext| async move {
            ctx.progress(10, Some(100), "ten");
            tokio::time::sleep(Duration::from_secs(1)).await;
            ctx.progress(5, Some(100), "five");
            tokio::time::sleep(Duration::from_secs(1)).await;
            ctx.progress(3, None, None);
            common::sleepy(ctx, Duration::from_secs(3600)).await
        })
        .await
        .unwrap();

    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(task.get().unwrap().progress.as_ref().unwrap().done, 10);
    tokio::time::sleep(Duration::from_secs(1)).await;
    // 5 after 10: done stays at 10 (the other fields are the latest).
    let p = task.get().unwrap().progress.clone().unwrap();
    assert_eq!(p.done, 10);
    assert_eq!(p.message.as_deref(), Some("five"));
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(task.get().unwrap().progress.as_ref().unwrap().done, 10);
    assert_eq!(task.runner_status().await.unwrap().progress.done, 10);

    task.cancel(None).await.unwrap();
    assert_eq!(task.get().unwrap().progress.as_ref().unwrap().done, 10);
    let reported = progress_events(&events_of(&mut sub, task.id()).await);
    assert!(!reported.is_empty());
    assert!(reported.iter().all(|p| p.done == 10), "{reported:?}");
}

#[tokio::test(start_paused = true)]
async fn progress_reaches_the_record_the_runner_and_subscribers() {
    let ward = common::ward().await;
    let scope = Scope::session("s-progress");
    let mut sub = ward.subscribe(EventFilter::all().scope(scope.clone()));
    let task = ward
        .submit(
            TaskSpec::new("reporting").scope(scope.clone()),
            |ctx: TaskContext| async move {
                ctx.progress(3, Some(10), "three of ten");
                common::sleepy(ctx, Duration::from_secs(3600)).await
            },
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;

    let expected = progress(3, Some(10), "three of ten");
    assert_eq!(
        ward.get(&scope, task.id()).unwrap().progress,
        Some(expected.clone())
    );
    assert_eq!(task.runner_status().await.unwrap().progress, expected);
    let reported = progress_events(&events_of(&mut sub, task.id()).await);
    assert_eq!(reported, vec![expected.clone()]);

    // A subscriber that leaves progress out gets none.
    let mut quiet = ward.subscribe(EventFilter::all().task(task.id()).without_progress());
    task.cancel(None).await.unwrap();
    let kinds = events_of(&mut quiet, task.id()).await;
    assert!(!kinds.is_empty());
    assert!(progress_events(&kinds).is_empty(), "{kinds:?}");
    // The terminal record keeps the last progress.
    assert_eq!(task.get().unwrap().progress, Some(expected));
}

#[tokio::test(start_paused = true)]
async fn no_progress_after_completion() {
    let ward = common::ward().await;
    let mut sub = ward.subscribe(EventFilter::all());
    let leftover_calls = Arc::new(AtomicU64::new(0));
    let calls = leftover_calls.clone();
    let task = ward
        .submit(TaskSpec::new("leaky"), move |ctx: TaskContext| {
            let calls = calls.clone();
            async move {
                ctx.progress(1, Some(2), "one");
                // Leftover work keeps a clone of the context and reports after the task ended.
                let leftover = ctx.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    for i in 0..20 {
                        leftover.progress(100 + i, Some(200), "after the end");
                        calls.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                });
                Ok(json!("done"))
            }
        })
        .await
        .unwrap();
    assert_eq!(
        task.wait().await.unwrap(),
        Outcome::completed(json!("done"))
    );
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(leftover_calls.load(Ordering::SeqCst), 20);

    let record = task.get().unwrap();
    assert_eq!(record.status, Status::Completed);
    assert_eq!(record.progress, Some(progress(1, Some(2), "one")));
    let kinds = events_of(&mut sub, task.id()).await;
    let completed = kinds
        .iter()
        .position(|k| matches!(k, EventKind::Completed))
        .expect("a completed event");
    assert!(
        !kinds[completed..]
            .iter()
            .any(|k| matches!(k, EventKind::Progress(_))),
        "progress after completion: {kinds:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn no_progress_after_cancel() {
    let ward = common::ward().await;
    let mut sub = ward.subscribe(EventFilter::all());
    // Sees its token fire, ignores it, and keeps reporting within its grace period.
    let task = ward
        .submit(
            TaskSpec::new("deaf").cancel_grace(Duration::from_secs(60)),
            |ctx: TaskContext| async move {
                ctx.progress(5, Some(50), "five");
                ctx.cancelled().await;
                for i in 6..=50 {
                    ctx.progress(i, Some(50), "still going");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err::<serde_json::Value, _>(TaskError::cancelled())
            },
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(task.get().unwrap().progress.as_ref().unwrap().done, 5);

    task.cancel(None).await.unwrap();
    tokio::time::sleep(Duration::from_secs(10)).await;

    let record = task.get().unwrap();
    assert_eq!(record.status, Status::Cancelled);
    assert_eq!(record.progress, Some(progress(5, Some(50), "five")));
    // The work did run on (its runner is gone now that it returned).
    assert_eq!(ward.status().await.unwrap().live_runners, 0);
    let kinds = events_of(&mut sub, task.id()).await;
    let cancelled = kinds
        .iter()
        .position(|k| matches!(k, EventKind::Cancelled(_)))
        .expect("a cancelled event");
    assert!(
        !kinds[cancelled..]
            .iter()
            .any(|k| matches!(k, EventKind::Progress(_))),
        "progress after cancel: {kinds:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn work_that_never_awaits_cannot_stall_the_registry() {
    let ward = common::ward().await;
    let mut sub = ward.subscribe(EventFilter::all());
    let stopped = Arc::new(AtomicBool::new(false));
    let spinning = || !stopped.load(Ordering::SeqCst);
    let spin = stopped.clone();
    let spinner = ward
        .submit(TaskSpec::new("spinner"), move |ctx: TaskContext| {
            let stopped = spin.clone();
            // Spins for 1.5 s, reporting progress on every turn, and never awaits.
            async move {
                let start = std::time::Instant::now();
                let mut i = 0;
                while start.elapsed() < Duration::from_millis(1500) {
                    i += 1;
                    ctx.progress(i, None, "spinning");
                }
                stopped.store(true, Ordering::SeqCst);
                Ok(json!(i))
            }
        })
        .await
        .unwrap();

    // The spinner's progress reaches subscribers and the record while it spins.
    loop {
        match sub.recv().await.expect("subscription open") {
            Event::Task(e) if e.task_id == spinner.id() => {
                if matches!(e.kind, EventKind::Progress(_)) {
                    break;
                }
            }
            Event::Task(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(spinning(), "progress arrived only once the spinner stopped");
    assert!(spinner.get().unwrap().progress.is_some());

    // A status query answers.
    ward.status().await.unwrap();
    assert!(spinning(), "status answered only once the spinner stopped");

    // An unrelated task submitted now completes.
    let quick = ward
        .submit(TaskSpec::new("quick"), common::instant(json!(1)))
        .await
        .unwrap();
    assert_eq!(quick.wait().await.unwrap(), Outcome::completed(json!(1)));
    assert!(
        spinning(),
        "an unrelated task completed only once the spinner stopped"
    );

    // Another task's runner answers a status query, and its work sees its cancel.
    let (seen, saw_cancel) = tokio::sync::oneshot::channel();
    let seen = std::sync::Mutex::new(Some(seen));
    let patient = ward
        .submit(TaskSpec::new("patient"), move |ctx: TaskContext| {
            let seen = seen.lock().unwrap().take();
            async move {
                ctx.cancelled().await;
                if let Some(seen) = seen {
                    let _ = seen.send(());
                }
                Err::<serde_json::Value, _>(TaskError::cancelled())
            }
        })
        .await
        .unwrap();
    patient.runner_status().await.unwrap();
    assert!(
        spinning(),
        "a runner answered only once the spinner stopped"
    );
    patient.cancel(None).await.unwrap();
    saw_cancel.await.unwrap();
    assert!(
        spinning(),
        "a cancel was seen only once the spinner stopped"
    );

    // Another task's timeout fires.
    let slow = ward
        .submit(
            TaskSpec::new("slow").timeout(Duration::from_millis(20)),
            |ctx: TaskContext| common::sleepy(ctx, Duration::from_secs(3600)),
        )
        .await
        .unwrap();
    assert!(matches!(slow.wait().await.unwrap(), Outcome::Failed(_)));
    assert!(spinning(), "a timeout fired only once the spinner stopped");

    assert!(matches!(
        spinner.wait().await.unwrap(),
        Outcome::Completed { .. }
    ));
}

/// The record's progress after the registry has read the latest report.
async fn settled(task: &taskward::TaskHandle) -> Progress {
    tokio::time::sleep(Duration::from_secs(1)).await;
    task.get()
        .unwrap()
        .progress
        .clone()
        .expect("progress recorded")
}

/// Work that reports what it is told, one report at a time, and then waits to be cancelled.
async fn puppet(
    ward: &taskward::Taskward,
) -> (
    taskward::TaskHandle,
    tokio::sync::mpsc::UnboundedSender<Box<dyn FnOnce(&TaskContext) + Send>>,
) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Box<dyn FnOnce(&TaskContext) + Send>>();
    let rx = std::sync::Mutex::new(Some(rx));
    let task = ward
        .submit(TaskSpec::new("puppet"), move |ctx: TaskContext| {
            let mut rx = rx.lock().unwrap().take().expect("one attempt");
            async move {
                loop {
                    tokio::select! {
                        report = rx.recv() => match report {
                            Some(report) => report(&ctx),
                            None => return Ok(json!("done")),
                        },
                        () = ctx.cancelled() => return Err(TaskError::cancelled()),
                    }
                }
            }
        })
        .await
        .unwrap();
    (task, tx)
}

#[tokio::test(start_paused = true)]
async fn any_total_round_trips_and_none_means_unknown() {
    let ward = common::ward().await;
    let (task, report) = puppet(&ward).await;

    report
        .send(Box::new(|ctx| ctx.progress(1, Some(u64::MAX), "huge")))
        .unwrap();
    let p = settled(&task).await;
    assert_eq!((p.done, p.total), (1, Some(u64::MAX)));
    assert_eq!(
        task.runner_status().await.unwrap().progress.total,
        Some(u64::MAX)
    );

    report
        .send(Box::new(|ctx| ctx.progress(2, None, None)))
        .unwrap();
    let p = settled(&task).await;
    assert_eq!((p.done, p.total, p.fraction()), (2, None, None));
    task.cancel(None).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_total_below_done_is_raised_to_done() {
    let ward = common::ward().await;
    let mut sub = ward.subscribe(EventFilter::all());
    let (task, report) = puppet(&ward).await;

    report
        .send(Box::new(|ctx| ctx.progress(10, Some(100), None)))
        .unwrap();
    assert_eq!(settled(&task).await.fraction(), Some(0.1));
    // The work finds it has done more than it thought there was.
    report
        .send(Box::new(|ctx| ctx.progress(20, Some(5), None)))
        .unwrap();
    let p = settled(&task).await;
    assert_eq!((p.done, p.total, p.fraction()), (20, Some(20), Some(1.0)));
    // A smaller done keeps 20; the total, latest-wins, is raised to it.
    report
        .send(Box::new(|ctx| ctx.progress(3, Some(4), None)))
        .unwrap();
    let p = settled(&task).await;
    assert_eq!((p.done, p.total), (20, Some(20)));
    // The total may go up again, and down, but never below done.
    report
        .send(Box::new(|ctx| ctx.progress(25, Some(50), None)))
        .unwrap();
    assert_eq!(settled(&task).await.fraction(), Some(0.5));
    task.cancel(None).await.unwrap();

    let reported = progress_events(&events_of(&mut sub, task.id()).await);
    assert!(!reported.is_empty());
    assert!(
        reported
            .iter()
            .all(|p| p.fraction().is_some_and(|f| (0.0..=1.0).contains(&f))),
        "{reported:?}"
    );
    assert_done_never_decreases(&reported);
}

#[tokio::test(start_paused = true)]
async fn the_message_is_latest_wins_kept_by_none_and_clearable() {
    let ward = common::ward().await;
    let mut sub = ward.subscribe(EventFilter::all());
    let (task, report) = puppet(&ward).await;

    report
        .send(Box::new(|ctx| ctx.progress(1, Some(3), "first")))
        .unwrap();
    assert_eq!(settled(&task).await, progress(1, Some(3), "first"));
    report
        .send(Box::new(|ctx| ctx.progress(2, Some(3), None)))
        .unwrap();
    assert_eq!(settled(&task).await, progress(2, Some(3), "first"));
    report
        .send(Box::new(|ctx| {
            ctx.progress(3, Some(3), ProgressMessage::Clear)
        }))
        .unwrap();
    assert_eq!(settled(&task).await, Progress::new(3, Some(3), None));
    assert_eq!(task.runner_status().await.unwrap().progress.message, None);
    task.cancel(None).await.unwrap();
    // The terminal record keeps the cleared message cleared.
    assert_eq!(
        task.get().unwrap().progress,
        Some(Progress::new(3, Some(3), None))
    );

    let reported = progress_events(&events_of(&mut sub, task.id()).await);
    assert_eq!(reported.last(), Some(&Progress::new(3, Some(3), None)));
}

#[tokio::test(start_paused = true)]
async fn an_external_task_follows_the_same_rules() {
    let ward = common::ward().await;
    let scope = Scope::session("host");
    let task = ward
        .submit_external(TaskSpec::new("build").scope(scope.clone()), |_| {})
        .await
        .unwrap();
    let id = task.id();
    ward.external_progress(&scope, id, 5, Some(u64::MAX), "linking")
        .unwrap();
    assert_eq!(settled(&task).await, progress(5, Some(u64::MAX), "linking"));
    ward.external_progress(&scope, id, 9, Some(2), ProgressMessage::Clear)
        .unwrap();
    assert_eq!(settled(&task).await, Progress::new(9, Some(9), None));
}
