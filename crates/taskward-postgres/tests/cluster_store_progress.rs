//! `ClusterStore` coalesces progress: a held task's writes that change only its progress
//! reach its row at most about every `progress_interval`, the last one by the store itself;
//! a status or phase change and a terminal record are written in their own batch, a checkpoint
//! takes the pending progress along; the pending progress of a removed task is never written.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::cluster::{closure, done};
use common::cluster_store::{drain, store_with_refusals};
use common::{PgServer, checkpoint, fresh, put};
use serde_json::json;
use taskward_core::{DurableStore, Phase, Progress, Status, StoreWrite, TaskId, TaskRecord};
use taskward_postgres::{ClusterStore, NodeId, Refusals};
use tokio_postgres::{Client, NoTls};

/// A client on `url` (its connection driven by a task).
async fn client(url: &str) -> Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.expect("connect");
    tokio::spawn(connection);
    client
}

/// Counts every UPDATE of a `tasks` row into `updates` from now on.
async fn count_updates(client: &Client) {
    client
        .batch_execute(
            "CREATE TABLE updates (id uuid NOT NULL); \
             CREATE FUNCTION count_update() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN INSERT INTO updates VALUES (NEW.id); RETURN NEW; END $$; \
             CREATE TRIGGER count_update AFTER UPDATE ON tasks \
             FOR EACH ROW EXECUTE FUNCTION count_update();",
        )
        .await
        .expect("install the counting trigger");
}

/// How many UPDATEs of task `id`'s row the trigger counted.
async fn updates(client: &Client, id: TaskId) -> i64 {
    client
        .query_one(
            "SELECT count(*) FROM updates WHERE id = $1",
            &[id.as_uuid()],
        )
        .await
        .expect("count updates")
        .get(0)
}

/// The row's status, and its record's progress `done` (`None` without progress).
async fn state(client: &Client, id: TaskId) -> (String, Option<i64>) {
    let row = client
        .query_one(
            "SELECT status, (record->'progress'->>'done')::int8 FROM tasks WHERE id = $1",
            &[id.as_uuid()],
        )
        .await
        .expect("read the row");
    (row.get(0), row.get(1))
}

/// The text of SQL expression `expr` on task `id`'s row.
async fn text(client: &Client, id: TaskId, expr: &str) -> Option<String> {
    let sql = format!("SELECT ({expr})::text FROM tasks WHERE id = $1");
    client
        .query_one(&sql, &[id.as_uuid()])
        .await
        .expect("read the row")
        .get(0)
}

/// `record` with `done` units of progress.
fn progress(record: &TaskRecord, done: u64) -> StoreWrite {
    let mut record = record.clone();
    record.progress = Some(Progress::new(done, Some(50), None));
    StoreWrite::Put(Arc::new(record))
}

/// A store on a fresh database (keep the server), its refusals, a client on the database,
/// and a running task the store inserted (its first write is never coalesced).
async fn inserted() -> (Arc<PgServer>, ClusterStore, Refusals, Client, TaskRecord) {
    let (server, url) = fresh();
    let (mut store, refusals) = store_with_refusals(&url, NodeId::new());
    let db = client(&url).await;
    let task = closure(1);
    store.commit(&[put(&task)]).unwrap();
    (server, store, refusals, db, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_reaches_the_row_coalesced_and_the_last_one_by_itself() {
    let (_server, mut store, mut refusals, db, task) = inserted().await;
    count_updates(&db).await;

    for done in 0..50 {
        store.commit(&[progress(&task, done)]).unwrap();
    }
    let written = updates(&db, task.id).await;
    assert!(
        written < 10,
        "50 progress writes back to back are coalesced, {written} reached the row"
    );

    // No further write: the store writes the last progress by itself.
    let guard = tokio::time::timeout(Duration::from_secs(20), async {
        while state(&db, task.id).await.1 != Some(49) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    guard
        .await
        .expect("the last progress reaches the row by itself");
    let written = updates(&db, task.id).await;
    assert!(written < 10, "{written} writes for 50 progress records");
    assert_eq!(drain(&mut refusals), []);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_phase_and_terminal_changes_are_written_in_their_batch() {
    let (_server, mut store, mut refusals, db, task) = inserted().await;
    store.commit(&[progress(&task, 1)]).unwrap();

    let mut waiting = task.clone();
    waiting.status = Status::InputRequired;
    waiting.progress = Some(Progress::new(2, Some(50), None));
    store.commit(&[put(&waiting)]).unwrap();
    assert_eq!(
        state(&db, task.id).await,
        ("input_required".to_owned(), Some(2)),
        "a status change is written in its batch"
    );

    let mut working = task.clone();
    working.progress = Some(Progress::new(3, Some(50), None));
    store.commit(&[put(&working)]).unwrap();
    assert_eq!(state(&db, task.id).await, ("working".to_owned(), Some(3)));
    let mut retrying = working.clone();
    retrying.phase = Some(Phase::RetryWait);
    retrying.progress = Some(Progress::new(4, Some(50), None));
    store.commit(&[put(&retrying)]).unwrap();
    let phase = text(&db, task.id, "record->>'phase'").await;
    assert_eq!(
        (phase.as_deref(), state(&db, task.id).await.1),
        (Some("retry_wait"), Some(4)),
        "a phase change is written in its batch"
    );

    store.commit(&[progress(&retrying, 5)]).unwrap();
    store.commit(&[put(&done(&retrying))]).unwrap();
    assert_eq!(
        state(&db, task.id).await.0,
        "completed",
        "a terminal record is written in its batch"
    );
    assert_eq!(drain(&mut refusals), []);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pending_progress_of_a_removed_task_is_never_written() {
    let (_server, mut store, mut refusals, db, task) = inserted().await;
    count_updates(&db).await;
    store.commit(&[progress(&task, 7)]).unwrap();
    store.commit(&[StoreWrite::Remove(task.id)]).unwrap();

    // Real time, only to wait well past the interval (250 ms) the flush would come after.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(updates(&db, task.id).await, 0);
    assert_eq!(state(&db, task.id).await, ("working".to_owned(), None));
    drop(store);
    assert_eq!(updates(&db, task.id).await, 0, "nor when the store closes");
    assert_eq!(drain(&mut refusals), []);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpoint_takes_the_pending_progress_along() {
    let (_server, mut store, mut refusals, db, task) = inserted().await;
    store.commit(&[progress(&task, 8)]).unwrap();
    store
        .commit(&[checkpoint(task.id, json!({ "next": 9 }))])
        .unwrap();
    let checkpoint = text(&db, task.id, "checkpoint::text").await;
    assert_eq!(
        (checkpoint.as_deref(), state(&db, task.id).await.1),
        (Some(r#"{"next":9}"#), Some(8)),
        "the checkpoint and the progress before it are written in its batch"
    );
    assert_eq!(drain(&mut refusals), []);
}
