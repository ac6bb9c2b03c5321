//! The errors of the cluster's operations: a fenced write refused, or the database failing.

use std::error::Error;
use std::fmt;

use taskward_core::{Status, StoreError};

use crate::NodeId;

/// Why a fenced write (finish, checkpoint, progress, taking answers) was refused: the node no
/// longer holds the task under the attempt it claimed.
///
/// A refused write changed nothing. The node should stop the work (its result is dropped):
/// another node runs the task now, or it is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fenced {
    /// The lease was lost: the task was rescued (queued again, `node` is `None`) or claimed
    /// again (by `node`, under a later attempt).
    Reclaimed {
        /// The attempt the row holds now.
        attempt: u32,
        /// The node that holds the row now, if any.
        node: Option<NodeId>,
    },
    /// The task reached a terminal status first (a cancel, a sweep, a rescue that failed
    /// it): the first terminal transition wins. The node's hold is released.
    Terminal(Status),
    /// The task is no longer in the table.
    Gone,
}

impl fmt::Display for Fenced {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fenced::Reclaimed {
                attempt,
                node: Some(node),
            } => write!(
                f,
                "the task was claimed again (attempt {attempt}, node {node})"
            ),
            Fenced::Reclaimed {
                attempt,
                node: None,
            } => {
                write!(
                    f,
                    "the task was rescued and waits for a claim (attempt {attempt})"
                )
            }
            Fenced::Terminal(status) => write!(f, "the task is already {status}"),
            Fenced::Gone => f.write_str("the task is gone"),
        }
    }
}

impl Error for Fenced {}

/// The error of a cluster operation.
#[derive(Debug)]
#[non_exhaustive]
pub enum ClusterError {
    /// A fenced write was refused: see [`Fenced`].
    Fenced(Fenced),
    /// The database failed (unreachable, a statement refused); retrying may succeed.
    Store(StoreError),
}

impl ClusterError {
    /// Why the write was fenced, if it was.
    pub fn fenced(&self) -> Option<Fenced> {
        match self {
            ClusterError::Fenced(fenced) => Some(*fenced),
            ClusterError::Store(_) => None,
        }
    }
}

impl fmt::Display for ClusterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClusterError::Fenced(fenced) => write!(f, "postgres cluster: write refused: {fenced}"),
            ClusterError::Store(e) => fmt::Display::fmt(e, f),
        }
    }
}

impl Error for ClusterError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            ClusterError::Fenced(fenced) => Some(fenced),
            ClusterError::Store(e) => Some(e),
        }
    }
}

impl From<StoreError> for ClusterError {
    fn from(e: StoreError) -> Self {
        ClusterError::Store(e)
    }
}

impl From<Fenced> for ClusterError {
    fn from(fenced: Fenced) -> Self {
        ClusterError::Fenced(fenced)
    }
}
