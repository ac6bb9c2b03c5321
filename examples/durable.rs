//! Durable tasks: a registered kind of work that checkpoints, kept in a SQLite store, stopped
//! part-way by a shutdown (as a deploy stops a server), resumed by the next runtime from its
//! checkpoint, then suspended and resumed by hand.
//!
//! - `Builder::register` names the work, so that a later process can run it again;
//! - `Builder::durable(SqliteStore::open(..))` keeps the task table in a file;
//! - `TaskContext::checkpoint` saves where the work is; `last_checkpoint` reads it back;
//! - `Taskward::suspend` and `Taskward::resume` stop and restart it (OTP's `sys:suspend`).
//!
//! The database goes to a fresh directory under the system's temp dir, removed at the end.
//! See docs/durability.md. Run it with:
//!
//! ```text
//! cargo run --example durable
//! ```

use std::time::Duration;

use serde_json::{Value, json};
use taskward::{
    Builder, Durability, Outcome, Phase, Scope, TaskContext, TaskError, TaskSpec, Taskward,
};
use taskward_sqlite::SqliteStore;

/// Counts to `input.to`, a step every millisecond, from its last checkpoint.
async fn count(ctx: TaskContext, input: Value) -> Result<Value, TaskError> {
    let to = input["to"].as_u64().unwrap_or(1000);
    let from = ctx.last_checkpoint().and_then(|c| c.as_u64()).unwrap_or(0);
    let mut at = from;
    while at < to {
        if ctx.is_cancelled() {
            // Cancelled, suspended or stopped by shutdown: the checkpoint is saved.
            return Err(TaskError::cancelled());
        }
        at += 1;
        ctx.checkpoint(json!(at));
        ctx.progress(at, Some(to), "counting");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    Ok(json!({ "counted": at, "resumed_from": from, "attempt": ctx.attempt() }))
}

fn runtime(db: &std::path::Path) -> Result<Builder, Box<dyn std::error::Error>> {
    Ok(Taskward::builder()
        .register("count", count)
        .durable(SqliteStore::open(db, Durability::Process)?))
}

/// Waits until the task's progress reaches `at`.
async fn until(ward: &Taskward, id: taskward::TaskId, at: u64) {
    while ward
        .get(&Scope::global(), id)
        .ok()
        .and_then(|r| r.progress.as_ref().map(|p| p.done))
        .unwrap_or(0)
        < at
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("taskward-durable-{}", std::process::id()));
    let db = dir.join("taskward.db");

    // The first process: submit, let it count a while, stop (a deploy).
    let ward = runtime(&db)?.spawn().await?;
    let task = ward
        .submit_kind(TaskSpec::new("count"), json!({ "to": 600 }))
        .await?;
    let id = task.id();
    until(&ward, id, 200).await;
    let report = ward.shutdown(Duration::from_secs(1)).await?;
    println!("stopped with {} task left to resume", report.parked);

    // The next process: the task runs again from its checkpoint.
    let ward = runtime(&db)?.spawn().await?;
    let record = ward.get(&Scope::global(), id)?;
    println!(
        "restarted: {} ({})",
        record.status,
        record.status_message.as_deref().unwrap_or_default()
    );
    until(&ward, id, 400).await;
    ward.suspend(&Scope::global(), id).await?;
    while ward.get(&Scope::global(), id)?.phase != Some(Phase::Suspended) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    println!(
        "suspended at {}",
        ward.get(&Scope::global(), id)?
            .progress
            .clone()
            .unwrap_or_default()
    );
    ward.resume(&Scope::global(), id).await?;
    match ward.wait(&Scope::global(), id).await? {
        Outcome::Completed { value } => println!("completed: {value}"),
        other => println!("ended otherwise: {other:?}"),
    }
    ward.shutdown(Duration::from_secs(1)).await?;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
