//! Signals across nodes: a cancel or an input answer made through one connection reaches
//! another connection's listener with the right payload; a listener whose connection is
//! killed reconnects and says notifications may have been missed; the heartbeat reports the
//! flags a missed notification would have carried.

mod common;

use std::time::Duration;

use common::cluster::{cluster, enqueue, job, options, scope};
use common::fresh;
use serde_json::json;
use taskward_core::{CancelledBy, Scope, Status, TaskId};
use taskward_postgres::{Answered, CancelRequested, Caps, Cluster, Listener, NodeId, Notification};

/// A guard against a hang: waiting for an event, never a timing assertion.
const HANG: Duration = Duration::from_secs(60);

/// The next notification other than `queued` and `changed` ones.
async fn next_signal(listener: &mut Listener) -> Notification {
    tokio::time::timeout(HANG, async {
        loop {
            match listener.recv().await.expect("the listener runs") {
                Notification::Queued { .. } | Notification::Changed { .. } => {}
                other => return other,
            }
        }
    })
    .await
    .expect("a notification")
}

/// Cancels `id` through `cluster` and checks that `listener` hears it, naming `node`.
async fn cancel_and_hear(
    cluster: &Cluster,
    listener: &mut Listener,
    id: TaskId,
    node: Option<NodeId>,
) {
    let cancelled = cluster
        .request_cancel(&scope(), id, CancelledBy::Client, Some("enough".into()))
        .await
        .unwrap();
    assert_eq!(cancelled, Some(CancelRequested::Cancelled { node }));
    assert_eq!(
        next_signal(listener).await,
        Notification::Cancel { id, node }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_and_an_answer_reach_another_connections_listener() {
    let (_server, url) = fresh();
    let cluster = cluster(&url).await;
    let mut listener = Listener::connect(&url, &options()).await.unwrap();
    let (a, b) = (job("a", 1), job("a", 2));
    enqueue(&cluster, &[a.clone(), b.clone()], 0).await;
    let node = NodeId::new();
    let claimed = cluster.claim(node, &["a"], 2, &Caps::new()).await.unwrap();

    let answered = cluster
        .answer_input(&scope(), b.id, "name", &json!("Ada"))
        .await
        .unwrap();
    assert_eq!(answered, Some(Answered::Delivered { node: Some(node) }));
    assert_eq!(
        next_signal(&mut listener).await,
        Notification::Input {
            id: b.id,
            key: "name".into(),
            node: Some(node)
        }
    );
    cancel_and_hear(&cluster, &mut listener, a.id, Some(node)).await;

    // The flags stay in the table: the heartbeat reports them, and the answer is taken once.
    let beat = cluster.heartbeat(node, 2).await.unwrap();
    assert_eq!(beat.cancel_requested, [a.id]);
    assert_eq!(beat.answered, [b.id]);
    let fence_b = claimed.iter().find(|c| c.record.id == b.id).unwrap().fence;
    let answers = cluster.take_answers(fence_b).await.unwrap();
    assert_eq!(answers, [("name".to_owned(), json!("Ada"))]);
    assert!(cluster.take_answers(fence_b).await.unwrap().is_empty());
    assert_eq!(
        cluster
            .answer_input(&scope(), b.id, "name", &json!("again"))
            .await
            .unwrap(),
        Some(Answered::Delivered { node: Some(node) }),
        "a taken answer's key may be answered again"
    );
    // Foreign and unknown tasks read alike; a terminal task takes no answer.
    let foreign = Scope::session("s-2");
    assert_eq!(
        cluster
            .request_cancel(&foreign, b.id, CancelledBy::Client, None)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        cluster
            .answer_input(&scope(), a.id, "x", &json!(1))
            .await
            .unwrap(),
        Some(Answered::NotLive(Status::Cancelled))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_whose_connection_is_killed_reconnects_and_says_it_may_have_missed_some() {
    let (server, url) = fresh();
    let cluster = cluster(&url).await;
    let mut listener = Listener::connect(&url, &options()).await.unwrap();
    let dbname = url.rsplit('=').next().unwrap();
    let killed = server.psql(
        dbname,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE application_name = 'taskward-listener' AND datname = current_database()",
    );
    assert_eq!(killed, "t", "one listener backend killed");
    assert_eq!(next_signal(&mut listener).await, Notification::MaybeMissed);
    // Listening again: a cancel sent now arrives.
    let a = job("a", 1);
    enqueue(&cluster, std::slice::from_ref(&a), 0).await;
    cancel_and_hear(&cluster, &mut listener, a.id, None).await;
}
