//! What is committed comes back: every kind of write, in `seq` order, also through a new
//! connection.

mod common;

use std::sync::Arc;

use common::{checkpoint, completed, connect, fresh, put, session, working};
use serde_json::json;
use taskward_core::{DurableStore, Scope, StoreWrite};

#[test]
fn every_kind_of_write_loads_back_equal_through_a_new_connection() {
    let (_server, url) = fresh();
    let mut store = connect(&url);
    let (a, b, gone) = (working(2), working(1), working(3));
    let done = completed(&a);
    let s = session("s-1");
    store
        .commit(&[
            put(&a),
            put(&b),
            put(&gone),
            checkpoint(a.id, json!({ "next": 17, "seen": [1.5, -2, "x"] })),
            put(&done),
            StoreWrite::Session(Arc::new(s.clone())),
            StoreWrite::Session(Arc::new(session("s-2"))),
        ])
        .unwrap();
    store
        .commit(&[
            StoreWrite::Remove(gone.id),
            StoreWrite::SessionRemove("s-2".into()),
        ])
        .unwrap();
    drop(store);

    let mut store = connect(&url);
    let loaded = store.load().unwrap();
    // Ordered by seq: b (1) before a (2).
    let records: Vec<_> = loaded.tasks.iter().map(|t| &t.record).collect();
    assert_eq!(records, [&b, &done]);
    assert_eq!(loaded.tasks[0].checkpoint, None);
    assert_eq!(
        loaded.tasks[1].checkpoint.as_deref(),
        Some(&json!({ "next": 17, "seen": [1.5, -2, "x"] }))
    );
    assert_eq!(loaded.sessions, [s]);
    assert_eq!(store.last_load().tasks, 2);
    assert_eq!(store.last_load().sessions, 1);
    assert_eq!(store.last_load().skipped(), 0);
}

#[test]
fn the_columns_hold_what_a_query_needs() {
    let (server, url) = fresh();
    let mut store = connect(&url);
    let a = working(7);
    store.commit(&[put(&a)]).unwrap();
    let dbname = url.rsplit('=').next().unwrap();
    let row = server.psql(
        dbname,
        "SELECT id, seq, status, expires_at IS NOT NULL, record->>'name' FROM tasks",
    );
    assert_eq!(row, format!("{}|7|working|t|count_primes", a.id));
}

#[test]
fn a_row_that_does_not_parse_is_skipped_and_counted() {
    let (server, url) = fresh();
    let mut store = connect(&url);
    let (a, b) = (working(1), working(2));
    store
        .commit(&[put(&a), put(&b), checkpoint(b.id, json!(1))])
        .unwrap();
    let dbname = url.rsplit('=').next().unwrap();
    server.psql(
        dbname,
        &format!(
            "UPDATE tasks SET record = '{{\"not\": \"a record\"}}' WHERE id = '{}'",
            a.id
        ),
    );
    let loaded = store.load().unwrap();
    assert_eq!(loaded.tasks.len(), 1);
    assert_eq!(loaded.tasks[0].record, b);
    assert_eq!(store.last_load().skipped_tasks, 1);
}

#[test]
fn text_holding_nul_round_trips() {
    // A client's input may hold U+0000; a commit that could never succeed would stall the
    // journal (it retries until it does), and every submit with it.
    let (_server, url) = fresh();
    let mut store = connect(&url);
    let mut a = working(1);
    a.input = Some(Arc::new(json!({ "text": "nul \u{0} inside" })));
    a.status_message = Some("nul \u{0}".into());
    store
        .commit(&[put(&a), checkpoint(a.id, json!(["\u{0}"]))])
        .unwrap();
    let loaded = connect(&url).load().unwrap();
    assert_eq!(loaded.tasks[0].record, a);
    assert_eq!(
        loaded.tasks[0].checkpoint.as_deref(),
        Some(&json!(["\u{0}"]))
    );
}

#[test]
fn scopes_sessions_and_principals_holding_nul_round_trip() {
    // PostgreSQL's `text` refuses U+0000, and a session id or a principal may hold it (a
    // JWT's `sub` is any JSON string): the key columns escape it, the records keep it.
    let (_server, url) = fresh();
    let mut store = connect(&url);
    let mut a = working(1);
    a.scope = Scope::session("s\u{0}1").with_principal("p\u{0}%00");
    let mut s = session("s\u{0}1");
    s.principal = Some("p\u{0}%00".into());
    store
        .commit(&[put(&a), StoreWrite::Session(Arc::new(s.clone()))])
        .unwrap();
    let loaded = connect(&url).load().unwrap();
    assert_eq!(loaded.tasks[0].record, a);
    assert_eq!(loaded.sessions, [s.clone()]);
    store
        .commit(&[StoreWrite::SessionRemove(s.id.clone())])
        .unwrap();
    assert!(connect(&url).load().unwrap().sessions.is_empty());
}
