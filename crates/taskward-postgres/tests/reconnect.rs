//! When the server goes away: a commit fails (the server rolls back what it had of the
//! batch), and once the server is back the same store connects again and the retried batch
//! commits, as the journal's retry does.

mod common;

use std::sync::Arc;

use common::{PgServer, checkpoint, put, session, working};
use serde_json::json;
use taskward_core::{DurableStore, StoreWrite};

#[test]
fn a_commit_fails_while_the_server_is_down_and_the_retry_lands_after_it_is_back() {
    let mut server = PgServer::start();
    let url = server.fresh_database();
    let mut store = common::connect(&url);
    let a = working(1);
    store.commit(&[put(&a)]).unwrap();

    server.stop();
    let b = working(2);
    let batch = [
        put(&b),
        checkpoint(a.id, json!(5)),
        StoreWrite::Session(Arc::new(session("s-1"))),
    ];
    assert!(store.commit(&batch).is_err(), "the server is down");
    assert!(
        store.commit(&batch).is_err(),
        "still down: reconnecting fails"
    );
    assert!(store.load().is_err());

    server.restart();
    store.commit(&batch).unwrap();
    let loaded = common::connect(&url).load().unwrap();
    let records: Vec<_> = loaded.tasks.iter().map(|t| &t.record).collect();
    assert_eq!(records, [&a, &b]);
    assert_eq!(loaded.tasks[0].checkpoint.as_deref(), Some(&json!(5)));
    assert_eq!(loaded.sessions.len(), 1);
}

#[test]
fn a_batch_committed_twice_leaves_the_same_table() {
    // What a retry does when the connection was lost during COMMIT and the batch had landed.
    let server = PgServer::shared();
    let url = server.fresh_database();
    let mut store = common::connect(&url);
    let a = working(1);
    let batch = [
        StoreWrite::Remove(a.id),
        put(&a),
        checkpoint(a.id, json!(1)),
        StoreWrite::Session(Arc::new(session("s-1"))),
        StoreWrite::SessionRemove("s-2".into()),
    ];
    store.commit(&batch).unwrap();
    let once = store.load().unwrap();
    store.commit(&batch).unwrap();
    assert_eq!(store.load().unwrap(), once);
}
