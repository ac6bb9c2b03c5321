//! Nodes of one cluster when the database goes away: the server is killed (immediate stop,
//! as a crash) while two nodes run, a submit made while it is down is acknowledged only once
//! it is back and is then readable from the other node, and a cancel across nodes after the
//! restart still reaches the work that was running before it. Nothing acknowledged is lost,
//! nothing stays working.
//!
//! It has a server of its own: stopping the shared one would fail the other tests.

mod common;

use std::sync::Arc;

use common::PgServer;
use common::cluster::scope;
use common::node::{Probe, spec, start, stop, within};
use serde_json::json;
use taskward_core::{Outcome, Status};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_carry_on_across_a_crash_of_the_database() {
    let mut server = PgServer::start();
    let url = server.fresh_database();
    let (probe_a, probe_b) = (Arc::new(Probe::default()), Arc::new(Probe::default()));
    let (ward_a, node_a, _) = start(&url, &probe_a).await;
    let (ward_b, node_b, _) = start(&url, &probe_b).await;

    let running = ward_a
        .submit_kind(spec("wait_for_cancel"), json!(null))
        .await
        .expect("submitted on A");
    within("the work starts on A", probe_a.started.notified()).await;

    let mut server = tokio::task::spawn_blocking(move || {
        server.stop();
        server
    })
    .await
    .expect("stopped");
    // Submitted while the database is down: acknowledged only once its record is durable.
    let submitting = {
        let ward_a = ward_a.clone();
        tokio::spawn(async move { ward_a.submit_kind(spec("resume"), json!(null)).await })
    };
    let server = tokio::task::spawn_blocking(move || {
        server.restart();
        server
    })
    .await
    .expect("restarted");
    let submitted = within("the submit returns once the server is back", submitting)
        .await
        .expect("the submitter")
        .expect("submitted on A");
    let outcome = within("it completes", submitted.wait())
        .await
        .expect("an outcome");
    assert_eq!(outcome, Outcome::completed(json!({ "resumed_from": null })));
    // B holds nothing of it: its wait reads the shared row, woken by A's terminal write.
    let seen = within("B reads its outcome", ward_b.wait(&scope(), submitted.id()))
        .await
        .expect("B finds it");
    assert_eq!(seen, outcome);
    assert_eq!(
        ward_b
            .find(&scope(), submitted.id())
            .await
            .expect("B finds it")
            .status,
        Status::Completed
    );

    let cancelled = within(
        "a cancel through B",
        ward_b.cancel(&scope(), running.id(), None),
    )
    .await
    .expect("cancelled through B");
    assert_eq!(cancelled.status, Status::Cancelled);
    within("A's work sees its token", probe_a.saw_cancel.notified()).await;
    let outcome = within("A's task ends", running.wait())
        .await
        .expect("an outcome");
    assert!(matches!(outcome, Outcome::Cancelled { .. }), "{outcome:?}");
    stop(ward_a, node_a).await;
    stop(ward_b, node_b).await;
    drop(server);
}
