//! Semantic 14, registry restart: when the registry actor fails, the root restarts it and it
//! resumes with the table intact; runners' reports made while it was down are not lost; reads
//! never need it.

mod common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::settle;
use ractor::{ActorCell, ActorStatus};
use serde_json::json;
use taskward::{
    Error, Event, EventFilter, EventKind, FailureCause, Intensity, ListQuery, Outcome, Owner,
    Phase, Scope, Status, TaskContext, TaskError, TaskId, TaskNotice, TaskSpec, Taskward,
};
use tokio_util::sync::CancellationToken;

/// Work that reports progress, waits for `gate`, then returns `value`.
async fn gated(
    ctx: TaskContext,
    gate: CancellationToken,
    value: serde_json::Value,
) -> Result<serde_json::Value, TaskError> {
    ctx.progress(1, Some(2), "waiting");
    tokio::select! {
        _ = gate.cancelled() => Ok(value),
        _ = ctx.cancelled() => Err(TaskError::cancelled()),
    }
}

#[tokio::test(start_paused = true)]
async fn the_registry_is_restarted_with_the_table_intact() {
    let ward = common::ward().await;
    let scope = Scope::session("s");
    let gate = CancellationToken::new();

    let done = common::submit_instant(&ward, &scope, "done", json!("done")).await;
    done.wait().await.unwrap();
    let mut live = Vec::new();
    for i in 0..3 {
        let gate = gate.clone();
        live.push(
            ward.submit(
                TaskSpec::new("live").scope(scope.clone()),
                move |ctx: TaskContext| gated(ctx, gate.clone(), json!(i)),
            )
            .await
            .unwrap(),
        );
    }
    settle().await;
    let before = ward.status().await.unwrap();

    let old = ward.registry_cell().unwrap();
    old.kill();
    // Reads go straight to the table, whatever the registry is doing (see also
    // `reads_work_while_the_registry_is_gone_for_good`).
    assert_eq!(done.get().unwrap().status, Status::Completed);
    assert_eq!(live[0].get().unwrap().phase, Some(Phase::Running));
    assert_eq!(
        ward.list(&scope, &ListQuery::default())
            .unwrap()
            .tasks
            .len(),
        4
    );

    settle().await;

    let new = ward.registry_cell().expect("restarted");
    assert_ne!(new.get_id(), old.get_id());
    assert_eq!(new.get_status(), ActorStatus::Running);
    let root = ward.root_cell();
    let children: HashSet<_> = root.get_children().iter().map(|c| c.get_id()).collect();
    assert_eq!(
        children,
        HashSet::from([
            new.get_id(),
            ward.runner_supervisor_cell().unwrap().get_id()
        ])
    );

    // The table and the book are as they were.
    let after = ward.status().await.unwrap();
    assert_eq!(after.registry_restarts, 1);
    assert_eq!(after.tasks, before.tasks);
    assert_eq!(after.live, 3);
    assert_eq!(after.by_status, before.by_status);
    assert_eq!(after.by_phase, before.by_phase);
    assert_eq!(after.phase_count(Phase::Running), 3);
    assert_eq!(after.live_runners, 3);
    assert_eq!(
        done.wait().await.unwrap(),
        Outcome::completed(json!("done"))
    );
    for task in &live {
        let record = task.get().unwrap();
        assert_eq!(record.status, Status::Working);
        assert_eq!(record.progress.as_ref().map(|p| p.done), Some(1));
        assert_eq!(task.runner_status().await.unwrap().phase, Phase::Running);
    }

    // The successor takes commands for the old tasks and new ones.
    let cancelled = live[0].cancel(Some("after restart".into())).await.unwrap();
    assert_eq!(cancelled.status, Status::Cancelled);
    let r = done.cancel(None).await;
    assert!(
        matches!(
            r,
            Err(Error::AlreadyTerminal {
                status: Status::Completed,
                ..
            })
        ),
        "{r:?}"
    );
    gate.cancel();
    assert_eq!(live[1].wait().await.unwrap(), Outcome::completed(json!(1)));
    assert_eq!(live[2].wait().await.unwrap(), Outcome::completed(json!(2)));
    let fresh = common::submit_instant(&ward, &scope, "fresh", json!("new")).await;
    assert_eq!(
        fresh.wait().await.unwrap(),
        Outcome::completed(json!("new"))
    );
    let end = ward.status().await.unwrap();
    assert_eq!(end.live, 0);
    assert_eq!(end.count(Status::Completed), 4);
    assert_eq!(end.count(Status::Cancelled), 1);
}

