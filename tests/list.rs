//! Listing: pages in creation order from a cursor, filtered by status or live only, within a
//! scope. A cursor means "after this task's creation" whichever index serves the page, so
//! paging stays right while tasks change status, move to another scope or are removed
//! between two pages. (The first pages of a scope are in tests/submit.rs; the cost of a
//! filtered page is counted in the store's own unit tests.)

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use proptest::prelude::*;
use serde_json::json;
use taskward::{
    ClosePolicy, Cursor, Error, ListQuery, MemoryStore, Scope, Status, TaskError, TaskId,
    TaskRecord, TaskSpec, TaskStore, Taskward,
};

/// Every page of a query from `after` on, `limit` a page: the ids, checking that each page
/// but the last is full and that only the last has no cursor.
fn pages(ward: &Taskward, scope: &Scope, query: &ListQuery, after: Option<Cursor>) -> Vec<TaskId> {
    let limit = query.page_size();
    let mut query = query.clone();
    query.cursor = after;
    let mut ids = Vec::new();
    loop {
        let page = ward.list(scope, &query).unwrap();
        assert!(
            page.tasks
                .iter()
                .all(|r| r.scope == *scope && query.matches(r))
        );
        ids.extend(page.tasks.iter().map(|r| r.id));
        match page.next_cursor {
            Some(cursor) => {
                assert_eq!(page.tasks.len(), limit, "a page before the last is full");
                assert_eq!(cursor, Cursor::after_seq(page.tasks[limit - 1].seq));
                query.cursor = Some(cursor);
            }
            None => return ids,
        }
    }
}

/// One page: its ids and its cursor.
fn page(ward: &Taskward, scope: &Scope, query: ListQuery) -> (Vec<TaskId>, Option<Cursor>) {
    let page = ward.list(scope, &query).unwrap();
    (page.tasks.iter().map(|r| r.id).collect(), page.next_cursor)
}

async fn external(ward: &Taskward, spec: TaskSpec) -> TaskId {
    ward.submit_external(spec, |_| {}).await.unwrap().id()
}

