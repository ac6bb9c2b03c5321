//! Reads by key for any node: a task not in the node's own table is read from the row.

use taskward_core::{InputRequest, Scope, SessionRecord, Status, StoreError, TaskId, TaskRecord};

use super::Cluster;
use super::{reader, record};
use crate::error::pg;
use crate::text::{scope_key, text_key};

impl Cluster {
    /// The record of task `id` if it belongs to `scope`: one primary-key read. An unknown
    /// and a foreign task both read `None`, so ids cannot be probed across scopes.
    ///
    /// # Errors
    ///
    /// The database failing.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a read.
    pub async fn get(&self, scope: &Scope, id: TaskId) -> Result<Option<TaskRecord>, StoreError> {
        Ok(self.get_sized(scope, id).await?.map(|(record, _)| record))
    }

    /// [`get`](Self::get), with the size of the record's JSON text.
    pub(crate) async fn get_sized(
        &self,
        scope: &Scope,
        id: TaskId,
    ) -> Result<Option<(TaskRecord, usize)>, StoreError> {
        let key = scope_key(scope);
        // On the read connection when it is free: no pool checkout.
        let row = match self.reader.get(id.as_uuid(), &key).await {
            Some(read) => read.map_err(pg("read a task"))?,
            None => {
                let conn = self.conn().await?;
                // Prepared once per pooled connection: a read is then one round trip.
                let statement = conn
                    .prepare_cached(reader::GET)
                    .await
                    .map_err(pg("read a task"))?;
                conn.query_opt(&statement, &[id.as_uuid(), &key])
                    .await
                    .map_err(pg("read a task"))?
            }
        };
        let Some(row) = row else { return Ok(None) };
        let text: &str = row.try_get(1).map_err(pg("read a task"))?;
        Ok(record::from_row(&row, 0)?
            .filter(|r| r.scope == *scope)
            .map(|r| (r, text.len())))
    }

    /// The outstanding input requests of task `id` of `scope`, as the node holding it last
    /// wrote them: empty unless the task is `input_required`; `None` when the task is unknown
    /// or foreign, or `input_required` with no list written (by a writer that keeps none, such
    /// as a single node's store). One primary-key read.
    ///
    /// # Errors
    ///
    /// The database failing, or a list that does not parse.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a read.
    pub async fn input_requests(
        &self,
        scope: &Scope,
        id: TaskId,
    ) -> Result<Option<Vec<InputRequest>>, StoreError> {
        let conn = self.conn().await?;
        let statement = conn
            .prepare_cached(
                "SELECT status = 'input_required', input_requests::text \
                 FROM tasks WHERE id = $1 AND scope = $2",
            )
            .await
            .map_err(pg("read input requests"))?;
        let row = conn
            .query_opt(&statement, &[id.as_uuid(), &scope_key(scope)])
            .await
            .map_err(pg("read input requests"))?;
        let Some(row) = row else { return Ok(None) };
        let waiting: bool = row.try_get(0).map_err(pg("read input requests"))?;
        let text: Option<&str> = row.try_get(1).map_err(pg("read input requests"))?;
        match (waiting, text) {
            (false, _) => Ok(Some(Vec::new())),
            (true, None) => Ok(None),
            (true, Some(text)) => serde_json::from_str(text).map(Some).map_err(|e| {
                StoreError::with_source("postgres cluster: input requests do not parse", e)
            }),
        }
    }

    /// The session of id `id` in the `sessions` table (which every node's durable store
    /// writes): one primary-key read. `None` when there is no such row, when it was ended
    /// (its tombstone), when its expiry has passed, or when its record does not parse.
    ///
    /// # Errors
    ///
    /// The database failing.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a read.
    pub async fn session(&self, id: &str) -> Result<Option<SessionRecord>, StoreError> {
        let conn = self.conn().await?;
        let statement = conn
            .prepare_cached(
                "SELECT record::text FROM sessions \
                 WHERE id = $1 AND NOT ended AND (expires_at IS NULL OR expires_at > now())",
            )
            .await
            .map_err(pg("read a session"))?;
        let row = conn
            .query_opt(&statement, &[&text_key(id).as_ref()])
            .await
            .map_err(pg("read a session"))?;
        let Some(row) = row else { return Ok(None) };
        let record: &str = row.try_get(0).map_err(pg("read a session"))?;
        Ok(serde_json::from_str::<SessionRecord>(record)
            .map_err(|e| tracing::warn!(session = id, "a shared session does not parse: {e}"))
            .ok()
            .filter(|session| &*session.id == id))
    }

    /// Up to `limit` records of `scope` with `seq` after `after` (all when `None`), in `seq`
    /// order, with a status in `statuses` (any when empty): one page of a keyset pagination
    /// on the index `(scope, seq)`. The next page starts after the last record's `seq`.
    ///
    /// # Errors
    ///
    /// The database failing.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a read.
    pub async fn list(
        &self,
        scope: &Scope,
        after: Option<u64>,
        limit: u32,
        statuses: &[Status],
    ) -> Result<Vec<TaskRecord>, StoreError> {
        let conn = self.conn().await?;
        let after = after.map_or(-1, |s| i64::try_from(s).unwrap_or(i64::MAX));
        let statuses: Vec<&str> = statuses.iter().map(|s| s.as_str()).collect();
        let statement = conn
            .prepare_cached(
                "SELECT id, record::text FROM tasks WHERE scope = $1 AND seq > $2 \
                 AND (cardinality($3::text[]) = 0 OR status = ANY($3)) ORDER BY seq LIMIT $4",
            )
            .await
            .map_err(pg("list tasks"))?;
        let rows = conn
            .query(
                &statement,
                &[&scope_key(scope), &after, &statuses, &i64::from(limit)],
            )
            .await
            .map_err(pg("list tasks"))?;
        let mut records = Vec::with_capacity(rows.len());
        for row in &rows {
            if let Some(r) = record::from_row(row, 0)?.filter(|r| r.scope == *scope) {
                records.push(r);
            }
        }
        Ok(records)
    }
}
