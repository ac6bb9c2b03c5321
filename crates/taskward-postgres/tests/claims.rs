//! Claims: priority order, FIFO within a priority, registered kinds only, and caps that
//! hold while several nodes claim at once.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use common::cluster::{cluster, done, enqueue, job};
use common::fresh;
use taskward_core::TaskId;
use taskward_postgres::{Caps, NodeId};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_take_the_highest_priority_first_and_fifo_within_a_priority() {
    let (_server, url) = fresh();
    let cluster = cluster(&url).await;
    let low: Vec<_> = (1..=3).map(|s| job("a", s)).collect();
    let high: Vec<_> = (4..=6).map(|s| job("a", s)).collect();
    let other = job("b", 7);
    enqueue(&cluster, &low, 0).await;
    enqueue(&cluster, &high, 10).await;
    enqueue(&cluster, std::slice::from_ref(&other), 20).await;

    let node = NodeId::new();
    let first = cluster.claim(node, &["a"], 4, &Caps::new()).await.unwrap();
    let ids: Vec<TaskId> = first.iter().map(|c| c.record.id).collect();
    let expected: Vec<TaskId> = [&high[0], &high[1], &high[2], &low[0]]
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, expected, "priority 10 in seq order, then priority 0");
    assert!(
        first
            .iter()
            .all(|c| c.fence.attempt == 1 && c.fence.node == node)
    );
    assert_eq!(first[0].record, high[0], "the record comes back whole");

    // Kind `b` is not registered by this node: never claimed by it.
    let rest = cluster.claim(node, &["a"], 10, &Caps::new()).await.unwrap();
    let ids: Vec<TaskId> = rest.iter().map(|c| c.record.id).collect();
    assert_eq!(ids, [low[1].id, low[2].id]);
    let b = cluster.claim(node, &["b"], 10, &Caps::new()).await.unwrap();
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].record.id, other.id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_resumes_from_the_checkpoint() {
    let (_server, url) = fresh();
    let cluster = cluster(&url).await;
    let a = job("a", 1);
    enqueue(&cluster, std::slice::from_ref(&a), 0).await;
    let node = NodeId::new();
    let claimed = cluster.claim(node, &["a"], 1, &Caps::new()).await.unwrap();
    let value = serde_json::json!({ "next": 42 });
    cluster.checkpoint(claimed[0].fence, &value).await.unwrap();
    // Its node dies; after a rescue another node claims it, from the checkpoint.
    let far = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
    cluster.rescue(far).await.unwrap();
    let again = cluster
        .claim(NodeId::new(), &["a"], 1, &Caps::new())
        .await
        .unwrap();
    assert_eq!(again[0].checkpoint.as_deref(), Some(&value));
    assert_eq!(again[0].fence.attempt, 2);
}

/// Six nodes claim and finish 120 tasks of three kinds in a loop. Each claimed task is
/// entered in a shared ledger after its claim returned (committed) and left before its finish
/// is sent, so the ledger never holds more than the table does: a ledger over a cap is a
/// table over it. Returns the ledger.
async fn claim_everything(url: &str, caps: Caps) -> Ledger {
    let cluster = cluster(url).await;
    let kinds = ["a", "b", "c"];
    let mut seq = 0;
    let mut records = Vec::new();
    for _ in 0..40 {
        for kind in kinds {
            seq += 1;
            records.push(job(kind, seq));
        }
    }
    enqueue(&cluster, &records, 0).await;
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let mut nodes = Vec::new();
    for _ in 0..6 {
        let cluster = cluster.clone();
        let caps = caps.clone();
        let ledger = Arc::clone(&ledger);
        nodes.push(tokio::spawn(async move {
            let node = NodeId::new();
            loop {
                let claimed = cluster.claim(node, &kinds, 3, &caps).await.unwrap();
                if claimed.is_empty() {
                    if ledger.lock().unwrap().finished == 120 {
                        return;
                    }
                    tokio::task::yield_now().await;
                    continue;
                }
                for c in &claimed {
                    ledger.lock().unwrap().hold(&c.record.name);
                }
                tokio::task::yield_now().await;
                for c in claimed {
                    ledger.lock().unwrap().release(&c.record.name);
                    cluster.finish(c.fence, &done(&c.record)).await.unwrap();
                }
            }
        }));
    }
    for node in nodes {
        node.await.unwrap();
    }
    let ledger = Arc::into_inner(ledger).unwrap().into_inner().unwrap();
    assert_eq!(ledger.finished, 120);
    ledger
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_global_cap_and_kind_caps_hold_with_several_nodes_claiming_at_once() {
    let (_server, url) = fresh();
    let ledger = claim_everything(&url, Caps::new().global(5).kind("a", 2).kind("b", 3)).await;
    assert!(
        ledger.max_total <= 5,
        "global cap exceeded: {}",
        ledger.max_total
    );
    assert!(
        ledger.max["a"] <= 2,
        "cap of a exceeded: {}",
        ledger.max["a"]
    );
    assert!(
        ledger.max["b"] <= 3,
        "cap of b exceeded: {}",
        ledger.max["b"]
    );
    // The nodes did hold several tasks at once: a cap could have been exceeded.
    assert!(
        ledger.max_total >= 3,
        "no concurrency: {}",
        ledger.max_total
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kind_caps_hold_with_several_nodes_claiming_at_once() {
    let (_server, url) = fresh();
    let ledger = claim_everything(&url, Caps::new().kind("a", 1).kind("b", 2)).await;
    assert!(
        ledger.max["a"] <= 1,
        "cap of a exceeded: {}",
        ledger.max["a"]
    );
    assert!(
        ledger.max["b"] <= 2,
        "cap of b exceeded: {}",
        ledger.max["b"]
    );
    assert!(ledger.max["c"] >= 2, "no concurrency: {}", ledger.max["c"]);
}

#[derive(Default)]
struct Ledger {
    held: HashMap<String, u32>,
    total: u32,
    max: HashMap<String, u32>,
    max_total: u32,
    finished: u32,
}

impl Ledger {
    fn hold(&mut self, kind: &str) {
        let n = self.held.entry(kind.into()).or_default();
        *n += 1;
        let n = *n;
        let max = self.max.entry(kind.into()).or_default();
        *max = (*max).max(n);
        self.total += 1;
        self.max_total = self.max_total.max(self.total);
    }

    fn release(&mut self, kind: &str) {
        *self.held.get_mut(kind).unwrap() -= 1;
        self.total -= 1;
        self.finished += 1;
    }
}
