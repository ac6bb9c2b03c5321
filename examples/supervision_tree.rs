//! A custom supervision tree: the runtime spawned under a host's own supervisor actor.
//!
//! The host (a ractor actor written here) starts taskward under itself with
//! `Taskward::builder().spawn_linked(host_cell)`, submits some tasks, and inspects the runtime
//! the OTP way while the work runs:
//!
//! - the actor tree, walked from the host with `ActorCell::get_children` and `get_status`;
//! - the registry's status (`Taskward::status`: counts by status and phase, live runners,
//!   restarts) and each task's runner status (`Taskward::runner_status`: phase, elapsed,
//!   progress, deadline).
//!
//! Then it kills the registry actor (`ward.registry_cell().unwrap().kill()`): the root
//! supervisor restarts it, the task table is intact, the running tasks carry on and their
//! results still arrive, and a new task is admitted by the successor. Finally the host shuts
//! the runtime down (the task still running then is cancelled by shutdown), is told by a
//! supervision event that the runtime's root exited, and stops.
//!
//! Run it with:
//!
//! ```text
//! cargo run --example supervision_tree
//! ```
//!
//! Set `RUST_LOG` (default `taskward_runtime=warn`) to see more of the runtime's logs.

use std::io::IsTerminal;
use std::time::Duration;

use ractor::{
    Actor, ActorCell, ActorProcessingErr, ActorRef, RpcReplyPort, SupervisionEvent, call,
};
use serde_json::{Value, json};
use taskward::{
    CancelledBy, Outcome, Phase, Scope, ShutdownReport, Status, TaskContext, TaskError, TaskHandle,
    TaskSpec, Taskward,
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "taskward_runtime=warn".into()),
        )
        .without_time()
        .with_ansi(std::io::stdout().is_terminal())
        .with_target(false)
        .init();

    let (host, host_join) = Actor::spawn(Some("host".into()), Host, ()).await?;

    call!(host, HostMsg::Submit)?;
    // Let the work get going before looking at it.
    tokio::time::sleep(Duration::from_millis(400)).await;
    call!(host, HostMsg::Inspect)?;
    call!(host, HostMsg::KillRegistry)?;
    call!(host, HostMsg::Inspect)?;
    let outcomes = call!(host, HostMsg::AwaitAll)?;
    let (report, late) = call!(host, HostMsg::Shutdown)?;
    println!(
        "shutdown: {} runner(s) were still running, {} aborted",
        report.runners, report.aborted
    );
    println!("vacuum (still running at shutdown) -> {late}");
    // The host stops itself once it hears that the runtime's root exited.
    host_join.await?;
    println!("host stopped");

    let all_completed = outcomes
        .iter()
        .all(|(_, o)| matches!(o, Outcome::Completed { .. }));
    let cancelled_by_shutdown = late
        .cancellation()
        .is_some_and(|c| c.by == CancelledBy::Shutdown);
    if !all_completed || !cancelled_by_shutdown {
        return Err("a task did not end as expected".into());
    }
    Ok(())
}

/// The host's supervisor actor: the runtime's root is linked under it.
struct Host;

/// What the host is asked to do.
enum HostMsg {
    /// Submit the demo tasks.
    Submit(RpcReplyPort<()>),
    /// Print the tree, the registry's status and each task's runner status.
    Inspect(RpcReplyPort<()>),
    /// Kill the registry and wait for its restart.
    KillRegistry(RpcReplyPort<()>),
    /// Wait for every task's outcome (off the host's mailbox).
    AwaitAll(RpcReplyPort<Vec<(String, Outcome)>>),
    /// Shut the runtime down; answers with the outcome of the task still running then.
    Shutdown(RpcReplyPort<(ShutdownReport, Outcome)>),
}

struct HostState {
    ward: Taskward,
    scope: Scope,
    tasks: Vec<TaskHandle>,
    /// A long task submitted after the registry restart, still running at shutdown.
    late: Option<TaskHandle>,
    shutting_down: bool,
}

impl Actor for Host {
    type Msg = HostMsg;
    type State = HostState;
    type Arguments = ();

