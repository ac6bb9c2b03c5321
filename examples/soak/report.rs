//! The end of a run: the figures, as a table, and the checks, each passed or failed.

use std::time::Duration;

use taskward::{RegistryStatus, ShutdownReport};

use crate::events::Audit;
use crate::tally::Tally;

/// What was measured at the end.
#[derive(Debug)]
pub(crate) struct End<'a> {
    pub(crate) tally: &'a Tally,
    pub(crate) audit: &'a Audit,
    /// The registry's status once every driver saw its outcome and the runners were gone,
    /// before shutdown.
    pub(crate) status: &'a RegistryStatus,
    pub(crate) shutdown: Option<&'a ShutdownReport>,
    /// Non-terminal tasks in the table after shutdown.
    pub(crate) live_after_shutdown: usize,
    /// Drivers still waiting for an outcome when the drain gave up.
    pub(crate) stuck_drivers: usize,
    /// Outcomes read from the event audit: tasks removed before `wait` looked.
    pub(crate) unseen: u64,
    /// One-shot works that ran.
    pub(crate) once_runs: u64,
    pub(crate) submit_time: Duration,
    pub(crate) total_time: Duration,
}

/// Prints the figures and the checks; returns whether every check passed.
pub(crate) fn print(end: &End<'_>) -> bool {
    let t = end.tally;
    let s = end.status;
    let a = end.audit;
    println!("\n== soak figures ==");
    let rows: Vec<(&str, String)> = vec![
        ("submit calls", t.submits.get().to_string()),
        ("tasks created", t.created.get().to_string()),
        (
            "incidents",
            format!(
                "{:?}",
                t.incidents.lock().unwrap_or_else(|e| e.into_inner())
            ),
        ),
        ("completed", t.completed.get().to_string()),
        ("failed", t.failed.get().to_string()),
        (
            "cancelled (client, owner, parent, shutdown)",
            t.cancelled.get().to_string(),
        ),
        (
            "expired (cancelled by expiry while live)",
            t.expired.get().to_string(),
        ),
        (
            "  by detail",
            format!("{:?}", t.detail.lock().unwrap_or_else(|e| e.into_inner())),
        ),
        (
            "  of which read from events (removed before wait looked)",
            end.unseen.to_string(),
        ),
        ("outcome unreadable (lost)", t.lost.get().to_string()),
        (
            "record disagrees with outcome",
            t.mismatched.get().to_string(),
        ),
        (
            "client cancels sent / applied",
            format!("{} / {}", t.cancels_sent.get(), t.cancels_applied.get()),
        ),
        ("inputs answered", t.inputs_answered.get().to_string()),
        (
            "owned tasks / owner notices",
            format!("{} / {}", t.owned.get(), t.notices.get()),
        ),
        (
            "one-shot tasks / runs",
            format!("{} / {}", t.once_tasks.get(), end.once_runs),
        ),
        ("injected: runner kills", t.runner_kills.get().to_string()),
        (
            "injected: runner supervisor kills",
            t.runner_sup_kills.get().to_string(),
        ),
        (
            "injected: registry kills",
            t.registry_kills.get().to_string(),
        ),
        ("injected: owner kills", t.owner_kills.get().to_string()),
        (
            "registry: restarts (registry / runner supervisor)",
            format!("{} / {}", s.registry_restarts, s.runner_supervisor_restarts),
        ),
        ("registry: runner failures", s.runner_failures.to_string()),
        ("registry: retries", s.retries.to_string()),
        ("registry: late results", s.late_results.to_string()),
        (
            "registry: duplicate terminals",
            s.duplicate_terminals.to_string(),
        ),
        (
            "registry: non-terminal tasks (before shutdown)",
            s.live.to_string(),
        ),
        (
            "registry: live runners (before shutdown)",
            s.live_runners.to_string(),
        ),
        (
            "registry: controls left (before shutdown)",
            s.controls.to_string(),
        ),
        (
            "non-terminal tasks after shutdown",
            end.live_after_shutdown.to_string(),
        ),
        ("drivers stuck waiting", end.stuck_drivers.to_string()),
        ("shutdown report", format!("{:?}", end.shutdown)),
        (
            "events: terminal (c/f/x/e)",
            format!(
                "{} / {} / {} / {}",
                a.completed, a.failed, a.cancelled, a.expired
            ),
        ),
        (
            "events: late results / removed by ttl / lagged",
            format!("{} / {} / {}", a.late, a.removed, a.lagged),
        ),
        (
            "events: tasks with two terminal events",
            a.duplicates.to_string(),
        ),
        (
            "submitting took / whole run took",
            format!(
                "{:.1} s / {:.1} s",
                end.submit_time.as_secs_f64(),
                end.total_time.as_secs_f64()
            ),
        ),
    ];
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (k, v) in &rows {
        println!("{k:<width$}  {v}");
    }

    println!("\n== soak checks ==");
    let mut ok = true;
    let mut check = |name: &str, passed: bool, detail: String| {
        println!("[{}] {name}: {detail}", if passed { "ok" } else { "FAIL" });
        ok &= passed;
    };
    check(
        "0 tasks non-terminal",
        s.live == 0 && end.live_after_shutdown == 0 && end.stuck_drivers == 0,
        format!(
            "{} before shutdown, {} after, {} drivers stuck",
            s.live, end.live_after_shutdown, end.stuck_drivers
        ),
    );
    check(
        "0 live runners",
        s.live_runners == 0,
        s.live_runners.to_string(),
    );
    check("0 controls left", s.controls == 0, s.controls.to_string());
    let ended = t.ended();
    check(
        "every task accounted for exactly once",
        ended == t.created.get() && t.lost.get() == 0 && t.submits.get() == t.created.get(),
        format!(
            "completed {} + failed {} + cancelled {} + expired {} = {} vs created {} (submit calls {}, lost {})",
            t.completed.get(),
            t.failed.get(),
            t.cancelled.get(),
            t.expired.get(),
            ended,
            t.created.get(),
            t.submits.get(),
            t.lost.get()
        ),
    );
    let hidden = t.incidents_of("unavailable, repeated: had been created");
    check(
        "no submit answered an error for a task it had created",
        hidden == 0,
        format!(
            "{hidden} submits answered `Unavailable` though their task was created (found by \
             repeating them with their idempotency key)"
        ),
    );
    check(
        "records agree with outcomes",
        t.mismatched.get() == 0,
        t.mismatched.get().to_string(),
    );
    let foreign_end = t.cancelled.get()
        + t.expired.get()
        + ["timed_out", "runner_lost", "interrupted", "start_failed"]
            .iter()
            .map(|c| t.detail(&format!("failed: {c}")))
            .sum::<u64>();
    let bound = 2 * foreign_end + t.runner_kills.get();
    check(
        "late results + duplicate terminals <= 2 x (tasks not ended by their own work) + runner kills",
        s.late_results + s.duplicate_terminals <= bound,
        format!(
            "{} + {} <= 2 x {} + {} = {}",
            s.late_results,
            s.duplicate_terminals,
            foreign_end,
            t.runner_kills.get(),
            bound
        ),
    );
    check(
        "no task has two terminal events",
        a.duplicates == 0,
        a.duplicates.to_string(),
    );
    if a.lagged == 0 {
        check(
            "terminal events match the outcomes",
            (a.completed, a.failed, a.cancelled, a.expired)
                == (
                    t.completed.get(),
                    t.failed.get(),
                    t.cancelled.get(),
                    t.expired.get(),
                ),
            format!("{} events for {} outcomes", a.terminal(), ended),
        );
    } else {
        println!(
            "[skip] terminal events match the outcomes: the audit lagged {} events",
            a.lagged
        );
    }
    check(
        "each one-shot work ran at most once",
        end.once_runs <= t.once_tasks.get(),
        format!("{} runs for {} tasks", end.once_runs, t.once_tasks.get()),
    );
    check(
        "the tree restarted every killed actor and never gave up",
        s.registry_restarts == t.registry_kills.get()
            && s.runner_supervisor_restarts == t.runner_sup_kills.get(),
        format!(
            "registry {}/{}, runner supervisor {}/{}",
            s.registry_restarts,
            t.registry_kills.get(),
            s.runner_supervisor_restarts,
            t.runner_sup_kills.get()
        ),
    );
    println!(
        "\nsoak: {}",
        if ok {
            "all checks passed"
        } else {
            "SOME CHECKS FAILED"
        }
    );
    ok
}
