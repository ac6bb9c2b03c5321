//! Scopes: who a task belongs to.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// The owner of a task for access checks: an MCP session, an authenticated principal, both, or
/// neither (the global scope).
///
/// Every read, wait and cancel names a scope, and only the exact scope the task was submitted
/// under (or transferred to) sees it. An unknown id and a foreign one get the same
/// [`Error::NotFound`](crate::Error::NotFound), so ids cannot be probed across scopes.
///
/// Scopes are cheap to clone (their strings are shared).
///
/// # Examples
///
/// ```
/// use taskward_core::Scope;
///
/// let alice = Scope::session("s-1").with_principal("alice");
/// assert_eq!(alice.session_id(), Some("s-1"));
/// assert_eq!(alice.principal_name(), Some("alice"));
/// assert_ne!(alice, Scope::session("s-1"));
/// assert_eq!(Scope::global().to_string(), "global");
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
pub struct Scope {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    session: Option<Arc<str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    principal: Option<Arc<str>>,
}

impl Scope {
    /// The global scope: no session, no principal. Embedded hosts without tenants use it.
    pub const fn global() -> Self {
        Self {
            session: None,
            principal: None,
        }
    }

    /// The scope of one session (an MCP session id, an agent conversation).
    pub fn session(id: impl Into<Arc<str>>) -> Self {
        Self {
            session: Some(id.into()),
            principal: None,
        }
    }

    /// The scope of one authenticated principal, across its sessions.
    pub fn principal(name: impl Into<Arc<str>>) -> Self {
        Self {
            session: None,
            principal: Some(name.into()),
        }
    }

    /// This scope, further bound to a principal.
    pub fn with_principal(mut self, name: impl Into<Arc<str>>) -> Self {
        self.principal = Some(name.into());
        self
    }

    /// The session id, if the scope has one.
    pub fn session_id(&self) -> Option<&str> {
        self.session.as_deref()
    }

    /// The principal, if the scope has one.
    pub fn principal_name(&self) -> Option<&str> {
        self.principal.as_deref()
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.session, &self.principal) {
            (None, None) => f.write_str("global"),
            (Some(s), None) => write!(f, "session:{s}"),
            (None, Some(p)) => write!(f, "principal:{p}"),
            (Some(s), Some(p)) => write!(f, "session:{s}/principal:{p}"),
        }
    }
}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scope({self})")
    }
}
