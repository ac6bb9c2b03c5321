//! A batch of a node's writes in one transaction: new rows, fenced updates and checkpoints,
//! sessions; then, for the writes that matched no row, why, in the same snapshot.
//!
//! Every statement is idempotent under a retry of the whole batch, including a retry after
//! a `COMMIT` that succeeded but whose reply was lost: a fenced write also matches a row
//! that already holds exactly what it writes under the same node and attempt (its record's
//! text, or its checkpoint's), and a new row conflicts into an update of a row the node
//! inserted itself (attempt 1). So a retry refuses nothing the node wrote itself, and a
//! write another node beat (a cancel, a rescue, a new claim) is refused on every try.

use std::collections::HashSet;

use taskward_core::{Status, StoreError, TaskId};
use tokio_postgres::Transaction;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use super::plan::Plan;
use crate::cluster::{CHANNEL, Payload, TERMINAL};
use crate::error::pg;
use crate::{Fenced, NodeId};

/// The condition a node's write of a row must meet (`$node`, the attempt and the record as
/// the statement names them): held by the node under the attempt and live, or already
/// holding exactly this write (a retry after a lost `COMMIT` reply).
macro_rules! fenced {
    ($node:literal, $attempt:literal, $mine:literal) => {
        concat!(
            "tasks.node = ",
            $node,
            " AND tasks.attempt = ",
            $attempt,
            " AND ((tasks.lease_until IS NOT NULL AND tasks.status <> ALL($T)) OR ",
            $mine,
            ")"
        )
    };
}

/// New rows held by the node (attempt 1, a lease; registered kinds keep `kind`), or the
/// node's own row of a retried insert. Terminal records hold no lease. A row that is not
/// `working` (its work changed its status before its first write) returns the payload of
/// its `status` notification.
pub(super) const INSERT: &str = concat!(
    "INSERT INTO tasks (id, seq, scope, status, expires_at, record, kind, checkpoint, node, \
     attempt, lease_until, queued) \
     SELECT t.id, t.seq, t.scope, t.status, t.expires_at, t.record, t.kind, t.checkpoint, \
     $9::uuid, 1, CASE WHEN t.status = ANY($T) THEN NULL \
     ELSE now() + $10::int8 * interval '1 millisecond' END, false \
     FROM unnest($1::uuid[], $2::int8[], $3::text[], $4::text[], $5::timestamptz[], \
     $6::json[], $7::text[], $8::json[]) \
     AS t(id, seq, scope, status, expires_at, record, kind, checkpoint) \
     ON CONFLICT (id) DO UPDATE SET status = excluded.status, \
     expires_at = excluded.expires_at, record = excluded.record, \
     checkpoint = coalesce(excluded.checkpoint, tasks.checkpoint), \
     lease_until = CASE WHEN excluded.status = ANY($T) THEN NULL ELSE tasks.lease_until END \
     WHERE ",
    fenced!("$9", "1", "tasks.record::text = excluded.record::text"),
    " RETURNING tasks.id, tasks.seq, tasks.status = ANY($T), \
     CASE WHEN tasks.status <> 'working' THEN ",
    crate::cluster::status_payload!("tasks.id", "tasks.scope"),
    " END"
);

/// Fenced updates of held tasks; a terminal record releases the lease. A row whose status
/// or progress changes returns the payload of its `status` notification (the row as it was,
/// `prev`, is read in the statement's snapshot), so that a node holding a session's stream
/// relays both; progress is written at most every
/// [`progress_interval`](crate::ClusterStoreOptions::progress_interval) per task.
pub(super) const UPDATE: &str = concat!(
    "UPDATE tasks SET status = u.status, expires_at = u.expires_at, record = u.record, \
     checkpoint = coalesce(u.checkpoint, tasks.checkpoint), queued = false, \
     lease_until = CASE WHEN u.status = ANY($T) THEN NULL ELSE tasks.lease_until END \
     FROM unnest($1::uuid[], $2::int4[], $3::text[], $4::timestamptz[], $5::json[], \
     $6::json[]) AS u(id, attempt, status, expires_at, record, checkpoint) \
     JOIN tasks AS prev ON prev.id = u.id \
     WHERE tasks.id = u.id AND ",
    fenced!("$7", "u.attempt", "tasks.record::text = u.record::text"),
    " RETURNING tasks.id, tasks.seq, tasks.status = ANY($T), \
     CASE WHEN prev.status <> u.status \
     OR (prev.record -> 'progress')::text IS DISTINCT FROM (u.record -> 'progress')::text THEN ",
    crate::cluster::status_payload!("tasks.id", "tasks.scope"),
    " END"
);

/// Fenced checkpoints of held tasks.
pub(super) const CHECKPOINT: &str = concat!(
    "UPDATE tasks SET checkpoint = c.checkpoint \
     FROM unnest($1::uuid[], $2::int4[], $3::json[]) AS c(id, attempt, checkpoint) \
     WHERE tasks.id = c.id AND ",
    fenced!(
        "$4",
        "c.attempt",
        "tasks.checkpoint::text = c.checkpoint::text"
    ),
    " RETURNING tasks.id"
);

