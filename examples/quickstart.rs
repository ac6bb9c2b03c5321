//! Quickstart: submit a few tasks, watch their progress live, and see every way a task ends.
//!
//! Four tasks run side by side, each with its own progress bar (indicatif's `MultiProgress`),
//! and the bars are driven by the runtime's event stream (`Taskward::subscribe`):
//!
//! - `fetch-dataset` runs to its end and **completes** with a value;
//! - `build-index` is **cancelled** by the client part-way (`Taskward::cancel`);
//! - `crawl-site` has a 1.5 s timeout (`TaskSpec::timeout`) and **times out**;
//! - `parse-logs` **panics**; the runtime catches the panic and fails the task.
//!
//! At the end each outcome is printed with `println!`, so the summary shows even when the
//! output is not a terminal (indicatif then hides the bars). It takes about two seconds.
//!
//! Run it with:
//!
//! ```text
//! cargo run --example quickstart
//! ```

use std::collections::HashMap;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde_json::{Value, json};
use taskward::{
    Event, EventFilter, EventKind, FailureCause, Outcome, Phase, Subscription, TaskContext,
    TaskError, TaskId, TaskSpec, Taskward,
};

/// The tasks, in the order their bars are shown, with the outcome each is meant to reach.
const TASKS: [(&str, &str); 4] = [
    ("fetch-dataset", "completed"),
    ("build-index", "cancelled"),
    ("crawl-site", "timed out"),
    ("parse-logs", "panicked"),
];

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let ward = Taskward::builder().spawn().await?;

    let multi = MultiProgress::new();
    route_panic_messages_through(multi.clone());
    let style = ProgressStyle::with_template(
        "{prefix:>14} [{bar:30.cyan/blue}] {pos:>3}/{len:3} {wide_msg}",
    )?
    .progress_chars("=> ");
    let bars: HashMap<String, ProgressBar> = TASKS
        .iter()
        .map(|(name, _)| {
            let bar = multi.add(
                ProgressBar::new(100)
                    .with_style(style.clone())
                    .with_prefix(*name),
            );
            (name.to_string(), bar)
        })
        .collect();

    // Subscribe before submitting, so that the stream starts with each task's `created` event.
    let events = ward.subscribe(EventFilter::all());
    let watcher = tokio::spawn(drive_bars(events, bars.clone()));

    // Runs to its end: 40 steps of 50 ms.
    let fetch = ward
        .submit(TaskSpec::new("fetch-dataset"), |ctx: TaskContext| {
            steps(ctx, 40, Duration::from_millis(50), "downloading")
        })
        .await?;
    // Would take 4 s; cancelled after 1 s.
    let index = ward
        .submit(
            TaskSpec::new("build-index").cancel_grace(Duration::from_millis(500)),
            |ctx: TaskContext| steps(ctx, 100, Duration::from_millis(40), "indexing"),
        )
        .await?;
    // Would take 5 s; its deadline is 1.5 s.
    let crawl = ward
        .submit(
            TaskSpec::new("crawl-site")
                .timeout(Duration::from_millis(1500))
                .cancel_grace(Duration::from_millis(500)),
            |ctx: TaskContext| steps(ctx, 100, Duration::from_millis(50), "crawling"),
        )
        .await?;
    // Panics at the 18th record.
    let parse = ward.submit(TaskSpec::new("parse-logs"), parse_logs).await?;

    tokio::time::sleep(Duration::from_secs(1)).await;
    // The task is `cancelled` when the call returns; the work's token fires at the same time.
    let record = index.cancel(Some("user pressed stop".into())).await?;
    multi.suspend(|| {
        println!(
            "cancel returned: build-index is now {} at {}",
            record.status,
            record
                .progress
                .as_ref()
                .map_or_else(|| "no progress".to_owned(), ToString::to_string)
        );
    });

    let outcomes = [
        ("fetch-dataset", fetch.wait().await?),
        ("build-index", index.wait().await?),
        ("crawl-site", crawl.wait().await?),
        ("parse-logs", parse.wait().await?),
    ];

    // The terminal events follow the outcomes closely; give the watcher a moment to draw them,
    // then close any bar whose event it did not see.
    let _ = tokio::time::timeout(Duration::from_secs(2), watcher).await;
    for (name, outcome) in &outcomes {
        if let Some(bar) = bars.get(*name)
            && !bar.is_finished()
        {
            bar.abandon_with_message(outcome.to_string());
        }
    }

    println!();
    println!("outcomes:");
    let mut unexpected = 0;
    for ((name, outcome), (_, expected)) in outcomes.iter().zip(TASKS) {
        let kind = kind_of(outcome);
        println!("  {name:<14} {kind:<10} {outcome}");
        if kind != expected {
            println!("  {name:<14} expected {expected}!");
            unexpected += 1;
        }
    }

    let report = ward.shutdown(Duration::from_secs(2)).await?;
    println!(
        "shut down: {} runner(s) still running, {} aborted",
        report.runners, report.aborted
    );
    if unexpected > 0 {
        return Err(format!("{unexpected} task(s) did not end as expected").into());
    }
    Ok(())
}

