//! Errors: tokio-postgres's mapped into [`StoreError`].

use taskward_core::StoreError;

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
