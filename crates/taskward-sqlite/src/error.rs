//! Errors: rusqlite's mapped into [`StoreError`].

use taskward_core::StoreError;

/// Maps a rusqlite error into a [`StoreError`] that says what was being done.
pub(crate) fn sql(doing: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError {
    move |e| StoreError::with_source(format!("sqlite store: {doing}"), e)
}