#[tokio::test(start_paused = true)]
async fn filtered_pages_follow_status_changes_transfers_and_removals() {
    let ward = common::ward().await;
    let a = Scope::session("list-a");
    let b = Scope::session("list-b");
    // Twelve tasks in a (two of them expire after 10 s), interleaved with four in b.
    let mut t = Vec::new();
    let mut theirs = Vec::new();
    for i in 0..12 {
        let mut spec = TaskSpec::new(format!("a{i}")).scope(a.clone());
        if i == 2 || i == 7 {
            spec = spec.ttl(Duration::from_secs(10));
        }
        t.push(external(&ward, spec).await);
        if i % 3 == 0 {
            theirs.push(external(&ward, TaskSpec::new(format!("b{i}")).scope(b.clone())).await);
        }
    }
    ward.finish_external(&a, t[0], Ok(json!(0))).await.unwrap();
    ward.finish_external(&a, t[1], Err(TaskError::new("no")))
        .await
        .unwrap();
    ward.cancel(&a, t[3], None).await.unwrap();
    ward.finish_external(&a, t[4], Ok(json!(4))).await.unwrap();

    let live = ListQuery::new().live_only().limit(3);
    let completed = ListQuery::new().status(Status::Completed).limit(2);
    assert_eq!(
        pages(&ward, &a, &live, None),
        [2, 5, 6, 7, 8, 9, 10, 11].map(|i| t[i])
    );
    assert_eq!(
        pages(&ward, &a, &ListQuery::new().status(Status::Failed), None),
        [t[1]]
    );

    // A cursor taken, then tasks change status on both sides of it: those before it stay
    // behind, the one after it drops out of the live pages and into the completed ones.
    let (first, cursor) = page(&ward, &a, live.clone());
    assert_eq!(first, [2, 5, 6].map(|i| t[i]));
    let cursor = cursor.expect("more live tasks");
    ward.finish_external(&a, t[5], Ok(json!(5))).await.unwrap();
    ward.finish_external(&a, t[8], Ok(json!(8))).await.unwrap();
    let (second, cursor) = page(&ward, &a, live.clone().after(cursor));
    assert_eq!(second, [7, 9, 10].map(|i| t[i]));
    let cursor = cursor.expect("one more live task");
    assert_eq!(
        pages(&ward, &a, &completed, None),
        [0, 4, 5, 8].map(|i| t[i])
    );
    let (_, after_4) = page(&ward, &a, completed.clone());
    assert_eq!(pages(&ward, &a, &completed, after_4), [5, 8].map(|i| t[i]));

    // Removed by expiry (t2 and t7, both live): the pages skip them, cursors still hold.
    tokio::time::sleep(Duration::from_secs(12)).await;
    for i in [2, 7] {
        assert!(matches!(ward.get(&a, t[i]), Err(Error::NotFound(_))));
    }
    assert_eq!(pages(&ward, &a, &live, Some(cursor)), [t[11]]);
    assert_eq!(pages(&ward, &a, &live, None), [6, 9, 10, 11].map(|i| t[i]));
    assert_eq!(
        pages(&ward, &a, &ListQuery::new().status(Status::Cancelled), None),
        [t[3]],
        "expired tasks are removed, not listed as cancelled"
    );

    // Transferred: a's live tasks move to b and take their place in b's creation order; a
    // cursor from a's pages means the same position in b's.
    let (_, after_6) = page(&ward, &a, ListQuery::new().live_only().limit(1));
    ward.close_scope(&a, ClosePolicy::Transfer(b.clone()))
        .await
        .unwrap();
    assert!(pages(&ward, &a, &live, None).is_empty());
    assert_eq!(
        pages(&ward, &a, &ListQuery::new().limit(2), None),
        [0, 1, 3, 4, 5, 8].map(|i| t[i]),
        "terminal tasks stay behind"
    );
    assert_eq!(
        pages(&ward, &b, &live, None),
        [
            theirs[0], theirs[1], t[6], theirs[2], t[9], theirs[3], t[10], t[11]
        ]
    );
    assert_eq!(
        pages(
            &ward,
            &b,
            &ListQuery::new().status(Status::Working).limit(2),
            after_6
        ),
        [theirs[2], t[9], theirs[3], t[10], t[11]]
    );

    // In b, they change status as b's tasks.
    ward.cancel(&b, t[9], None).await.unwrap();
    ward.finish_external(&b, theirs[3], Ok(json!("b9")))
        .await
        .unwrap();
    assert_eq!(pages(&ward, &b, &live, after_6), [theirs[2], t[10], t[11]]);
    assert_eq!(
        pages(&ward, &b, &ListQuery::new().status(Status::Cancelled), None),
        [t[9]]
    );
}

// ------------------------------------------------------------------ property test, on the store

/// One step on the store, or one page of a query read on from where that query left off.
#[derive(Debug, Clone)]
enum Step {
    Insert {
        scope: usize,
        status: usize,
    },
    SetStatus {
        task: usize,
        status: usize,
    },
    Transfer {
        task: usize,
        scope: usize,
    },
    Touch {
        task: usize,
    },
    Remove {
        task: usize,
    },
    Page {
        scope: usize,
        query: usize,
        limit: usize,
    },
}

const SCOPES: usize = 2;

fn scope(i: usize) -> Scope {
    Scope::session(format!("p{i}"))
}

/// The queries the property test pages with, from no filter to one nothing passes.
fn queries() -> Vec<ListQuery> {
    let mut queries = vec![ListQuery::new(), ListQuery::new().live_only()];
    for status in Status::ALL {
        queries.push(ListQuery::new().status(status));
        queries.push(ListQuery::new().status(status).live_only());
    }
    queries
}

fn step() -> impl Strategy<Value = Step> {
    let statuses = Status::ALL.len();
    prop_oneof![
        3 => (0..SCOPES, 0..statuses).prop_map(|(scope, status)| Step::Insert { scope, status }),
        3 => (any::<usize>(), 0..statuses)
            .prop_map(|(task, status)| Step::SetStatus { task, status }),
        1 => (any::<usize>(), 0..SCOPES).prop_map(|(task, scope)| Step::Transfer { task, scope }),
        1 => any::<usize>().prop_map(|task| Step::Touch { task }),
        1 => any::<usize>().prop_map(|task| Step::Remove { task }),
        4 => (0..SCOPES, 0..queries().len(), 1usize..4)
            .prop_map(|(scope, query, limit)| Step::Page { scope, query, limit }),
    ]
}