/// Work that reports progress at each of `total` steps and stops as soon as it is cancelled
/// (by a client or by its timeout).
async fn steps(
    ctx: TaskContext,
    total: u64,
    step: Duration,
    what: &'static str,
) -> Result<Value, TaskError> {
    for done in 0..total {
        ctx.progress(done, Some(total), what);
        tokio::select! {
            () = ctx.cancelled() => return Err(TaskError::cancelled()),
            () = tokio::time::sleep(step) => {}
        }
    }
    ctx.progress(total, Some(total), "done");
    Ok(json!({ "task": ctx.name(), "units": total }))
}

/// Work with a bug: it panics part-way.
async fn parse_logs(ctx: TaskContext) -> Result<Value, TaskError> {
    let total = 60;
    for line in 0..total {
        ctx.progress(line, Some(total), "parsing");
        if line == 17 {
            panic!("malformed record at line {line}");
        }
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    Ok(json!({ "lines": total }))
}

/// Moves the bars along as events arrive, until every task has ended.
async fn drive_bars(mut events: Subscription, bars: HashMap<String, ProgressBar>) {
    // Progress events carry the task id; `created` events tie ids to names.
    let mut names: HashMap<TaskId, String> = HashMap::new();
    let mut open = bars.len();
    while open > 0 {
        let Some(event) = events.recv().await else {
            break;
        };
        let Event::Task(event) = event else {
            // `Lagged(n)`: progress is latest-wins, so the next event catches the bar up.
            continue;
        };
        if let EventKind::Created { name } = &event.kind {
            names.insert(event.task_id, name.clone());
            continue;
        }
        let Some(bar) = names.get(&event.task_id).and_then(|n| bars.get(n)) else {
            continue;
        };
        match event.kind {
            EventKind::Progress(progress) => {
                if let Some(total) = progress.total {
                    bar.set_length(total);
                }
                bar.set_position(progress.done);
                if let Some(message) = progress.message {
                    bar.set_message(message.to_string());
                }
            }
            EventKind::StatusChanged {
                phase: Some(Phase::Cancelling),
                ..
            } => bar.set_message("deadline passed, cancelling"),
            EventKind::Completed => {
                bar.finish_with_message("completed");
                open -= 1;
            }
            EventKind::Failed(failure) => {
                bar.abandon_with_message(format!("failed: {failure}"));
                open -= 1;
            }
            EventKind::Cancelled(cancellation) => {
                bar.abandon_with_message(format!("cancelled {cancellation}"));
                open -= 1;
            }
            _ => {}
        }
    }
}

/// The four ways this example's tasks end.
fn kind_of(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Completed { .. } => "completed",
        Outcome::Cancelled(_) => "cancelled",
        Outcome::Failed(f) if f.cause == FailureCause::TimedOut => "timed out",
        Outcome::Failed(f) if f.cause == FailureCause::Panicked => "panicked",
        Outcome::Failed(_) => "failed",
        _ => "other",
    }
}

/// The work's panic is caught by the runtime, but the default hook still prints it to stderr
/// over the bars; print it between redraws instead.
fn route_panic_messages_through(multi: MultiProgress) {
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("(non-string payload)");
        let location = info
            .location()
            .map_or_else(String::new, |l| format!(" at {}:{}", l.file(), l.line()));
        multi.suspend(|| eprintln!("panic{location}: {message}"));
    }));
}
