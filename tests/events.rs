//! Semantic 10, events: `subscribe(filter)` yields created, status changed, progress,
//! completed, failed, cancelled, expired and transferred events, each with a sequence number;
//! a subscriber that falls behind gets `Lagged(n)`, never a silent gap.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use serde_json::json;
use taskward::{
    CancelledBy, ClosePolicy, Event, EventFilter, EventKind, FailureCause, Phase, Scope, Status,
    Subscription, TaskContext, TaskEvent, TaskId, TaskSpec, Taskward,
};
use tokio_util::sync::CancellationToken;

/// A short name for an event kind, for assertions on sequences.
fn kind_name(kind: &EventKind) -> &'static str {
    match kind {
        EventKind::Created { .. } => "created",
        EventKind::StatusChanged { .. } => "status_changed",
        EventKind::Progress(_) => "progress",
        EventKind::Completed => "completed",
        EventKind::Failed(_) => "failed",
        EventKind::Cancelled(_) => "cancelled",
        EventKind::Expired => "expired",
        EventKind::Transferred { .. } => "transferred",
        EventKind::LateResult { .. } => "late_result",
        _ => "other",
    }
}

/// Reads task events until `stop` matches one (included); panics on a lag or the end.
async fn read_until(sub: &mut Subscription, stop: impl Fn(&TaskEvent) -> bool) -> Vec<TaskEvent> {
    let mut seen = Vec::new();
    loop {
        match sub.recv().await.expect("subscription open") {
            Event::Task(e) => {
                let done = stop(&e);
                seen.push(e);
                if done {
                    return seen;
                }
            }
            other => panic!("unexpected {other:?} after {seen:?}"),
        }
    }
}

/// Reads every item until nothing arrives for a while (virtual time; everything has settled).
async fn drain_quiet(sub: &mut Subscription) -> Vec<Event> {
    let mut seen = Vec::new();
    while let Ok(Some(item)) = tokio::time::timeout(Duration::from_secs(5), sub.recv()).await {
        seen.push(item);
    }
    seen
}

fn tasks_of(items: &[Event]) -> Vec<TaskEvent> {
    items
        .iter()
        .map(|i| match i {
            Event::Task(e) => e.clone(),
            other => panic!("unexpected {other:?}"),
        })
        .collect()
}

fn names_for(events: &[TaskEvent], id: TaskId) -> Vec<&'static str> {
    events
        .iter()
        .filter(|e| e.task_id == id)
        .map(|e| kind_name(&e.kind))
        .collect()
}

fn assert_strictly_increasing(events: &[TaskEvent]) {
    for pair in events.windows(2) {
        assert!(
            pair[1].seq > pair[0].seq,
            "seq not increasing: {} then {}",
            pair[0].seq,
            pair[1].seq
        );
    }
}

