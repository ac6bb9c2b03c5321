//! Who is calling: the scope a task is bound to, from rmcp's request context.

use std::sync::Arc;

use rmcp::service::{RequestContext, RoleServer};
use taskward_core::Scope;

/// The header that carries a Streamable HTTP session id (2025-11-25 and earlier).
const SESSION_HEADER: &str = "mcp-session-id";

/// An authenticated caller, as an auth layer in front of the server names it.
///
/// rmcp has no type for the principal behind a request, so this crate defines one: an
/// authentication middleware (an axum or tower layer in front of rmcp's Streamable HTTP
/// service) inserts it into the HTTP request's extensions once it has validated the
/// request's credentials. rmcp hands the request head to the handler, where
/// [`caller_scope`] finds it; it may also be put straight into a request context's
/// extensions.
///
/// # Examples
///
/// ```
/// use taskward_rmcp::Principal;
///
/// let mut request = http::Request::new(());
/// request.extensions_mut().insert(Principal::new("alice"));
/// assert_eq!(request.extensions().get::<Principal>().map(Principal::name), Some("alice"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Principal(Arc<str>);

impl Principal {
    /// A principal by name (a token's subject, a user id).
    pub fn new(name: impl Into<Arc<str>>) -> Self {
        Self(name.into())
    }

    /// The principal's name.
    pub fn name(&self) -> &str {
        &self.0
    }
}

/// The scope of the caller of a request: its [`Principal`] when an auth layer named one,
/// else its Streamable HTTP session (the `Mcp-Session-Id` header), else `None`, when the
/// caller is known only by its connection (stdio, or anonymous stateless HTTP).
///
/// Tasks spawned in a scope are seen only by calls in the same scope: an id from another
/// scope gets the same answer as an unknown one.
pub fn caller_scope(context: &RequestContext<RoleServer>) -> Option<Scope> {
    let parts = context.extensions.get::<http::request::Parts>();
    let principal = context
        .extensions
        .get::<Principal>()
        .or_else(|| parts?.extensions.get::<Principal>());
    if let Some(principal) = principal {
        return Some(Scope::principal(principal.name()));
    }
    let session = parts?.headers.get(SESSION_HEADER)?.to_str().ok()?;
    Some(Scope::session(session))
}
