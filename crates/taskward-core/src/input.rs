//! Input requests: what parked work asks its client for.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One outstanding request for input, made by a task's work.
///
/// The work parks on it until a client answers: the task's status is
/// [`InputRequired`](crate::Status::InputRequired) while at least one request is outstanding.
/// Keys are unique over the task's lifetime.
///
/// # Examples
///
/// ```
/// use serde_json::json;
/// use taskward_core::InputRequest;
///
/// let ask = InputRequest::new("name", json!({ "message": "Your name?" }));
/// assert_eq!(ask.key, "name");
/// assert_eq!(
///     serde_json::to_value(&ask).unwrap(),
///     json!({ "key": "name", "request": { "message": "Your name?" } })
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct InputRequest {
    /// The request's key, unique over the task's lifetime; the answer names it.
    pub key: String,
    /// What the work asks, as it gave it (for MCP, the elicitation or sampling request).
    pub request: Value,
}

impl InputRequest {
    /// A request for input under `key`.
    pub fn new(key: impl Into<String>, request: Value) -> Self {
        Self {
            key: key.into(),
            request,
        }
    }
}
