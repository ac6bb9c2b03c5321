//! Any node answers for any task: a runtime given a `SharedTable` finds, lists, cancels,
//! answers and waits for a task that another node holds, through the shared table.
//!
//! The other node is played by the test with the cluster's own calls (claim, finish,
//! listener), so that each check sees exactly what reached the table and the signals.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::cluster::{cluster, done, held_elsewhere, job, scope};
use common::fresh;
use serde_json::json;
use taskward_core::{
    CancelledBy, DurableStore, Error, ListQuery, Outcome, Scope, Status, StoreWrite, TaskId,
};
use taskward_postgres::{Cluster, Listener, Notification, SharedTable};
use taskward_runtime::Taskward;

/// A guard against a hang: waiting for an event, never a timing assertion.
const HANG: Duration = Duration::from_secs(60);

/// Node "B": a runtime that holds none of them and reads the shared table.
async fn node(cluster: &Cluster, url: &str) -> Taskward {
    let shared = SharedTable::start(cluster.clone(), url)
        .await
        .expect("listen");
    Taskward::builder()
        .shared_tasks(shared)
        .spawn()
        .await
        .expect("spawn")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_of_another_node_is_found_and_listed_within_its_scope() {
    let (_server, url) = fresh();
    let cluster = cluster(&url).await;
    let records: Vec<_> = (1..=3).map(|s| job("a", s)).collect();
    held_elsewhere(&cluster, &records).await;
    let b = node(&cluster, &url).await;

    let found = b.find(&scope(), records[0].id).await.unwrap();
    assert_eq!(found.id, records[0].id);
    assert_eq!(found.status, Status::Working);
    // Not in B's memory: `get` stays a local read.
    assert!(matches!(
        b.get(&scope(), records[0].id),
        Err(Error::NotFound(_))
    ));
    // A foreign scope and an unknown id read the same.
    let stranger = Scope::session("s-2").with_principal("mallory");
    assert!(matches!(
        b.find(&stranger, records[0].id).await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        b.find(&scope(), TaskId::new()).await,
        Err(Error::NotFound(_))
    ));

    let first = b
        .find_page(&scope(), &ListQuery::new().limit(2))
        .await
        .unwrap();
    let ids: Vec<_> = first.tasks.iter().map(|r| r.id).collect();
    assert_eq!(ids, [records[0].id, records[1].id]);
    let cursor = first.next_cursor.expect("a next page");
    let rest = b
        .find_page(&scope(), &ListQuery::new().limit(2).after(cursor))
        .await
        .unwrap();
    let ids: Vec<_> = rest.tasks.iter().map(|r| r.id).collect();
    assert_eq!(ids, [records[2].id]);
    assert!(rest.next_cursor.is_none());
    assert!(
        b.find_page(&stranger, &ListQuery::new())
            .await
            .unwrap()
            .tasks
            .is_empty()
    );
    b.shutdown(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_on_one_node_reaches_the_node_holding_the_task() {
    let (_server, url) = fresh();
    let cluster = cluster(&url).await;
    let records = [job("a", 1)];
    let claimed = held_elsewhere(&cluster, &records).await;
    let mut holder = Listener::connect(&url, cluster.options()).await.unwrap();
    let b = node(&cluster, &url).await;

    let stranger = Scope::session("s-2");
    assert!(matches!(
        b.cancel(&stranger, records[0].id, None).await,
        Err(Error::NotFound(_))
    ));
    let cancelled = b
        .cancel(&scope(), records[0].id, Some("enough".into()))
        .await
        .unwrap();
    assert_eq!(cancelled.status, Status::Cancelled);
    let Some(Outcome::Cancelled(c)) = &cancelled.outcome else {
        panic!("not a cancel outcome: {:?}", cancelled.outcome);
    };
    assert_eq!(c.by, CancelledBy::Client);
    // The holding node hears it, naming itself.
    let heard = tokio::time::timeout(HANG, async {
        loop {
            if let Notification::Cancel { id, node } = holder.recv().await.expect("listening") {
                return (id, node);
            }
        }
    })
    .await
    .expect("a cancel notification");
    assert_eq!(heard, (records[0].id, Some(claimed[0].fence.node)));
    // A second cancel names the status it ended with.
    assert!(matches!(
        b.cancel(&scope(), records[0].id, None).await,
        Err(Error::AlreadyTerminal {
            status: Status::Cancelled,
            ..
        })
    ));
    // The holder's own finish now loses: the first terminal transition won.
    assert!(
        cluster
            .finish(claimed[0].fence, &done(&records[0]))
            .await
            .is_err()
    );
    b.shutdown(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_input_answer_on_one_node_is_stored_for_the_node_holding_the_task() {
    let (_server, url) = fresh();
    let cluster = cluster(&url).await;
    let records = [job("a", 1)];
    let claimed = held_elsewhere(&cluster, &records).await;
    let b = node(&cluster, &url).await;

    let record = b
        .provide_input(&scope(), records[0].id, "name", json!("Ada"))
        .await
        .unwrap();
    assert_eq!(record.id, records[0].id);
    // The first answer stands; a second one to the same request is refused.
    assert!(matches!(
        b.provide_input(&scope(), records[0].id, "name", json!("Bob"))
            .await,
        Err(Error::UnknownInput { .. })
    ));
    let answers = cluster.take_answers(claimed[0].fence).await.unwrap();
    assert_eq!(answers, [("name".to_owned(), json!("Ada"))]);
    assert!(matches!(
        b.provide_input(&Scope::session("s-2"), records[0].id, "name", json!(1))
            .await,
        Err(Error::NotFound(_))
    ));
    b.shutdown(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wait_on_one_node_wakes_when_another_node_finishes_the_task() {
    let (_server, url) = fresh();
    let cluster = cluster(&url).await;
    let records = [job("a", 1)];
    let claimed = held_elsewhere(&cluster, &records).await;
    let b = node(&cluster, &url).await;

    let waiting = {
        let b = b.clone();
        let id = records[0].id;
        tokio::spawn(async move { b.wait(&scope(), id).await })
    };
    // The waiter is parked: the task is still working in the table. (A pause lets it get
    // there; the check after the finish does not depend on it.)
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!waiting.is_finished(), "returned before the task ended");
    cluster
        .finish(claimed[0].fence, &done(&records[0]))
        .await
        .unwrap();
    let outcome = tokio::time::timeout(HANG, waiting)
        .await
        .expect("woken by the finish")
        .unwrap()
        .unwrap();
    assert_eq!(outcome, Outcome::completed(json!("done")));
    b.shutdown(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_any_node_wrote_is_found_until_it_expires_or_is_removed() {
    let (_server, url) = fresh();
    let cluster = cluster(&url).await;
    let mut store = common::connect(&url);
    // Ids with the characters the `text` key escapes.
    let live = common::session("s%1\u{0}");
    let mut stale = common::session("s-2");
    stale.expires_at = Some(stale.created_at - Duration::from_secs(1));
    let removed = common::session("s-3");
    let writes = [live.clone(), stale, removed.clone()].map(|s| StoreWrite::Session(Arc::new(s)));
    store.commit(&writes).expect("commit");
    store
        .commit(&[StoreWrite::SessionRemove("s-3".into())])
        .expect("commit");
    let b = node(&cluster, &url).await;

    assert_eq!(b.find_session(&live.id).await.unwrap(), Some(live));
    assert_eq!(b.find_session("s-2").await.unwrap(), None, "expired");
    assert_eq!(b.find_session(&removed.id).await.unwrap(), None, "removed");
    assert_eq!(b.find_session("s-4").await.unwrap(), None, "unknown");
    // A single node shares no sessions.
    let single = Taskward::builder().spawn().await.unwrap();
    assert_eq!(single.find_session(&removed.id).await.unwrap(), None);
    single.shutdown(Duration::from_secs(5)).await.unwrap();
    b.shutdown(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_of_a_live_task_is_never_kept_so_its_end_shows_at_once() {
    let (_server, url) = fresh();
    let cluster = cluster(&url).await;
    let record = job("a", 1);
    let claimed = held_elsewhere(&cluster, std::slice::from_ref(&record)).await;
    let b = node(&cluster, &url).await;
    for _ in 0..3 {
        let read = b.find(&scope(), record.id).await.unwrap();
        assert_eq!(read.status, Status::Working);
    }
    cluster
        .finish(claimed[0].fence, &done(&claimed[0].record))
        .await
        .unwrap();
    // No wait for a notification: the next read goes to the row.
    let read = b.find(&scope(), record.id).await.unwrap();
    assert_eq!(read.status, Status::Completed);
    // Kept from now on, for its scope only.
    let again = b.find(&scope(), record.id).await.unwrap();
    assert_eq!(again, read);
    let stranger = Scope::session("s-2").with_principal("mallory");
    assert!(matches!(
        b.find(&stranger, record.id).await,
        Err(Error::NotFound(_))
    ));
}
