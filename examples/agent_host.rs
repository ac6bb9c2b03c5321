//! An agent host: chat sessions with background tasks, and what happens to those tasks when a
//! session ends.
//!
//! Each session is a scope (`Scope::session`). Its agent starts background tasks: a subagent
//! (`TaskKind::Subagent`, producer `planner`) and a CI monitor (`TaskKind::Monitor`, producer
//! `ci-watcher`). Their owner is the host's inbox actor, which is told every outcome as a
//! `TaskNotice` in its own message type (`Owner::actor`). Then each session is closed with a
//! different policy (`Taskward::close_scope`):
//!
//! - `alice`, `ClosePolicy::Keep`: the tasks run on and complete; a reconnecting client would
//!   find them in the same scope;
//! - `bob`, `ClosePolicy::Cancel`: the tasks are cancelled (by owner) at once;
//! - `carol`, `ClosePolicy::Transfer`: the tasks move to the scope `carol-resumed` (a
//!   `transferred` event says so), the old scope no longer sees them, and they complete there.
//!
//! A fourth session, `dave`, is a conversation actor that owns its task itself with
//! `on_owner_exit(ClosePolicy::Cancel)`: when the actor stops, the task is cancelled.
//!
//! Run it with:
//!
//! ```text
//! cargo run --example agent_host
//! ```

use std::collections::HashMap;
use std::time::Duration;

use ractor::rpc::CallResult;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use serde_json::{Value, json};
use taskward::{
    CancelledBy, ClosePolicy, Error, Event, EventFilter, EventKind, Outcome, Owner, Scope,
    TaskContext, TaskError, TaskHandle, TaskId, TaskKind, TaskNotice, TaskSpec, Taskward,
};

/// One background task, as the host tracks it.
struct Background {
    session: &'static str,
    policy: &'static str,
    handle: TaskHandle,
    /// The scope the task is in now (it changes on transfer).
    scope: Scope,
    /// What the task should end as, for the check at the end.
    expect: Expect,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    Completed,
    CancelledByOwner,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let ward = Taskward::builder().max_live_per_scope(10).spawn().await?;
    let (inbox, inbox_join) = Actor::spawn(Some("inbox".into()), Inbox, ()).await?;

    // Three sessions, each closed with a different policy.
    let resumed = Scope::session("carol-resumed");
    let sessions = [
        ("alice", "keep", ClosePolicy::Keep),
        ("bob", "cancel", ClosePolicy::Cancel),
        ("carol", "transfer", ClosePolicy::Transfer(resumed.clone())),
    ];
    let mut tasks: Vec<Background> = Vec::new();
    for (session, policy, _) in &sessions {
        let scope = Scope::session(*session);
        let expect = if *policy == "cancel" {
            Expect::CancelledByOwner
        } else {
            Expect::Completed
        };
        let research = ward
            .submit(
                TaskSpec::new("research")
                    .scope(scope.clone())
                    .kind(TaskKind::Subagent)
                    .producer("planner")
                    .owner(Owner::actor(&inbox, InboxMsg::Notice)),
                |ctx: TaskContext| background(ctx, 20, "reading sources"),
            )
            .await?;
        let monitor = ward
            .submit(
                TaskSpec::new("watch-ci")
                    .scope(scope.clone())
                    .kind(TaskKind::Monitor)
                    .producer("ci-watcher")
                    .owner(Owner::actor(&inbox, InboxMsg::Notice)),
                |ctx: TaskContext| background(ctx, 15, "polling CI"),
            )
            .await?;
        for handle in [research, monitor] {
            inbox.cast(InboxMsg::Label(
                handle.id(),
                format!("{session}/{}", handle.record().name),
            ))?;
            tasks.push(Background {
                session,
                policy,
                handle,
                scope: scope.clone(),
                expect,
            });
        }
    }

