//! Group commit of the submits routed to the shared queue: the submits that arrive while a
//! batch is being admitted wait together and go in the next one, one transaction for all.

use std::sync::{Arc, OnceLock};

use taskward_core::{Enqueue, Enqueued, StoreError};
use tokio::sync::{Semaphore, mpsc, oneshot};

use super::Cluster;
use crate::node::Room;

/// The most submits one admission transaction takes.
const MAX_BATCH: usize = 1024;
/// The most admission transactions of one node at once: a batch commits while the next
/// ones gather, so that a submit's wait is not a whole commit behind another's.
const IN_FLIGHT: usize = 4;

type Answer = oneshot::Sender<Result<Enqueued, StoreError>>;

/// One node's queue of submits to admit: a task on the tokio runtime (spawned at the first
/// submit) takes whatever waits, up to [`MAX_BATCH`], and admits it in one transaction
/// ([`Cluster::admit`]), with at most [`IN_FLIGHT`] such transactions at once.
#[derive(Debug)]
pub(crate) struct Batcher {
    sender: OnceLock<mpsc::UnboundedSender<(Enqueue, Answer)>>,
    /// The node's room: what its admissions may take at once.
    room: Arc<Room>,
}

impl Batcher {
    pub(crate) fn new(room: Arc<Room>) -> Self {
        Self {
            sender: OnceLock::new(),
            room,
        }
    }

    /// Admits `task` with the others waiting; resolves once its batch committed (or failed).
    pub(crate) async fn enqueue(
        &self,
        cluster: &Cluster,
        task: Enqueue,
    ) -> Result<Enqueued, StoreError> {
        let sender = self.sender.get_or_init(|| {
            let (sender, receiver) = mpsc::unbounded_channel();
            tokio::spawn(run(cluster.clone(), Arc::clone(&self.room), receiver));
            sender
        });
        let (answer, answered) = oneshot::channel();
        sender
            .send((task, answer))
            .map_err(|_| StoreError::new("postgres cluster: the admission task stopped"))?;
        answered
            .await
            .map_err(|_| StoreError::new("postgres cluster: the admission task stopped"))?
    }
}

async fn run(
    cluster: Cluster,
    room: Arc<Room>,
    mut receiver: mpsc::UnboundedReceiver<(Enqueue, Answer)>,
) {
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    while let Some(first) = receiver.recv().await {
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
            return;
        };
        // Whatever arrived while waiting for a slot goes in this batch too.
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match receiver.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let cluster = cluster.clone();
        let room = Arc::clone(&room);
        tokio::spawn(async move {
            let (tasks, answers): (Vec<Enqueue>, Vec<Answer>) = batch.into_iter().unzip();
            match cluster.admit_in(&tasks, Some(&room)).await {
                Ok(results) => {
                    for (answer, result) in answers.into_iter().zip(results) {
                        let _ = answer.send(Ok(result));
                    }
                }
                Err(err) => {
                    for answer in answers {
                        let _ = answer.send(Err(StoreError::new(err.to_string())));
                    }
                }
            }
            drop(slot);
        });
    }
}
