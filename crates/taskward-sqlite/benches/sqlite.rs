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

use std::sync::Arc;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput};
use rusqlite::Connection;
use serde_json::json;
use taskward_core::{
    Durability, DurableStore, Outcome, Phase, Progress, Scope, Status, StoreWrite, TaskId,
    TaskRecord,
};
use taskward_sqlite::SqliteStore;

const BATCH: u64 = 1_000;

/// A task as the runtime writes it when it completes: scope, TTL, input, progress, result.
fn finished(seq: u64) -> TaskRecord {
    let mut record = TaskRecord::new(
        TaskId::new(),
        Scope::session("bench-session").with_principal("bench"),
        "count_primes".into(),
        seq,
    );
    record.ttl = Some(Duration::from_secs(3600));
    record.input = Some(Arc::new(json!({ "below": 100_000 })));
    record.progress = Some(Progress::new(100, Some(100), None));
    record.status = Status::Completed;
    record.phase = None;
    record.outcome = Some(Outcome::completed(json!({ "primes": 9592 })));
    record
}

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
type Row = (String, i64, String, &'static str, Option<i64>, String);

fn rows(first_seq: u64) -> Vec<Row> {
    (first_seq..first_seq + BATCH)
        .map(|seq| {
            let r = finished(seq);
            let expires = r
                .expires_at()
                .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64);
            let json = serde_json::to_string(&r).expect("a record serializes");
            (
                r.id.to_string(),
                seq as i64,
                r.scope.to_string(),
                r.status.as_str(),
                expires,
                json,
            )
        })
        .collect()
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
    let path = dir.path().join("floor.db");
    drop(SqliteStore::open(&path, Durability::Process).expect("open"));
    let mut raw = Connection::open(&path).expect("open");
    // The store's defaults (SqliteOptions::new()); WAL mode is kept in the file.
    raw.execute_batch(
        "PRAGMA synchronous = NORMAL; PRAGMA cache_size = -16384; PRAGMA wal_autocheckpoint = 4000;",
    )
    .expect("pragma");
    let mut seq = 0;
    group.bench_function("floor_process", |b| {
        b.iter_batched(
            || {
                seq += BATCH;
                rows(seq)
            },
            |rows| {
                let tx = raw.transaction().expect("begin");
                {
                    let mut stmt = tx
                        .prepare_cached(
                            "INSERT INTO tasks (id, seq, scope, status, expires_at, record) \
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                        )
                        .expect("prepare");
                    for row in &rows {
                        stmt.execute(rusqlite::params![row.0, row.1, row.2, row.3, row.4, row.5])
                            .expect("insert");
                    }
                }
                tx.commit().expect("commit");
            },
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
