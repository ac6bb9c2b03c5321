//! The SQLite store's own costs, beside the raw floor of SQLite itself:
//!
//! - `commit/{process,power}`: a batch of 1,000 `Put`s of new tasks (one transaction), under
//!   each policy;
//! - `commit/process_3_writes_per_task`: what the runtime hands over for 1,000 short tasks
//!   (`Put` working, `Checkpoint`, `Put` completed), coalesced to one row write per task;
//! - `commit/floor_process`: the same 1,000 rows, JSON serialized beforehand, inserted by a
//!   plain rusqlite loop in one transaction: the database's cost alone;
//! - `load/100k`: reading back 100,000 tasks, as the runtime does at start.
//!
//! Figures are rows (tasks) per second. Run with
//! `cargo bench -p taskward-sqlite --bench sqlite` (add `-- --quick` for a short run).

#[path = "shared/floor.rs"]
mod sqlite_floor;

use std::sync::Arc;

use criterion::{BatchSize, Criterion, Throughput};
use serde_json::json;
use taskward_core::{Durability, DurableStore, Phase, Status, StoreWrite, TaskRecord};
use taskward_sqlite::SqliteStore;

use sqlite_floor::{Row, finished, insert};

const BATCH: u64 = 1_000;

fn puts(first_seq: u64) -> Vec<StoreWrite> {
    (first_seq..first_seq + BATCH)
        .map(|seq| StoreWrite::Put(Arc::new(finished(seq))))
        .collect()
}

/// Three writes per task, as a short task makes them between two commits.
fn lifecycles(first_seq: u64) -> Vec<StoreWrite> {
    let mut batch = Vec::with_capacity(3 * BATCH as usize);
    for seq in first_seq..first_seq + BATCH {
        let done = finished(seq);
        let mut working = done.clone();
        working.status = Status::Working;
        working.phase = Some(Phase::Running);
        working.outcome = None;
        batch.push(StoreWrite::Put(Arc::new(working)));
        batch.push(StoreWrite::Checkpoint(
            done.id,
            Arc::new(json!({ "at": 50 })),
        ));
        batch.push(StoreWrite::Put(Arc::new(done)));
    }
    batch
}

/// The floor's rows: the columns of `tasks`, the record already JSON.
fn rows(first_seq: u64) -> Vec<Row> {
    (first_seq..first_seq + BATCH)
        .map(|seq| row(&finished(seq)))
        .collect()
}

/// The row of a record, serialized as the store would.
fn row(record: &TaskRecord) -> Row {
    let expires = record
        .expires_at()
        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64);
    let json = serde_json::to_string(record).expect("a record serializes");
    (
        record.id.to_string(),
        record.seq as i64,
        record.scope.to_string(),
        record.status.as_str().to_owned(),
        expires,
        json,
    )
}

/// Makes a batch from its first seq.
type MakeBatch = fn(u64) -> Vec<StoreWrite>;

fn commit(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("a temp dir");
    let mut group = c.benchmark_group("commit");
    group.throughput(Throughput::Elements(BATCH));
    let cases: [(&str, Durability, MakeBatch); 3] = [
        ("process", Durability::Process, puts),
        ("power", Durability::Power, puts),
        ("process_3_writes_per_task", Durability::Process, lifecycles),
    ];
    for (name, durability, make) in cases {
        let path = dir.path().join(format!("{name}.db"));
        let mut store = SqliteStore::open(&path, durability).expect("open");
        let mut seq = 0;
        group.bench_function(name, |b| {
            b.iter_batched(
                || {
                    seq += BATCH;
                    make(seq)
                },
                |batch| store.commit(&batch).expect("commit"),
                BatchSize::PerIteration,
            )
        });
    }

    // The floor: the store's schema and pragmas, a plain insert loop.
    let mut raw = sqlite_floor::connection(&dir.path().join("floor.db"), Durability::Process);
    let mut seq = 0;
    group.bench_function("floor_process", |b| {
        b.iter_batched(
            || {
                seq += BATCH;
                rows(seq)
            },
            |rows| insert(&mut raw, &rows),
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

fn load(c: &mut Criterion) {
    const TASKS: u64 = 100_000;
    let dir = tempfile::tempdir().expect("a temp dir");
    let mut store =
        SqliteStore::open(dir.path().join("load.db"), Durability::Process).expect("open");
    for first in (0..TASKS).step_by(BATCH as usize) {
        store.commit(&puts(first)).expect("commit");
    }
    let mut group = c.benchmark_group("load");
    group.throughput(Throughput::Elements(TASKS));
    group.sample_size(10);
    group.bench_function("100k", |b| {
        b.iter(|| {
            let loaded = store.load().expect("load");
            assert_eq!(loaded.tasks.len() as u64, TASKS);
            loaded
        })
    });
    group.finish();
}

criterion::criterion_group!(benches, commit, load);
criterion::criterion_main!(benches);
