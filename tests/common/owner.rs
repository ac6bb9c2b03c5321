//! An owner actor for tests: a host that forwards the notices it is told to the test.

use std::time::Duration;

use ractor::{Actor, ActorProcessingErr, ActorRef};
use taskward::{Owner, TaskNotice, TaskSpec};
use tokio::sync::mpsc;

use super::HOUR;

/// The host's own message type: taskward's notices arrive wrapped in it.
pub enum HostMsg {
    /// A notice from taskward.
    Task(TaskNotice),
    /// Makes the host fail (its handler returns an error).
    Crash,
}

/// An owner actor that forwards the notices it is told to the test.
pub struct Host;

impl Actor for Host {
    type Msg = HostMsg;
    type State = mpsc::UnboundedSender<TaskNotice>;
    type Arguments = mpsc::UnboundedSender<TaskNotice>;

    async fn pre_start(
        &self,
        _myself: ActorRef<HostMsg>,
        tx: Self::Arguments,
    ) -> Result<Self::State, ActorProcessingErr> {
        Ok(tx)
    }

    async fn handle(
        &self,
        _myself: ActorRef<HostMsg>,
        message: HostMsg,
        tx: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            HostMsg::Task(notice) => {
                let _ = tx.send(notice);
                Ok(())
            }
            HostMsg::Crash => Err("the host crashed".into()),
        }
    }
}

/// Spawns a host; its notices arrive on the receiver.
pub async fn host() -> (ActorRef<HostMsg>, mpsc::UnboundedReceiver<TaskNotice>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let (actor, _join) = Actor::spawn(None, Host, tx).await.expect("host starts");
    (actor, rx)
}

/// A spec named `name` owned by `host`.
pub fn owned_by(host: &ActorRef<HostMsg>, name: &str) -> TaskSpec {
    TaskSpec::new(name).owner(Owner::actor(host, HostMsg::Task))
}

/// The next notice the host was told; fails the test after a minute of (virtual) silence.
pub async fn next_notice(rx: &mut mpsc::UnboundedReceiver<TaskNotice>) -> TaskNotice {
    tokio::time::timeout(Duration::from_secs(60), rx.recv())
        .await
        .expect("the owner was told within a minute")
        .expect("notice channel open")
}

/// Asserts the host is told nothing more, even after an hour.
pub async fn no_more_notices(rx: &mut mpsc::UnboundedReceiver<TaskNotice>) {
    tokio::time::sleep(HOUR).await;
    assert!(rx.try_recv().is_err(), "an extra notice arrived");
}
