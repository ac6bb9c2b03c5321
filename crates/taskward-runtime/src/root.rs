//! The root supervisor: `one_for_one` over the registry and the runner supervisor.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use ractor::{Actor, ActorCell, ActorProcessingErr, ActorRef, SupervisionEvent};

use crate::registry::Shared;
use crate::registry::{Registry, RegistryArgs};
use crate::restart_window::RestartWindow;
use crate::runner::supervisor::{RunnerSup, RunnerSupArgs};

/// The root supervisor actor.
#[derive(Debug)]
pub(crate) struct Root;

/// The root's message type. The root only supervises; it takes no messages.
#[derive(Debug)]
pub enum RootMsg {}

#[derive(Debug)]
pub(crate) struct RootArgs {
    pub(crate) shared: Arc<Shared>,
}

#[derive(Debug)]
pub(crate) struct RootState {
    shared: Arc<Shared>,
    registry: ActorCell,
    runner_sup: ActorCell,
    restarts: RestartWindow,
}

async fn start_registry(
    shared: &Arc<Shared>,
    root: ActorCell,
) -> Result<ActorCell, ActorProcessingErr> {
    let (registry, _) = Actor::spawn_linked(
        None,
        Registry,
        RegistryArgs {
            shared: shared.clone(),
        },
        root,
    )
    .await?;
    shared.set_registry(Some(registry.clone()));
    // Reports queued while it was down may have found no one to nudge.
    shared.nudge_registry();
    Ok(registry.get_cell())
}

async fn start_runner_sup(
    shared: &Arc<Shared>,
    root: ActorCell,
) -> Result<ActorCell, ActorProcessingErr> {
    let (sup, _) = Actor::spawn_linked(
        None,
        RunnerSup,
        RunnerSupArgs {
            table: shared.table.clone(),
            runners: shared.runners.clone(),
            port: shared.port(),
        },
        root,
    )
    .await?;
    shared.runners.set_runner_sup(Some(sup.clone()));
    Ok(sup.get_cell())
}

impl Actor for Root {
    type Msg = RootMsg;
    type State = RootState;
    type Arguments = RootArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<RootMsg>,
        args: RootArgs,
    ) -> Result<RootState, ActorProcessingErr> {
        let shared = args.shared;
        let runner_sup = start_runner_sup(&shared, myself.get_cell()).await?;
        let registry = start_registry(&shared, myself.get_cell()).await?;
        Ok(RootState {
            shared,
            registry,
            runner_sup,
            restarts: RestartWindow::default(),
        })
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<RootMsg>,
        state: &mut RootState,
    ) -> Result<(), ActorProcessingErr> {
        // The runtime is gone (shut down, or stopped by its host): subscriptions end.
        state.shared.events.close();
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<RootMsg>,
        event: SupervisionEvent,
        state: &mut RootState,
    ) -> Result<(), ActorProcessingErr> {
        let (cell, why) = match event {
            SupervisionEvent::ActorTerminated(cell, _, reason) => {
                (cell, reason.unwrap_or_else(|| "stopped".into()))
            }
            SupervisionEvent::ActorFailed(cell, err) => (cell, err.to_string()),
            _ => return Ok(()),
        };
        if state.shared.is_stopping() {
            return Ok(());
        }
        let is_registry = cell.get_id() == state.registry.get_id();
        let is_runner_sup = cell.get_id() == state.runner_sup.get_id();
        if !is_registry && !is_runner_sup {
            return Ok(());
        }
        let intensity = state.shared.config.root_intensity;
        if state.restarts.record(intensity) {
            tracing::error!(%why, "root restart intensity exceeded; escalating");
            // First, so that every call waiting for a successor (woken by the change of
            // registry below) answers `Unavailable` at once.
            state.shared.give_up();
            state.shared.set_registry(None);
            state.shared.runners.set_runner_sup(None);
            // Stop the registry for good, then act as its heir: the tree is giving up, so no
            // task may stay live in it.
            let _ = state
                .registry
                .kill_and_wait(Some(std::time::Duration::from_secs(1)))
                .await;
            crate::registry::interrupt_all(
                &state.shared,
                "the runtime's supervision tree exceeded its restart intensity",
            );
            state.shared.events.close();
            return Err(format!(
                "restart intensity exceeded: more than {} restarts within {} ms (last: {why})",
                intensity.max_restarts,
                intensity.within.as_millis()
            )
            .into());
        }
        if is_registry {
            tracing::warn!(%why, "registry exited; restarting it with the table intact");
            state.shared.set_registry(None);
            // Counted before the successor starts, so that whatever it does (the effects it
            // runs, the reports it applies) comes after the count.
            state
                .shared
                .counters
                .registry_restarts
                .fetch_add(1, Ordering::Relaxed);
            state.registry = start_registry(&state.shared, myself.get_cell()).await?;
        } else {
            tracing::warn!(%why, "runner supervisor exited; restarting it");
            state.shared.runners.set_runner_sup(None);
            state
                .shared
                .counters
                .runner_sup_restarts
                .fetch_add(1, Ordering::Relaxed);
            state.runner_sup = start_runner_sup(&state.shared, myself.get_cell()).await?;
        }
        Ok(())
    }
}
