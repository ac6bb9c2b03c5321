//! Opening a store: the file, the pragmas of the durability policy, the migrations.

use std::fs;
use std::path::Path;

use rusqlite::Connection;
use taskward_core::{Durability, StoreError};

use crate::error::sql;
use crate::{SqliteOptions, SqliteStore, schema};

impl SqliteStore {
    /// Opens (or creates) the database file at `path` under a durability policy.
    ///
    /// Missing parent directories and the file itself are created. The database is put in WAL
    /// mode and migrated to [`SCHEMA_VERSION`](crate::SCHEMA_VERSION); a database written by a
    /// newer taskward is refused ([`SchemaTooNew`](crate::SchemaTooNew) is the error's source).
    /// [`Durability::Memory`] opens an in-memory database instead: nothing is created and
    /// nothing is persisted.
    ///
    /// # Errors
    ///
    /// The directory or file cannot be created or opened, SQLite refuses WAL mode or the
    /// policy's `synchronous` level, the schema is too new, or a migration fails.
    ///
    /// # Examples
    ///
    /// ```
    /// use taskward_core::{Durability, DurableStore};
    /// use taskward_sqlite::SqliteStore;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let store = SqliteStore::open(dir.path().join("data/taskward.db"), Durability::Process)?;
    /// assert_eq!(store.durability(), Durability::Process);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(path: impl AsRef<Path>, durability: Durability) -> Result<Self, StoreError> {
        Self::open_with(path, SqliteOptions::new().durability(durability))
    }

    /// Opens (or creates) the database file at `path` with options; see [`open`](Self::open).
    ///
    /// # Errors
    ///
    /// As [`open`](Self::open).
    pub fn open_with(path: impl AsRef<Path>, options: SqliteOptions) -> Result<Self, StoreError> {
        if options.durability == Durability::Memory {
            return memory(&options);
        }
        let path = path.as_ref();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent).map_err(|e| {
                StoreError::with_source(
                    format!(
                        "sqlite store: cannot create the directory {}",
                        parent.display()
                    ),
                    e,
                )
            })?;
        }
        let lock = if options.exclusive {
            Some(lock(path)?)
        } else {
            None
        };
        let mut conn = Connection::open(path).map_err(|e| {
            StoreError::with_source(format!("sqlite store: cannot open {}", path.display()), e)
        })?;
        conn.busy_timeout(options.busy_timeout)
            .map_err(sql("set the busy timeout"))?;
        wal(&conn)?;
        synchronous(&conn, options.durability)?;
        conn.pragma_update(None, "wal_autocheckpoint", options.wal_autocheckpoint)
            .map_err(sql("set wal_autocheckpoint"))?;
        cache(&conn, &options)?;
        schema::migrate(&mut conn)?;
        let store = Self::from_parts(conn, Some(path.to_path_buf()), options.durability);
        Ok(match lock {
            Some(lock) => store.with_lock(lock),
            None => store,
        })
    }

    /// An in-memory store (policy [`Durability::Memory`]): the same schema and code paths as a
    /// file, nothing persisted. For tests and for trying the store out.
    ///
    /// # Errors
    ///
    /// SQLite cannot allocate the database.
    pub fn in_memory() -> Result<Self, StoreError> {
        memory(&SqliteOptions::new().durability(Durability::Memory))
    }
}

/// Takes the lock file beside the database (`<file>.lock`), held while the store is open: a
/// second process that opens the same database fails at once rather than corrupting the
/// first one's view of it. Readers (a backup, the `sqlite3` shell) take no such lock.
fn lock(path: &Path) -> Result<fs::File, StoreError> {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    let lock_path = std::path::PathBuf::from(name);
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| {
            StoreError::with_source(
                format!(
                    "sqlite store: cannot open the lock file {}",
                    lock_path.display()
                ),
                e,
            )
        })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(fs::TryLockError::WouldBlock) => Err(StoreError::new(format!(
            "sqlite store: {} is in use by another process (its lock file {} is held)",
            path.display(),
            lock_path.display()
        ))),
        Err(fs::TryLockError::Error(e)) => Err(StoreError::with_source(
            format!("sqlite store: cannot lock {}", lock_path.display()),
            e,
        )),
    }
}

fn memory(options: &SqliteOptions) -> Result<SqliteStore, StoreError> {
    let mut conn = Connection::open_in_memory().map_err(sql("open an in-memory database"))?;
    conn.pragma_update(None, "synchronous", "OFF")
        .map_err(sql("set synchronous=OFF"))?;
    cache(&conn, options)?;
    schema::migrate(&mut conn)?;
    Ok(SqliteStore::from_parts(conn, None, options.durability))
}

/// Sets the page cache's size (a negative `cache_size` is in KiB).
fn cache(conn: &Connection, options: &SqliteOptions) -> Result<(), StoreError> {
    conn.pragma_update(None, "cache_size", -i64::from(options.cache_kib))
        .map_err(sql("set cache_size"))
}

/// Puts the database in WAL mode; SQLite answers with the mode in force, which is checked.
fn wal(conn: &Connection) -> Result<(), StoreError> {
    let mode: String = conn
        .query_row("PRAGMA journal_mode=WAL", [], |row| row.get(0))
        .map_err(sql("set journal_mode=WAL"))?;
    if mode.eq_ignore_ascii_case("wal") {
        Ok(())
    } else {
        Err(StoreError::new(format!(
            "sqlite store: SQLite refused WAL mode (journal_mode is {mode:?})"
        )))
    }
}

/// Sets `synchronous` for the policy and checks that it took.
fn synchronous(conn: &Connection, durability: Durability) -> Result<(), StoreError> {
    // NORMAL = 1, FULL = 2. A policy this build does not know gets the strictest.
    let (name, level) = match durability {
        Durability::Process => ("NORMAL", 1),
        _ => ("FULL", 2),
    };
    conn.pragma_update(None, "synchronous", name)
        .map_err(sql("set synchronous"))?;
    let got: i64 = conn
        .pragma_query_value(None, "synchronous", |row| row.get(0))
        .map_err(sql("read synchronous"))?;
    if got == level {
        Ok(())
    } else {
        Err(StoreError::new(format!(
            "sqlite store: SQLite refused synchronous={name} (it is {got})"
        )))
    }
}
