//! The schema and its migrations, versioned by `PRAGMA user_version`.
//!
//! Each step of [`MIGRATIONS`] takes the database from version `i` to `i + 1` in one
//! transaction, together with the new `user_version`, so a crash mid-migration leaves the
//! previous version whole. Steps are only ever appended: a released step never changes.

use rusqlite::{Connection, TransactionBehavior};
use taskward_core::StoreError;

use taskward_core::SchemaTooNew;

use crate::error::sql;

/// Version 1: tasks (one row per task: its record and its last checkpoint, as JSON, keyed by
/// an increasing integer: see `rows.rs`) and sessions.
const V1: &str = "
CREATE TABLE tasks (
    row_id     INTEGER PRIMARY KEY,
    id         TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    scope      TEXT NOT NULL,
    status     TEXT NOT NULL,
    expires_at INTEGER,
    record     TEXT NOT NULL,
    checkpoint TEXT
);
CREATE INDEX tasks_seq ON tasks (seq);
CREATE INDEX tasks_expires_at ON tasks (expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE sessions (
    id         TEXT PRIMARY KEY NOT NULL,
    record     TEXT NOT NULL,
    expires_at INTEGER
);
";

/// The migration steps, in order: step `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[V1];

/// The schema version this build writes: a fresh database is migrated to it, and a database
/// with a newer `PRAGMA user_version` is refused with [`SchemaTooNew`].
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// Brings the database to [`SCHEMA_VERSION`], one step per transaction.
///
/// Each step takes the write lock first (`BEGIN IMMEDIATE`) and reads the version under it, so
/// two processes opening a fresh file at once do not both apply a step.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    loop {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql("begin a migration"))?;
        let version: i64 = tx
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(sql("read the schema version"))?;
        let step = match usize::try_from(version) {
            Ok(step) if step < MIGRATIONS.len() => MIGRATIONS[step],
            Ok(step) if step == MIGRATIONS.len() => return Ok(()),
            Err(_) => {
                return Err(StoreError::new(format!(
                    "sqlite store: the database's schema version is {version}, not one taskward \
                     writes"
                )));
            }
            Ok(_) => {
                let too_new = SchemaTooNew::new(version, SCHEMA_VERSION);
                return Err(StoreError::with_source(
                    format!("sqlite store: cannot open the database: {too_new}"),
                    too_new,
                ));
            }
        };
        tx.execute_batch(step)
            .map_err(sql("apply a schema migration"))?;
        tx.pragma_update(None, "user_version", version + 1)
            .map_err(sql("write the schema version"))?;
        tx.commit().map_err(sql("commit a schema migration"))?;
    }
}
