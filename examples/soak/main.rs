//! Soak: the runtime's invariants under a flood of tasks and injected faults.
//!
//! It submits a mix of works, across 64 scopes, through a semaphore of live tasks (so a
//! million fit in memory): works that complete, fail, panic, ignore their token (stubborn),
//! spin on the CPU without awaiting while calling `ctx.progress`, ask for input (answered by
//! the soak or not, so they time out, expire or are cancelled), retry under
//! `Restart::transient` with backoff, and one-shot `submit_once` works. Specs carry random
//! timeouts, abort cancel policies, owner actors with close policies (cancel, keep, transfer)
//! and short TTLs, so finished tasks are swept as the run goes.
//!
//! While it runs, it cancels tasks at random and injects faults: it kills runner actors
//! (found with `Taskward::runners`), the runner supervisor, the registry and owner actors, at
//! rates under the restart intensities it configures, so the tree never gives up.
//!
//! At the end (every outcome seen by `wait`, then a final shutdown) it prints a table of
//! figures and checks, and exits non-zero if any check fails:
//!
//! - 0 tasks non-terminal (before and after shutdown), 0 live runners and 0 controls left;
//! - every created task accounted for exactly once: completed + failed + cancelled + expired
//!   = created = submit calls. "Expired" counts the tasks whose TTL elapsed while they were
//!   live (cancelled by expiry); "cancelled" every other cancel (client, owner, parent,
//!   shutdown). A terminal task later removed by its TTL is counted by its outcome only;
//! - late results + duplicate terminals <= 2 x (tasks not ended by their own work's report:
//!   cancelled, expired, timed out, runner lost, interrupted, start failed) + runner kills:
//!   each such task has at most its runner's finish and its runner's exit arriving late;
//! - no task has two terminal events, and, when the event audit did not lag, the terminal
//!   events match the outcomes; each one-shot work ran at most once; the tree restarted every
//!   registry and runner supervisor it lost.
//!
//! Run it with (always with `--release`):
//!
//! ```text
//! cargo run --release --example soak -- --tasks 1000000
//! cargo run --release --example soak -- --short          # about 20 s, as CI runs it
//! ```
//!
//! Other flags: `--duration 30s` (stop submitting after it), `--concurrency N` (live tasks at
//! most, default 2000), `--seed N`, `--quiet` (no progress line).

mod args;
mod driver;
mod events;
mod faults;
mod report;
mod tally;
mod works;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use taskward::{CancelPolicy, EventFilter, Intensity, RegistryStatus, Scope, Taskward};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::args::{Args, Rng};
use crate::driver::Run;
use crate::faults::{Owners, Rates};
use crate::tally::Tally;

/// How long the drain waits for the last outcomes before declaring the rest stuck.
const DRAIN_LIMIT: Duration = Duration::from_secs(60);