/// Fenced lists of outstanding input requests of held tasks (see [`Plan::inputs`]): not
/// refused when they match no row, as the task's record write reports it. Each row written
/// sends a `changed` notification, so that a wait on another node reads the requests.
pub(super) const INPUTS: &str = concat!(
    "UPDATE tasks SET input_requests = i.requests \
     FROM unnest($1::uuid[], $2::int4[], $3::json[]) AS i(id, attempt, requests) \
     WHERE tasks.id = i.id AND ",
    fenced!(
        "$4",
        "i.attempt",
        "tasks.input_requests::text = i.requests::text"
    ),
    " RETURNING tasks.id, tasks.seq, true"
);

/// A `changed` notification per task made terminal, as [`Cluster::finish`](
/// crate::Cluster::finish) sends.
pub(super) const NOTIFY: &str = "SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p";

/// A `queued` notification per kind of the queued tasks that depend on a task made terminal
/// (`$2`): a dependent whose dependencies have all completed is claimable at once, and the
/// nodes that registered its kind claim now rather than at their next period.
pub(super) const WAKE: &str = "SELECT pg_notify($1, json_build_object('t', 'queued', 'kind', w.kind)::text) \
     FROM (SELECT DISTINCT kind FROM tasks WHERE queued AND depends_on && $2::uuid[]) AS w";

/// Why each refused write matched no row: the row as it is (or none).
pub(super) const DIAGNOSE: &str = "SELECT r.id, t.status, t.attempt, t.node \
     FROM unnest($1::uuid[]) AS r(id) LEFT JOIN tasks t ON t.id = r.id";

/// Releases the node's hold of the refused rows that are terminal (a cancel from another
/// node leaves the lease to the node, as [`Cluster::finish`](crate::Cluster::finish) does).
pub(super) const RELEASE: &str = "UPDATE tasks SET lease_until = NULL \
     FROM unnest($1::uuid[], $2::int4[]) AS r(id, attempt) \
     WHERE tasks.id = r.id AND tasks.node = $3 AND tasks.attempt = r.attempt \
     AND tasks.lease_until IS NOT NULL AND tasks.status = ANY($4)";

/// The statements with `$T` (the terminal statuses) numbered as their last parameter.
pub(super) fn sql(statement: &str, terminal: usize) -> String {
    statement.replace("$T", &format!("${terminal}::text[]"))
}

/// What a batch wrote: the tasks inserted (the node holds them now, attempt 1) and the
/// writes refused.
#[derive(Debug, Default)]
pub(super) struct Outcome {
    pub(super) inserted: Vec<TaskId>,
    pub(super) refused: Vec<(TaskId, Fenced)>,
}

/// The prepared statements of the task writes.
#[derive(Debug)]
pub(super) struct Statements {
    pub(super) insert: tokio_postgres::Statement,
    pub(super) update: tokio_postgres::Statement,
    pub(super) checkpoint: tokio_postgres::Statement,
    pub(super) inputs: tokio_postgres::Statement,
    pub(super) diagnose: tokio_postgres::Statement,
    pub(super) release: tokio_postgres::Statement,
    pub(super) notify: tokio_postgres::Statement,
    pub(super) wake: tokio_postgres::Statement,
}

/// Runs the plan's task statements in `tx`, and finds out why the refused ones were.
pub(super) async fn write_tasks(
    tx: &Transaction<'_>,
    s: &Statements,
    plan: &Plan<'_>,
    node: NodeId,
    lease_ms: i64,
) -> Result<Outcome, StoreError> {
    let node_id = node.as_uuid();
    let terminal = &TERMINAL[..];
    let mut outcome = Outcome::default();
    // Each refused write with the attempt it named.
    let mut refused: Vec<(Uuid, i32)> = Vec::new();
    let mut finished = Vec::new();
    // The ids of the tasks made terminal, for their dependents.
    let mut ended: Vec<Uuid> = Vec::new();
    let f = &plan.fresh;
    if !f.task.ids.is_empty() {
        let t = &f.task;
        let params: [&(dyn ToSql + Sync); 11] = [
            &t.ids,
            &t.seqs,
            &t.scopes,
            &t.statuses,
            &t.expiries,
            &t.records,
            &f.kinds,
            &f.checkpoints,
            node_id,
            &lease_ms,
            &terminal,
        ];
        let rows = tx.query(&s.insert, &params).await;
        let written = ids(rows, &mut finished, &mut ended, "insert tasks")?;
        for id in &t.ids {
            if written.contains(id) {
                outcome.inserted.push(TaskId::from_uuid(*id));
            } else {
                refused.push((*id, 1));
            }
        }
    }
    let h = &plan.held;
    if !h.ids.is_empty() {
        let params: [&(dyn ToSql + Sync); 8] = [
            &h.ids,
            &h.attempts,
            &h.statuses,
            &h.expiries,
            &h.records,
            &h.checkpoints,
            node_id,
            &terminal,
        ];
        let rows = tx.query(&s.update, &params).await;
        let written = ids(rows, &mut finished, &mut ended, "update tasks")?;
        missing(&h.ids, &h.attempts, &written, &mut refused);
    }
    let c = &plan.checkpoints;
    if !c.ids.is_empty() {
        let params: [&(dyn ToSql + Sync); 5] = [&c.ids, &c.attempts, &c.values, node_id, &terminal];
        let rows = tx.query(&s.checkpoint, &params).await;
        let written = ids(rows, &mut Vec::new(), &mut Vec::new(), "write checkpoints")?;
        missing(&c.ids, &c.attempts, &written, &mut refused);
    }
    let i = &plan.inputs;
    if !i.ids.is_empty() {
        let params: [&(dyn ToSql + Sync); 5] =
            [&i.ids, &i.attempts, &i.requests, node_id, &terminal];
        let rows = tx.query(&s.inputs, &params).await;
        ids(rows, &mut finished, &mut Vec::new(), "write input requests")?;
    }
    if !finished.is_empty() {
        tx.execute(&s.notify, &[&CHANNEL, &finished])
            .await
            .map_err(pg("send notifications"))?;
    }
    if !ended.is_empty() {
        tx.execute(&s.wake, &[&CHANNEL, &ended])
            .await
            .map_err(pg("wake the dependents"))?;
    }
    if !refused.is_empty() {
        outcome.refused = diagnose(tx, s, node, &refused).await?;
    }
    Ok(outcome)
}

