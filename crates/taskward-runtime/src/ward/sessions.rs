//! Sessions of a protocol binding, kept in the durable store beside the tasks.

use std::sync::Arc;

use taskward_core::{Durability, SessionRecord, StoreWrite};

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

    /// Removes a closed or expired session from the durable store, in the next batch. Does
    /// nothing without a durable store.
    pub fn forget_session(&self, id: &str) {
        if let Some(journal) = &self.shared().journal {
            journal.push(StoreWrite::SessionRemove(id.into()));
        }
    }
}
