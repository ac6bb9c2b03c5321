//! What finished tasks with large errors cost in memory, and what the retention caps keep.
//!
//! Runs N tasks (default 200) that each fail with a message of M MiB (default 3), with one
//! subscriber to every event alive (as an operator's watcher is), and prints the process's
//! resident memory (RSS) before and after. The message is stored once: in the record's
//! outcome (the status message is derived from it, the `failed` event carries a summary). With
//! a third argument, a retention cap in MiB (`max_retained_bytes`), the oldest failed tasks are
//! evicted to stay within it.
//!
//! ```text
//! cargo run --example failure_memory -- 200 3
//! cargo run --example failure_memory -- 200 3 256
//! ```

#[path = "shared/rss.rs"]
mod rss;

use std::time::Duration;

use rss::rss_mib;
use taskward::{EventFilter, Scope, TaskError, TaskSpec, Taskward};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map_or(Ok(200), |a| a.parse())?;
    let mib: usize = args.next().map_or(Ok(3), |a| a.parse())?;
    let cap: Option<usize> = args.next().map(|a| a.parse()).transpose()?;
    let mut builder = Taskward::builder();
    if let Some(cap) = cap {
        builder = builder.max_retained_bytes(cap << 20);
    }
    let ward = builder.spawn().await?;
    let _watcher = ward.subscribe(EventFilter::all());
    let scope = Scope::session("failures");
    let before = rss_mib();
    for _ in 0..n {
        let task = ward
            .submit(TaskSpec::new("fails").scope(scope.clone()), move |_ctx| {
                let message = "x".repeat(mib << 20);
                async move { Err(TaskError::new(message)) }
            })
            .await?;
        let _ = task.wait().await;
    }
    let after = rss_mib();
    let status = ward.status().await?;
    println!(
        "{n} tasks failed with {mib} MiB each: RSS {before:.1} -> {after:.1} MiB (+{:.1}); \
         {} retained, {:.1} MiB of outcomes",
        after - before,
        status.count(taskward::Status::Failed),
        status.retained.1 as f64 / f64::from(1 << 20),
    );
    ward.shutdown(Duration::from_secs(1)).await?;
    Ok(())
}
