//! Embedding: the runtime spawned under a host's own supervisor (`Builder::spawn_linked`)
//! works normally, escalates to the host when its restart intensity is exceeded, and can be
//! rebuilt by the host.

mod common;

use std::time::Duration;

use common::settle;
use ractor::{
    Actor, ActorCell, ActorId, ActorProcessingErr, ActorRef, ActorStatus, SupervisionEvent,
};
use serde_json::json;
use taskward::{
    CancelledBy, Error, FailureCause, Intensity, Outcome, Scope, Status, TaskContext, TaskSpec,
    Taskward,
};
use tokio::sync::mpsc;

/// What the host saw of its children.
#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Started(ActorId),
    Terminated(ActorId, Option<String>),
    Failed(ActorId, String),
}

/// A host's supervisor: records the supervision events of its children and, when asked,
/// rebuilds a runtime whose root failed.
#[derive(Debug)]
struct Host;

#[derive(Debug)]
enum HostMsg {}

#[derive(Debug)]
struct HostState {
    seen: mpsc::UnboundedSender<Seen>,
    rebuilt: Option<mpsc::UnboundedSender<Result<Taskward, Error>>>,
}

impl Actor for Host {
    type Msg = HostMsg;
    type State = HostState;
    type Arguments = HostState;

    async fn pre_start(
        &self,
        _myself: ActorRef<HostMsg>,
        args: HostState,
    ) -> Result<HostState, ActorProcessingErr> {
        Ok(args)
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<HostMsg>,
        event: SupervisionEvent,
        state: &mut HostState,
    ) -> Result<(), ActorProcessingErr> {
        let seen = match &event {
            SupervisionEvent::ActorStarted(cell) => Seen::Started(cell.get_id()),
            SupervisionEvent::ActorTerminated(cell, _, reason) => {
                Seen::Terminated(cell.get_id(), reason.clone())
            }
            SupervisionEvent::ActorFailed(cell, err) => {
                Seen::Failed(cell.get_id(), err.to_string())
            }
            _ => return Ok(()),
        };
        let failed = matches!(seen, Seen::Failed(..));
        let _ = state.seen.send(seen);
        if failed && let Some(rebuilt) = &state.rebuilt {
            // The host's restart strategy: a fresh runtime under the same supervisor.
            let ward = embedded().spawn_linked(myself.get_cell()).await;
            let _ = rebuilt.send(ward);
        }
        Ok(())
    }
}

fn embedded() -> taskward::Builder {
    Taskward::builder().root_intensity(Intensity::new(1, Duration::from_secs(60)))
}

fn drain(rx: &mut mpsc::UnboundedReceiver<Seen>) -> Vec<Seen> {
    let mut seen = Vec::new();
    while let Ok(s) = rx.try_recv() {
        seen.push(s);
    }
    seen
}

fn children(cell: &ActorCell) -> Vec<ActorId> {
    cell.get_children().iter().map(|c| c.get_id()).collect()
}

async fn host(
    rebuild: bool,
) -> (
    ActorRef<HostMsg>,
    mpsc::UnboundedReceiver<Seen>,
    mpsc::UnboundedReceiver<Result<Taskward, Error>>,
) {
    let (seen, seen_rx) = mpsc::unbounded_channel();
    let (rebuilt, rebuilt_rx) = mpsc::unbounded_channel();
    let (host, _) = Actor::spawn(
        None,
        Host,
        HostState {
            seen,
            rebuilt: rebuild.then_some(rebuilt),
        },
    )
    .await
    .unwrap();
    (host, seen_rx, rebuilt_rx)
}

/// Submits a task and checks it runs to completion.
async fn works(ward: &Taskward) {
    let task = ward
        .submit(TaskSpec::new("check"), common::instant(json!("ok")))
        .await
        .unwrap();
    assert_eq!(task.wait().await.unwrap(), Outcome::completed(json!("ok")));
}

