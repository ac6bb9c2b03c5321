//! Taking a task at admission (issue 12): a routed task submitted on a node with room runs
//! there at once, held by that node from its insert (no claim round trip), unless the node
//! is full, a cap applies, or an older task of its kind waits in the queue.
//!
//! A real database has no paused clock: the tests wait for outcomes under a generous hang
//! guard, never asserting a timing. The nodes heartbeat every 600 s where a claim must not
//! come from a period.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::cluster_store::row;
use common::fresh;
use common::node::{node_options, within};
use common::queue::{Gauge, queue_node, stop_all};
use serde_json::json;
use taskward_core::{Outcome, Phase, Scope};
use taskward_postgres::{Caps, NodeOptions};
use taskward_runtime::TaskSpec;

fn spec(kind: &str) -> TaskSpec {
    TaskSpec::new(kind).scope(Scope::session("s-1").with_principal("alice"))
}

/// Node options whose duties claim only when notified (a period is longer than the guard).
fn slow() -> NodeOptions {
    node_options().cluster(common::cluster::options().heartbeat(Duration::from_secs(600)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_submitted_on_a_node_with_room_runs_there_at_once() {
    let (_server, url) = fresh();
    let gauge = Arc::new(Gauge::default());
    let a = queue_node(&url, &gauge, slow(), |b| b).await;
    let b = queue_node(&url, &gauge, slow(), |b| b).await;

    let task =
        a.0.submit_kind(spec("sleep"), json!(500))
            .await
            .expect("submitted");
    assert!(
        a.0.inspect(task.id()).is_some(),
        "A runs it as the submit returns: no claim came first"
    );
    assert_ne!(
        task.record().phase,
        Some(Phase::Queued),
        "it never waited queued"
    );
    let held = row(&url, task.id()).await.expect("its row");
    assert!(
        held.node.is_some() && held.held,
        "held from its insert: {held:?}"
    );
    assert_eq!(held.attempt, 1, "its first attempt");
    assert_eq!(
        within("the task ends", task.wait()).await.unwrap(),
        Outcome::completed(json!("slept"))
    );
    assert!(b.0.inspect(task.id()).is_none(), "B never ran it");
    stop_all([a, b]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_at_capacity_queues_the_task_for_another() {
    let (_server, url) = fresh();
    let gauge = Arc::new(Gauge::default());
    let a = queue_node(&url, &gauge, slow().capacity(1), |b| b).await;
    let first =
        a.0.submit_kind(spec("hold"), json!(1))
            .await
            .expect("submitted");
    assert!(
        a.0.inspect(first.id()).is_some(),
        "A took the first: it had room"
    );

    let b = queue_node(&url, &gauge, node_options(), |b| b).await;
    let second =
        a.0.submit_kind(spec("brief"), json!(2))
            .await
            .expect("submitted");
    assert_eq!(
        second.record().phase,
        Some(Phase::Queued),
        "A is full: it waits queued"
    );
    assert_eq!(
        within("the second ends", second.wait()).await.unwrap(),
        Outcome::completed(json!(2))
    );
    assert!(b.0.inspect(second.id()).is_some(), "B claimed and ran it");
    assert!(a.0.inspect(second.id()).is_none(), "A never ran it");
    gauge.release.notify_one();
    within("the first ends", first.wait()).await.unwrap();
    stop_all([a, b]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capped_kind_is_not_taken_at_admission() {
    let (_server, url) = fresh();
    let gauge = Arc::new(Gauge::default());
    let capped = slow().caps(Caps::new().kind("brief", 4));
    let a = queue_node(&url, &gauge, capped, |b| b).await;
    let task =
        a.0.submit_kind(spec("brief"), json!(1))
            .await
            .expect("submitted");
    assert_eq!(
        task.record().phase,
        Some(Phase::Queued),
        "a cap applies: only a claim counts it"
    );
    within("the task ends", task.wait()).await.unwrap();

    let global = slow().caps(Caps::new().global(4));
    let b = queue_node(&url, &gauge, global, |b| b).await;
    let task =
        b.0.submit_kind(spec("other"), json!(2))
            .await
            .expect("submitted");
    assert_eq!(
        task.record().phase,
        Some(Phase::Queued),
        "a global cap applies"
    );
    within("the task ends", task.wait()).await.unwrap();
    stop_all([a, b]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_queued_task_of_the_kind_is_not_overtaken() {
    let (_server, url) = fresh();
    let gauge = Arc::new(Gauge::default());
    let a = queue_node(&url, &gauge, slow().capacity(1), |b| b).await;
    let hold =
        a.0.submit_kind(spec("hold"), json!(1))
            .await
            .expect("submitted");
    let older =
        a.0.submit_kind(spec("brief"), json!(2))
            .await
            .expect("submitted");
    assert_eq!(older.record().phase, Some(Phase::Queued), "A is full");
    gauge.release.notify_one();
    within("the hold ends", hold.wait()).await.unwrap();

    // A has room again, but its duties claim only when notified: `older` still waits.
    let newer =
        a.0.submit_kind(spec("brief"), json!(3))
            .await
            .expect("submitted");
    assert_eq!(
        newer.record().phase,
        Some(Phase::Queued),
        "an older task of its kind waits: it queues behind it"
    );
    let b = queue_node(&url, &gauge, node_options(), |b| b).await;
    within("the older ends", older.wait()).await.unwrap();
    within("the newer ends", newer.wait()).await.unwrap();
    assert_eq!(gauge.order(), vec![json!(1), json!(2), json!(3)]);
    stop_all([a, b]).await;
}
