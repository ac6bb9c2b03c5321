//! Sessions kept in the runtime's durable store, so that a client that comes back with its
//! `Mcp-Session-Id` after a restart finds its session and its tasks.
//!
//! A session opened over Streamable HTTP is written when `initialize` succeeds
//! ([`Server::keep`]): its id, principal, negotiated protocol version, and its expiry (last
//! use plus the idle timeout). Used again, it is written again, but at most once per a tenth
//! of the idle timeout ([`interval`]), so that a busy session does not write per request.
//! Ended (DELETE, idle expiry, [`Server::close_session`]), it is forgotten. At start the
//! server re-creates the sessions the store gave back ([`Server::restore_sessions`]). Without
//! a durable store nothing is written. A stdio session lives as long as its process and is
//! never kept.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use taskward_core::{Durability, SessionRecord};
use time::OffsetDateTime;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::server::Server;
use crate::session::Session;

/// How long between two writes of a session in use when there is no idle timeout.
const UNBOUNDED_INTERVAL: Duration = Duration::from_secs(60);

/// What the durable store holds of a session.
#[derive(Debug)]
pub(crate) struct Kept {
    /// When the session was opened, on the wall clock.
    created_at: OffsetDateTime,
    /// The use of the session last written.
    written: Instant,
    /// When the session was last found in the shared table (on a node of several).
    checked: Instant,
}

/// The server's own part of a [`SessionRecord`]: what it needs to serve the session again.
/// The principal, and with it the scope of the session's tasks, are in the record itself.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Data {
    /// The protocol revision agreed at `initialize`.
    protocol_version: String,
}

/// The shortest time between two writes of a session in use: a tenth of the idle timeout.
fn interval(idle: Option<Duration>) -> Duration {
    idle.map_or(UNBOUNDED_INTERVAL, |idle| idle / 10)
}

/// The wall-clock time of a (monotonic) instant in the past.
fn wall_clock(at: Instant) -> OffsetDateTime {
    let ago = Instant::now().saturating_duration_since(at);
    let now = OffsetDateTime::now_utc();
    time::Duration::try_from(ago)
        .ok()
        .and_then(|ago| now.checked_sub(ago))
        .unwrap_or(now)
}

/// `at` plus `span`; `None` when it does not fit (the session then never expires).
fn after(at: OffsetDateTime, span: Duration) -> Option<OffsetDateTime> {
    at.checked_add(time::Duration::try_from(span).ok()?)
}

/// The record of a session last used at `used`.
fn record(
    session: &Session,
    kept: &Kept,
    used: Instant,
    idle: Option<Duration>,
) -> Option<SessionRecord> {
    let data = Data {
        protocol_version: session.protocol_version()?,
    };
    let mut record = SessionRecord::new(session.id(), session.principal().map(Arc::from));
    record.created_at = kept.created_at;
    record.last_seen = wall_clock(used);
    record.expires_at = idle.and_then(|idle| after(record.last_seen, idle));
    record.data = serde_json::to_value(data).ok()?;
    Some(record)
}

impl Server {
    fn idle_timeout(&self) -> Option<Duration> {
        self.options().session_idle_timeout
    }

    /// Writes a session that `initialize` just opened over HTTP to the durable store, and
    /// keeps it there until it ends. Returns once the write is durable, so that the answer
    /// to `initialize` is never sent for a session a crash could lose.
    ///
    /// # Cancel safety
    ///
    /// The write is queued before the first await; cancelled, it is only not waited for.
    #[cfg_attr(not(feature = "http"), allow(dead_code))]
    pub(crate) async fn keep(&self, session: &Session) -> Result<(), taskward_core::Error> {
        if self.ward().durability() == Durability::Memory {
            return Ok(());
        }
        let now = Instant::now();
        let kept = Kept {
            created_at: OffsetDateTime::now_utc(),
            written: now,
            checked: now,
        };
        {
            let mut slot = session.kept();
            let Some(record) = record(session, &kept, now, self.idle_timeout()) else {
                return Ok(());
            };
            self.ward().persist_session(Arc::new(record));
            *slot = Some(kept);
        }
        // Closed meanwhile, before it was kept: its end forgot nothing, so forget it now.
        let open = self
            .find_session(session.id())
            .is_some_and(|s| std::ptr::eq(Arc::as_ptr(&s), session));
        if !open {
            self.forget(session);
        }
        self.ward().synced().await
    }

