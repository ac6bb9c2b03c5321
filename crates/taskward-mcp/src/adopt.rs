//! Sessions shared by several nodes: a request naming a session this node does not know
//! takes it in from the shared table, so that a client's requests may land on any node.
//!
//! Every node of several writes its sessions to the one `sessions` table (through its
//! durable store, as [`kept`](crate::kept) describes). A request whose `Mcp-Session-Id`
//! this node does not know asks the table ([`Taskward::find_session`]) before it answers
//! "session not found": a session found there, opened by the request's principal, is taken
//! into this node's sessions as the restore at start takes one in (initialized with its
//! recorded protocol version, in its scope, kept), and the request is served. Another
//! principal presenting the id is answered as for an unknown id, and takes nothing in.
//!
//! A session this node has in memory is served without a read, but looked up again once per
//! tenth of the idle timeout (once a minute without one; [`Server::ended_elsewhere`]): a
//! session another node ended (DELETE) is gone from the table, so the next request after
//! that look ends it here too, and is answered "session not found".
//!
//! [`Taskward::find_session`]: taskward_runtime::Taskward::find_session

use std::sync::Arc;

use serde_json::Value;
use time::OffsetDateTime;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::kept::Data;
use crate::server::Server;
use crate::session::Session;

impl Server {
    /// Takes in session `id` from the shared table when `principal` opened it: returns the
    /// receiver of its notifications, for the transport to serve. `None` when the table has
    /// no such session (or cannot be read), another principal opened it, it does not fit
    /// under [`max_sessions`](crate::ServerOptions::max_sessions), or this node holds it
    /// already (another request took it in meanwhile).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: nothing is taken in before the read has answered.
    #[cfg_attr(not(feature = "http"), allow(dead_code))]
    pub(crate) async fn adopt(
        &self,
        id: &str,
        principal: Option<&str>,
    ) -> Option<mpsc::UnboundedReceiver<Value>> {
        let record = match self.ward().find_session(id).await {
            Ok(record) => record?,
            Err(error) => {
                tracing::warn!(session = id, %error, "the shared sessions cannot be read");
                return None;
            }
        };
        if record.principal.as_deref() != principal {
            return None;
        }
        let data = serde_json::from_value::<Data>(record.data.clone())
            .map_err(|e| tracing::warn!(session = id, "a shared session is unreadable: {e}"))
            .ok()?;
        let (tx, rx) = mpsc::unbounded_channel();
        let session = Arc::new(Session::new(record.id.to_string(), principal, tx));
        if !self.claim_slot(&session) {
            return None;
        }
        if self.admit(&session).is_err() {
            self.release_slot(&session);
            return None;
        }
        self.revive(&session, &record, &data, OffsetDateTime::now_utc());
        self.install(&session);
        Some(rx)
    }

    /// Whether a session this node holds was ended on another node: looked up in the shared
    /// table when the look is due ([`Server::recheck_due`]), and found gone. A table that
    /// cannot be read ends nothing.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it only reads (a cancelled look counts as taken).
    #[cfg_attr(not(feature = "http"), allow(dead_code))]
    pub(crate) async fn ended_elsewhere(&self, session: &Session) -> bool {
        if !self.recheck_due(session, Instant::now(), true) {
            return false;
        }
        match self.ward().find_session(session.id()).await {
            Ok(found) => found.is_none(),
            Err(error) => {
                tracing::warn!(session = session.id(), %error, "the shared sessions cannot be read");
                false
            }
        }
    }
}
