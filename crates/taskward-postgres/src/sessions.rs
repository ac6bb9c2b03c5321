//! The sessions of a batch: the last write of each session, as the arrays of the two
//! statements that apply them (shared by both stores: sessions are shared by every node).

use std::borrow::Cow;
use std::collections::HashMap;

use taskward_core::{SessionRecord, StoreError, StoreWrite};
use time::OffsetDateTime;
use tokio_postgres::types::{Json, ToSql};
use tokio_postgres::{Statement, Transaction};

use crate::error::pg;
use crate::text::text_key;

/// Upserts sessions, but never one that was ended: a node that still holds an ended session
/// (another node ended it) and writes its use does not bring it back. The row lock the
/// conflict takes orders this after a concurrent end, whose tombstone it then sees.
pub(crate) const PUT_SESSIONS: &str = "INSERT INTO sessions (id, principal, expires_at, record) \
     SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::json[]) \
     ON CONFLICT (id) DO UPDATE SET principal = excluded.principal, \
     expires_at = excluded.expires_at, record = excluded.record WHERE NOT sessions.ended";
/// Ends sessions: each row becomes a tombstone (`ended`, read by no one, kept a day: far
/// longer than a node holding the session takes to find it ended, a tenth of the idle
/// timeout or a minute without one), so that no node writes the session back meanwhile;
/// the tombstones whose day has passed go.
pub(crate) const DELETE_SESSIONS: &str = "WITH swept AS (DELETE FROM sessions \
     WHERE ended AND expires_at < now() AND id <> ALL($1::text[])) \
     INSERT INTO sessions (id, principal, expires_at, record, ended) \
     SELECT id, NULL, now() + interval '1 day', 'null', true FROM unnest($1::text[]) AS id \
     ON CONFLICT (id) DO UPDATE SET ended = true, principal = NULL, \
     expires_at = excluded.expires_at, record = excluded.record";

/// The last `Session`/`SessionRemove` of each session in a batch, as columns.
#[derive(Default)]
pub(crate) struct Sessions<'a> {
    ids: Vec<Cow<'a, str>>,
    principals: Vec<Option<Cow<'a, str>>>,
    expiries: Vec<Option<OffsetDateTime>>,
    records: Vec<Json<&'a SessionRecord>>,
    removed: Vec<Cow<'a, str>>,
}

impl<'a> Sessions<'a> {
    /// The session writes of `batch` (the other writes are left to the caller).
    pub(crate) fn of(batch: &'a [StoreWrite]) -> Self {
        let mut last: HashMap<&str, usize> = HashMap::new();
        for (i, write) in batch.iter().enumerate() {
            match write {
                StoreWrite::Session(session) => _ = last.insert(&session.id, i),
                StoreWrite::SessionRemove(id) => _ = last.insert(id, i),
                _ => {}
            }
        }
        // In key order: nodes upserting the same sessions at once lock them in one order,
        // so they wait for each other instead of deadlocking.
        let mut order: Vec<(&str, usize)> = last.into_iter().collect();
        order.sort_unstable();
        let mut sessions = Self::default();
        for (_, i) in order {
            match &batch[i] {
                StoreWrite::Session(session) => {
                    sessions.ids.push(text_key(&session.id));
                    sessions
                        .principals
                        .push(session.principal.as_deref().map(text_key));
                    sessions.expiries.push(session.expires_at);
                    sessions.records.push(Json(&**session));
                }
                StoreWrite::SessionRemove(id) => {
                    sessions.removed.push(text_key(id));
                }
                _ => {}
            }
        }
        sessions
    }

    /// Upserts the sessions written and deletes those removed (both idempotent).
    pub(crate) async fn write(
        &self,
        tx: &Transaction<'_>,
        put: &Statement,
        delete: &Statement,
    ) -> Result<(), StoreError> {
        if !self.ids.is_empty() {
            let params: [&(dyn ToSql + Sync); 4] =
                [&self.ids, &self.principals, &self.expiries, &self.records];
            tx.execute(put, &params)
                .await
                .map_err(pg("write sessions"))?;
        }
        if !self.removed.is_empty() {
            tx.execute(delete, &[&self.removed])
                .await
                .map_err(pg("remove sessions"))?;
        }
        Ok(())
    }
}