#[tokio::test(start_paused = true)]
async fn a_runtime_under_a_host_supervisor_works_normally() {
    let (host, mut seen, _) = host(false).await;
    let ward = embedded().spawn_linked(host.get_cell()).await.unwrap();
    let root = ward.root_cell();
    assert_eq!(
        root.try_get_supervisor().map(|s| s.get_id()),
        Some(host.get_id())
    );
    assert_eq!(children(&host.get_cell()), [root.get_id()]);

    let scope = Scope::session("host");
    works(&ward).await;
    let long = common::submit_long(&ward, &scope, "long").await;
    let timed = ward
        .submit(
            TaskSpec::new("timed")
                .scope(scope.clone())
                .timeout(Duration::from_secs(2)),
            |ctx: TaskContext| common::sleepy(ctx, Duration::from_secs(3600)),
        )
        .await
        .unwrap();
    settle().await;
    assert_eq!(long.runner_status().await.unwrap().attempt, 1);
    long.cancel(None).await.unwrap();
    assert_eq!(
        long.wait().await.unwrap().cancellation().unwrap().by,
        CancelledBy::Client
    );
    assert_eq!(timed.wait().await.unwrap().status(), Status::Failed);
    let status = ward.status().await.unwrap();
    assert_eq!(status.registry_restarts, 0);
    assert_eq!(status.runner_supervisor_restarts, 0);
    settle().await;
    assert_eq!(drain(&mut seen), [Seen::Started(root.get_id())]);

    // A clean shutdown is a normal exit for the host, never a failure.
    ward.shutdown(Duration::from_secs(1)).await.unwrap();
    settle().await;
    let after = drain(&mut seen);
    assert!(
        matches!(after.as_slice(), [Seen::Terminated(id, _)] if *id == root.get_id()),
        "{after:?}"
    );
    assert_eq!(root.get_status(), ActorStatus::Stopped);
    assert_eq!(host.get_status(), ActorStatus::Running);
    assert!(children(&host.get_cell()).is_empty());
}

#[tokio::test(start_paused = true)]
async fn exceeding_the_restart_intensity_escalates_to_the_host_which_rebuilds() {
    let (host, mut seen, mut rebuilt) = host(true).await;
    let ward = embedded().spawn_linked(host.get_cell()).await.unwrap();
    let root = ward.root_cell();
    let scope = Scope::session("host");
    let kept = common::submit_instant(&ward, &scope, "kept", json!("kept")).await;
    kept.wait().await.unwrap();
    let live = common::submit_long(&ward, &scope, "live").await;
    settle().await;
    assert_eq!(drain(&mut seen), [Seen::Started(root.get_id())]);

    // One restart is within the intensity: the runtime heals itself, the host hears nothing.
    let first = ward.registry_cell().unwrap();
    first.kill();
    settle().await;
    let second = ward.registry_cell().expect("restarted");
    assert_ne!(second.get_id(), first.get_id());
    assert_eq!(ward.status().await.unwrap().registry_restarts, 1);
    works(&ward).await;
    assert!(drain(&mut seen).is_empty());
    assert_eq!(root.get_status(), ActorStatus::Running);

    // A second within the window is one too many: the root fails, and the host is told.
    second.kill();
    settle().await;
    let events = drain(&mut seen);
    let failure = events
        .iter()
        .find_map(|s| match s {
            Seen::Failed(id, why) if *id == root.get_id() => Some(why.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("the host saw no failure of the root: {events:?}"));
    assert!(failure.contains("restart intensity exceeded"), "{failure}");
    assert_eq!(root.get_status(), ActorStatus::Stopped);
    assert_eq!(host.get_status(), ActorStatus::Running);
    assert!(ward.registry_cell().is_none());

    // The failed runtime's table can still be read; commands give up instead of hanging.
    assert_eq!(kept.get().unwrap().status, Status::Completed);
    // No task stays live in a tree that gave up: the live one was interrupted.
    let interrupted = live.wait().await.unwrap();
    assert_eq!(
        interrupted.failure().map(|f| f.cause),
        Some(FailureCause::Interrupted),
        "{interrupted:?}"
    );
    let r = ward.status().await;
    assert!(matches!(r, Err(Error::Unavailable(_))), "{r:?}");

    // The host rebuilt a runtime under itself, and it works.
    let fresh = rebuilt
        .recv()
        .await
        .expect("the host rebuilt")
        .expect("the new runtime started");
    let fresh_root = fresh.root_cell();
    assert_ne!(fresh_root.get_id(), root.get_id());
    assert_eq!(
        fresh_root.try_get_supervisor().map(|s| s.get_id()),
        Some(host.get_id())
    );
    assert_eq!(children(&host.get_cell()), [fresh_root.get_id()]);
    works(&fresh).await;
    let status = fresh.status().await.unwrap();
    assert_eq!(status.registry_restarts, 0);
    assert_eq!(status.tasks, 1);
    assert!(matches!(
        fresh.get(&scope, kept.id()),
        Err(Error::NotFound(_))
    ));
    // All the host saw: the root's failure, then its replacement starting.
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(matches!(&events[0], Seen::Failed(id, _) if *id == root.get_id()));
    assert_eq!(events[1], Seen::Started(fresh_root.get_id()));
    settle().await;
    assert!(drain(&mut seen).is_empty());

    fresh.shutdown(Duration::from_secs(1)).await.unwrap();
    host.stop(None);
}
