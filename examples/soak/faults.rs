//! The faults: owner actors that are killed and replaced, and the injector that kills
//! runners, the runner supervisor, the registry and owners while the soak runs.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use ractor::{Actor, ActorProcessingErr, ActorRef, ActorStatus};
use taskward::{Owner, TaskNotice, Taskward};
use tokio_util::sync::CancellationToken;

use crate::args::Rng;
use crate::tally::Tally;

/// How often each fault is injected. The rates stay well under the restart intensities the
/// runtime is built with (see `main`), so the tree never gives up.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rates {
    pub(crate) runner_kill: Duration,
    pub(crate) owner_kill: Duration,
    pub(crate) registry_kill: Duration,
    pub(crate) runner_sup_kill: Duration,
}

impl Rates {
    pub(crate) const DEFAULT: Rates = Rates {
        // A runner holds a whole partition of the tasks (half of them, on 2 workers): a kill
        // every 250 ms loses as many tasks as the one-runner-per-task runtime lost with a kill
        // every few milliseconds.
        runner_kill: Duration::from_millis(250),
        owner_kill: Duration::from_millis(100),
        registry_kill: Duration::from_millis(1_500),
        runner_sup_kill: Duration::from_millis(2_500),
    };
}

/// An owner actor: counts the notices it is told.
#[derive(Debug)]
struct OwnerActor;

impl Actor for OwnerActor {
    type Msg = TaskNotice;
    type State = Arc<Tally>;
    type Arguments = Arc<Tally>;

    async fn pre_start(
        &self,
        _myself: ActorRef<TaskNotice>,
        tally: Arc<Tally>,
    ) -> Result<Arc<Tally>, ActorProcessingErr> {
        Ok(tally)
    }

    async fn handle(
        &self,
        _myself: ActorRef<TaskNotice>,
        _notice: TaskNotice,
        tally: &mut Arc<Tally>,
    ) -> Result<(), ActorProcessingErr> {
        tally.notices.add();
        Ok(())
    }
}

/// A pool of owner actors; killing one replaces it, so owners keep dying mid-run.
#[derive(Debug)]
pub(crate) struct Owners {
    pool: RwLock<Vec<ActorRef<TaskNotice>>>,
    tally: Arc<Tally>,
}

impl Owners {
    pub(crate) async fn start(size: usize, tally: Arc<Tally>) -> Arc<Owners> {
        let mut pool = Vec::with_capacity(size);
        for _ in 0..size {
            pool.push(spawn_owner(&tally).await);
        }
        Arc::new(Owners {
            pool: RwLock::new(pool),
            tally,
        })
    }

    /// An owner at random.
    pub(crate) fn pick(&self, rng: &mut Rng) -> Owner {
        let pool = self.pool.read().unwrap_or_else(|e| e.into_inner());
        let actor = &pool[rng.below(pool.len() as u64) as usize];
        Owner::actor(actor, |notice| notice)
    }

    /// Kills an owner at random and puts a fresh one in its place.
    async fn kill_one(&self, rng: &mut Rng) {
        let fresh = spawn_owner(&self.tally).await;
        let old = {
            let mut pool = self.pool.write().unwrap_or_else(|e| e.into_inner());
            let i = rng.below(pool.len() as u64) as usize;
            std::mem::replace(&mut pool[i], fresh)
        };
        old.kill();
        self.tally.owner_kills.add();
    }

    /// Stops every owner (at the end of the run).
    pub(crate) fn stop_all(&self) {
        for owner in self.pool.read().unwrap_or_else(|e| e.into_inner()).iter() {
            owner.stop(None);
        }
    }
}

async fn spawn_owner(tally: &Arc<Tally>) -> ActorRef<TaskNotice> {
    let (actor, _join) = Actor::spawn(None, OwnerActor, tally.clone())
        .await
        .expect("an owner actor starts");
    actor
}

/// Injects faults until `stop` fires.
pub(crate) async fn inject(
    ward: Taskward,
    owners: Arc<Owners>,
    tally: Arc<Tally>,
    rates: Rates,
    seed: u64,
    stop: CancellationToken,
) {
    let mut rng = Rng::new(seed);
    let mut runner = tokio::time::interval(rates.runner_kill);
    let mut owner = tokio::time::interval(rates.owner_kill);
    let mut registry = tokio::time::interval(rates.registry_kill);
    let mut runner_sup = tokio::time::interval(rates.runner_sup_kill);
    // The first tick of an interval is immediate: let the run start first.
    for timer in [&mut runner, &mut owner, &mut registry, &mut runner_sup] {
        timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        timer.reset();
    }
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = runner.tick() => {
                let runners = ward.runner_cells();
                if runners.is_empty() {
                    continue;
                }
                let cell = &runners[rng.below(runners.len() as u64) as usize];
                if cell.get_status() == ActorStatus::Running {
                    cell.kill();
                    tally.runner_kills.add();
                }
            }
            _ = owner.tick() => owners.kill_one(&mut rng).await,
            _ = registry.tick() => {
                if let Some(cell) = ward.registry_cell()
                    && cell.get_status() == ActorStatus::Running
                {
                    cell.kill();
                    tally.registry_kills.add();
                }
            }
            _ = runner_sup.tick() => {
                if let Some(cell) = ward.runner_supervisor_cell()
                    && cell.get_status() == ActorStatus::Running
                {
                    cell.kill();
                    tally.runner_sup_kills.add();
                }
            }
        }
    }
}