    // The fourth session is an actor that owns its task: its exit applies the close policy.
    let (dave, dave_join) = Actor::spawn(Some("dave".into()), Conversation, ()).await?;
    let dave_task = ward
        .submit(
            TaskSpec::new("watch-deploy")
                .scope(Scope::session("dave"))
                .kind(TaskKind::Monitor)
                .producer("deploy-watcher")
                .owner(Owner::actor(&dave, ConversationMsg::Notice))
                .on_owner_exit(ClosePolicy::Cancel),
            |ctx: TaskContext| background(ctx, 100, "watching the rollout"),
        )
        .await?;
    tasks.push(Background {
        session: "dave",
        policy: "owner exit: cancel",
        handle: dave_task,
        scope: Scope::session("dave"),
        expect: Expect::CancelledByOwner,
    });

    println!("background tasks:");
    for t in &tasks {
        let r = t.handle.record();
        println!(
            "  {:<6} {:<13} kind {:<9} producer {:<15} {}",
            t.session,
            r.name,
            format!("{:?}", r.kind).to_lowercase(),
            r.producer.as_deref().unwrap_or("-"),
            r.id
        );
    }

    // Watch the scope carol's tasks will move to.
    let mut moved = ward.subscribe(EventFilter::all().scope(resumed.clone()).without_progress());

    tokio::time::sleep(Duration::from_millis(500)).await;
    for (session, policy_name, policy) in sessions {
        let scope = Scope::session(session);
        println!("\nclosing session {session} with policy {policy_name}");
        let affected = ward.close_scope(&scope, policy).await?;
        println!("  {affected} task(s) cancelled or transferred");
        for t in tasks.iter_mut().filter(|t| t.session == session) {
            match ward.get(&scope, t.handle.id()) {
                Ok(r) => println!(
                    "  {:<9} in {scope}: {}{}",
                    r.name,
                    r.status,
                    r.outcome
                        .as_ref()
                        .map_or_else(String::new, |o| format!(" ({o})"))
                ),
                Err(Error::NotFound(_)) => {
                    // Transferred: the old scope no longer sees it; the new one does.
                    let r = ward.get(&resumed, t.handle.id())?;
                    println!(
                        "  {:<9} in {scope}: not found; in {resumed}: {} at {}",
                        r.name,
                        r.status,
                        r.progress
                            .as_ref()
                            .map_or_else(String::new, ToString::to_string)
                    );
                    t.scope = resumed.clone();
                }
                Err(e) => return Err(e.into()),
            }
        }
        if session == "carol" {
            for _ in 0..affected {
                let next = tokio::time::timeout(Duration::from_secs(2), moved.recv()).await;
                if let Ok(Some(Event::Task(event))) = next
                    && let EventKind::Transferred { from } = &event.kind
                {
                    println!(
                        "  event #{}: task {} transferred from {from} to {}",
                        event.seq, event.task_id, event.scope
                    );
                }
            }
        }
    }

    println!("\ndave's conversation actor stops (the user left)");
    dave.stop(Some("user left".into()));
    dave_join.await?;
    // Its task is cancelled; the notice for it finds no one to tell (the owner is gone).

    // Wait for every task, in the scope it is in now (a transferred task is waited on in its
    // new scope: the handle's own scope no longer sees it).
    println!("\nwaiting for the tasks still running");
    let mut outcomes = Vec::new();
    for t in &tasks {
        outcomes.push(ward.wait(&t.scope, t.handle.id()).await?);
    }
    // The owner is told by a message of its own, which may land just after `wait` returned.
    let expected_notices = 6;
    let notices = match inbox
        .call(
            |reply| InboxMsg::WaitFor(expected_notices, reply),
            Some(Duration::from_secs(2)),
        )
        .await?
    {
        CallResult::Success(n) => n,
        _ => 0,
    };
    let mut unexpected = 0;
    println!("\noutcomes:");
    for (t, outcome) in tasks.iter().zip(outcomes) {
        let ok = match t.expect {
            Expect::Completed => matches!(outcome, Outcome::Completed { .. }),
            Expect::CancelledByOwner => outcome
                .cancellation()
                .is_some_and(|c| c.by == CancelledBy::Owner),
        };
        if !ok {
            unexpected += 1;
        }
        println!(
            "  {:<6} {:<19} {:<13} now in {:<21} {outcome}{}",
            t.session,
            t.policy,
            t.handle.record().name,
            t.scope.to_string(),
            if ok { "" } else { "  <- unexpected" }
        );
    }

