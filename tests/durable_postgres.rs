//! The PostgreSQL store under a server that goes away (docs/durability.md, "The PostgreSQL
//! store"): a submit waits while the server is down, and returns once it is back and the
//! journal's retry has committed its record; nothing submitted is lost.

mod common;
#[path = "../crates/taskward-postgres/tests/common/server.rs"]
mod pg_server;

use std::time::Duration;

use common::long;
use pg_server::PgServer;
use taskward::{DurableStore, TaskSpec, Taskward};
use taskward_postgres::{PostgresOptions, PostgresStore};

fn connect(url: &str) -> PostgresStore {
    PostgresStore::connect(url, PostgresOptions::new()).expect("connect")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_submit_waits_for_a_server_that_went_away_and_lands_once_it_is_back() {
    let mut server = PgServer::start();
    let url = server.fresh_database();
    let ward = Taskward::builder()
        .durable(connect(&url))
        .spawn()
        .await
        .expect("runtime starts");
    let before = ward.submit(TaskSpec::new("before"), long).await.unwrap();

    let server = tokio::task::spawn_blocking(move || {
        server.stop();
        server
    })
    .await
    .unwrap();
    let mut submit = tokio::spawn({
        let ward = ward.clone();
        async move { ward.submit(TaskSpec::new("during"), long).await }
    });
    // Its record cannot be durable while the server is down: the submit does not return in
    // a while (a window for the wrong answer to show, not a bound on the right one).
    assert!(
        tokio::time::timeout(Duration::from_millis(300), &mut submit)
            .await
            .is_err(),
        "a submit returned with the server down"
    );

    let server = tokio::task::spawn_blocking(move || {
        let mut server = server;
        server.restart();
        server
    })
    .await
    .unwrap();
    // A bound so that a store that never reconnects fails the test instead of hanging it.
    let during = tokio::time::timeout(Duration::from_secs(60), submit)
        .await
        .expect("the submit landed within a minute of the restart")
        .unwrap()
        .expect("the submit lands after the restart");

    let loaded = tokio::task::spawn_blocking(move || connect(&url).load())
        .await
        .unwrap()
        .expect("loads");
    let ids: Vec<_> = loaded.tasks.iter().map(|t| t.record.id).collect();
    assert_eq!(ids, [before.id(), during.id()]);
    ward.shutdown(Duration::from_secs(1)).await.unwrap();
    drop(server);
}