#[tokio::test(start_paused = true)]
async fn reports_made_while_the_registry_is_down_are_not_lost() {
    let ward = common::ward().await;
    let scope = Scope::session("s");
    let gate = CancellationToken::new();
    // The first work released kills the registry, from inside the runtime, just before the
    // works return: every runner then reports after the registry died and before the root
    // has started its successor (the kill signal is queued ahead of all of them).
    let killer: Arc<Mutex<Option<ActorCell>>> = Arc::default();
    let release = {
        let gate = gate.clone();
        let killer = killer.clone();
        move || {
            let gate = gate.clone();
            let killer = killer.clone();
            async move {
                gate.cancelled().await;
                if let Some(registry) = killer.lock().unwrap().take() {
                    registry.kill();
                }
            }
        }
    };
    let mut tasks = Vec::new();
    for i in 0..20 {
        let release = release.clone();
        tasks.push(
            ward.submit(
                TaskSpec::new("t").scope(scope.clone()),
                move |ctx: TaskContext| {
                    let release = release.clone();
                    async move {
                        ctx.progress(i, Some(20), "almost");
                        release().await;
                        Ok(json!(i))
                    }
                },
            )
            .await
            .unwrap(),
        );
    }
    let failing = {
        let release = release.clone();
        ward.submit(TaskSpec::new("failing").scope(scope.clone()), move |_ctx| {
            let release = release.clone();
            async move {
                release().await;
                Err(TaskError::new("failed during the outage"))
            }
        })
        .await
        .unwrap()
    };
    settle().await;

    let old = ward.registry_cell().unwrap();
    *killer.lock().unwrap() = Some(old.clone());
    gate.cancel();

    for (i, task) in tasks.iter().enumerate() {
        let outcome = tokio::time::timeout(Duration::from_secs(60), task.wait())
            .await
            .expect("the report reached the successor")
            .unwrap();
        assert_eq!(outcome, Outcome::completed(json!(i)));
        assert_eq!(task.get().unwrap().status, Status::Completed);
    }
    let outcome = tokio::time::timeout(Duration::from_secs(60), failing.wait())
        .await
        .expect("the report reached the successor")
        .unwrap();
    assert_eq!(
        outcome.failure().unwrap().message,
        "failed during the outage"
    );

    assert_eq!(old.get_status(), ActorStatus::Stopped);
    assert_ne!(ward.registry_cell().unwrap().get_id(), old.get_id());
    let status = ward.status().await.unwrap();
    assert_eq!(status.registry_restarts, 1);
    assert_eq!(status.live, 0);
    assert_eq!(status.live_runners, 0);
    assert_eq!(status.count(Status::Completed), 20);
    assert_eq!(status.count(Status::Failed), 1);
    assert_eq!(status.late_results, 0);
    assert_eq!(status.runner_failures, 0);
}