    println!("\nthe inbox was told {notices} outcome(s)");
    ward.shutdown(Duration::from_secs(2)).await?;
    inbox.stop(None);
    inbox_join.await?;

    if unexpected > 0 || notices != expected_notices {
        return Err("some tasks did not end as expected".into());
    }
    Ok(())
}

/// A background task's work: `steps` steps of 100 ms with progress, stopping early when
/// cancelled.
async fn background(ctx: TaskContext, steps: u64, what: &'static str) -> Result<Value, TaskError> {
    for done in 0..steps {
        ctx.progress(done, Some(steps), what);
        tokio::select! {
            () = ctx.cancelled() => return Err(TaskError::cancelled()),
            () = tokio::time::sleep(Duration::from_millis(100)) => {}
        }
    }
    Ok(json!({ "task": ctx.name(), "steps": steps }))
}

/// The host's inbox: the owner of the sessions' tasks, told each outcome.
struct Inbox;

/// What the inbox receives.
enum InboxMsg {
    /// A task ended (from the runtime, through `Owner::actor`).
    Notice(TaskNotice),
    /// A name for a task, for printing.
    Label(TaskId, String),
    /// Answer once this many notices have arrived.
    WaitFor(usize, RpcReplyPort<usize>),
}

#[derive(Default)]
struct InboxState {
    labels: HashMap<TaskId, String>,
    received: usize,
    waiter: Option<(usize, RpcReplyPort<usize>)>,
}

impl Actor for Inbox {
    type Msg = InboxMsg;
    type State = InboxState;
    type Arguments = ();

    async fn pre_start(
        &self,
        _myself: ActorRef<InboxMsg>,
        (): (),
    ) -> Result<InboxState, ActorProcessingErr> {
        Ok(InboxState::default())
    }

    async fn handle(
        &self,
        _myself: ActorRef<InboxMsg>,
        message: InboxMsg,
        state: &mut InboxState,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            InboxMsg::Notice(notice) => {
                state.received += 1;
                let id = notice.id();
                let label = state
                    .labels
                    .get(&id)
                    .cloned()
                    .unwrap_or_else(|| id.to_string());
                println!("  [inbox] {label}: {}", describe(&notice));
                if state
                    .waiter
                    .as_ref()
                    .is_some_and(|(n, _)| state.received >= *n)
                    && let Some((_, reply)) = state.waiter.take()
                {
                    let _ = reply.send(state.received);
                }
            }
            InboxMsg::Label(id, label) => {
                state.labels.insert(id, label);
            }
            InboxMsg::WaitFor(n, reply) => {
                if state.received >= n {
                    let _ = reply.send(state.received);
                } else {
                    state.waiter = Some((n, reply));
                }
            }
        }
        Ok(())
    }
}

/// A conversation actor that owns its tasks.
struct Conversation;

/// What a conversation receives.
enum ConversationMsg {
    /// One of its tasks ended.
    Notice(TaskNotice),
}

impl Actor for Conversation {
    type Msg = ConversationMsg;
    type State = ();
    type Arguments = ();

    async fn pre_start(
        &self,
        _myself: ActorRef<ConversationMsg>,
        (): (),
    ) -> Result<(), ActorProcessingErr> {
        Ok(())
    }

    async fn handle(
        &self,
        _myself: ActorRef<ConversationMsg>,
        message: ConversationMsg,
        _state: &mut (),
    ) -> Result<(), ActorProcessingErr> {
        let ConversationMsg::Notice(notice) = message;
        println!("  [dave] task {}: {}", notice.id(), describe(&notice));
        Ok(())
    }
}

fn describe(notice: &TaskNotice) -> String {
    match notice {
        TaskNotice::Completed { value, .. } => format!("completed with {value}"),
        TaskNotice::Failed { failure, .. } => format!("failed: {failure}"),
        TaskNotice::Cancelled { cancellation, .. } => format!("cancelled {cancellation}"),
        TaskNotice::TimedOut { .. } => "timed out".to_owned(),
        _ => format!("{notice:?}"),
    }
}
