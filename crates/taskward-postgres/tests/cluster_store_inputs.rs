//! `ClusterStore` and a held task's outstanding input requests (`StoreWrite::Inputs`):
//! written to its row, read by any node while the task is `input_required`, fenced like the
//! node's other writes (a node that lost the task writes nothing, and nothing is refused).

mod common;

use std::sync::Arc;

use common::cluster::{closure, cluster, scope};
use common::cluster_store::{drain, store_with_refusals};
use common::{fresh, put};
use serde_json::json;
use taskward_core::{CancelledBy, DurableStore, InputRequest, Status, StoreWrite};
use taskward_postgres::NodeId;
use tokio_postgres::NoTls;

/// The raw `input_requests` column of task `id`.
async fn column(url: &str, id: taskward_core::TaskId) -> Option<String> {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.expect("connect");
    let driver = tokio::spawn(connection);
    let text = client
        .query_one(
            "SELECT input_requests::text FROM tasks WHERE id = $1",
            &[id.as_uuid()],
        )
        .await
        .expect("a row")
        .get(0);
    drop(client);
    let _ = driver.await;
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_tasks_input_requests_are_shared_while_it_waits_and_fenced() {
    let (_server, url) = fresh();
    let (mut store, mut refusals) = store_with_refusals(&url, NodeId::new());
    let reader = cluster(&url).await;
    let a = closure(1);
    store.commit(&[put(&a)]).unwrap();
    assert_eq!(
        reader.input_requests(&scope(), a.id).await.unwrap(),
        Some(vec![]),
        "working: none"
    );

    let ask = InputRequest::new("name", json!({"message": "name?"}));
    let mut waiting = a.clone();
    waiting.status = Status::InputRequired;
    store
        .commit(&[
            StoreWrite::Inputs(a.id, Arc::from([ask.clone()])),
            put(&waiting),
        ])
        .unwrap();
    assert_eq!(
        reader.input_requests(&scope(), a.id).await.unwrap(),
        Some(vec![ask.clone()])
    );
    let foreign = taskward_core::Scope::session("another");
    assert_eq!(reader.input_requests(&foreign, a.id).await.unwrap(), None);

    // Cancelled from another node: the node's later list is not written, nor refused.
    reader
        .request_cancel(&scope(), a.id, CancelledBy::Client, None)
        .await
        .unwrap();
    let second = InputRequest::new("age", json!({"message": "age?"}));
    store
        .commit(&[StoreWrite::Inputs(a.id, Arc::from([ask, second]))])
        .unwrap();
    assert!(drain(&mut refusals).is_empty());
    let written = column(&url, a.id).await.expect("the first list");
    assert!(!written.contains("\"age\""), "{written}");
    assert_eq!(
        reader.input_requests(&scope(), a.id).await.unwrap(),
        Some(vec![]),
        "ended: none"
    );
}