#[tokio::test(start_paused = true)]
async fn every_kind_of_event_arrives_numbered_without_gaps() {
    let ward = common::ward_with_sweep().await;
    let mut sub = ward.subscribe(EventFilter::all());
    let scope = Scope::session("events");

    // Completed, with progress on the way.
    let a = ward
        .submit(
            TaskSpec::new("a").scope(scope.clone()),
            |ctx: TaskContext| async move {
                ctx.progress(1, Some(2), "half");
                tokio::time::sleep(Duration::from_secs(1)).await;
                Ok(json!("a"))
            },
        )
        .await
        .unwrap();
    a.wait().await.unwrap();

    // Failed.
    let b = common::submit_failing(&ward, &scope, "b", "boom").await;
    b.wait().await.unwrap();

    // Cancelled.
    let c = common::submit_long(&ward, &scope, "c").await;
    c.cancel(Some("enough".into())).await.unwrap();

    // Transferred.
    let old = Scope::session("old");
    let e = ward
        .submit(TaskSpec::new("e").scope(old.clone()), |ctx: TaskContext| {
            common::sleepy(ctx, Duration::from_secs(3600))
        })
        .await
        .unwrap();
    let moved = ward
        .close_scope(&old, ClosePolicy::Transfer(scope.clone()))
        .await
        .unwrap();
    assert_eq!(moved, 1);

    // Completed, then expired.
    let d = ward
        .submit(
            TaskSpec::new("d")
                .scope(scope.clone())
                .ttl(Duration::from_secs(2)),
            common::instant(json!("d")),
        )
        .await
        .unwrap();
    let d_id = d.id();

    let events = read_until(&mut sub, |ev| {
        ev.task_id == d_id && matches!(ev.kind, EventKind::Expired)
    })
    .await;

    // Numbered from 1, one by one: nothing was skipped.
    for (i, ev) in events.iter().enumerate() {
        assert_eq!(ev.seq, i as u64 + 1, "gap at {ev:?}");
    }
    let kinds: HashSet<_> = events.iter().map(|e| kind_name(&e.kind)).collect();
    for expected in [
        "created",
        "status_changed",
        "progress",
        "completed",
        "failed",
        "cancelled",
        "expired",
        "transferred",
    ] {
        assert!(
            kinds.contains(expected),
            "no {expected} event in {events:?}"
        );
    }

    assert_eq!(
        names_for(&events, a.id()),
        ["created", "status_changed", "progress", "completed"]
    );
    let a_events: Vec<_> = events.iter().filter(|e| e.task_id == a.id()).collect();
    match &a_events[0].kind {
        EventKind::Created { name } => assert_eq!(name, "a"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        a_events[1].kind,
        EventKind::StatusChanged {
            status: Status::Working,
            phase: Some(Phase::Running),
            attempt: 1
        }
    );
    match &a_events[2].kind {
        EventKind::Progress(p) => {
            assert_eq!(
                (p.done, p.total, p.message.as_deref()),
                (1, Some(2), Some("half"))
            );
        }
        other => panic!("{other:?}"),
    }

    let b_names = names_for(&events, b.id());
    assert_eq!(b_names.first(), Some(&"created"));
    assert_eq!(b_names.last(), Some(&"failed"));
    let failed = events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::Failed(f) if e.task_id == b.id() => Some(f.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(failed.cause, FailureCause::Error);

    let c_names = names_for(&events, c.id());
    assert_eq!(c_names.first(), Some(&"created"));
    assert_eq!(c_names.last(), Some(&"cancelled"));
    let cancelled = events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::Cancelled(c) => Some(c.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(cancelled.by, CancelledBy::Client);
    assert_eq!(cancelled.reason.as_deref(), Some("enough"));

    let transferred = events
        .iter()
        .find(|ev| matches!(ev.kind, EventKind::Transferred { .. }))
        .unwrap();
    assert_eq!(transferred.task_id, e.id());
    assert_eq!(transferred.scope, scope, "the event carries the new scope");
    assert_eq!(
        transferred.kind,
        EventKind::Transferred { from: old.clone() }
    );

    let d_names = names_for(&events, d_id);
    assert_eq!(d_names.first(), Some(&"created"));
    assert_eq!(&d_names[d_names.len() - 2..], ["completed", "expired"]);
    assert!(matches!(
        ward.get(&scope, d_id),
        Err(taskward::Error::NotFound(_))
    ));
}

#[tokio::test(start_paused = true)]
async fn filters_by_scope_task_and_progress() {
    let ward = common::ward().await;
    let s1 = Scope::session("one");
    let s2 = Scope::session("two");
    let mut everything = ward.subscribe(EventFilter::all());
    let mut by_scope = ward.subscribe(EventFilter::all().scope(s1.clone()));
    let mut by_scope_quiet =
        ward.subscribe(EventFilter::all().scope(s1.clone()).without_progress());

    let gate = CancellationToken::new();
    let work = {
        let gate = gate.clone();
        move |ctx: TaskContext| {
            let gate = gate.clone();
            async move {
                gate.cancelled().await;
                ctx.progress(1, Some(1), "done");
                tokio::time::sleep(Duration::from_millis(10)).await;
                Ok(json!(ctx.name()))
            }
        }
    };
    let a = ward
        .submit(TaskSpec::new("a").scope(s1.clone()), work.clone())
        .await
        .unwrap();
    let c = ward
        .submit(TaskSpec::new("c").scope(s2.clone()), work)
        .await
        .unwrap();
    // Let the registry record both starts, so the task subscriber sees what follows them.
    tokio::time::sleep(Duration::from_millis(10)).await;
    let mut by_task = ward.subscribe(EventFilter::all().task(a.id()));
    let b = common::submit_instant(&ward, &s1, "b", json!(1)).await;
    b.wait().await.unwrap();
    gate.cancel();
    a.wait().await.unwrap();
    c.wait().await.unwrap();

    let all = tasks_of(&drain_quiet(&mut everything).await);
    let ids: HashSet<_> = all.iter().map(|e| e.task_id).collect();
    assert_eq!(ids, HashSet::from([a.id(), b.id(), c.id()]));

    let scoped = tasks_of(&drain_quiet(&mut by_scope).await);
    assert!(scoped.iter().all(|e| e.scope == s1), "{scoped:?}");
    assert_strictly_increasing(&scoped);
    let expected: Vec<_> = all.iter().filter(|e| e.scope == s1).cloned().collect();
    assert_eq!(scoped, expected, "exactly the scope's events, in order");
    assert!(
        scoped
            .iter()
            .any(|e| matches!(e.kind, EventKind::Progress(_)))
    );

    let quiet = tasks_of(&drain_quiet(&mut by_scope_quiet).await);
    let expected: Vec<_> = expected
        .into_iter()
        .filter(|e| !matches!(e.kind, EventKind::Progress(_)))
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(quiet, expected);

    let one = tasks_of(&drain_quiet(&mut by_task).await);
    assert!(one.iter().all(|e| e.task_id == a.id()), "{one:?}");
    assert_strictly_increasing(&one);
    assert_eq!(names_for(&one, a.id()), ["progress", "completed"]);
}

#[tokio::test(start_paused = true)]
async fn a_lagging_subscriber_is_told_how_many_it_missed() {
    let ward = Taskward::builder().event_capacity(4).spawn().await.unwrap();
    let mut slow = ward.subscribe(EventFilter::all());

    let mut last = None;
    for i in 0..10 {
        let t = ward
            .submit(TaskSpec::new(format!("t{i}")), common::instant(json!(i)))
            .await
            .unwrap();
        t.wait().await.unwrap();
        last = Some(t.id());
    }
    let last = last.unwrap();

    // The first thing it hears is how much it missed.
    let missed = match slow.recv().await.unwrap() {
        Event::Lagged(n) => n,
        other => panic!("expected a lag notice, got {other:?}"),
    };
    assert!(missed > 0);
    // Then the oldest event still buffered, numbered right after the missed ones.
    let mut seqs = Vec::new();
    let buffered = read_until(&mut slow, |e| {
        e.task_id == last && matches!(e.kind, EventKind::Completed)
    })
    .await;
    seqs.extend(buffered.iter().map(|e| e.seq));
    assert_eq!(seqs[0], missed + 1, "no silent gap after the lag notice");
    for pair in seqs.windows(2) {
        assert_eq!(pair[1], pair[0] + 1);
    }
    assert!(buffered.len() <= 4, "only the buffer's worth is left");

    // Caught up: later events continue the numbering.
    let next = ward
        .submit(TaskSpec::new("after"), common::instant(json!("after")))
        .await
        .unwrap();
    next.wait().await.unwrap();
    let after = read_until(&mut slow, |e| {
        e.task_id == next.id() && matches!(e.kind, EventKind::Completed)
    })
    .await;
    assert_eq!(after[0].seq, seqs.last().unwrap() + 1);
    assert!(matches!(after[0].kind, EventKind::Created { .. }));
    for pair in after.windows(2) {
        assert_eq!(pair[1].seq, pair[0].seq + 1);
    }
}

#[tokio::test(start_paused = true)]
async fn a_slow_reader_never_sees_a_silent_gap() {
    let ward = Taskward::builder().event_capacity(4).spawn().await.unwrap();
    let mut sub = ward.subscribe(EventFilter::all());
    let sentinel = CancellationToken::new();
    let stop_at = std::sync::Arc::new(std::sync::Mutex::new(None::<TaskId>));

    let reader = {
        let stop_at = stop_at.clone();
        let sentinel = sentinel.clone();
        tokio::spawn(async move {
            let mut last_seq = 0u64;
            let mut lagged = 0u64;
            let mut received = 0u64;
            loop {
                let item = sub.recv().await.expect("open");
                match item {
                    Event::Lagged(n) => {
                        assert!(n > 0);
                        lagged += n;
                        // The next event must be exactly n further on.
                        match sub.recv().await.expect("open") {
                            Event::Task(e) => {
                                assert_eq!(e.seq, last_seq + n + 1, "gap after a lag of {n}");
                                last_seq = e.seq;
                                received += 1;
                            }
                            other => panic!("two lag notices in a row: {other:?}"),
                        }
                    }
                    Event::Task(e) => {
                        assert_eq!(e.seq, last_seq + 1, "silent gap");
                        last_seq = e.seq;
                        received += 1;
                        if sentinel.is_cancelled()
                            && Some(e.task_id) == *stop_at.lock().unwrap()
                            && matches!(e.kind, EventKind::Completed)
                        {
                            return (last_seq, lagged, received);
                        }
                    }
                    other => panic!("{other:?}"),
                }
                // A slow consumer: it only reads on when virtual time moves.
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        })
    };

    for i in 0..200 {
        let t = ward
            .submit(TaskSpec::new(format!("t{i}")), common::instant(json!(i)))
            .await
            .unwrap();
        t.wait().await.unwrap();
    }
    let last = ward
        .submit(TaskSpec::new("last"), common::instant(json!("last")))
        .await
        .unwrap();
    *stop_at.lock().unwrap() = Some(last.id());
    sentinel.cancel();
    last.wait().await.unwrap();

    let (last_seq, lagged, received) = tokio::time::timeout(Duration::from_secs(600), reader)
        .await
        .expect("the reader reaches the last event")
        .unwrap();
    assert!(lagged > 0, "the slow reader fell behind");
    assert_eq!(
        lagged + received,
        last_seq,
        "every event is either received or counted"
    );
}

/// A runtime whose subscribers buffer only four events.
async fn small_buffer_ward() -> Taskward {
    Taskward::builder().event_capacity(4).spawn().await.unwrap()
}

/// Runs `n` trivial tasks in `scope` to their end: three events each.
async fn flood(ward: &Taskward, scope: &Scope, n: usize) {
    for i in 0..n {
        common::completed(ward, scope, &format!("flood{i}"), json!(i)).await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_scope_subscriber_never_lags_behind_other_scopes_events() {
    let ward = small_buffer_ward().await;
    let mine = Scope::session("mine");
    let other = Scope::session("other");
    let mut sub = ward.subscribe(EventFilter::all().scope(mine.clone()));

    let t = common::completed(&ward, &mine, "mine", json!("mine")).await;
    // Ten times the buffer, all in another scope.
    flood(&ward, &other, 14).await;

    let seen = tasks_of(&drain_quiet(&mut sub).await);
    assert_eq!(
        names_for(&seen, t.id()),
        ["created", "status_changed", "completed"]
    );
    assert!(seen.iter().all(|e| e.scope == mine), "{seen:?}");
    assert_strictly_increasing(&seen);
}

#[tokio::test(start_paused = true)]
async fn a_task_subscriber_never_lags_behind_other_tasks_events() {
    let ward = small_buffer_ward().await;
    let scope = Scope::session("shared");
    let gate = CancellationToken::new();
    let t = {
        let gate = gate.clone();
        ward.submit(
            TaskSpec::new("watched").scope(scope.clone()),
            move |_ctx: TaskContext| {
                let gate = gate.clone();
                async move {
                    gate.cancelled().await;
                    Ok(json!("watched"))
                }
            },
        )
        .await
        .unwrap()
    };
    tokio::time::sleep(Duration::from_millis(10)).await;
    let mut sub = ward.subscribe(EventFilter::all().task(t.id()));
    // Other tasks of the same scope, ten times the buffer.
    flood(&ward, &scope, 14).await;
    gate.cancel();
    t.wait().await.unwrap();

    let seen = tasks_of(&drain_quiet(&mut sub).await);
    assert_eq!(names_for(&seen, t.id()), ["completed"], "{seen:?}");
    assert_eq!(seen.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_subscription_ends_after_shutdown_once_its_events_are_read() {
    let ward = common::ward().await;
    let scope = Scope::session("s");
    let everything = ward.subscribe(EventFilter::all());
    let by_scope = ward.subscribe(EventFilter::all().scope(scope.clone()));
    common::completed(&ward, &scope, "done", json!(1)).await;
    let live = ward
        .submit(
            TaskSpec::new("live").scope(scope.clone()),
            |ctx: TaskContext| common::sleepy(ctx, Duration::from_secs(3600)),
        )
        .await
        .unwrap();
    let by_task = ward.subscribe(EventFilter::all().task(live.id()));

    ward.shutdown(Duration::from_secs(1)).await.unwrap();
    // The handle is kept: the runtime is shut down, not dropped.
    for mut sub in [everything, by_scope, by_task] {
        let mut seen = Vec::new();
        let ended = tokio::time::timeout(Duration::from_secs(600), async {
            while let Some(item) = sub.recv().await {
                seen.push(item);
            }
        })
        .await;
        assert!(ended.is_ok(), "the subscription ended; saw {seen:?}");
        let seen = tasks_of(&seen);
        let cancelled = seen
            .iter()
            .find_map(|e| match &e.kind {
                EventKind::Cancelled(c) if e.task_id == live.id() => Some(c.by),
                _ => None,
            })
            .expect("the terminal event was delivered before the end");
        assert_eq!(cancelled, CancelledBy::Shutdown);
    }

    // Subscribing afterwards gives a subscription that has already ended.
    let mut late = ward.subscribe(EventFilter::all());
    let next = tokio::time::timeout(Duration::from_secs(600), late.recv()).await;
    assert!(matches!(next, Ok(None)), "{next:?}");
    drop(ward);
}

#[tokio::test(start_paused = true)]
async fn a_subscription_can_ask_for_a_smaller_buffer_and_lags_past_it() {
    let ward = common::ward().await;
    let scope = Scope::session("small");
    let mut small = ward.subscribe(EventFilter::all().scope(scope.clone()).buffer(2));
    for i in 0..3 {
        common::completed(&ward, &scope, "job", json!(i)).await;
    }
    // Three tasks made nine events (created, running, completed each): the buffer held two.
    match small.recv().await {
        Some(Event::Lagged(n)) => assert_eq!(n, 7),
        other => panic!("expected a lag, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_failed_event_carries_a_summary_not_a_second_copy_of_the_failure() {
    let ward = common::ward().await;
    let scope = Scope::session("long");
    let mut sub = ward.subscribe(EventFilter::all().scope(scope.clone()));
    let long = "x".repeat(100_000);
    let message = long.clone();
    let task = ward
        .submit(TaskSpec::new("fails").scope(scope.clone()), move |_ctx| {
            let message = message.clone();
            async move { Err(taskward::TaskError::new(message).with_data(json!({"big": "y"}))) }
        })
        .await
        .unwrap();
    task.wait().await.unwrap();
    let failed = read_until(&mut sub, |e| matches!(e.kind, EventKind::Failed(_))).await;
    let Some(EventKind::Failed(failure)) = failed.last().map(|e| &e.kind) else {
        panic!("{failed:?}");
    };
    assert_eq!(failure.cause, FailureCause::Error);
    assert!(failure.message.len() <= 1024 + '…'.len_utf8(), "a summary");
    assert!(failure.message.starts_with("xxx") && failure.message.ends_with('…'));
    assert_eq!(failure.data, None, "the data is read from the record");
    // The record keeps the whole failure, once.
    let Some(taskward::Outcome::Failed(kept)) = &task.get().unwrap().outcome else {
        panic!("failed");
    };
    assert_eq!(kept.message, long);
    assert_eq!(kept.data, Some(json!({"big": "y"})));
}
