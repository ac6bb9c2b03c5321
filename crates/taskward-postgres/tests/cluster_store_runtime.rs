//! A runtime writing through a `ClusterStore`: its tasks are read by key from another node,
//! a cancel from another node refuses the runtime's own outcome without stalling its
//! journal, and a restart with the same node id resumes the node's tasks.

mod common;

use std::time::Duration;

use common::cluster::{closure, cluster, scope};
use common::cluster_store::{drain, row, store_with_refusals};
use common::{fresh, put};
use serde_json::json;
use taskward_core::{CancelledBy, DurableStore, FailureCause, Outcome, Status};
use taskward_postgres::{Fenced, NodeId};
use taskward_runtime::{TaskSpec, Taskward};
use tokio::sync::oneshot;

fn spec(name: &str) -> TaskSpec {
    TaskSpec::new(name).scope(scope())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nodes_tasks_are_read_by_key_from_another_handle_with_their_final_status() {
    let (_server, url) = fresh();
    let (store, mut refusals) = store_with_refusals(&url, NodeId::new());
    let ward = Taskward::builder().durable(store).spawn().await.unwrap();
    let mut ids = Vec::new();
    for n in 0..20 {
        let handle = ward
            .submit(spec("square"), move |_| async move { Ok(json!(n * n)) })
            .await
            .unwrap();
        ids.push(handle.id());
        assert!(matches!(
            handle.wait().await.unwrap(),
            Outcome::Completed { .. }
        ));
    }
    // The last outcome is durable once a later submit returns (one journal, in order).
    let last = ward
        .submit(spec("last"), |_| async { Ok(json!(0)) })
        .await
        .unwrap();
    last.wait().await.unwrap();
    ward.submit(spec("flush"), |_| async { Ok(json!(0)) })
        .await
        .unwrap();

    let other = cluster(&url).await;
    for (n, id) in ids.iter().enumerate() {
        let record = other.get(&scope(), *id).await.unwrap().expect("the task");
        assert_eq!(record.status, Status::Completed);
        assert_eq!(
            record.outcome,
            Some(Outcome::completed(json!(n * n))),
            "task {n}"
        );
    }
    let listed = other
        .list(&scope(), None, 100, &[Status::Completed])
        .await
        .unwrap();
    assert!(ids.iter().all(|id| listed.iter().any(|r| r.id == *id)));
    assert_eq!(drain(&mut refusals), []);
    ward.shutdown(Duration::from_secs(1)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_from_another_node_refuses_the_nodes_completion_and_the_journal_goes_on() {
    let (_server, url) = fresh();
    let (store, mut refusals) = store_with_refusals(&url, NodeId::new());
    let ward = Taskward::builder().durable(store).spawn().await.unwrap();
    let (release, released) = oneshot::channel::<()>();
    let released = std::sync::Mutex::new(Some(released));
    let handle = ward
        .submit(spec("slow"), move |_| {
            let released = released.lock().unwrap().take();
            async move {
                if let Some(released) = released {
                    let _ = released.await;
                }
                Ok(json!("done"))
            }
        })
        .await
        .unwrap();
    let other = cluster(&url).await;
    other
        .request_cancel(&scope(), handle.id(), CancelledBy::Client, None)
        .await
        .unwrap()
        .expect("the task is in the table");

    release.send(()).unwrap();
    assert!(matches!(
        handle.wait().await.unwrap(),
        Outcome::Completed { .. }
    ));
    let refusal = tokio::time::timeout(Duration::from_secs(30), refusals.recv())
        .await
        .expect("a refusal within 30 s")
        .expect("a refusal");
    assert_eq!(
        (refusal.id, refusal.why),
        (handle.id(), Fenced::Terminal(Status::Cancelled))
    );
    // The journal is not stuck: a later submit returns and its outcome lands.
    let later = ward
        .submit(spec("later"), |_| async { Ok(json!(1)) })
        .await
        .unwrap();
    later.wait().await.unwrap();
    let record = other.get(&scope(), handle.id()).await.unwrap().unwrap();
    assert_eq!(record.status, Status::Cancelled);
    let row = row(&url, handle.id()).await.unwrap();
    assert!(!row.held, "the refused outcome released the node's hold");
    ward.shutdown(Duration::from_secs(1)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_restarted_with_its_id_fails_its_closure_tasks_interrupted_and_a_new_id_sees_none() {
    let (_server, url) = fresh();
    let node = NodeId::new();
    // The node's previous life left two closure tasks running.
    let (a, b) = (closure(1), closure(2));
    let (mut before, _) = store_with_refusals(&url, node);
    before.commit(&[put(&a), put(&b)]).unwrap();
    drop(before);

    // A new id loads none of them: they stay the old id's, for the rescue.
    let (stranger, _) = store_with_refusals(&url, NodeId::new());
    let ward = Taskward::builder().durable(stranger).spawn().await.unwrap();
    assert!(ward.get(&scope(), a.id).is_err(), "not this node's task");
    ward.shutdown(Duration::from_secs(1)).await.unwrap();
    assert_eq!(row(&url, a.id).await.unwrap().status, "working");

    // The same id loads them, and its reconciliation fails them through their fences.
    let (again, mut refusals) = store_with_refusals(&url, node);
    let ward = Taskward::builder().durable(again).spawn().await.unwrap();
    ward.submit(spec("flush"), |_| async { Ok(json!(0)) })
        .await
        .unwrap();
    let other = cluster(&url).await;
    for id in [a.id, b.id] {
        let record = other.get(&scope(), id).await.unwrap().unwrap();
        assert_eq!(record.status, Status::Failed);
        let Some(Outcome::Failed(failure)) = record.outcome else {
            panic!("failed without a failure: {record:?}");
        };
        assert_eq!(failure.cause, FailureCause::Interrupted);
        assert!(!row(&url, id).await.unwrap().held);
    }
    assert_eq!(drain(&mut refusals), []);
    ward.shutdown(Duration::from_secs(1)).await.unwrap();
}
