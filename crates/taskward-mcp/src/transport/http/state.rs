//! The transport's state: the server, the options, and the HTTP sessions with their
//! notification streams.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use serde_json::Value;
use tokio::sync::mpsc;
use tokio_util::task::AbortOnDropHandle;

use super::HttpOptions;
use crate::server::Server;
use crate::session::Session;

type StreamSlot = Arc<Mutex<Option<mpsc::UnboundedSender<Value>>>>;

/// Shared by every handler.
#[derive(Debug)]
pub(super) struct Shared {
    pub(super) server: Server,
    pub(super) options: HttpOptions,
    links: Mutex<HashMap<String, Link>>,
}

/// One HTTP session: a pump moves the session's notifications to the open GET stream, if
/// any, and drops them otherwise.
#[derive(Debug)]
struct Link {
    stream: StreamSlot,
    _pump: AbortOnDropHandle<()>,
}

/// A second GET stream was asked for while one is open.
#[derive(Debug)]
pub(super) struct StreamBusy;

impl Shared {
    pub(super) fn new(server: Server, options: HttpOptions) -> Self {
        Self {
            server,
            options,
            links: Mutex::new(HashMap::new()),
        }
    }

    fn links(&self) -> MutexGuard<'_, HashMap<String, Link>> {
        self.links.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes a session just opened by `initialize` (or restored at start) reachable over
    /// HTTP.
    /// Until a GET stream opens, the session's notifications reach nobody: the session is
    /// told so, and builds none.
    ///
    /// The link lasts as long as the session: once the server has dropped it (closed by
    /// DELETE, by idle expiry, or by the embedder), its queue ends and the link removes
    /// itself, so nothing of the session stays behind.
    pub(super) fn attach(
        self: &Arc<Self>,
        id: &str,
        mut notifications: mpsc::UnboundedReceiver<Value>,
    ) {
        let session = self.server.find_session(id);
        let listener = session.as_ref().map(Arc::downgrade);
        if let Some(session) = &session {
            session.set_listened(false);
        }
        let stream: StreamSlot = Arc::default();
        let slot = stream.clone();
        let shared = Arc::downgrade(self);
        let sid = id.to_owned();
        let pump = tokio::spawn(async move {
            while let Some(message) = notifications.recv().await {
                let mut slot = lock(&slot);
                if let Some(tx) = slot.as_ref()
                    && tx.send(message).is_err()
                {
                    *slot = None;
                    // The stream is gone: until another opens, nobody listens.
                    if let Some(session) = listener.as_ref().and_then(Weak::upgrade) {
                        session.set_listened(false);
                    }
                }
            }
            // The session is gone: end its stream, and forget it.
            lock(&slot).take();
            if let Some(shared) = shared.upgrade() {
                shared.links().remove(&sid);
            }
        });
        let link = Link {
            stream,
            _pump: AbortOnDropHandle::new(pump),
        };
        self.links().insert(id.to_owned(), link);
    }

    /// An HTTP session by id, for the principal of the request (`None`: anonymous):
    /// `None` when unknown, ended, not opened over HTTP, or opened by another principal
    /// (a foreign session is answered as an unknown one).
    pub(super) fn session(&self, id: &str, principal: Option<&str>) -> Option<Arc<Session>> {
        self.session_of_any(id)
            .filter(|session| session.principal() == principal)
    }

    /// [`Shared::session`], and on a miss the session from the shared table of a node of
    /// several, taken into this node when the request's principal opened it (see
    /// [`Server::adopt`]). A session held here that another node ended (found gone from the
    /// table, [`Server::ended_elsewhere`]) is ended here too, and `None`.
    ///
    /// # Cancel safety
    ///
    /// Cancelled after the session was taken in, it stays open here, as the restore at start
    /// would leave it.
    pub(super) async fn session_anywhere(
        self: &Arc<Self>,
        id: &str,
        principal: Option<&str>,
    ) -> Option<Arc<Session>> {
        // Looked at before it is used (`Shared::session` writes its use), so that a use
        // written here does not put back a session another node removed.
        let held = self
            .server
            .find_session(id)
            .filter(|s| s.principal() == principal && self.links().contains_key(id));
        if let Some(held) = held
            && self.server.ended_elsewhere(&held).await
        {
            self.detach(id);
            self.server.close_session(id).await;
            return None;
        }
        if let Some(session) = self.session(id, principal) {
            return Some(session);
        }
        if self.links().contains_key(id) {
            // Open here, for another principal.
            return None;
        }
        if let Some(notifications) = self.server.adopt(id, principal).await {
            self.attach(id, notifications);
        }
        self.session(id, principal)
    }

    /// [`Shared::session`] whoever opened it.
    fn session_of_any(&self, id: &str) -> Option<Arc<Session>> {
        let mut links = self.links();
        if !links.contains_key(id) {
            return None;
        }
        let session = self.server.session(id);
        if session.is_none() {
            // Closed behind the transport's back.
            links.remove(id);
        }
        session
    }

    /// Opens the session's notification stream: `Ok(None)` for an unknown session (or
    /// another principal's), `Err(StreamBusy)` while another stream is open.
    pub(super) fn open_stream(
        &self,
        id: &str,
        principal: Option<&str>,
    ) -> Result<Option<mpsc::UnboundedReceiver<Value>>, StreamBusy> {
        if self.session(id, principal).is_none() {
            return Ok(None);
        }
        let links = self.links();
        let Some(link) = links.get(id) else {
            return Ok(None);
        };
        let mut slot = lock(&link.stream);
        if slot.as_ref().is_some_and(|tx| !tx.is_closed()) {
            return Err(StreamBusy);
        }
        let (tx, rx) = mpsc::unbounded_channel();
        *slot = Some(tx);
        if let Some(session) = self.server.session(id) {
            session.set_listened(true);
        }
        Ok(Some(rx))
    }

    /// Forgets an HTTP session (ending its stream); false when it was not one.
    pub(super) fn detach(&self, id: &str) -> bool {
        let link = self.links().remove(id);
        if let Some(link) = &link {
            lock(&link.stream).take();
        }
        link.is_some()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
