//! Errors: tokio-postgres's mapped into [`StoreError`], and the schema this build cannot read.

use std::fmt;

use taskward_core::StoreError;

/// The database was written by a newer taskward: its schema version is past the last one this
/// build knows, so it is not used (it would be misread, or downgraded).
///
/// It is the [`source`](std::error::Error::source) of the [`StoreError`] that
/// [`PostgresStore::connect`](crate::PostgresStore::connect) returns; find it with
/// `downcast_ref`.
///
/// # Examples
///
/// ```
/// use std::error::Error as _;
///
/// use taskward_core::StoreError;
/// use taskward_postgres::SchemaTooNew;
///
/// fn too_new(e: &StoreError) -> Option<&SchemaTooNew> {
///     e.source()?.downcast_ref::<SchemaTooNew>()
/// }
/// # let _ = too_new;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchemaTooNew {
    found: i64,
    supported: u32,
}

impl SchemaTooNew {
    pub(crate) fn new(found: i64, supported: u32) -> Self {
        Self { found, supported }
    }

    /// The database's schema version (the highest row of its `schema_version` table).
    pub fn found(&self) -> i64 {
        self.found
    }

    /// The last schema version this build knows ([`SCHEMA_VERSION`](crate::SCHEMA_VERSION)).
    pub fn supported(&self) -> u32 {
        self.supported
    }
}

impl fmt::Display for SchemaTooNew {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the database's schema is version {}, newer than version {}, the last this build of \
             taskward knows: run a newer taskward on it",
            self.found, self.supported
        )
    }
}

impl std::error::Error for SchemaTooNew {}

/// Maps a tokio-postgres error into a [`StoreError`] that says what was being done (and what
/// the server said, which tokio-postgres keeps in the error's source).
pub(crate) fn pg(doing: &'static str) -> impl FnOnce(tokio_postgres::Error) -> StoreError {
    move |e| {
        let detail = match e.as_db_error() {
            Some(db) => format!(": {}: {}", db.severity(), db.message()),
            None => String::new(),
        };
        StoreError::with_source(format!("postgres store: {doing}{detail}"), e)
    }
}
