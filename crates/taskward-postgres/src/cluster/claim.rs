//! Claims: the queued tasks a node takes, in priority and FIFO order, under caps that hold
//! across every node claiming at once.
//!
//! A claim is one transaction. When a cap applies it first takes transaction-scoped advisory
//! locks, so that the count of held tasks it reads cannot change before it commits: the
//! global claim lock when a global cap is set (every capped claim then runs one at a time),
//! else one lock per capped kind the node claims, taken in name order (no deadlock). Claims
//! of uncapped kinds take no lock. Under the lock, each statement of the transaction sees
//! every claim committed before it (READ COMMITTED takes a snapshot per statement), so two
//! nodes claiming at once can never exceed a cap. The rows themselves are taken with
//! `FOR UPDATE SKIP LOCKED`, in `(priority DESC, seq)` order from the partial index
//! `tasks_queue`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde_json::Value;
use taskward_core::{StoreError, TaskRecord};
use tokio_postgres::Transaction;
use uuid::Uuid;

use super::options::millis;
use super::record::parse;
use super::{Cluster, Fence, NodeId};
use crate::error::pg;

/// The caps a claim honours: at most `global` tasks held in the whole cluster, and at most
/// `per_kind[k]` held of kind `k` (a held task is one claimed or inserted by a node and not
/// yet finished or released; closure tasks count against the global cap).
///
/// Every node should claim with the same caps: each claim checks its own against the
/// cluster-wide counts.
///
/// # Examples
///
/// ```
/// use taskward_postgres::Caps;
///
/// let caps = Caps::new().global(100).kind("resize", 4);
/// assert_eq!(caps.global, Some(100));
/// assert_eq!(caps.per_kind["resize"], 4);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Caps {
    /// The most tasks held in the cluster at once; `None` for no global cap.
    pub global: Option<u32>,
    /// The most tasks of a kind held at once; kinds not named are not capped.
    pub per_kind: BTreeMap<String, u32>,
}

impl Caps {
    /// No caps.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the global cap.
    pub fn global(mut self, cap: u32) -> Self {
        self.global = Some(cap);
        self
    }

    /// Sets the cap of `kind`.
    pub fn kind(mut self, kind: impl Into<String>, cap: u32) -> Self {
        self.per_kind.insert(kind.into(), cap);
        self
    }
}

/// A task a node claimed: what it needs to run (or resume) it, and the fence of its writes.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Claimed {
    /// The fence every write of this claim names.
    pub fence: Fence,
    /// The task's record as the table holds it (its `input` is the work's input).
    pub record: TaskRecord,
    /// The last checkpoint, to resume from.
    pub checkpoint: Option<Arc<Value>>,
    /// The task's priority.
    pub priority: i32,
}

/// The key of the global claim lock ("twclaim" in ASCII).
const GLOBAL_LOCK: i64 = 0x0074_7763_6c61_696d;
/// The first key of the per-kind claim locks (`pg_advisory_xact_lock(int4, int4)`).
const KIND_LOCKS: i32 = 0x7477_6b64;

/// The queued tasks a claim may take: of the node's kinds, available, and whose
/// dependencies (if any) have all completed (a dependency missing from the table blocks: the
/// elected node's duty ends such a task, see [`Cluster::settle_dependents`]).
const CANDIDATES: &str = "SELECT id, kind FROM tasks t WHERE queued AND kind = ANY($1) \
     AND (available_at IS NULL OR available_at <= now()) \
     AND (depends_on IS NULL OR NOT EXISTS (SELECT 1 FROM unnest(t.depends_on) AS d(id) \
     LEFT JOIN tasks x ON x.id = d.id WHERE x.status IS DISTINCT FROM 'completed')) \
     ORDER BY priority DESC, seq LIMIT $2 FOR UPDATE OF t SKIP LOCKED";
const TAKE: &str = "UPDATE tasks SET queued = false, available_at = NULL, node = $2, \
     attempt = attempt + 1, lease_until = now() + $3::int8 * interval '1 millisecond' \
     WHERE id = ANY($1) \
     RETURNING id, record::text, checkpoint::text, attempt, priority, seq";

impl Cluster {
    /// Claims up to `capacity` queued tasks of the `kinds` the node registered, highest
    /// priority first and FIFO (by `seq`) within a priority, never past `caps` even with
    /// other nodes claiming at once (see the module docs). Each claimed task gets
    /// `node`, `attempt + 1` and a lease of [`ClusterOptions::lease`](crate::ClusterOptions).
    ///
    /// Returns the claimed tasks in that order. The record in the table is left as it was
    /// (phase `queued`): the node writes its running record with [`progress`](Self::progress).
    /// A row whose record does not parse is taken out of the queue (left unclaimed, with a
    /// warning) rather than returned.
    ///
    /// # Errors
    ///
    /// The database failing (nothing is claimed).
    ///
    /// # Cancel safety
    ///
    /// Cancelling it rolls the transaction back: nothing is claimed.
    pub async fn claim(
        &self,
        node: NodeId,
        kinds: &[&str],
        capacity: u32,
        caps: &Caps,
    ) -> Result<Vec<Claimed>, StoreError> {
        if capacity == 0 || kinds.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await.map_err(pg("begin a claim"))?;
        let mut left = Left::lock_and_count(&tx, kinds, caps).await?;
        let mut want = left.global.map_or(capacity, |g| g.min(capacity));
        while want > 0 {
            let open = left.open(kinds);
            if open.is_empty() {
                break;
            }
            let rows = tx
                .query(CANDIDATES, &[&open, &i64::from(want)])
                .await
                .map_err(pg("find queued tasks"))?;
            let found = rows.len();
            let mut round = Vec::new();
            for row in rows {
                let id: Uuid = row.try_get(0).map_err(pg("find queued tasks"))?;
                let kind: String = row.try_get(1).map_err(pg("find queued tasks"))?;
                if want > 0 && left.take(&kind) {
                    round.push(id);
                    want -= 1;
                }
            }
            let full_round = round.len() == found;
            // Claim this round's rows now, so that the next round's scan skips them.
            take(&tx, &round, node, millis(self.options.lease))
                .await
                .map(|claimed| left.claimed.extend(claimed))?;
            if full_round {
                // Every row found was taken: the queue has no more for the open kinds.
                break;
            }
        }
        tx.commit().await.map_err(pg("commit a claim"))?;
        let mut claimed = std::mem::take(&mut left.claimed);
        claimed.sort_by_key(|c| (-i64::from(c.priority), c.record.seq));
        Ok(claimed)
    }
}

