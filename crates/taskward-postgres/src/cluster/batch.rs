//! Group commit of the submits routed to the shared queue: the submits that arrive while a
//! batch is being admitted wait together and go in the next one, one transaction for all.

use std::sync::OnceLock;

use taskward_core::{Enqueue, Enqueued, StoreError};
use tokio::sync::{mpsc, oneshot};

use super::Cluster;

/// The most submits one admission transaction takes.
const MAX_BATCH: usize = 1024;

type Answer = oneshot::Sender<Result<Enqueued, StoreError>>;

/// One node's queue of submits to admit: a task on the tokio runtime (spawned at the first
/// submit) takes whatever waits, up to [`MAX_BATCH`], and admits it in one transaction
/// ([`Cluster::admit`]), then the next lot.
#[derive(Debug, Default)]
pub(crate) struct Batcher {
    sender: OnceLock<mpsc::UnboundedSender<(Enqueue, Answer)>>,
}

impl Batcher {
    /// Admits `task` with the others waiting; resolves once its batch committed (or failed).
    pub(crate) async fn enqueue(
        &self,
        cluster: &Cluster,
        task: Enqueue,
    ) -> Result<Enqueued, StoreError> {
        let sender = self.sender.get_or_init(|| {
            let (sender, receiver) = mpsc::unbounded_channel();
            tokio::spawn(run(cluster.clone(), receiver));
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

async fn run(cluster: Cluster, mut receiver: mpsc::UnboundedReceiver<(Enqueue, Answer)>) {
    let mut tasks = Vec::new();
    let mut answers = Vec::new();
    while let Some((task, answer)) = receiver.recv().await {
        tasks.push(task);
        answers.push(answer);
        while tasks.len() < MAX_BATCH {
            match receiver.try_recv() {
                Ok((task, answer)) => {
                    tasks.push(task);
                    answers.push(answer);
                }
                Err(_) => break,
            }
        }
        match cluster.admit(&tasks).await {
            Ok(results) => {
                for (answer, result) in answers.drain(..).zip(results) {
                    let _ = answer.send(Ok(result));
                }
            }
            Err(err) => {
                for answer in answers.drain(..) {
                    let _ = answer.send(Err(StoreError::new(err.to_string())));
                }
            }
        }
        tasks.clear();
    }
}
