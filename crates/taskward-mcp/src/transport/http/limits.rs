//! The bounds of the HTTP server's connections, and where `/status` is served.

use std::net::SocketAddr;
use std::time::Duration;

/// The bounds [`serve`](super::serve) puts on connections, so that no client can hold the
/// server's sockets or memory (slowloris, idle sockets piling up, file descriptors running
/// out).
///
/// | bound | default | what happens when a client hits it |
/// |---|---|---|
/// | [`header_timeout`](Self::header_timeout) | 10 s | the connection is closed, unanswered |
/// | [`body_timeout`](Self::body_timeout) | 30 s | `408` with a JSON-RPC error, then the connection is closed |
/// | [`idle_timeout`](Self::idle_timeout) | 60 s | the connection is closed |
/// | [`max_connections`](Self::max_connections) | 1024 | further connections wait, unaccepted, in the listen backlog |
///
/// A request in flight is never cut by these timeouts: a long `tasks/result`, an open
/// `GET /mcp` stream or a streamed answer lasts as long as it needs.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use taskward_mcp::transport::http::{ConnectionLimits, HttpOptions};
///
/// let mut options = HttpOptions::default();
/// options.connections = ConnectionLimits::default()
///     .header_timeout(Duration::from_secs(5))
///     .max_connections(256);
/// assert_eq!(options.connections.idle_timeout, Duration::from_secs(60));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnectionLimits {
    /// How long a connection may take to send a whole request head (request line and
    /// headers), counted from its first byte, or from the connection's start for its first
    /// request; and how long a TLS handshake may take. Past it the connection is closed
    /// without an answer (default 10 s).
    pub header_timeout: Duration,
    /// How long a request body may take to arrive in full, counted from the end of its
    /// head. Past it the request is answered `408 Request Timeout` (JSON-RPC error
    /// `-32600`, "request body timeout") and the connection is closed (default 30 s).
    pub body_timeout: Duration,
    /// How long a connection may stay open with no request in flight between two requests.
    /// Past it the connection is closed (default 60 s).
    pub idle_timeout: Duration,
    /// The most connections served at once (at least 1). Beyond it the server stops
    /// accepting: a new connection waits in the operating system's listen backlog until
    /// one closes, while the open ones are served as usual (default 1024).
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            max_connections: 1024,
        }
    }
}

impl ConnectionLimits {
    /// These limits with another [`header_timeout`](Self::header_timeout).
    #[must_use]
    pub fn header_timeout(mut self, timeout: Duration) -> Self {
        self.header_timeout = timeout;
        self
    }

    /// These limits with another [`body_timeout`](Self::body_timeout).
    #[must_use]
    pub fn body_timeout(mut self, timeout: Duration) -> Self {
        self.body_timeout = timeout;
        self
    }

    /// These limits with another [`idle_timeout`](Self::idle_timeout).
    #[must_use]
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// These limits with another [`max_connections`](Self::max_connections).
    #[must_use]
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n;
        self
    }
}

/// Where the operator's `GET /status` is served.
///
/// # Examples
///
/// ```
/// use taskward_mcp::transport::http::{HttpOptions, StatusEndpoint};
///
/// let mut options = HttpOptions::default();
/// assert_eq!(options.status, StatusEndpoint::WithMcp);
/// options.status = StatusEndpoint::Listen("127.0.0.1:3001".parse().unwrap());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum StatusEndpoint {
    /// Beside `/mcp`, on the same listener (the default).
    #[default]
    WithMcp,
    /// Not served: `GET /status` is `404`.
    Off,
    /// On its own listener at this address, in plain HTTP (bind it to loopback or a
    /// private interface), and not beside `/mcp`. [`serve`](super::serve) binds it; it
    /// has the same host check and connection limits as the MCP listener.
    Listen(SocketAddr),
}