/// The ids of the rows written; adds a `changed` notification to `finished` for each row
/// whose third column is true (rows of three columns or more: id, seq, terminal or inputs
/// written), and the `status` payload of a fourth column when there is one; adds the id of
/// each such row to `ended` (the caller passes a throwaway for rows that do not end a task).
fn ids(
    rows: Result<Vec<tokio_postgres::Row>, tokio_postgres::Error>,
    finished: &mut Vec<String>,
    ended: &mut Vec<Uuid>,
    doing: &'static str,
) -> Result<HashSet<Uuid>, StoreError> {
    let rows = rows.map_err(pg(doing))?;
    let mut written = HashSet::with_capacity(rows.len());
    for row in &rows {
        let id: Uuid = row.try_get(0).map_err(pg(doing))?;
        written.insert(id);
        if row.len() == 4
            && let Some(status) = row.try_get::<_, Option<String>>(3).map_err(pg(doing))?
        {
            finished.push(status);
        }
        if row.len() >= 3 && row.try_get::<_, bool>(2).map_err(pg(doing))? {
            let seq: i64 = row.try_get(1).map_err(pg(doing))?;
            let payload = Payload::Changed {
                id,
                seq: u64::try_from(seq).unwrap_or(0),
            };
            let text = serde_json::to_string(&payload).map_err(|e| {
                StoreError::with_source("postgres cluster store: encode a notification", e)
            })?;
            finished.push(text);
            ended.push(id);
        }
    }
    Ok(written)
}

fn missing(ids: &[Uuid], attempts: &[i32], written: &HashSet<Uuid>, out: &mut Vec<(Uuid, i32)>) {
    out.extend(
        ids.iter()
            .zip(attempts)
            .filter(|(id, _)| !written.contains(id))
            .map(|(id, attempt)| (*id, *attempt)),
    );
}

/// Reads why each refused write was refused, and releases the node's hold of those that are
/// terminal.
async fn diagnose(
    tx: &Transaction<'_>,
    s: &Statements,
    node: NodeId,
    refused: &[(Uuid, i32)],
) -> Result<Vec<(TaskId, Fenced)>, StoreError> {
    let (ids, attempts): (Vec<Uuid>, Vec<i32>) = refused.iter().copied().unzip();
    let rows = tx
        .query(&s.diagnose, &[&ids])
        .await
        .map_err(pg("read refused tasks"))?;
    let mut why = Vec::with_capacity(rows.len());
    let mut release = false;
    for row in rows {
        let id: Uuid = row.try_get(0).map_err(pg("read refused tasks"))?;
        let status: Option<&str> = row.try_get(1).map_err(pg("read refused tasks"))?;
        let fenced = match status {
            None => Fenced::Gone,
            Some(status) => match Status::ALL
                .into_iter()
                .find(|s| s.is_terminal() && s.as_str() == status)
            {
                Some(status) => {
                    release = true;
                    Fenced::Terminal(status)
                }
                None => {
                    let attempt: i32 = row.try_get(2).map_err(pg("read refused tasks"))?;
                    let node: Option<Uuid> = row.try_get(3).map_err(pg("read refused tasks"))?;
                    Fenced::Reclaimed {
                        attempt: u32::try_from(attempt).unwrap_or(0),
                        node: node.map(NodeId::from_uuid),
                    }
                }
            },
        };
        why.push((TaskId::from_uuid(id), fenced));
    }
    if release {
        tx.execute(
            &s.release,
            &[&ids, &attempts, node.as_uuid(), &&TERMINAL[..]],
        )
        .await
        .map_err(pg("release refused tasks"))?;
    }
    Ok(why)
}