#[tokio::test(start_paused = true)]
async fn events_and_the_sweep_carry_on_after_a_restart() {
    let ward = common::ward_with_sweep().await;
    let mut sub = ward.subscribe(EventFilter::all());
    let scope = Scope::session("s");
    let gate = CancellationToken::new();
    let expiring = ward
        .submit(
            TaskSpec::new("expiring")
                .scope(scope.clone())
                .ttl(Duration::from_secs(10)),
            |ctx: TaskContext| common::sleepy(ctx, Duration::from_secs(3600)),
        )
        .await
        .unwrap();
    let finishing = {
        let gate = gate.clone();
        ward.submit(
            TaskSpec::new("finishing").scope(scope.clone()),
            move |ctx: TaskContext| gated(ctx, gate.clone(), json!("ok")),
        )
        .await
        .unwrap()
    };
    settle().await;
    for _ in 0..2 {
        ward.registry_cell().unwrap().kill();
        settle().await;
    }
    gate.cancel();
    finishing.wait().await.unwrap();
    assert_eq!(ward.status().await.unwrap().registry_restarts, 2);

    // The successor's sweep expires the task at its TTL.
    let outcome = expiring.wait().await.unwrap();
    assert_eq!(
        outcome.cancellation().unwrap().by,
        taskward::CancelledBy::Expiry
    );
    settle().await;
    assert!(matches!(expiring.get(), Err(Error::NotFound(_))));

    // One numbering across the three registries: no gap, no repeat.
    let mut seqs = Vec::new();
    let mut expired = false;
    while !expired {
        match tokio::time::timeout(Duration::from_secs(5), sub.recv()).await {
            Ok(Some(Event::Task(e))) => {
                expired |= e.task_id == expiring.id() && matches!(e.kind, EventKind::Expired);
                seqs.push(e.seq);
            }
            other => panic!("unexpected {other:?} after {seqs:?}"),
        }
    }
    let expected: Vec<u64> = (1..=seqs.len() as u64).collect();
    assert_eq!(seqs, expected);
}

