//! [`SpawnError`]: why the runtime refused a task.

use std::fmt;

use rmcp::ErrorData as McpError;
use rmcp::model::ErrorCode;
use taskward_core::Error;

/// The JSON-RPC code of a refusal by a limit (a server error, as `taskward serve` answers).
const SERVER_ERROR: i32 = -32000;

/// The runtime refused to create a task, and nothing was created: a limit (live tasks overall
/// or per caller, the TTL maximum when configured to reject), a runtime that is shutting
/// down, or a runner that could not start.
///
/// It converts into the JSON-RPC error a server answers `tools/call` with (`-32000` for a
/// limit, `-32603` otherwise), so a handler can use `?`.
///
/// # Examples
///
/// ```
/// use rmcp::ErrorData as McpError;
/// use taskward_core::{Error, Limit};
/// use taskward_rmcp::SpawnError;
///
/// let refused = SpawnError::from(Error::LimitExceeded { limit: Limit::LiveTasks, max: 1 });
/// assert!(matches!(refused.runtime_error(), Error::LimitExceeded { .. }));
/// let answer = McpError::from(refused);
/// assert_eq!(answer.code.0, -32000);
/// ```
#[derive(Debug)]
pub struct SpawnError {
    source: Error,
}

impl SpawnError {
    /// The runtime's error, to match on.
    pub fn runtime_error(&self) -> &Error {
        &self.source
    }

    /// The runtime's error, owned.
    pub fn into_runtime_error(self) -> Error {
        self.source
    }
}

impl From<Error> for SpawnError {
    fn from(source: Error) -> Self {
        Self { source }
    }
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the task was not created: {}", self.source)
    }
}

impl std::error::Error for SpawnError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

impl From<SpawnError> for McpError {
    fn from(error: SpawnError) -> Self {
        let message = error.to_string();
        match error.source {
            Error::LimitExceeded { .. } | Error::TtlAboveMaximum { .. } => {
                McpError::new(ErrorCode(SERVER_ERROR), message, None)
            }
            _ => McpError::internal_error(message, None),
        }
    }
}
