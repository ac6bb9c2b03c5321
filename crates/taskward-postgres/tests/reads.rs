//! Reads by key for any node: `get` and a keyset-paginated `list`, scope-checked (a foreign
//! task reads as an unknown one).

mod common;

use common::cluster::{cluster, done, enqueue, job, scope};
use common::fresh;
use taskward_core::{Scope, Status, TaskId};
use taskward_postgres::{Caps, NodeId};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_and_list_read_the_table_within_the_scope() {
    let (_server, url) = fresh();
    let cluster = cluster(&url).await;
    let records: Vec<_> = (1..=5).map(|s| job("a", s)).collect();
    enqueue(&cluster, &records, 0).await;
    let mut foreign = job("a", 6);
    foreign.scope = Scope::session("s-1");
    enqueue(&cluster, std::slice::from_ref(&foreign), 0).await;
    let fence = cluster
        .claim(NodeId::new(), &["a"], 1, &Caps::new())
        .await
        .unwrap()[0]
        .fence;
    cluster.finish(fence, &done(&records[0])).await.unwrap();

    assert_eq!(
        cluster.get(&scope(), records[1].id).await.unwrap(),
        Some(records[1].clone())
    );
    assert_eq!(cluster.get(&scope(), foreign.id).await.unwrap(), None);
    assert_eq!(cluster.get(&scope(), TaskId::new()).await.unwrap(), None);

    let first = cluster.list(&scope(), None, 2, &[]).await.unwrap();
    assert_eq!(first, [done(&records[0]), records[1].clone()]);
    let next = cluster
        .list(&scope(), Some(first[1].seq), 10, &[])
        .await
        .unwrap();
    assert_eq!(
        next,
        records[2..].to_vec(),
        "the foreign task is not listed"
    );
    let completed = cluster
        .list(&scope(), None, 10, &[Status::Completed])
        .await
        .unwrap();
    assert_eq!(completed, [done(&records[0])]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scopes_that_print_alike_are_kept_apart() {
    // `Scope`'s `Display` gives these two the same text; their keys must differ, or one
    // scope would read the other's tasks. The third holds U+0000, which `text` refuses.
    let (_server, url) = fresh();
    let cluster = cluster(&url).await;
    let scopes = [
        Scope::session("a/principal:b"),
        Scope::session("a").with_principal("b"),
        Scope::session("a\u{0}b"),
    ];
    let mut records = Vec::new();
    for (i, scope) in scopes.iter().enumerate() {
        let mut record = job("a", i as u64 + 1);
        record.scope = scope.clone();
        records.push(record);
    }
    enqueue(&cluster, &records, 0).await;
    for (i, scope) in scopes.iter().enumerate() {
        for (j, record) in records.iter().enumerate() {
            let read = cluster.get(scope, record.id).await.unwrap();
            assert_eq!(read.is_some(), i == j, "scope {i} reading task {j}");
        }
        let listed = cluster.list(scope, None, 10, &[]).await.unwrap();
        assert_eq!(listed, [records[i].clone()], "scope {i}");
    }
}
