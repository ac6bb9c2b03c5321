//! One batch, one transaction: a batch that fails leaves nothing behind. What a batch
//! writes (the last write of each task and session wins, checkpoints follow their task) is
//! checked for every store by the store contract (`tests/contract/checks/batch.rs`).

mod common;

use std::sync::Arc;

use common::{checkpoint, connect, fresh, put, session, working};
use serde_json::json;
use taskward_core::{DurableStore, StoreWrite};

#[test]
fn a_batch_that_fails_leaves_nothing_and_the_store_goes_on() {
    let (server, url) = fresh();
    let dbname = url.rsplit("dbname=").next().expect("a dbname");
    let mut store = connect(&url);
    let kept = working(1);
    store.commit(&[put(&kept)]).unwrap();
    // A trigger refuses sessions: the session statement fails, after the task rows and the
    // checkpoint were written in the same transaction.
    server.psql(
        dbname,
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS \
         $$ BEGIN RAISE EXCEPTION 'refused'; END $$; \
         CREATE TRIGGER refuse BEFORE INSERT ON sessions \
         FOR EACH ROW EXECUTE FUNCTION refuse()",
    );
    let (a, b) = (working(2), working(3));
    let failed = store.commit(&[
        put(&a),
        put(&b),
        StoreWrite::Remove(kept.id),
        checkpoint(a.id, json!(1)),
        StoreWrite::Session(Arc::new(session("s-1"))),
    ]);
    let error = failed.expect_err("the trigger refuses the session");
    assert!(error.to_string().contains("write sessions"), "{error}");
    let loaded = store.load().unwrap();
    let records: Vec<_> = loaded.tasks.iter().map(|t| &t.record).collect();
    assert_eq!(records, [&kept]);
    assert!(loaded.sessions.is_empty());
    server.psql(dbname, "DROP TRIGGER refuse ON sessions");
    // The connection is still good: the next batch commits.
    store.commit(&[put(&a)]).unwrap();
    assert_eq!(store.load().unwrap().tasks.len(), 2);
}

#[test]
fn a_large_batch_is_one_commit() {
    let (_server, url) = fresh();
    let mut store = connect(&url);
    let records: Vec<_> = (1..=2_000).map(working).collect();
    let mut batch: Vec<_> = records.iter().map(put).collect();
    batch.extend(records.iter().map(|r| checkpoint(r.id, json!(r.seq))));
    store.commit(&batch).unwrap();
    let loaded = connect(&url).load().unwrap();
    assert_eq!(loaded.tasks.len(), 2_000);
    assert!(
        loaded
            .tasks
            .iter()
            .enumerate()
            .all(|(i, t)| t.record == records[i]
                && t.checkpoint.as_deref() == Some(&json!(t.record.seq)))
    );
}