/// Replaces a task's record with an edited copy, as the registry does.
fn edit(store: &MemoryStore, id: TaskId, change: impl FnOnce(&mut TaskRecord)) {
    let mut record = (*store.get(&id).expect("in the store")).clone();
    change(&mut record);
    store.replace(Arc::new(record)).unwrap();
}

/// Runs the steps on a store and on a model (a map by seq), checking each page against the
/// model: the first `limit` tasks after the query's cursor that pass its filter, and a cursor
/// exactly when more follow.
fn check(steps: Vec<Step>) -> Result<(), TestCaseError> {
    let store = MemoryStore::new();
    let queries = queries();
    let mut model: BTreeMap<u64, (TaskId, usize, Status)> = BTreeMap::new();
    let mut seqs: Vec<u64> = Vec::new();
    // Where each (scope, query) pair's paging stands: `None` before the first page.
    let mut cursors: BTreeMap<(usize, usize), Option<Cursor>> = BTreeMap::new();
    let pick = |seqs: &[u64], task: usize| (!seqs.is_empty()).then(|| seqs[task % seqs.len()]);
    for step in steps {
        match step {
            Step::Insert { scope: s, status } => {
                let seq = seqs.len() as u64 + 1;
                let mut record = TaskRecord::new(TaskId::new(), scope(s), "p".into(), seq);
                record.status = Status::ALL[status];
                model.insert(seq, (record.id, s, record.status));
                seqs.push(seq);
                store.insert(Arc::new(record), None).unwrap();
            }
            Step::SetStatus { task, status } => {
                let Some(entry) = pick(&seqs, task).and_then(|seq| model.get_mut(&seq)) else {
                    continue;
                };
                entry.2 = Status::ALL[status];
                edit(&store, entry.0, |r| r.status = Status::ALL[status]);
            }
            Step::Transfer { task, scope: s } => {
                let Some(entry) = pick(&seqs, task).and_then(|seq| model.get_mut(&seq)) else {
                    continue;
                };
                entry.1 = s;
                edit(&store, entry.0, |r| r.scope = scope(s));
            }
            Step::Touch { task } => {
                let Some(entry) = pick(&seqs, task).and_then(|seq| model.get(&seq)) else {
                    continue;
                };
                edit(&store, entry.0, |r| {
                    r.status_message = Some("touched".into())
                });
            }
            Step::Remove { task } => {
                let Some((id, ..)) = pick(&seqs, task).and_then(|seq| model.remove(&seq)) else {
                    continue;
                };
                prop_assert_eq!(store.remove(&id).unwrap().map(|r| r.id), Some(id));
            }
            Step::Page {
                scope: s,
                query: q,
                limit,
            } => {
                let at = cursors.entry((s, q)).or_default();
                let mut query = queries[q].clone().limit(limit);
                query.cursor = *at;
                let page = store.list(&scope(s), &query);
                let from = at.map_or(0, |c| c.seq() + 1);
                let expected: Vec<(u64, TaskId)> = model
                    .range(from..)
                    .filter(|(_, (_, sc, status))| *sc == s && query.admits(*status))
                    .map(|(seq, (id, ..))| (*seq, *id))
                    .take(limit + 1)
                    .collect();
                let got: Vec<(u64, TaskId)> = page.tasks.iter().map(|r| (r.seq, r.id)).collect();
                let shown = expected.len().min(limit);
                prop_assert_eq!(&got[..], &expected[..shown], "{:?}", query);
                let next =
                    (expected.len() > limit).then(|| Cursor::after_seq(expected[shown - 1].0));
                prop_assert_eq!(page.next_cursor, next);
                // Start over after the last page.
                *at = page.next_cursor;
            }
        }
    }
    prop_assert_eq!(store.len(), model.len());
    for s in 0..SCOPES {
        let ids: Vec<TaskId> = model
            .values()
            .filter(|(_, sc, _)| *sc == s)
            .map(|(id, ..)| *id)
            .collect();
        prop_assert_eq!(store.scope_ids(&scope(s)), ids);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn pages_match_a_model_through_status_changes_transfers_and_removals(
        steps in proptest::collection::vec(step(), 1..120)
    ) {
        check(steps)?;
    }
}
