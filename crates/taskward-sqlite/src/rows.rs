//! Where each task's row is: an in-memory map from task id to the row's integer key.
//!
//! Task ids are random (UUID v4), so an index on them would put every new task on a random
//! page of a growing B-tree, and each commit would rewrite about one index page per task: the
//! cost of a commit would grow with the table (measured: from 130,000 to 44,000 inserts/s as
//! the table grew from 0 to 400,000 rows). Instead rows are keyed by an increasing integer,
//! so that new rows go at the end of the table, and the store keeps id → key in memory (about
//! 32 bytes per task), rebuilt from the table by every load. The store must therefore be the
//! database's only writer while it is open; readers (a backup, the `sqlite3` shell) are fine.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use rusqlite::Connection;
use taskward_core::{StoreError, TaskId};

use crate::error::sql;

/// Task id → the `row_id` of its row.
#[derive(Debug, Default)]
pub(crate) struct RowIndex {
    rows: HashMap<TaskId, i64>,
}

impl RowIndex {
    /// Reads every row's id and key (used when a commit comes before any load).
    pub(crate) fn build(conn: &Connection) -> Result<Self, StoreError> {
        let mut index = RowIndex::default();
        let mut stmt = conn
            .prepare("SELECT row_id, id FROM tasks ORDER BY seq")
            .map_err(sql("read the task ids"))?;
        let mut rows = stmt.query([]).map_err(sql("read the task ids"))?;
        while let Some(row) = rows.next().map_err(sql("read the task ids"))? {
            let key: i64 = row.get(0).map_err(sql("read the task ids"))?;
            if let Some(id) = parse_id(row.get_ref(1)) {
                index.insert(id, key);
            }
        }
        Ok(index)
    }

    /// The row of a task, if it has one.
    pub(crate) fn get(&self, id: &TaskId) -> Option<i64> {
        self.rows.get(id).copied()
    }

    /// Records a task's row, unless the task has one already (a second row of the same id,
    /// which only a hand edit makes: the first one read stays); returns whether it had.
    pub(crate) fn insert(&mut self, id: TaskId, key: i64) -> bool {
        match self.rows.entry(id) {
            Entry::Occupied(_) => true,
            Entry::Vacant(entry) => {
                entry.insert(key);
                false
            }
        }
    }

    /// Applies a committed batch's changes: a new key, or `None` for a removed row.
    pub(crate) fn apply(&mut self, changes: HashMap<TaskId, Option<i64>>) {
        for (id, key) in changes {
            match key {
                Some(key) => self.rows.insert(id, key),
                None => self.rows.remove(&id),
            };
        }
    }
}

/// The `id` column as a task id, if it is one.
pub(crate) fn parse_id(value: rusqlite::Result<rusqlite::types::ValueRef<'_>>) -> Option<TaskId> {
    value.ok()?.as_str().ok()?.parse().ok()
}
