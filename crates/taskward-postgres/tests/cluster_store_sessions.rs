//! Nodes writing the same sessions at once: each batch upserts them in key order, so two
//! nodes' commits wait for each other instead of deadlocking (a deadlock fails a commit,
//! which the journal would retry, after the server's one-second deadlock timeout).

mod common;

use std::sync::Arc;

use common::cluster_store::store;
use common::{fresh, session};
use taskward_core::{DurableStore, StoreWrite};
use taskward_postgres::NodeId;

#[test]
fn two_nodes_writing_the_same_sessions_in_opposite_orders_never_fail_a_commit() {
    let (_server, url) = fresh();
    let sessions: Vec<_> = (0..8)
        .map(|i| StoreWrite::Session(Arc::new(session(&format!("s-{i}")))))
        .collect();
    let reversed: Vec<_> = sessions.iter().rev().cloned().collect();
    let nodes = [sessions, reversed].map(|batch| {
        let url = url.clone();
        std::thread::spawn(move || {
            let mut store = store(&url, NodeId::new());
            (0..200).find_map(|_| store.commit(&batch).err())
        })
    });
    for node in nodes {
        let failed = node.join().unwrap();
        assert!(failed.is_none(), "a commit failed: {failed:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_ended_by_one_node_is_not_written_back_by_another_that_still_holds_it() {
    let (_server, url) = fresh();
    let s = Arc::new(session("s-ended"));
    let (first, second) = (url.clone(), url.clone());
    let held = Arc::clone(&s);
    tokio::task::spawn_blocking(move || {
        let mut holder = store(&first, NodeId::new());
        let mut ender = store(&second, NodeId::new());
        holder
            .commit(&[StoreWrite::Session(Arc::clone(&held))])
            .unwrap();
        ender
            .commit(&[StoreWrite::SessionRemove(held.id.clone())])
            .unwrap();
        // The holder has not heard yet, and writes the session's use.
        holder.commit(&[StoreWrite::Session(held)]).unwrap();
    })
    .await
    .unwrap();

    let reader = common::cluster::cluster(&url).await;
    assert_eq!(reader.session(&s.id).await.unwrap(), None, "resurrected");
    let mut fresh_node = store(&url, NodeId::new());
    let loaded = tokio::task::spawn_blocking(move || fresh_node.load().unwrap())
        .await
        .unwrap();
    assert!(loaded.sessions.is_empty(), "{:?}", loaded.sessions);
}
