//! One task's life as the soak drives it: submit, maybe answer its input, maybe cancel it,
//! wait for its outcome and count it once.

use std::sync::Arc;
use std::sync::mpsc::Sender;

use serde_json::json;
use taskward::{Error, Outcome, Scope, TaskId, Taskward};
use tokio::sync::OwnedSemaphorePermit;

use crate::args::Rng;
use crate::faults::Owners;
use crate::tally::Tally;
use crate::works::{self, Kind};

/// What every driver shares.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) ward: Taskward,
    pub(crate) tally: Arc<Tally>,
    pub(crate) owners: Arc<Owners>,
    pub(crate) scopes: Vec<Scope>,
    /// Each one-shot work sends once on it when it runs.
    pub(crate) once_runs: Sender<()>,
}

/// Drives one task; the permit is held until its outcome is counted.
pub(crate) async fn drive(run: Arc<Run>, seed: u64, _permit: OwnedSemaphorePermit) {
    let mut rng = Rng::new(seed);
    let kind = Kind::draw(&mut rng);
    let scope = run.scopes[rng.below(run.scopes.len() as u64) as usize].clone();
    let owner = rng.percent(20).then(|| run.owners.pick(&mut rng));
    let tally = &run.tally;
    if owner.is_some() {
        tally.owned.add();
    }
    // A key per task, so that a submit whose answer was lost can be repeated safely.
    let (spec, ttl) = works::spec(&mut rng, kind, scope.clone(), owner);
    let spec = spec.idempotency_key(format!("{seed:016x}"));
    let submit_began = std::time::Instant::now();
    tally.submits.add();
    if kind == Kind::Once {
        tally.once_tasks.add();
    }
    let mut tries = 0;
    let mut via = "submit";
    let id = loop {
        tries += 1;
        let submitted = if kind == Kind::Once {
            run.ward
                .submit_once(spec.clone(), works::once(run.once_runs.clone()))
                .await
        } else {
            run.ward
                .submit(spec.clone(), move |ctx| works::run(kind, ctx))
                .await
        };
        match submitted {
            Ok(handle) => {
                if tries > 1 {
                    // Repeated after `Unavailable`: deduplicated means the lost call had
                    // created the task after all.
                    tally.incident(format!(
                        "unavailable, repeated: {}",
                        if handle.is_deduplicated() {
                            "had been created"
                        } else {
                            "had not been created"
                        }
                    ));
                }
                break handle.id();
            }
            // The task exists, failed with cause start_failed: its outcome is read as any other.
            Err(Error::RunnerStart { id, .. }) => {
                via = "runner_start error";
                break id;
            }
            Err(Error::Unavailable(_)) if tries < 3 => {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            Err(e) => {
                tally.incident(format!("given up: {}", refusal(&e)));
                return;
            }
        }
    };
    tally.created.add();

    let answer = matches!(kind, Kind::Input { answered: true }).then(|| rng.millis(1, 20));
    let cancel = rng.percent(8).then(|| rng.millis(0, 40));
    let act = async {
        if let Some(after) = answer {
            tokio::time::sleep(after).await;
            answer_input(&run, &scope, id).await;
        }
        if let Some(after) = cancel {
            tokio::time::sleep(after).await;
            tally.cancels_sent.add();
            if run
                .ward
                .cancel(&scope, id, Some("soak".into()))
                .await
                .is_ok()
            {
                tally.cancels_applied.add();
            }
        }
    };
    let submitted_at = std::time::Instant::now();
    let ((), outcome) = tokio::join!(act, outcome(&run.ward, &scope, id));
    match outcome {
        Ok((outcome, scope)) => {
            tally.outcome(&outcome);
            // The record, while it is kept, says what the outcome says.
            if let Ok(record) = run.ward.get(&scope, id)
                && record.outcome.as_ref() != Some(&outcome)
            {
                tally.mismatched.add();
            }
        }
        // Submitting took longer than the TTL (faults, load): the task ended and was removed
        // before `wait` could look. Its outcome is read from the event audit at the end.
        Err(Error::NotFound(_)) if submit_began.elapsed() >= ttl => {
            tally
                .unseen
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(id);
        }
        Err(e) => {
            tally.lost.add();
            // Enough to tell the cause: the kind, the submit path, when (in 10 ms steps).
            tally.incident(format!(
                "outcome lost ({}, via {via}, after ~{} ms): {}",
                kind.name(),
                submitted_at.elapsed().as_millis() / 10 * 10,
                refusal(&e)
            ));
        }
    }
}

/// The outcome, from the task's scope or, for a task its dying owner transferred, from the
/// transfer scope; with the scope it was read in.
async fn outcome(ward: &Taskward, scope: &Scope, id: TaskId) -> Result<(Outcome, Scope), Error> {
    match ward.wait(scope, id).await {
        Ok(outcome) => Ok((outcome, scope.clone())),
        Err(Error::NotFound(_)) => {
            let moved = works::transfer_scope();
            let outcome = ward.wait(&moved, id).await?;
            Ok((outcome, moved))
        }
        Err(e) => Err(e),
    }
}

/// Answers the task's input request once the work has made it (it may not have yet).
async fn answer_input(run: &Run, scope: &Scope, id: TaskId) {
    for _ in 0..50 {
        match run.ward.provide_input(scope, id, "q", json!(true)).await {
            Ok(_) => {
                run.tally.inputs_answered.add();
                return;
            }
            Err(Error::UnknownInput { .. }) => {
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            }
            Err(_) => return,
        }
    }
}

/// The row a refused submit is counted in: the error's kind, without ids.
fn refusal(e: &Error) -> String {
    match e {
        Error::LimitExceeded { limit, .. } => format!("limit exceeded: {limit}"),
        Error::Unavailable(why) => format!("unavailable: {why}"),
        Error::NotFound(_) => "not found".to_owned(),
        other => other.to_string(),
    }
}