/// A runtime that allows no restarts and has no host: once the registry dies, it stays dead.
async fn never_restarted() -> Taskward {
    Taskward::builder()
        .root_intensity(Intensity::new(0, Duration::from_secs(60)))
        .spawn()
        .await
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn reads_work_while_the_registry_is_gone_for_good() {
    let ward = never_restarted().await;
    let scope = Scope::session("s");
    let done = common::submit_instant(&ward, &scope, "done", json!(1)).await;
    done.wait().await.unwrap();
    let live = common::submit_long(&ward, &scope, "live").await;
    settle().await;

    ward.registry_cell().unwrap().kill();
    settle().await;
    assert!(ward.registry_cell().is_none());
    assert_eq!(ward.root_cell().get_status(), ActorStatus::Stopped);

    assert_eq!(done.get().unwrap().status, Status::Completed);
    // The tree gave up, so the live task was interrupted rather than left working.
    let live_record = live.get().unwrap();
    assert_eq!(live_record.status, Status::Failed);
    assert_eq!(
        live_record
            .outcome
            .as_ref()
            .and_then(|o| o.failure())
            .map(|f| f.cause),
        Some(FailureCause::Interrupted)
    );
    assert_eq!(
        ward.list(&scope, &ListQuery::default())
            .unwrap()
            .tasks
            .len(),
        2
    );
    assert_eq!(done.wait().await.unwrap(), Outcome::completed(json!(1)));
    assert!(matches!(
        ward.get(&Scope::session("other"), done.id()),
        Err(Error::NotFound(_))
    ));

    // Commands, which need the registry, give up after a while instead of hanging.
    let r = ward.status().await;
    assert!(matches!(r, Err(Error::Unavailable(_))), "{r:?}");
    let r = ward
        .submit(TaskSpec::new("more"), common::instant(json!(2)))
        .await;
    assert!(matches!(r, Err(Error::Unavailable(_))), "{r:?}");
}

#[tokio::test(start_paused = true)]
async fn calls_answer_unavailable_at_once_after_the_tree_gave_up() {
    let ward = never_restarted().await;
    let scope = Scope::session("s");
    ward.registry_cell().unwrap().kill();
    settle().await;
    assert_eq!(ward.root_cell().get_status(), ActorStatus::Stopped);

    // Nothing will restart the registry: every command answers at once (on the paused clock,
    // no virtual time passes), rather than after waiting for a successor.
    let started = tokio::time::Instant::now();
    let r = ward.status().await;
    assert!(matches!(r, Err(Error::Unavailable(_))), "{r:?}");
    let r = ward
        .close_scope(&scope, taskward::ClosePolicy::Cancel)
        .await;
    assert!(matches!(r, Err(Error::Unavailable(_))), "{r:?}");
    let r = ward
        .submit(
            TaskSpec::new("more").scope(scope.clone()),
            common::instant(json!(1)),
        )
        .await;
    assert!(matches!(r, Err(Error::Unavailable(_))), "{r:?}");
    assert_eq!(started.elapsed(), Duration::ZERO);
}

/// What waits for the registry when it is killed (ractor drops queued messages) reaches its
/// successor: the submit of an owned task succeeds once, instead of answering `Unavailable`,
/// and its owner's notice, handed to the registry while it was held, is delivered by the
/// successor.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_queued_when_the_registry_is_killed_reaches_its_successor() {
    use common::owner::{HostMsg, host, next_notice, owned_by};
    use taskward::Owner;

    let ward = Taskward::builder().spawn().await.unwrap();
    let (host, mut notices) = host().await;
    let (entered_tx, entered_rx) = std::sync::mpsc::channel::<()>();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let release_rx = Mutex::new(release_rx);
    // The owner's wrapper holds the registry inside its handler until the test releases it.
    let blocker = Owner::actor(&host, move |notice| {
        let _ = entered_tx.send(());
        let _ = release_rx.lock().unwrap().recv();
        HostMsg::Task(notice)
    });
    let held = ward
        .submit(
            TaskSpec::new("held").owner(blocker),
            |_ctx: TaskContext| async { Ok(json!("done")) },
        )
        .await
        .unwrap();
    tokio::task::spawn_blocking(move || entered_rx.recv().unwrap())
        .await
        .unwrap();

    // Queued behind the held handler.
    let queued = {
        let ward = ward.clone();
        let spec = owned_by(&host, "queued");
        tokio::spawn(async move {
            ward.submit(spec, |_ctx: TaskContext| async { Ok(json!("queued")) })
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    ward.registry_cell().expect("a registry").kill();
    release_tx.send(()).unwrap();

    let queued = tokio::time::timeout(Duration::from_secs(30), queued)
        .await
        .expect("the submit is answered")
        .unwrap()
        .expect("the submit reaches the successor");
    assert_eq!(
        queued.wait().await.unwrap(),
        Outcome::completed(json!("queued"))
    );
    assert_eq!(
        held.wait().await.unwrap(),
        Outcome::completed(json!("done"))
    );
    // Both owners' notices arrive; the queued task's only from the successor.
    let mut told: Vec<TaskId> = vec![
        next_notice(&mut notices).await.id(),
        next_notice(&mut notices).await.id(),
    ];
    told.sort();
    let mut ids = vec![held.id(), queued.id()];
    ids.sort();
    assert_eq!(told, ids);
    assert_eq!(ward.status().await.unwrap().registry_restarts, 1);
    ward.shutdown(Duration::from_secs(1)).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn callbacks_handed_to_a_registry_that_dies_run_in_its_successor() {
    // A caller that works the registry's desk hands the owner's notice (and the waiters'
    // wake-up behind it) to the registry actor; the registry is killed before it runs them:
    // its successor does, and nothing waits forever.
    let ward = common::ward().await;
    let (host, mut notices) = common::sink::<TaskNotice>().await;
    let task = ward
        .submit(
            TaskSpec::new("owned").owner(Owner::actor(&host, |notice| notice)),
            |ctx| common::sleepy(ctx, Duration::from_secs(3600)),
        )
        .await
        .unwrap();
    let waiter = tokio::spawn({
        let task = task.clone();
        async move { task.wait().await }
    });
    settle().await;

    // Both without yielding: the kill lands before the registry gets to the handed effects.
    ward.registry_cell().unwrap().kill();
    let global = Scope::global();
    let cancel = ward.cancel(&global, task.id(), None);
    assert!(
        futures_util::FutureExt::now_or_never(cancel).is_none(),
        "the answer is among the handed effects"
    );

    let outcome = tokio::time::timeout(Duration::from_secs(60), waiter)
        .await
        .expect("the waiter was woken")
        .unwrap()
        .unwrap();
    assert!(outcome.cancellation().is_some(), "{outcome:?}");
    let notice = tokio::time::timeout(Duration::from_secs(60), notices.recv())
        .await
        .expect("the owner was told")
        .unwrap();
    assert!(matches!(notice, TaskNotice::Cancelled { .. }), "{notice:?}");
    assert_eq!(ward.status().await.unwrap().registry_restarts, 1);
}
