//! The registry's status, as the desk counts it.

use std::sync::atomic::Ordering;

use taskward_core::{Phase, Status};

use super::Desk;
use crate::registry::{Limits, RegistryStatus};

impl Desk<'_> {
    pub(in crate::registry) fn status(&mut self) -> RegistryStatus {
        let config = &self.shared.config;
        let counters = &self.shared.counters;
        RegistryStatus {
            tasks: self.shared.store.len(),
            live: self.book.live_total,
            by_status: Status::ALL
                .iter()
                .map(|s| (*s, self.book.status_count(*s)))
                .collect(),
            by_phase: Phase::ALL
                .iter()
                .map(|p| (*p, self.book.phase_count(*p)))
                .collect(),
            live_runners: self.shared.live_runner_count(),
            controls: self.shared.control_count(),
            uptime: self.shared.started_at.elapsed(),
            accepting: !self.book.closed,
            limits: Limits {
                max_live_tasks: config.max_live_tasks,
                max_live_per_scope: config.max_live_per_scope,
                max_ttl: config.max_ttl,
                max_result_bytes: config.max_result_bytes,
                max_running: config.max_running,
                max_running_named: {
                    let mut named: Vec<_> = config
                        .max_running_named
                        .iter()
                        .map(|(name, max)| (name.clone(), *max))
                        .collect();
                    named.sort();
                    named
                },
            },
            running_slots: self.book.queue.running(),
            queued: self.book.queue.len(),
            awaiting_dependencies: self.book.dependencies.len(),
            late_results: counters.late_results.load(Ordering::Relaxed),
            duplicate_terminals: counters.duplicate_terminals.load(Ordering::Relaxed),
            retries: counters.retries.load(Ordering::Relaxed),
            registry_restarts: counters.registry_restarts.load(Ordering::Relaxed),
            runner_supervisor_restarts: counters.runner_sup_restarts.load(Ordering::Relaxed),
            runner_failures: counters.runner_failures.load(Ordering::Relaxed),
            callback_panics: counters.callback_panics.load(Ordering::Relaxed),
            transition_failures: counters.transition_failures.load(Ordering::Relaxed),
            store_errors: counters.store_errors.load(Ordering::Relaxed),
            subscribers: self.shared.events.subscribers(),
            retained: self.book.retained.totals(),
        }
    }
}
