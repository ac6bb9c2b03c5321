//! Several nodes sharing one table: what each node's runtime must do so that the table stays
//! one table. Here, the seqs (creation order, and the key of list cursors) two nodes give are
//! never the same, and each node's are increasing. The shared table itself is tested against
//! PostgreSQL in `crates/taskward-postgres/tests/shared_table.rs`.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::Value;
use taskward::{NODE_SLOTS, TaskContext, TaskError, TaskSpec, Taskward};

async fn trivial(_ctx: TaskContext) -> Result<Value, TaskError> {
    Ok(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_never_give_the_same_seq() {
    let a = Taskward::builder().node_slot(1).spawn().await.unwrap();
    let b = Taskward::builder().node_slot(2).spawn().await.unwrap();
    let mut seen = HashSet::new();
    let (mut last_a, mut last_b) = (0, 0);
    for _ in 0..2_000 {
        // Interleaved, as fast as they come: many creates fall in the same microsecond.
        let (x, y) = tokio::join!(
            a.submit(TaskSpec::new("a"), trivial),
            b.submit(TaskSpec::new("b"), trivial)
        );
        let (x, y) = (x.unwrap().record().seq, y.unwrap().record().seq);
        assert_eq!(x % u64::from(NODE_SLOTS), 1);
        assert_eq!(y % u64::from(NODE_SLOTS), 2);
        assert!(x > last_a && y > last_b, "each node's seqs increase");
        (last_a, last_b) = (x, y);
        assert!(seen.insert(x) && seen.insert(y), "a seq given twice");
    }
    a.shutdown(Duration::from_secs(5)).await.unwrap();
    b.shutdown(Duration::from_secs(5)).await.unwrap();
}

#[tokio::test]
async fn a_single_node_counts_from_one() {
    let ward = Taskward::builder().spawn().await.unwrap();
    let first = ward.submit(TaskSpec::new("a"), trivial).await.unwrap();
    let second = ward.submit(TaskSpec::new("a"), trivial).await.unwrap();
    assert_eq!((first.record().seq, second.record().seq), (1, 2));
    ward.shutdown(Duration::from_secs(5)).await.unwrap();
}
