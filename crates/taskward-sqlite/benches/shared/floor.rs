//! The raw floor of the SQLite store, shared by its criterion bench (`benches/sqlite.rs`) and
//! the bench command's durable section (`examples/bench/durable.rs`, in the root package): the
//! store's rows, JSON serialized beforehand, inserted by a plain rusqlite loop, one
//! transaction per batch, on a database with the store's schema and pragmas. It is what
//! SQLite itself costs, with nothing of the store or the runtime around it.
//!
//! Both include this file with `#[path = "…"] mod sqlite_floor;`, so it names only crates
//! both packages have (`taskward_core`, `taskward_sqlite`, `rusqlite`, `serde_json`), and
//! each function here is used by both.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rusqlite::Connection;
use serde_json::json;
use taskward_core::{Durability, Outcome, Progress, Scope, Status, TaskId, TaskRecord};
use taskward_sqlite::SqliteStore;

/// A task as the runtime writes it when it completes: scope, TTL (an hour from now, so that a
/// reload keeps it), input, progress, result.
pub(crate) fn finished(seq: u64) -> TaskRecord {
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

/// One row of `tasks` as the floor inserts it: id, seq, scope, status, expiry (Unix ms), the
/// record as JSON.
pub(crate) type Row = (String, i64, String, String, Option<i64>, String);

/// A plain connection to a database at `path` with the store's schema (made by opening a
/// [`SqliteStore`] once) and the store's default pragmas under `durability`.
pub(crate) fn connection(path: &Path, durability: Durability) -> Connection {
    drop(SqliteStore::open(path, durability).expect("open the store"));
    let conn = Connection::open(path).expect("open");
    let synchronous = match durability {
        Durability::Process => "NORMAL",
        _ => "FULL",
    };
    // The store's defaults (SqliteOptions::new()); WAL mode is kept in the file.
    conn.execute_batch(&format!(
        "PRAGMA synchronous = {synchronous}; PRAGMA cache_size = -16384; \
         PRAGMA wal_autocheckpoint = 4000;"
    ))
    .expect("pragma");
    conn
}

/// Inserts `rows` in one transaction.
pub(crate) fn insert(conn: &mut Connection, rows: &[Row]) {
    let tx = conn.transaction().expect("begin");
    {
        let mut stmt = tx
            .prepare_cached(
                "INSERT INTO tasks (id, seq, scope, status, expires_at, record) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .expect("prepare");
        for row in rows {
            stmt.execute(rusqlite::params![row.0, row.1, row.2, row.3, row.4, row.5])
                .expect("insert");
        }
    }
    tx.commit().expect("commit");
}
