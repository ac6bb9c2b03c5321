//! Sessions of a protocol binding, kept in the durable store beside the tasks.

use std::sync::Arc;

use taskward_core::{Durability, Error, SessionRecord, StoreWrite};

use super::Taskward;

impl Taskward {
    /// The durability policy the runtime's writes meet: that of its durable store, or
    /// [`Durability::Memory`] when it has none.
    pub fn durability(&self) -> Durability {
        self.shared()
            .journal
            .as_ref()
            .map_or(Durability::Memory, |j| j.durability())
    }

    /// The sessions the durable store gave back at start. The first call takes them; later
    /// calls return none. A protocol binding (the MCP server) calls it once as it starts, so
    /// that a client that comes back after a restart finds its session.
    pub fn take_restored_sessions(&self) -> Vec<SessionRecord> {
        self.shared().take_restored_sessions()
    }

    /// Writes a session (new, or seen again) to the durable store, in the next batch. Does
    /// nothing without a durable store.
    pub fn persist_session(&self, session: Arc<SessionRecord>) {
        if let Some(journal) = &self.shared().journal {
            journal.push(StoreWrite::Session(session));
        }
    }

    /// Waits until every write queued so far (a [`persist_session`](Self::persist_session)
    /// among them) is durable under the store's policy. Returns at once without a durable
    /// store. A protocol binding awaits it before it answers the request that opened a
    /// session, so that a client told of the session finds it after a crash.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when the store's writer has stopped.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: it only waits; the writes are committed whether or not anyone waits.
    pub async fn synced(&self) -> Result<(), Error> {
        match &self.shared().journal {
            Some(journal) => journal.synced().await,
            None => Ok(()),
        }
    }

    /// Removes a closed or expired session from the durable store, in the next batch. Does
    /// nothing without a durable store.
    pub fn forget_session(&self, id: &str) {
        if let Some(journal) = &self.shared().journal {
            journal.push(StoreWrite::SessionRemove(id.into()));
        }
    }
}
