//! Unit tests of the store's indexes: filtered pages cost O(page), counted, not timed.

use std::sync::Arc;

use taskward_core::{Cursor, ListQuery, Scope, Status, TaskId, TaskRecord, TaskStore};

use super::MemoryStore;

/// Counts the index entries a list call examines (each one is a record read): timing cannot
/// be asserted, work can.
pub(super) mod probe {
    use std::cell::Cell;

    thread_local! {
        static EXAMINED: Cell<usize> = const { Cell::new(0) };
    }

    /// One more entry examined on this thread.
    pub(in super::super) fn examine() {
        EXAMINED.with(|c| c.set(c.get() + 1));
    }

    /// The entries examined on this thread since the last call.
    pub(in super::super) fn take() -> usize {
        EXAMINED.with(|c| c.replace(0))
    }
}

fn record(scope: &Scope, seq: u64, status: Status) -> Arc<TaskRecord> {
    let mut r = TaskRecord::new(TaskId::new(), scope.clone(), "job".into(), seq);
    if status != Status::Working {
        r.status = status;
        if status.is_terminal() {
            r.phase = None;
        }
    }
    Arc::new(r)
}

/// A page of 10 live (or working) tasks after 100,000 terminal ones reads about 10 entries,
/// not 100,000.
#[test]
fn a_filtered_page_past_many_terminal_tasks_examines_o_page_entries() {
    let store = MemoryStore::new();
    let scope = Scope::session("s");
    let terminal = 100_000u64;
    for seq in 1..=terminal {
        let status = [Status::Completed, Status::Failed, Status::Cancelled][seq as usize % 3];
        store.insert(record(&scope, seq, status), None).unwrap();
    }
    let mut live = Vec::new();
    for seq in terminal + 1..=terminal + 25 {
        let status = if seq % 5 == 0 {
            Status::InputRequired
        } else {
            Status::Working
        };
        let r = record(&scope, seq, status);
        live.push(r.id);
        store.insert(r, None).unwrap();
    }
    probe::take();

    let page = store.list(&scope, &ListQuery::new().live_only().limit(10));
    let examined = probe::take();
    let ids: Vec<TaskId> = page.tasks.iter().map(|r| r.id).collect();
    assert_eq!(ids, live[..10]);
    assert!(
        examined <= 11,
        "a live page of 10 examined {examined} entries"
    );

    let next = store.list(
        &scope,
        &ListQuery::new()
            .live_only()
            .limit(10)
            .after(page.next_cursor.expect("more live tasks")),
    );
    let examined = probe::take();
    assert_eq!(next.tasks.len(), 10);
    assert_eq!(next.tasks[0].id, live[10]);
    assert!(
        examined <= 11,
        "the next live page examined {examined} entries"
    );

    let working = store.list(&scope, &ListQuery::new().status(Status::Working).limit(10));
    let examined = probe::take();
    assert_eq!(working.tasks.len(), 10);
    assert!(working.tasks.iter().all(|r| r.status == Status::Working));
    assert!(
        examined <= 11,
        "a working page of 10 examined {examined} entries"
    );

    // A terminal status from the middle: after a cursor deep in the scope.
    let failed = store.list(
        &scope,
        &ListQuery::new()
            .status(Status::Failed)
            .limit(10)
            .after(Cursor::after_seq(terminal / 2)),
    );
    let examined = probe::take();
    assert_eq!(failed.tasks.len(), 10);
    assert!(failed.tasks.iter().all(|r| r.status == Status::Failed));
    assert!(failed.tasks[0].seq > terminal / 2);
    assert!(
        examined <= 11,
        "a failed page of 10 examined {examined} entries"
    );

    // A filter nothing passes (a terminal status and live only) examines nothing.
    let none = store.list(
        &scope,
        &ListQuery::new().status(Status::Completed).live_only(),
    );
    assert!(none.tasks.is_empty() && none.next_cursor.is_none());
    assert_eq!(probe::take(), 0);
}

/// A second insert of an id is refused and leaves the first record and its entry alone.
#[test]
fn a_duplicate_insert_changes_nothing() {
    let store = MemoryStore::new();
    let scope = Scope::session("s");
    let first = record(&scope, 1, Status::Working);
    store.insert(first.clone(), None).unwrap();
    let mut twin = TaskRecord::clone(&first);
    twin.status = Status::Completed;
    twin.seq = 2;
    assert!(store.insert(Arc::new(twin), None).is_err());
    assert_eq!(store.get(&first.id).unwrap().status, Status::Working);
    assert_eq!(store.len(), 1);
    let live = store.list(&scope, &ListQuery::new().live_only());
    assert_eq!(live.tasks.len(), 1);
    assert!(
        store
            .list(&scope, &ListQuery::new().status(Status::Completed))
            .tasks
            .is_empty()
    );
}

/// Readers page while a writer moves tasks between statuses and scopes: every listed record
/// passes the filter and belongs to the scope, and nothing deadlocks.
#[test]
fn pages_read_during_writes_hold_only_matching_records() {
    let store = Arc::new(MemoryStore::new());
    let scopes = [Scope::session("x"), Scope::session("y")];
    let ids: Vec<TaskId> = (1..=200u64)
        .map(|seq| {
            let r = record(&scopes[0], seq, Status::Working);
            store.insert(r.clone(), None).unwrap();
            r.id
        })
        .collect();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|n| {
            let (store, scopes, stop) = (store.clone(), scopes.clone(), stop.clone());
            std::thread::spawn(move || {
                let queries = [
                    ListQuery::new().live_only().limit(7),
                    ListQuery::new().status(Status::Failed).limit(5),
                ];
                let mut pages = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let scope = &scopes[n % 2];
                    let mut query = queries[pages as usize % 2].clone();
                    loop {
                        let page = store.list(scope, &query);
                        assert!(page.tasks.len() <= query.page_size());
                        for r in &page.tasks {
                            assert!(r.scope == *scope && query.matches(r), "{r:?}");
                        }
                        pages += 1;
                        match page.next_cursor {
                            Some(c) => query.cursor = Some(c),
                            None => break,
                        }
                    }
                }
                pages
            })
        })
        .collect();
    for round in 0..20_000usize {
        let id = ids[round * 7 % ids.len()];
        let mut r = TaskRecord::clone(&store.get(&id).unwrap());
        r.status = [Status::Working, Status::InputRequired, Status::Failed][round % 3];
        r.scope = scopes[round / 3 % 2].clone();
        store.replace(Arc::new(r)).unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for reader in readers {
        assert!(reader.join().expect("the reader held") > 0);
    }
}
