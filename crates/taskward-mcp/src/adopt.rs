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
//! The idle-expiry timer also takes these looks (so a session another node ended leaves
//! this node's memory within about a third of the idle timeout even when no request comes:
//! a tenth for the look to be due, a quarter for the timer's period), and ends a session
//! idle here only when the table says it is idle everywhere ([`Server::expire`]).
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

    /// The idle-expiry timer's verdict on session `id`, idle here at `now` for `idle`: on a
    /// node of several, a session whose expiry in the shared table has not passed was used
    /// on another node within the idle time (each node writes a session's use, at most once
    /// per tenth of the idle timeout): this node lets go of it
    /// ([`let_go_if_idle`](Server::let_go_if_idle)) and leaves it to the nodes that serve
    /// it. Otherwise (gone, expired, or a single node) it is closed as a client's DELETE
    /// would. A table that cannot be read closes nothing.
    pub(crate) async fn expire(&self, id: &str, now: Instant, idle: std::time::Duration) {
        if self.ward().has_shared_tasks() {
            match self.ward().find_session(id).await {
                Ok(Some(_)) => {
                    self.let_go_if_idle(id, now, idle);
                    return;
                }
                Ok(None) => {}
                Err(error) => {
                    tracing::warn!(session = id, %error, "the shared sessions cannot be read");
                    return;
                }
            }
        }
        self.close_if_idle(id, now, idle).await;
    }

    /// Ends here, on a node of several, each session this node holds that another node
    /// ended or that expired everywhere, once its look is due
    /// ([`ended_elsewhere`](Self::ended_elsewhere)): the idle-expiry timer calls it, so
    /// that a session held here but not used here (a stream open) does not outlive its end
    /// elsewhere by more than a look's interval and a timer's period.
    pub(crate) async fn drop_ended_elsewhere(&self) {
        if !self.ward().has_shared_tasks() {
            return;
        }
        for session in self.session_list() {
            if self.ended_elsewhere(&session).await {
                tracing::debug!("a session ended on another node is ended here");
                self.close_session(session.id()).await;
            }
        }
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