/// What the caps leave: held counts read under the claim locks, minus this claim's takes.
struct Left {
    global: Option<u32>,
    per_kind: HashMap<String, u32>,
    claimed: Vec<Claimed>,
}

impl Left {
    async fn lock_and_count(
        tx: &Transaction<'_>,
        kinds: &[&str],
        caps: &Caps,
    ) -> Result<Self, StoreError> {
        let mut capped: Vec<&str> = kinds
            .iter()
            .copied()
            .filter(|k| caps.per_kind.contains_key(*k))
            .collect();
        capped.sort_unstable();
        capped.dedup();
        if caps.global.is_some() {
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&GLOBAL_LOCK])
                .await
                .map_err(pg("take the claim lock"))?;
        } else {
            for kind in &capped {
                tx.execute(
                    "SELECT pg_advisory_xact_lock($1, hashtext($2))",
                    &[&KIND_LOCKS, kind],
                )
                .await
                .map_err(pg("take a kind's claim lock"))?;
            }
        }
        let mut left = Self {
            global: None,
            per_kind: HashMap::new(),
            claimed: Vec::new(),
        };
        if caps.global.is_none() && capped.is_empty() {
            return Ok(left);
        }
        let rows = tx
            .query(
                "SELECT kind, count(*) FROM tasks WHERE lease_until IS NOT NULL GROUP BY kind",
                &[],
            )
            .await
            .map_err(pg("count the held tasks"))?;
        let mut held: HashMap<String, u32> = HashMap::new();
        let mut total = 0u32;
        for row in rows {
            let kind: Option<String> = row.try_get(0).map_err(pg("count the held tasks"))?;
            let n: i64 = row.try_get(1).map_err(pg("count the held tasks"))?;
            let n = u32::try_from(n).unwrap_or(u32::MAX);
            total = total.saturating_add(n);
            if let Some(kind) = kind {
                held.insert(kind, n);
            }
        }
        left.global = caps.global.map(|cap| cap.saturating_sub(total));
        for kind in capped {
            let cap = caps.per_kind[kind];
            let n = held.get(kind).copied().unwrap_or(0);
            left.per_kind.insert(kind.to_owned(), cap.saturating_sub(n));
        }
        Ok(left)
    }

    /// The kinds still open: uncapped, or with room left.
    fn open(&self, kinds: &[&str]) -> Vec<String> {
        kinds
            .iter()
            .filter(|k| self.per_kind.get(**k).is_none_or(|n| *n > 0))
            .map(|k| (*k).to_owned())
            .collect()
    }

    /// Takes one of `kind` if its cap leaves room.
    fn take(&mut self, kind: &str) -> bool {
        match self.per_kind.get_mut(kind) {
            Some(0) => false,
            Some(n) => {
                *n -= 1;
                true
            }
            None => true,
        }
    }
}

/// Marks `ids` claimed by `node` and reads them back.
async fn take(
    tx: &Transaction<'_>,
    ids: &[Uuid],
    node: NodeId,
    lease_ms: i64,
) -> Result<Vec<Claimed>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = tx
        .query(TAKE, &[&ids, node.as_uuid(), &lease_ms])
        .await
        .map_err(pg("claim tasks"))?;
    let mut claimed = Vec::with_capacity(rows.len());
    let mut broken = Vec::new();
    for row in rows {
        let id: Uuid = row.try_get(0).map_err(pg("claim tasks"))?;
        let text: &str = row.try_get(1).map_err(pg("claim tasks"))?;
        let Some(record) = parse(id, text) else {
            broken.push(id);
            continue;
        };
        let checkpoint: Option<&str> = row.try_get(2).map_err(pg("claim tasks"))?;
        let checkpoint = checkpoint
            .and_then(|c| serde_json::from_str(c).ok())
            .map(Arc::new);
        let attempt: i32 = row.try_get(3).map_err(pg("claim tasks"))?;
        claimed.push(Claimed {
            fence: Fence::new(record.id, node, u32::try_from(attempt).unwrap_or(0)),
            record,
            checkpoint,
            priority: row.try_get(4).map_err(pg("claim tasks"))?,
        });
    }
    if !broken.is_empty() {
        tx.execute(
            "UPDATE tasks SET lease_until = NULL, node = NULL WHERE id = ANY($1)",
            &[&broken],
        )
        .await
        .map_err(pg("set aside tasks that do not parse"))?;
    }
    Ok(claimed)
}
