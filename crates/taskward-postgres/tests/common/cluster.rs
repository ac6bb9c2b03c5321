//! Helpers of the cluster tests: a cluster on a fresh database, jobs of registered kinds.

#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use taskward_core::{Outcome, Phase, Scope, Status, TaskId, TaskRecord};
use taskward_postgres::{Caps, Claimed, Cluster, ClusterOptions, NewTask, NodeId};

/// The scope of every test task.
pub fn scope() -> Scope {
    Scope::session("s-1").with_principal("alice")
}

/// A queued task of registered kind `kind`, creation order `seq`.
pub fn job(kind: &str, seq: u64) -> TaskRecord {
    job_in(&scope(), kind, seq)
}

/// [`job`] in `scope`.
pub fn job_in(scope: &Scope, kind: &str, seq: u64) -> TaskRecord {
    let mut record = TaskRecord::new(TaskId::new(), scope.clone(), kind.into(), seq);
    record.input = Some(Arc::new(json!({ "n": seq })));
    record
}

/// Another node holds `records` (of kind "a"): queued and claimed; returns the claims.
pub async fn held_elsewhere(cluster: &Cluster, records: &[TaskRecord]) -> Vec<Claimed> {
    enqueue(cluster, records, 0).await;
    let claimed = cluster
        .claim(NodeId::new(), &["a"], 100, &Caps::new())
        .await
        .expect("claim");
    assert_eq!(claimed.len(), records.len());
    claimed
}

/// A closure task (no input): only its node can run it.
pub fn closure(seq: u64) -> TaskRecord {
    let mut record = TaskRecord::new(TaskId::new(), scope(), "closure".into(), seq);
    record.phase = Some(Phase::Running);
    record
}

/// `record`, completed.
pub fn done(record: &TaskRecord) -> TaskRecord {
    let mut done = record.clone();
    done.status = Status::Completed;
    done.phase = None;
    done.outcome = Some(Outcome::completed(json!("done")));
    done
}

/// Options with a short retry for the dedicated connections.
pub fn options() -> ClusterOptions {
    ClusterOptions::new().retry(Duration::from_millis(20))
}

/// A cluster handle on `url`.
pub async fn cluster(url: &str) -> Cluster {
    Cluster::connect(url, options())
        .await
        .expect("connect the cluster")
}

/// A cluster handle on `url` whose claims hold a lease of `lease`.
pub async fn cluster_with_lease(url: &str, lease: Duration) -> Cluster {
    Cluster::connect(url, options().lease(lease))
        .await
        .expect("connect the cluster")
}

/// Queues `records` at `priority`.
pub async fn enqueue(cluster: &Cluster, records: &[TaskRecord], priority: i32) {
    let tasks: Vec<_> = records
        .iter()
        .map(|r| NewTask::new(r.clone()).priority(priority))
        .collect();
    cluster.enqueue(&tasks).await.expect("enqueue");
}
