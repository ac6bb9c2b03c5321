//! The runner supervisor: starts one runner per partition and restarts one that dies.
//!
//! Every runner is linked under it, so it sees each runner's exit. A runner that exits (killed,
//! crashed) takes its works with it: the supervisor starts a new runner for that partition
//! first, then fails each task the dead one held, with cause `runner_lost` (the registry
//! retries it under a transient policy, on the new runner). Runner crashes count against a
//! restart intensity; past it, the supervisor fails and the root supervisor decides (OTP
//! escalation).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use ractor::{
    Actor, ActorCell, ActorId, ActorProcessingErr, ActorRef, ActorStatus, SupervisionEvent,
};
use taskward_core::{Failure, FailureCause};

use super::state::RunnerState;
use super::{Post, Runner, RunnerArgs, Runners};
use crate::report::{Report, ReportPort};
use crate::restart_window::RestartWindow;
use crate::table::Table;

/// The runner supervisor actor.
#[derive(Debug)]
pub(crate) struct RunnerSup;

#[derive(Debug, Clone)]
pub(crate) struct RunnerSupArgs {
    pub(crate) table: Arc<Table>,
    pub(crate) runners: Arc<Runners>,
    pub(crate) port: ReportPort,
}

#[derive(Debug)]
pub(crate) struct RunnerSupState {
    ctx: RunnerSupArgs,
    crashes: RestartWindow,
}

/// What the runner supervisor is told.
#[derive(Debug)]
pub(crate) enum RunnerSupMsg {
    /// The sweep found this runner stopped and not replaced (its exit never reached the
    /// supervisor, say because it was unlinked): start a new runner for its partition. The
    /// sweep has failed its tasks.
    Replace(ActorId),
}

/// Starts the runner of partition `index`, linked under `supervisor`, and puts it in place.
async fn start_partition(
    ctx: &RunnerSupArgs,
    supervisor: ActorCell,
    index: usize,
) -> Result<(), ractor::SpawnErr> {
    let args = RunnerArgs {
        table: ctx.table.clone(),
        runners: ctx.runners.clone(),
        port: ctx.port.clone(),
        index,
    };
    let post = Post::new(|me| RunnerState::new(args, me));
    if let Err(e) = Actor::spawn_linked(None, Runner, post.clone(), supervisor).await {
        post.close();
        return Err(e);
    }
    ctx.runners.partitions.set(index, Some(post));
    Ok(())
}

/// Fails (or has the registry retry) every task a stopped runner held: those of `dead`, and
/// any other whose runner is stopped (one of an earlier generation whose exit was handled only
/// in part, say because its supervisor was killed meanwhile).
pub(crate) fn fail_held(ctx: &RunnerSupArgs, dead: &[ActorId], cause: FailureCause, why: &str) {
    for control in ctx.table.controls_snapshot() {
        let Some(holder) = control.holder() else {
            continue;
        };
        if !dead.contains(&holder.get_id()) && holder.get_status() != ActorStatus::Stopped {
            continue;
        }
        control.detach();
        ctx.port.report(Report::RunnerExited {
            id: control.id,
            attempt: control.attempt(),
            failure: Failure::new(cause, why),
        });
    }
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
            ctx: args,
            crashes: RestartWindow::default(),
        })
    }

    async fn post_start(
        &self,
        myself: ActorRef<RunnerSupMsg>,
        state: &mut RunnerSupState,
    ) -> Result<(), ActorProcessingErr> {
        let ctx = &state.ctx;
        // Runners of a predecessor are killed with it: their tasks were interrupted. Wait for
        // the kills to land, so that no task is failed while its work could still run.
        let orphans = ctx.runners.partitions.runners();
        for orphan in &orphans {
            if let Some(cell) = orphan.cell()
                && cell.get_status() != ActorStatus::Stopped
            {
                cell.kill();
                let _ = cell.wait(Some(Duration::from_secs(1))).await;
            }
            orphan.close();
        }
        for index in 0..ctx.runners.partitions.len() {
            start_partition(ctx, myself.get_cell(), index).await?;
        }
        let dead: Vec<ActorId> = orphans.iter().filter_map(|r| r.actor_id()).collect();
        fail_held(
            ctx,
            &dead,
            FailureCause::Interrupted,
            "the runner supervisor restarted and the runner with it",
        );
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<RunnerSupMsg>,
        message: RunnerSupMsg,
        state: &mut RunnerSupState,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            RunnerSupMsg::Replace(dead) => {
                let ctx = &state.ctx;
                let Some(index) = ctx.runners.partitions.index_of_runner(dead) else {
                    return Ok(());
                };
                let Some(runner) = ctx.runners.partitions.runner(index) else {
                    return Ok(());
                };
                if !runner.is_stopped() {
                    return Ok(());
                }
                runner.close();
                if !ctx.table.is_stopping() {
                    tracing::warn!(partition = index, "a runner died unseen; replacing it");
                    start_partition(ctx, myself.get_cell(), index).await?;
                }
            }
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<RunnerSupMsg>,
        event: SupervisionEvent,
        state: &mut RunnerSupState,
    ) -> Result<(), ActorProcessingErr> {
        let (cell, why) = match event {
            SupervisionEvent::ActorTerminated(cell, _, reason) => {
                let why = reason.unwrap_or_else(|| "stopped".to_owned());
                (cell, format!("the runner exited ({why})"))
            }
            SupervisionEvent::ActorFailed(cell, err) => {
                (cell, format!("the runner crashed: {err}"))
            }
            _ => return Ok(()),
        };
        let ctx = state.ctx.clone();
        let Some(index) = ctx.runners.partitions.index_of_runner(cell.get_id()) else {
            return Ok(());
        };
        let dead = [cell.get_id()];
        // Its works stop with it (a killed runner never ran its `post_stop`).
        if let Some(post) = ctx.runners.partitions.runner(index) {
            post.close();
        }
        if ctx.table.is_stopping() {
            ctx.runners.partitions.set(index, None);
            fail_held(&ctx, &dead, FailureCause::RunnerLost, &why);
            return Ok(());
        }
        ctx.table
            .counters
            .runner_failures
            .fetch_add(1, Ordering::Relaxed);
        let intensity = ctx.table.config.runner_intensity;
        if state.crashes.record(intensity) {
            return Err(format!(
                "runner restart intensity exceeded: more than {} runner crashes within {} ms",
                intensity.max_restarts,
                intensity.within.as_millis()
            )
            .into());
        }
        tracing::warn!(partition = index, %why, "runner exited; restarting its partition");
        // The new runner first, so that retries of the dead one's tasks find it.
        let restarted = start_partition(&ctx, myself.get_cell(), index).await;
        fail_held(&ctx, &dead, FailureCause::RunnerLost, &why);
        restarted?;
        Ok(())
    }
}
