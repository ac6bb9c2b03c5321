//! The cluster store's connection on its worker thread: the single-node store's connection
//! (policy, migration, session statements) plus the fenced task statements.

use std::sync::{Arc, Mutex, MutexGuard};

use taskward_core::{LoadStats, Loaded, StoreError, StoreWrite};
use tokio::time::Instant;
use tokio_postgres::Client;

use super::coalesce::Coalescer;

use super::commit::{self, Statements};
use super::fences::Fences;
use super::plan::Plan;
use super::refusal::{Refusal, Sink};
use crate::conn::Conn;
use crate::error::pg;
use crate::sessions::Sessions;
use crate::worker::Backend;
use crate::{NodeId, PostgresOptions, load};

/// What the worker's thread needs to open a connection.
#[derive(Debug)]
pub(super) struct Setup {
    pub(super) config: crate::pool::Target,
    pub(super) options: PostgresOptions,
    pub(super) node: NodeId,
    pub(super) lease_ms: i64,
    pub(super) fences: Fences,
    pub(super) sink: Sink,
    /// The progress waiting to be written: kept across reconnections.
    pub(super) coalescer: Arc<Mutex<Coalescer>>,
}

/// One connection of the cluster store.
#[derive(Debug)]
pub(super) struct Link {
    conn: Conn,
    statements: Statements,
    node: NodeId,
    lease_ms: i64,
    fences: Fences,
    sink: Sink,
    coalescer: Arc<Mutex<Coalescer>>,
}

impl Backend for Link {
    type Setup = Setup;
    type Load = (Loaded, LoadStats);

    async fn open(setup: &Setup) -> Result<Self, StoreError> {
        let conn = Conn::open(&setup.config, &setup.options).await?;
        let c = &conn.client;
        let statements = Statements {
            insert: prepare(c, &commit::sql(commit::INSERT, 11)).await?,
            update: prepare(c, &commit::sql(commit::UPDATE, 8)).await?,
            checkpoint: prepare(c, &commit::sql(commit::CHECKPOINT, 5)).await?,
            inputs: prepare(c, &commit::sql(commit::INPUTS, 5)).await?,
            diagnose: prepare(c, commit::DIAGNOSE).await?,
            release: prepare(c, commit::RELEASE).await?,
            notify: prepare(c, commit::NOTIFY).await?,
            wake: prepare(c, commit::WAKE).await?,
        };
        Ok(Self {
            conn,
            statements,
            node: setup.node,
            lease_ms: setup.lease_ms,
            fences: setup.fences.clone(),
            sink: setup.sink.clone(),
            coalescer: Arc::clone(&setup.coalescer),
        })
    }

    fn is_closed(&self) -> bool {
        self.conn.client.is_closed()
    }

    /// The sessions, and the tasks the node holds, whose fences replace the map's.
    async fn load(&mut self) -> Result<Self::Load, StoreError> {
        let node = *self.node.as_uuid();
        let (loaded, stats, attempts) = load::read(&mut self.conn.client, Some(node)).await?;
        let mut fences = self.fences.lock();
        fences.clear();
        for (task, attempt) in loaded.tasks.iter().zip(attempts) {
            fences.insert(task.record.id, u32::try_from(attempt).unwrap_or(0));
        }
        drop(fences);
        self.coalesce().clear();
        Ok((loaded, stats))
    }

    /// Writes the batch, but for the progress it defers (see [`Coalescer::split`]).
    async fn commit(&mut self, batch: &[StoreWrite]) -> Result<(), StoreError> {
        let now = Instant::now();
        let split = {
            let fences = self.fences.lock();
            self.coalesce().split(batch, &fences, now)
        };
        self.write(&split.writes).await?;
        self.coalesce().committed(split, now);
        Ok(())
    }

    fn next_flush(&self) -> Option<Instant> {
        self.coalesce().next_due()
    }

    async fn flush(&mut self, all: bool) -> Result<(), StoreError> {
        let now = Instant::now();
        let due = self.coalesce().take_due(now, all);
        if due.is_empty() {
            return Ok(());
        }
        let result = self.write(&due).await;
        self.coalesce().flushed(due, now, result.is_ok());
        result
    }
}

impl Link {
    fn coalesce(&self) -> MutexGuard<'_, Coalescer> {
        // Every change of the coalescer is a whole-map step: consistent after a panic.
        self.coalescer.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Applies `batch` in one transaction: fenced task writes, sessions; then the fences
    /// follow and the refusals are reported.
    async fn write(&mut self, batch: &[StoreWrite]) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        let plan = Plan::of(batch, &self.fences.lock())?;
        let sessions = Sessions::of(batch);
        let tx = self
            .conn
            .client
            .transaction()
            .await
            .map_err(pg("begin a commit"))?;
        let outcome =
            commit::write_tasks(&tx, &self.statements, &plan, self.node, self.lease_ms).await?;
        let s = &self.conn.statements;
        sessions
            .write(&tx, &s.put_sessions, &s.delete_sessions)
            .await?;
        tx.commit().await.map_err(pg("commit a batch"))?;
        // Committed: the fences follow, and the refusals are final (a failed batch is
        // retried whole and reports them then).
        let mut fences = self.fences.lock();
        for id in &outcome.inserted {
            fences.insert(*id, 1);
        }
        for id in &plan.removed {
            fences.remove(id);
        }
        drop(fences);
        for (id, why) in outcome.refused {
            self.sink.report(Refusal::new(id, why));
        }
        Ok(())
    }
}

async fn prepare(client: &Client, sql: &str) -> Result<tokio_postgres::Statement, StoreError> {
    client.prepare(sql).await.map_err(pg("prepare a statement"))
}