    async fn pre_start(
        &self,
        myself: ActorRef<HostMsg>,
        (): (),
    ) -> Result<HostState, ActorProcessingErr> {
        // The runtime's root supervisor becomes a child of this actor.
        let ward = Taskward::builder()
            .max_live_tasks(1_000)
            .spawn_linked(myself.get_cell())
            .await?;
        println!("host: taskward started under the host");
        Ok(HostState {
            ward,
            scope: Scope::session("ops"),
            tasks: Vec::new(),
            late: None,
            shutting_down: false,
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<HostMsg>,
        message: HostMsg,
        state: &mut HostState,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            HostMsg::Submit(reply) => {
                for (name, steps, timeout) in [
                    ("reindex", 30, Some(Duration::from_secs(10))),
                    ("backup", 25, None),
                    ("compact", 20, Some(Duration::from_secs(5))),
                ] {
                    let mut spec = TaskSpec::new(name).scope(state.scope.clone());
                    if let Some(timeout) = timeout {
                        spec = spec.timeout(timeout);
                    }
                    let task = state
                        .ward
                        .submit(spec, move |ctx: TaskContext| work(ctx, steps))
                        .await?;
                    println!("host: submitted {name} ({})", task.id());
                    state.tasks.push(task);
                }
                let _ = reply.send(());
            }
            HostMsg::Inspect(reply) => {
                inspect(&myself.get_cell(), state).await?;
                let _ = reply.send(());
            }
            HostMsg::KillRegistry(reply) => {
                kill_registry(state).await?;
                let _ = reply.send(());
            }
            HostMsg::AwaitAll(reply) => {
                // Waiting happens in its own task: the host's mailbox stays free for
                // supervision events meanwhile.
                let tasks = state.tasks.clone();
                tokio::spawn(async move {
                    let mut outcomes = Vec::new();
                    for task in tasks {
                        let name = task.record().name.to_string();
                        match task.wait().await {
                            Ok(outcome) => {
                                println!("host: {name} -> {outcome}");
                                outcomes.push((name, outcome));
                            }
                            Err(e) => println!("host: {name} -> error {e}"),
                        }
                    }
                    let _ = reply.send(outcomes);
                });
            }
            HostMsg::Shutdown(reply) => {
                state.shutting_down = true;
                println!("\n== shutting down ==");
                let report = state.ward.shutdown(Duration::from_secs(2)).await?;
                // Reads still work after shutdown: the table outlives the actors.
                let late = state.late.as_ref().ok_or("no late task")?;
                let outcome = late
                    .get()?
                    .outcome
                    .clone()
                    .ok_or("vacuum is not terminal")?;
                let _ = reply.send((report, outcome));
            }
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<HostMsg>,
        event: SupervisionEvent,
        state: &mut HostState,
    ) -> Result<(), ActorProcessingErr> {
        // ractor's default stops the host when a child exits; a supervisor decides instead.
        match event {
            SupervisionEvent::ActorTerminated(cell, _, reason) => {
                println!(
                    "host: supervision event: child {} exited ({})",
                    cell.get_id(),
                    reason.as_deref().unwrap_or("no reason")
                );
                if state.shutting_down && cell.get_id() == state.ward.root_cell().get_id() {
                    myself.stop(Some("runtime shut down".into()));
                }
            }
            SupervisionEvent::ActorFailed(cell, err) => {
                // The runtime exceeded its restart intensity and escalated: a real host
                // would build a new runtime here.
                println!(
                    "host: supervision event: child {} failed: {err}",
                    cell.get_id()
                );
                myself.stop(Some("runtime failed".into()));
            }
            _ => {}
        }
        Ok(())
    }
}

/// Demo work: `steps` steps of 100 ms with progress, stopping early when cancelled.
async fn work(ctx: TaskContext, steps: u64) -> Result<Value, TaskError> {
    for done in 0..steps {
        ctx.progress(done, Some(steps), "working");
        tokio::select! {
            () = ctx.cancelled() => return Err(TaskError::cancelled()),
            () = tokio::time::sleep(Duration::from_millis(100)) => {}
        }
    }
    Ok(json!({ "task": ctx.name(), "steps": steps }))
}

/// Prints the actor tree, the registry's status and each task's runner status.
async fn inspect(host: &ActorCell, state: &HostState) -> Result<(), ActorProcessingErr> {
    let ward = &state.ward;
    println!("\n== supervision tree ==");
    print_tree(host, ward, "", true, true);

    let status = ward.status().await?;
    let phases: Vec<String> = Phase::ALL
        .iter()
        .filter(|p| status.phase_count(**p) > 0)
        .map(|p| format!("{p}={}", status.phase_count(*p)))
        .collect();
    println!("== registry status ==");
    println!(
        "tasks {} (live {}), working {} [{}], completed {}, live runners {}, uptime {} ms",
        status.tasks,
        status.live,
        status.count(Status::Working),
        phases.join(" "),
        status.count(Status::Completed),
        status.live_runners,
        status.uptime.as_millis(),
    );
    println!(
        "accepting {}, registry restarts {}, runner supervisor restarts {}, runner failures {}",
        status.accepting,
        status.registry_restarts,
        status.runner_supervisor_restarts,
        status.runner_failures,
    );
    println!("== runner status, per task ==");
    for task in state.tasks.iter().chain(&state.late) {
        let name = &task.record().name;
        match ward.runner_status(&state.scope, task.id()).await {
            Ok(runner) => println!(
                "{name:<8} attempt {} phase {} elapsed {} ms progress {} deadline {}",
                runner.attempt,
                runner.phase,
                runner.elapsed.as_millis(),
                runner.progress,
                runner
                    .deadline_in
                    .map_or_else(|| "none".to_owned(), |d| format!("in {} ms", d.as_millis())),
            ),
            Err(e) => println!("{name:<8} {e}"),
        }
    }
    println!();
    Ok(())
}

/// Prints an actor and its children, naming the runtime's actors.
fn print_tree(cell: &ActorCell, ward: &Taskward, indent: &str, last: bool, top: bool) {
    let id = cell.get_id();
    let label = if Some(id) == ward.registry_cell().map(|c| c.get_id()) {
        "registry".to_owned()
    } else if Some(id) == ward.runner_supervisor_cell().map(|c| c.get_id()) {
        "runner supervisor".to_owned()
    } else if id == ward.root_cell().get_id() {
        "taskward root".to_owned()
    } else if let Some(name) = cell.get_name() {
        name
    } else {
        "runner".to_owned()
    };
    let branch = match (top, last) {
        (true, _) => "",
        (false, true) => "└── ",
        (false, false) => "├── ",
    };
    println!("{indent}{branch}{label} [{id}] {:?}", cell.get_status());
    let child_indent = match (top, last) {
        (true, _) => String::new(),
        (false, true) => format!("{indent}    "),
        (false, false) => format!("{indent}│   "),
    };
    let mut children = cell.get_children();
    children.sort_by_key(ActorCell::get_id);
    let n = children.len();
    for (i, child) in children.iter().enumerate() {
        print_tree(child, ward, &child_indent, i + 1 == n, false);
    }
}

/// Kills the registry actor, waits for the root supervisor to restart it, and checks that the
/// table survived.
async fn kill_registry(state: &mut HostState) -> Result<(), ActorProcessingErr> {
    let ward = &state.ward;
    let before: Vec<_> = state
        .tasks
        .iter()
        .map(|t| ward.get(&state.scope, t.id()))
        .collect::<Result<_, _>>()?;
    let registry = ward.registry_cell().ok_or("no registry")?;
    let old_id = registry.get_id();
    println!("== killing the registry [{old_id}] ==");
    registry.kill();

    // The root supervisor restarts it; poll for the successor.
    let new_id = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match ward.registry_cell() {
                Some(cell) if cell.get_id() != old_id => return cell.get_id(),
                _ => tokio::time::sleep(Duration::from_millis(5)).await,
            }
        }
    })
    .await
    .map_err(|_| "the registry was not restarted")?;
    // A command sent now goes to the successor.
    let status = ward.status().await?;
    println!(
        "registry restarted as [{new_id}]; registry restarts {}; tasks in the table {} (live {})",
        status.registry_restarts, status.tasks, status.live
    );
    for (old, task) in before.iter().zip(&state.tasks) {
        let now = ward.get(&state.scope, task.id())?;
        println!(
            "  {:<8} before: {} {}  after: {} {}",
            now.name,
            old.status,
            old.progress
                .as_ref()
                .map_or_else(String::new, ToString::to_string),
            now.status,
            now.progress
                .as_ref()
                .map_or_else(String::new, ToString::to_string),
        );
    }
    // The restarted registry admits new work too.
    let late = ward
        .submit(
            TaskSpec::new("vacuum").scope(state.scope.clone()),
            |ctx: TaskContext| work(ctx, 100),
        )
        .await?;
    println!("submitted vacuum ({}) to the new registry", late.id());
    state.late = Some(late);
    Ok(())
}
