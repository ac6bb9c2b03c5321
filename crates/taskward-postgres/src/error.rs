//! Errors: tokio-postgres's mapped into [`StoreError`].

use taskward_core::StoreError;

/// Maps a tokio-postgres error into a [`StoreError`] that says what was being done (and what
/// the server said, which tokio-postgres keeps in the error's source).
pub(crate) fn pg(doing: &'static str) -> impl FnOnce(tokio_postgres::Error) -> StoreError {
    move |e| {
        let detail = match e.as_db_error() {
            Some(db) => format!(": {}: {}", db.severity(), db.message()),
            None => with_causes(String::new(), &e),
        };
        StoreError::with_source(format!("postgres store: {doing}{detail}"), e)
    }
}

/// `message`, then each cause in `error`'s chain that it does not say already (e.g. why a
/// TLS handshake failed, which tokio-postgres keeps in a source its `Display` leaves out).
pub(crate) fn with_causes(mut message: String, error: &dyn std::error::Error) -> String {
    let mut cause = Some(error);
    while let Some(e) = cause {
        let said = e.to_string();
        if !said.is_empty() && !message.contains(&said) {
            message.push_str(": ");
            message.push_str(&said);
        }
        cause = e.source();
    }
    message
}
