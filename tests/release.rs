//! Release: a task another node took over leaves this runtime without an end. Its work is
//! stopped as by a cancel (token, then abort after the grace), nothing terminal is recorded
//! or written, the task leaves this node's memory, and a wait already under way follows it
//! to the shared table and returns the outcome it reaches there.

mod common;

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::disk::Disk;
use serde_json::{Value, json};
use taskward::crates::core::BoxFuture;
use taskward::{
    Error, ListQuery, Outcome, Page, Scope, SharedCancel, SharedInput, SharedTasks, Status,
    StoreError, TaskContext, TaskError, TaskId, TaskRecord, TaskSpec, Taskward,
};
use tokio::sync::watch;

/// The shared table as this node sees it: one record, set by the test, and a signal of its
/// changes.
#[derive(Debug)]
struct Elsewhere {
    record: Mutex<Option<TaskRecord>>,
    changes: watch::Sender<u64>,
}

impl Elsewhere {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            record: Mutex::new(None),
            changes: watch::channel(0).0,
        })
    }

    fn set(&self, record: TaskRecord) {
        *self.record.lock().unwrap() = Some(record);
        self.changes.send_modify(|n| *n += 1);
    }
}

#[derive(Debug)]
struct View(Arc<Elsewhere>);

impl SharedTasks for View {
    fn get<'a>(
        &'a self,
        scope: &'a Scope,
        id: TaskId,
    ) -> BoxFuture<'a, Result<Option<TaskRecord>, StoreError>> {
        let found = self.0.record.lock().unwrap().clone();
        Box::pin(async move { Ok(found.filter(|r| r.id == id && r.scope == *scope)) })
    }

    fn list<'a>(
        &'a self,
        _: &'a Scope,
        _: &'a ListQuery,
    ) -> BoxFuture<'a, Result<Page, StoreError>> {
        Box::pin(async { Ok(Page::new(Vec::new(), None)) })
    }

    fn cancel<'a>(
        &'a self,
        _: &'a Scope,
        _: TaskId,
        _: Option<String>,
    ) -> BoxFuture<'a, Result<SharedCancel, StoreError>> {
        Box::pin(async { Ok(SharedCancel::Unknown) })
    }

    fn provide_input<'a>(
        &'a self,
        _: &'a Scope,
        _: TaskId,
        _: &'a str,
        _: Value,
    ) -> BoxFuture<'a, Result<SharedInput, StoreError>> {
        Box::pin(async { Ok(SharedInput::Unknown) })
    }

    fn changed(&self, _: TaskId) -> BoxFuture<'static, ()> {
        let mut changes = self.0.changes.subscribe();
        Box::pin(async move {
            let _ = changes.changed().await;
        })
    }
}

/// Sets its flag when dropped: the work was aborted (or returned).
struct Dropped(Arc<AtomicBool>);

impl Drop for Dropped {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

const GRACE: Duration = Duration::from_secs(10);

#[tokio::test(start_paused = true)]
async fn a_released_task_stops_without_an_end_and_its_wait_follows_it_elsewhere() {
    let disk = Disk::new();
    let elsewhere = Elsewhere::new();
    let ward = Taskward::builder()
        .durable(disk.clone())
        .shared_tasks(View(Arc::clone(&elsewhere)))
        .spawn()
        .await
        .unwrap();
    let scope = Scope::session("s-1");
    let (saw_token, dropped) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    let (saw, gone) = (Arc::clone(&saw_token), Arc::clone(&dropped));
    let task = ward
        .submit_once(
            TaskSpec::new("stubborn")
                .scope(scope.clone())
                .cancel_grace(GRACE),
            move |ctx: TaskContext| async move {
                let _dropped = Dropped(gone);
                ctx.cancelled().await;
                saw.store(true, Ordering::SeqCst);
                // Ignores its token: only the abort after the grace stops it.
                std::future::pending::<Result<Value, TaskError>>().await
            },
        )
        .await
        .unwrap();
    let id = task.id();
    let waiting = tokio::spawn({
        let ward = ward.clone();
        let scope = scope.clone();
        async move { ward.wait(&scope, id).await }
    });
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert!(!waiting.is_finished());

    // Another node holds it now, live.
    let mut theirs = (*task.record().clone()).clone();
    theirs.status_message = Some("running on another node".into());
    elsewhere.set(theirs.clone());
    let released = ward.release(id).await.expect("released");
    assert_eq!(released.status, Status::Working);

    // The work saw its token; it is aborted after the grace, not before.
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert!(saw_token.load(Ordering::SeqCst), "the token fired");
    assert!(!dropped.load(Ordering::SeqCst), "aborted before the grace");
    tokio::time::sleep(GRACE + Duration::from_secs(1)).await;
    assert!(dropped.load(Ordering::SeqCst), "aborted after the grace");

    // Gone from this node's memory, with no end recorded here nor written.
    assert!(matches!(ward.get(&scope, id), Err(Error::NotFound(_))));
    let status = ward.status().await.unwrap();
    assert_eq!((status.tasks, status.live, status.controls), (0, 0, 0));
    ward.synced().await.unwrap();
    let written = disk.record(id).expect("still on disk");
    assert_eq!(written.status, Status::Working, "nothing terminal written");
    assert_eq!(ward.find(&scope, id).await.unwrap().as_ref(), &theirs);
    assert!(matches!(ward.release(id).await, Err(Error::NotFound(_))));

    // The wait begun here returns the outcome the other node reaches.
    assert!(!waiting.is_finished());
    let mut ended = theirs;
    ended.status = Status::Completed;
    ended.outcome = Some(Outcome::completed(json!("elsewhere")));
    elsewhere.set(ended);
    let outcome = waiting.await.unwrap().expect("the outcome");
    assert_eq!(outcome, Outcome::completed(json!("elsewhere")));
    ward.shutdown(Duration::from_secs(1)).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_task_that_ended_here_is_not_released() {
    let ward = Taskward::builder().spawn().await.unwrap();
    let task = ward
        .submit(TaskSpec::new("quick"), |_ctx: TaskContext| async {
            Ok::<_, TaskError>(json!(1))
        })
        .await
        .unwrap();
    task.wait().await.unwrap();
    assert!(matches!(
        ward.release(task.id()).await,
        Err(Error::AlreadyTerminal {
            status: Status::Completed,
            ..
        })
    ));
    assert!(matches!(
        ward.release(TaskId::new()).await,
        Err(Error::NotFound(_))
    ));
    ward.shutdown(Duration::from_secs(1)).await.unwrap();
}