#[tokio::main]
async fn main() -> ExitCode {
    let args = match Args::parse() {
        Ok(args) => args,
        Err(usage) => {
            eprintln!("{usage}");
            return ExitCode::from(2);
        }
    };
    quiet_planned_panics();
    match soak(args).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("soak: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn soak(args: Args) -> Result<bool, taskward::Error> {
    let ward = Taskward::builder()
        .max_live_tasks(args.concurrency + 100)
        .default_ttl(works::DEFAULT_TTL)
        .max_ttl(Duration::from_secs(10))
        .sweep_interval(Duration::from_millis(50))
        .default_cancel_policy(CancelPolicy::cooperative(Duration::from_millis(30)))
        .event_capacity(1 << 18)
        // 100 runner kills a second are injected; the limits are ten times that, so the
        // supervisors never give up. The root sees one restart every ~1 s.
        .runner_intensity(Intensity::new(1_000, Duration::from_secs(1)))
        .root_intensity(Intensity::new(100, Duration::from_secs(10)))
        .spawn()
        .await?;
    let tally = Arc::new(Tally::default());
    let stop_audit = CancellationToken::new();
    let audit = tokio::spawn(events::audit(
        ward.subscribe(EventFilter::all().without_progress()),
        stop_audit.clone(),
        usize::try_from(args.tasks)
            .unwrap_or(usize::MAX)
            .min(2_000_000),
    ));
    let owners = Owners::start(16, tally.clone()).await;
    let (once_tx, once_rx) = std::sync::mpsc::channel();
    let run = Arc::new(Run {
        ward: ward.clone(),
        tally: tally.clone(),
        owners: owners.clone(),
        scopes: (0..64)
            .map(|i| Scope::session(format!("soak-{i}")))
            .collect(),
        once_runs: once_tx,
    });
    let stop_faults = CancellationToken::new();
    let injector = tokio::spawn(faults::inject(
        ward.clone(),
        owners.clone(),
        tally.clone(),
        Rates::DEFAULT,
        args.seed ^ 0xfa17,
        stop_faults.clone(),
    ));
    let bar = progress_bar(&args, tally.clone());

    let start = Instant::now();
    let permits = Arc::new(Semaphore::new(args.concurrency));
    let mut rng = Rng::new(args.seed);
    let mut submitted = 0;
    while submitted < args.tasks && args.duration.is_none_or(|d| start.elapsed() < d) {
        let permit = permits
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        tokio::spawn(driver::drive(run.clone(), rng.next_u64(), permit));
        submitted += 1;
    }
    let submit_time = start.elapsed();
    stop_faults.cancel();
    let _ = injector.await;

    // Every driver holds its permit until it has counted its task's outcome.
    let all = u32::try_from(args.concurrency).unwrap_or(u32::MAX);
    let stuck_drivers = match tokio::time::timeout(DRAIN_LIMIT, permits.acquire_many(all)).await {
        Ok(_) => 0,
        Err(_) => args.concurrency - permits.available_permits(),
    };
    let status = settled_status(&ward).await?;
    bar.finish_and_clear();
    for record in ward.live_tasks().iter().take(10) {
        eprintln!(
            "soak: still live: {} {} {} phase {:?} attempt {}",
            record.id, record.name, record.status, record.phase, record.attempt
        );
    }
    let shutdown = ward.shutdown(Duration::from_secs(5)).await;
    if let Err(e) = &shutdown {
        eprintln!("soak: shutdown failed: {e}");
    }
    let live_after_shutdown = ward.live_tasks().len();
    owners.stop_all();
    stop_audit.cancel();
    let audit = audit.await.unwrap_or_default();
    // Tasks removed before `wait` looked: their outcome is the one their terminal event gave.
    let unseen = std::mem::take(&mut *tally.unseen.lock().unwrap_or_else(|e| e.into_inner()));
    for id in &unseen {
        match audit.rows.get(id) {
            Some(row) => tally.row(*row),
            None => {
                tally.lost.add();
                tally
                    .incident("outcome lost: removed before wait looked, no terminal event".into());
            }
        }
    }
    drop(run);
    let once_runs = once_rx.try_iter().count() as u64;
    Ok(report::print(&report::End {
        tally: &tally,
        audit: &audit,
        status: &status,
        shutdown: shutdown.as_ref().ok(),
        live_after_shutdown,
        stuck_drivers,
        unseen: unseen.len() as u64,
        once_runs,
        submit_time,
        total_time: start.elapsed(),
    }))
}

/// The registry's status once the runners of ended tasks are gone and their controls
/// dropped (cancelled stubborn works run out their grace first), or after 10 s.
async fn settled_status(ward: &Taskward) -> Result<RegistryStatus, taskward::Error> {
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let status = ward.status().await?;
        let settled = status.live == 0 && status.live_runners == 0 && status.controls == 0;
        if settled || Instant::now() >= until {
            return Ok(status);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A progress line on standard error (hidden when it is not a terminal, or with `--quiet`).
fn progress_bar(args: &Args, tally: Arc<Tally>) -> ProgressBar {
    if args.quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(args.tasks);
    bar.set_style(
        ProgressStyle::with_template("{elapsed:>4} {pos:>8}/{len} ended {per_sec:>12} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let line = bar.clone();
    tokio::spawn(async move {
        while !line.is_finished() {
            line.set_position(tally.ended());
            line.set_message(format!(
                "kills: runner {} sup {} registry {} owner {}",
                tally.runner_kills.get(),
                tally.runner_sup_kills.get(),
                tally.registry_kills.get(),
                tally.owner_kills.get()
            ));
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    });
    bar
}

/// Planned panics (a tenth of the works panic on purpose) would flood standard error.
fn quiet_planned_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied());
        if message != Some(works::PLANNED_PANIC) {
            default(info);
        }
    }));
}