    /// Writes that a kept session was used at `used`, when the write interval has passed
    /// since the use last written. Under the session's lock, so that it is never written
    /// after it was forgotten.
    pub(crate) fn seen(&self, session: &Session, used: Instant) {
        let idle = self.idle_timeout();
        let mut slot = session.kept();
        let Some(kept) = slot.as_mut() else {
            return;
        };
        if used.saturating_duration_since(kept.written) < interval(idle) {
            return;
        }
        if let Some(record) = record(session, kept, used, idle) {
            self.ward().persist_session(Arc::new(record));
            kept.written = used;
        }
    }

    /// Whether a kept session is due, at `now`, for a look in the shared table (is it still
    /// there, or did another node end it?): on a node of several, once per write interval
    /// (a tenth of the idle timeout). With `mark`, the look is counted as taken.
    pub(crate) fn recheck_due(&self, session: &Session, now: Instant, mark: bool) -> bool {
        if !self.ward().has_shared_tasks() {
            return false;
        }
        let mut slot = session.kept();
        let Some(kept) = slot.as_mut() else {
            return false;
        };
        let due = now.saturating_duration_since(kept.checked) >= interval(self.idle_timeout());
        if due && mark {
            kept.checked = now;
        }
        due
    }

    /// Writes the kept sessions used since their last write ([`Server::seen`]); a busy
    /// session (a request in flight, a stream open) is in use at `now`. The idle-expiry timer
    /// calls it, so that the use that ends a request, and a long-open stream, reach the store.
    pub(crate) fn write_seen(&self, now: Instant) {
        if self.ward().durability() == Durability::Memory {
            return;
        }
        for session in self.session_list() {
            let (last_used, busy) = session.last_use();
            self.seen(&session, if busy { now } else { last_used });
        }
    }

    /// Removes an ended session from the durable store.
    pub(crate) fn forget(&self, session: &Session) {
        let mut slot = session.kept();
        if slot.take().is_some() {
            self.ward().forget_session(session.id());
        }
    }

    /// Re-creates the sessions the durable store gave back at start: initialized, with their
    /// id, principal and protocol version, and so the scope of their tasks. One whose expiry
    /// passed while the server was down, or that does not fit under
    /// [`max_sessions`](crate::ServerOptions::max_sessions) (the most recently used are
    /// kept first), or that cannot be read, is dropped: forgotten, and its tasks get the
    /// close policy. The idle timeout counts from the last use before the restart.
    ///
    /// Needs a tokio runtime (it spawns the sessions' forwarders); without one, the sessions
    /// are left in the store.
    pub(crate) fn restore_sessions(
        &self,
    ) -> Vec<(String, mpsc::UnboundedReceiver<serde_json::Value>)> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Vec::new();
        }
        let mut records = self.ward().take_restored_sessions();
        records.sort_by_key(|r| std::cmp::Reverse(r.last_seen));
        let now = OffsetDateTime::now_utc();
        let mut restored = Vec::new();
        for record in records {
            let (tx, rx) = mpsc::unbounded_channel();
            let session = Arc::new(Session::new(
                record.id.to_string(),
                record.principal.as_deref(),
                tx,
            ));
            let data = serde_json::from_value::<Data>(record.data.clone())
                .map_err(|e| tracing::warn!("a stored session is unreadable: {e}"))
                .ok();
            let live = record.expires_at.is_none_or(|at| at > now);
            let data = match data {
                Some(data) if live && self.admit(&session).is_ok() => data,
                _ => {
                    self.drop_restored(session);
                    continue;
                }
            };
            self.revive(&session, &record, &data, now);
            self.install(&session);
            restored.push((record.id.to_string(), rx));
        }
        restored
    }

    /// Makes a session built from its stored `record` what it was: initialized with the
    /// recorded protocol version, last used when the record says (within the idle timeout),
    /// and kept, so that its use is written and its end forgets it. Nobody listens until the
    /// client opens a stream.
    pub(crate) fn revive(
        &self,
        session: &Session,
        record: &SessionRecord,
        data: &Data,
        now: OffsetDateTime,
    ) {
        session.initialize(&data.protocol_version);
        session.set_listened(false);
        let since = Duration::try_from(now - record.last_seen)
            .unwrap_or(Duration::ZERO)
            .min(self.idle_timeout().unwrap_or(Duration::ZERO));
        let last_used = Instant::now()
            .checked_sub(since)
            .unwrap_or_else(Instant::now);
        session.set_last_used(last_used);
        *session.kept() = Some(Kept {
            created_at: record.created_at,
            written: last_used,
            checked: Instant::now(),
        });
    }

    /// Drops a stored session that is not restored: forgets it, and applies the close
    /// policy to its tasks, as its expiry would have.
    fn drop_restored(&self, session: Arc<Session>) {
        self.ward().forget_session(session.id());
        let server = self.clone();
        tokio::spawn(async move { server.end_session(session).await });
    }
}
