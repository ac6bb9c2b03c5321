//! The runner supervisor: `simple_one_for_one` over runners.
//!
//! Every runner is linked under it, so it sees each runner's exit. A runner that exits without
//! reporting (killed, crashed) is reported to the registry as lost, which fails its task or
//! retries it under a transient policy. Retries wait out their backoff here, then start the
//! next attempt's runner. Runner crashes count against a restart intensity; past it, the
//! supervisor fails and the root supervisor decides (OTP escalation).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::restart_window::RestartWindow;
use ractor::{Actor, ActorCell, ActorProcessingErr, ActorRef, ActorStatus, SupervisionEvent};
use taskward_core::{Failure, FailureCause};

use crate::control::Control;
use crate::runner::{FINISHED, Runner, RunnerArgs};
use crate::shared::{Report, Shared};

/// The runner supervisor actor.
#[derive(Debug)]
pub(crate) struct RunnerSup;

#[derive(Debug)]
pub(crate) struct RunnerSupArgs {
    pub(crate) shared: Arc<Shared>,
}

#[derive(Debug)]
pub(crate) struct RunnerSupState {
    shared: Arc<Shared>,
    crashes: RestartWindow,
}

/// What the runner supervisor is told.
#[derive(Debug)]
pub(crate) enum RunnerSupMsg {
    /// Start attempt `attempt` after `delay`.
    Restart {
        control: Arc<Control>,
        attempt: u32,
        delay: Duration,
    },
    /// The backoff is over: start the attempt now.
    Respawn { control: Arc<Control>, attempt: u32 },
}

/// Starts the runner of one attempt, linked under the runner supervisor. Returns once the
/// runner has acknowledged its start (its `pre_start` ran: the work is spawned, the deadline
/// armed).
pub(crate) async fn start_runner(
    shared: &Arc<Shared>,
    supervisor: ActorCell,
    control: Arc<Control>,
    attempt: u32,
) -> Result<(), ractor::SpawnErr> {
    Actor::spawn_linked(
        None,
        Runner,
        RunnerArgs {
            shared: shared.clone(),
            control,
            attempt,
            supervisor: supervisor.get_id(),
        },
        supervisor,
    )
    .await
    .map(|_| ())
}

impl Actor for RunnerSup {
    type Msg = RunnerSupMsg;
    type State = RunnerSupState;
    type Arguments = RunnerSupArgs;

    async fn pre_start(
        &self,
        _myself: ActorRef<RunnerSupMsg>,
        args: RunnerSupArgs,
    ) -> Result<RunnerSupState, ActorProcessingErr> {
        Ok(RunnerSupState {
            shared: args.shared,
            crashes: RestartWindow::default(),
        })
    }

    async fn post_start(
        &self,
        myself: ActorRef<RunnerSupMsg>,
        state: &mut RunnerSupState,
    ) -> Result<(), ActorProcessingErr> {
        // Runners of a predecessor are killed with it: their tasks were interrupted. Wait for
        // the kills to land, so that no task is failed while its work could still run.
        let me = myself.get_id();
        let orphans: Vec<_> = {
            let mut runners = state
                .shared
                .runners
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            let ids: Vec<_> = runners
                .iter()
                .filter(|(_, e)| e.supervisor != me)
                .map(|(id, _)| *id)
                .collect();
            ids.into_iter()
                .filter_map(|id| runners.remove(&id))
                .collect()
        };
        for orphan in &orphans {
            if orphan.cell.get_status() != ActorStatus::Stopped {
                orphan.cell.kill();
                let _ = orphan.cell.wait(Some(Duration::from_secs(1))).await;
            }
        }
        for orphan in orphans {
            state.shared.report(Report::RunnerExited {
                id: orphan.task,
                attempt: orphan.attempt,
                failure: Failure::new(
                    FailureCause::Interrupted,
                    "the runner supervisor restarted and the runner with it",
                ),
            });
        }
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<RunnerSupMsg>,
        message: RunnerSupMsg,
        state: &mut RunnerSupState,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            RunnerSupMsg::Restart {
                control,
                attempt,
                delay,
            } => {
                myself.send_after(delay, move || RunnerSupMsg::Respawn { control, attempt });
            }
            RunnerSupMsg::Respawn { control, attempt } => {
                if control.is_terminal()
                    || control.attempt() != attempt
                    || state.shared.is_stopping()
                {
                    return Ok(());
                }
                if let Err(e) =
                    start_runner(&state.shared, myself.get_cell(), control.clone(), attempt).await
                {
                    state.shared.report(Report::RunnerExited {
                        id: control.id,
                        attempt,
                        failure: Failure::new(FailureCause::StartFailed, e.to_string()),
                    });
                }
            }
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        _myself: ActorRef<RunnerSupMsg>,
        event: SupervisionEvent,
        state: &mut RunnerSupState,
    ) -> Result<(), ActorProcessingErr> {
        let (cell, failure, crashed) = match event {
            SupervisionEvent::ActorTerminated(cell, _, reason) => {
                if reason.as_deref() == Some(FINISHED) {
                    // Its last report is queued; the sweep checks that it was applied.
                    if let Some(entry) = state.forget(&cell) {
                        state.shared.runner_finished(entry.task, entry.attempt);
                    }
                    return Ok(());
                }
                let why = reason.unwrap_or_else(|| "stopped".to_owned());
                (
                    cell,
                    format!("the runner exited without reporting ({why})"),
                    false,
                )
            }
            SupervisionEvent::ActorFailed(cell, err) => {
                (cell, format!("the runner crashed: {err}"), true)
            }
            _ => return Ok(()),
        };
        let Some(entry) = state.forget(&cell) else {
            return Ok(());
        };
        state.shared.report(Report::RunnerExited {
            id: entry.task,
            attempt: entry.attempt,
            failure: Failure::new(FailureCause::RunnerLost, failure),
        });
        if crashed || !state.shared.is_stopping() {
            state
                .shared
                .counters
                .runner_failures
                .fetch_add(1, Ordering::Relaxed);
            let intensity = state.shared.config.runner_intensity;
            if state.crashes.record(intensity) {
                return Err(format!(
                    "runner restart intensity exceeded: more than {} runner crashes within {} ms",
                    intensity.max_restarts,
                    intensity.within.as_millis()
                )
                .into());
            }
        }
        Ok(())
    }
}

impl RunnerSupState {
    fn forget(&mut self, cell: &ActorCell) -> Option<crate::shared::RunnerEntry> {
        self.shared
            .runners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&cell.get_id())
    }
}
