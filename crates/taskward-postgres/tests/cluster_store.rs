//! `ClusterStore`: a node's journal writes into the shared table, every write fenced. New
//! tasks become rows held by the node; a write the node lost (a cancel from another node, a
//! rescue and a new claim) is refused and reported, not failed; a retried batch refuses
//! nothing of the node's own; a restart with the same node id loads the node's tasks.

mod common;

use std::sync::Arc;

use common::cluster::{closure, cluster, done, enqueue, job, options, scope};
use common::cluster_store::{drain, row, store, store_with_refusals};
use common::{PgServer, checkpoint, fresh, put, session};
use serde_json::json;
use taskward_core::{CancelledBy, Durability, DurableStore, Status, StoreWrite};
use taskward_postgres::{
    Caps, ClusterStore, ClusterStoreOptions, Fenced, Listener, NodeId, Notification,
};
use time::OffsetDateTime;

fn later() -> OffsetDateTime {
    OffsetDateTime::now_utc() + time::Duration::hours(1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_task_becomes_a_row_held_by_the_node_and_its_outcome_releases_it() {
    let (_server, url) = fresh();
    let node = NodeId::new();
    let (mut store, mut refusals) = store_with_refusals(&url, node);
    let (c, j) = (closure(1), job("resize", 2));
    store
        .commit(&[put(&c), put(&j), checkpoint(j.id, json!({ "next": 3 }))])
        .unwrap();

    let c_row = row(&url, c.id).await.unwrap();
    assert_eq!(
        (c_row.node, c_row.attempt, c_row.held),
        (Some(node), 1, true)
    );
    assert_eq!(
        c_row.kind, None,
        "a closure task has no kind: it cannot be rescued"
    );
    let j_row = row(&url, j.id).await.unwrap();
    assert_eq!(j_row.kind.as_deref(), Some("resize"));
    assert_eq!(j_row.checkpoint.as_deref(), Some(r#"{"next":3}"#));
    assert_eq!(store.fences().get(c.id).map(|f| f.attempt), Some(1));
    // The lease is the one the node's heartbeat renews.
    let beat = cluster(&url).await.heartbeat(node, 4).await.unwrap();
    let mut held = beat.held;
    held.sort_unstable_by_key(|id| *id.as_uuid());
    let mut expected = [c.id, j.id];
    expected.sort_unstable_by_key(|id| *id.as_uuid());
    assert_eq!(held, expected);

    store.commit(&[put(&done(&c))]).unwrap();
    let c_row = row(&url, c.id).await.unwrap();
    assert_eq!((c_row.status.as_str(), c_row.held), ("completed", false));
    let other = cluster(&url).await;
    assert_eq!(other.get(&scope(), c.id).await.unwrap(), Some(done(&c)));
    assert_eq!(drain(&mut refusals), []);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remove_forgets_the_fence_and_leaves_the_row_to_the_sweep() {
    let (_server, url) = fresh();
    let mut store = store(&url, NodeId::new());
    let a = closure(1);
    store.commit(&[put(&a), put(&done(&a))]).unwrap();
    store.commit(&[StoreWrite::Remove(a.id)]).unwrap();
    assert_eq!(store.fences().get(a.id), None);
    let other = cluster(&url).await;
    assert_eq!(
        other.get(&scope(), a.id).await.unwrap(),
        Some(done(&a)),
        "another node still reads the finished task"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_are_shared_and_removed() {
    let (_server, url) = fresh();
    let mut a = store(&url, NodeId::new());
    let (one, two) = (session("s-1"), session("s-2"));
    a.commit(&[
        StoreWrite::Session(Arc::new(one.clone())),
        StoreWrite::Session(Arc::new(two)),
        StoreWrite::SessionRemove("s-2".into()),
    ])
    .unwrap();
    let loaded = store(&url, NodeId::new()).load().unwrap();
    assert_eq!(loaded.sessions, [one]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_from_another_node_refuses_the_nodes_outcome_and_the_batch_commits() {
    let (_server, url) = fresh();
    let node = NodeId::new();
    let (mut store, mut refusals) = store_with_refusals(&url, node);
    let (a, b) = (closure(1), closure(2));
    store.commit(&[put(&a), put(&b)]).unwrap();
    let other = cluster(&url).await;
    other
        .request_cancel(&scope(), a.id, CancelledBy::Client, None)
        .await
        .unwrap();

    // The node finishes both: `a`'s outcome is refused, `b`'s lands, the commit succeeds.
    store
        .commit(&[put(&done(&a)), put(&done(&b)), checkpoint(a.id, json!(1))])
        .unwrap();
    assert_eq!(
        drain(&mut refusals),
        [(a.id, Fenced::Terminal(Status::Cancelled))]
    );
    let a_row = row(&url, a.id).await.unwrap();
    assert_eq!((a_row.status.as_str(), a_row.held), ("cancelled", false));
    assert_eq!(a_row.checkpoint, None);
    assert_eq!(row(&url, b.id).await.unwrap().status, "completed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_rescue_and_a_reclaim_the_old_node_is_refused_and_the_new_one_writes() {
    let (_server, url) = fresh();
    let (a_node, b_node) = (NodeId::new(), NodeId::new());
    let (mut a_store, mut a_refusals) = store_with_refusals(&url, a_node);
    let j = job("resize", 1);
    a_store.commit(&[put(&j)]).unwrap();
    let cluster = cluster(&url).await;
    assert_eq!(cluster.rescue(later()).await.unwrap().requeued, [j.id]);
    let claimed = cluster
        .claim(b_node, &["resize"], 1, &Caps::new())
        .await
        .unwrap();
    let (mut b_store, mut b_refusals) = store_with_refusals(&url, b_node);
    b_store.adopt(&claimed[0]).unwrap();
    assert!(a_store.adopt(&claimed[0]).is_err(), "another node's claim");

    let mut progress = j.clone();
    progress.status_message = Some("stale".into());
    a_store
        .commit(&[put(&progress), checkpoint(j.id, json!("stale"))])
        .unwrap();
    a_store.commit(&[checkpoint(j.id, json!("stale"))]).unwrap();
    let reclaimed = Fenced::Reclaimed {
        attempt: 2,
        node: Some(b_node),
    };
    assert_eq!(
        drain(&mut a_refusals),
        [(j.id, reclaimed), (j.id, reclaimed)]
    );
    b_store.commit(&[put(&done(&j))]).unwrap();
    assert_eq!(drain(&mut b_refusals), []);
    let j_row = row(&url, j.id).await.unwrap();
    assert_eq!(
        (j_row.status.as_str(), j_row.node, j_row.attempt),
        ("completed", Some(b_node), 2)
    );
    assert_eq!(j_row.checkpoint, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_committed_twice_refuses_nothing_of_the_nodes_own() {
    // The lost `COMMIT` reply: the batch landed, the store did not learn it (a new store of
    // the same node, no fences), and the journal sends it again.
    let (_server, url) = fresh();
    let node = NodeId::new();
    let (a, b) = (closure(1), job("resize", 2));
    let batch = [put(&a), put(&b), checkpoint(b.id, json!(7)), put(&done(&a))];
    store(&url, node).commit(&batch).unwrap();
    let (mut retry, mut refusals) = store_with_refusals(&url, node);
    retry.commit(&batch).unwrap();
    // And a fenced terminal write sent twice.
    retry.commit(&[put(&done(&b))]).unwrap();
    retry
        .commit(&[put(&done(&b)), checkpoint(b.id, json!(7))])
        .unwrap();
    assert_eq!(drain(&mut refusals), []);
    assert_eq!(row(&url, a.id).await.unwrap().status, "completed");
    let b_row = row(&url, b.id).await.unwrap();
    assert_eq!((b_row.status.as_str(), b_row.held), ("completed", false));
}

#[test]
fn a_batch_retried_after_the_server_came_back_loses_and_refuses_nothing() {
    let mut server = PgServer::start();
    let url = server.fresh_database();
    let node = NodeId::new();
    let (mut store, mut refusals) = store_with_refusals(&url, node);
    let a = closure(1);
    store.commit(&[put(&a)]).unwrap();

    server.stop();
    let b = closure(2);
    let batch = [put(&b), put(&done(&a)), checkpoint(b.id, json!(1))];
    assert!(store.commit(&batch).is_err(), "the server is down");
    server.restart();
    store.commit(&batch).unwrap();
    store.commit(&[put(&done(&b))]).unwrap();
    assert_eq!(drain(&mut refusals), []);
    let mut restarted = common::cluster_store::store(&url, NodeId::new());
    assert!(restarted.load().unwrap().tasks.is_empty(), "nothing held");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        assert_eq!(row(&url, a.id).await.unwrap().status, "completed");
        let b_row = row(&url, b.id).await.unwrap();
        assert_eq!((b_row.status.as_str(), b_row.attempt), ("completed", 1));
        assert_eq!(b_row.checkpoint.as_deref(), Some("1"));
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_with_the_same_node_id_loads_its_tasks_and_a_new_id_none() {
    let (_server, url) = fresh();
    let node = NodeId::new();
    let (live, finished) = (closure(1), closure(2));
    // And a task it claimed after another node lost it: attempt 2.
    let claimed = job("resize", 3);
    let cluster = cluster(&url).await;
    enqueue(&cluster, std::slice::from_ref(&claimed), 0).await;
    cluster
        .claim(NodeId::new(), &["resize"], 1, &Caps::new())
        .await
        .unwrap();
    cluster.rescue(later()).await.unwrap();
    let claim = cluster
        .claim(node, &["resize"], 1, &Caps::new())
        .await
        .unwrap();
    assert_eq!(claim[0].fence.attempt, 2);
    let s = session("s-1");
    store(&url, node)
        .commit(&[
            put(&live),
            checkpoint(live.id, json!(4)),
            put(&finished),
            put(&done(&finished)),
            StoreWrite::Session(Arc::new(s.clone())),
        ])
        .unwrap();

    let (mut again, mut refusals) = store_with_refusals(&url, node);
    let loaded = again.load().unwrap();
    let ids: Vec<_> = loaded.tasks.iter().map(|t| t.record.id).collect();
    assert_eq!(
        ids,
        [live.id, claimed.id],
        "the tasks it holds, not the finished one"
    );
    assert_eq!(loaded.tasks[0].checkpoint.as_deref(), Some(&json!(4)));
    assert_eq!(loaded.sessions, std::slice::from_ref(&s));
    assert_eq!(again.fences().get(live.id).map(|f| f.attempt), Some(1));
    assert_eq!(again.fences().get(claimed.id).map(|f| f.attempt), Some(2));
    // Its reconciliation writes through the loaded fences.
    again
        .commit(&[put(&done(&live)), put(&done(&claimed))])
        .unwrap();
    assert_eq!(drain(&mut refusals), []);
    assert_eq!(row(&url, live.id).await.unwrap().status, "completed");
    assert_eq!(row(&url, claimed.id).await.unwrap().status, "completed");

    let other = closure(3);
    store(&url, node).commit(&[put(&other)]).unwrap();
    let loaded = store(&url, NodeId::new()).load().unwrap();
    assert!(loaded.tasks.is_empty(), "a new id holds nothing");
    assert_eq!(loaded.sessions, [s]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_is_refused_and_power_needs_fsync() {
    let (_server, url) = fresh();
    for durability in [Durability::Memory, Durability::Power] {
        let options = ClusterStoreOptions::default().durability(durability);
        let error = ClusterStore::connect(&url, NodeId::new(), options).unwrap_err();
        let expected = if durability == Durability::Memory {
            "memory"
        } else {
            "fsync"
        };
        assert!(error.to_string().contains(expected), "{error}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminal_write_notifies_the_other_nodes_that_the_row_changed() {
    let (_server, url) = fresh();
    let mut listener = Listener::connect(&url, &options()).await.unwrap();
    let mut store = store(&url, NodeId::new());
    let (a, b) = (closure(1), closure(2));
    store.commit(&[put(&a), put(&b)]).unwrap();
    store.commit(&[put(&done(&b))]).unwrap();
    let mut heard = Vec::new();
    for _ in 0..2 {
        heard.push(
            tokio::time::timeout(std::time::Duration::from_secs(60), listener.recv())
                .await
                .expect("a notification within a minute")
                .expect("the listener runs"),
        );
    }
    // Its status change, then its row's change: only the terminal write notifies.
    assert!(
        matches!(&heard[0], Notification::Status { id, .. } if *id == b.id),
        "{heard:?}"
    );
    assert_eq!(
        heard[1],
        Notification::Changed { id: b.id, seq: 2 },
        "only the terminal write notifies"
    );
}
