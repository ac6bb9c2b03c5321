//! Helpers shared by the integration tests.
#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use serde_json::{Value, json};
use taskward::{Event, EventKind, Subscription, TaskContext, TaskError, Taskward};

mod clock;
pub mod disk;
mod events;
pub mod limits;
pub mod owner;
pub mod started;
mod submit;

// Each test file uses some of these.
#[allow(unused_imports)]
pub use self::{
    clock::{HOUR, secs, settle, wait_for},
    events::{all_events, events_of},
    submit::{long, submit_failing, submit_instant, submit_long},
};

/// A runtime with test-friendly defaults.
pub async fn ward() -> Taskward {
    Taskward::builder().spawn().await.expect("runtime starts")
}

/// The sweep interval of [`ward_with_sweep`].
pub const SWEEP: Duration = Duration::from_millis(100);

/// A runtime that sweeps every [`SWEEP`], for tests of TTL expiry.
pub async fn ward_with_sweep() -> Taskward {
    Taskward::builder()
        .sweep_interval(SWEEP)
        .spawn()
        .await
        .expect("runtime starts")
}

/// A runtime whose tasks never expire, for tests that let hours pass.
pub async fn ward_without_ttl() -> Taskward {
    Taskward::builder()
        .no_default_ttl()
        .spawn()
        .await
        .expect("runtime starts")
}

/// Work that returns `value` at once.
pub fn instant(
    value: Value,
) -> impl Fn(TaskContext) -> futures_ready::Ready + Send + Sync + 'static {
    move |_ctx| futures_ready::Ready(Some(Ok(value.clone())))
}

/// Work that sleeps `d` (cooperatively watching its token) and then returns "slept".
pub async fn sleepy(ctx: TaskContext, d: Duration) -> Result<Value, TaskError> {
    tokio::select! {
        _ = tokio::time::sleep(d) => Ok(json!("slept")),
        _ = ctx.cancelled() => Err(TaskError::cancelled()),
    }
}

/// Work that ignores its token and sleeps `d`.
pub async fn stubborn(_ctx: TaskContext, d: Duration) -> Result<Value, TaskError> {
    tokio::time::sleep(d).await;
    Ok(json!("ignored the cancel"))
}

/// Submits work in `scope` that returns `value` at once, and waits until it has completed.
pub async fn completed(
    ward: &Taskward,
    scope: &taskward::Scope,
    name: &str,
    value: Value,
) -> taskward::TaskHandle {
    let task = ward
        .submit(
            taskward::TaskSpec::new(name).scope(scope.clone()),
            instant(value),
        )
        .await
        .expect("submit");
    task.wait().await.expect("wait");
    task
}

/// The next task event of a subscription, skipping progress events; panics on lag or end.
pub async fn next_event(sub: &mut Subscription) -> taskward::TaskEvent {
    loop {
        match sub.recv().await.expect("subscription open") {
            Event::Task(e) if matches!(e.kind, EventKind::Progress(_)) => continue,
            Event::Task(e) => return e,
            other => panic!("unexpected {other:?}"),
        }
    }
}

pub mod futures_ready {
    //! A ready future usable as a named type.
    use std::future::Future;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use serde_json::Value;
    use taskward::TaskError;

    /// A future that is ready at once.
    pub struct Ready(pub Option<Result<Value, TaskError>>);

    impl Future for Ready {
        type Output = Result<Value, TaskError>;
        fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Self::Output> {
            Poll::Ready(self.0.take().expect("polled once"))
        }
    }
}

/// An actor that forwards every message it is sent to the test: an owner in the host's own
/// message type `M`.
pub struct Sink<M>(std::marker::PhantomData<fn() -> M>);

impl<M: ractor::Message> ractor::Actor for Sink<M> {
    type Msg = M;
    type State = tokio::sync::mpsc::UnboundedSender<M>;
    type Arguments = tokio::sync::mpsc::UnboundedSender<M>;

    async fn pre_start(
        &self,
        _myself: ractor::ActorRef<M>,
        tx: Self::Arguments,
    ) -> Result<Self::State, ractor::ActorProcessingErr> {
        Ok(tx)
    }

    async fn handle(
        &self,
        _myself: ractor::ActorRef<M>,
        message: M,
        tx: &mut Self::State,
    ) -> Result<(), ractor::ActorProcessingErr> {
        let _ = tx.send(message);
        Ok(())
    }
}

/// A [`Sink`] actor and the receiving end of what it is sent.
pub async fn sink<M: ractor::Message>()
-> (ractor::ActorRef<M>, tokio::sync::mpsc::UnboundedReceiver<M>) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let (actor, _join) = ractor::Actor::spawn(None, Sink(std::marker::PhantomData), tx)
        .await
        .expect("sink starts");
    (actor, rx)
}

/// The ids of the first page of a scope's tasks, oldest first.
pub fn listed_ids(ward: &Taskward, scope: &taskward::Scope) -> Vec<taskward::TaskId> {
    ward.list(scope, &taskward::ListQuery::new())
        .unwrap()
        .tasks
        .iter()
        .map(|r| r.id)
        .collect()
}
