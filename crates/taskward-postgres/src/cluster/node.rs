//! Node ids.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

/// The id of one taskward node in a cluster: what a claim writes as the task's owner, and what
/// heartbeats renew.
///
/// A node that writes through a [`ClusterStore`](crate::ClusterStore) should keep its id
/// across restarts (draw it once with [`NodeId::new`], keep it in a file of its data
/// directory): a restart with the same id loads the tasks the node still holds and resumes
/// or fails them through their fences. A node that draws a new id at each start loads none
/// of them: its previous life's tasks are rescued once their lease expires, and the old
/// id's fenced writes are refused.
///
/// # Examples
///
/// ```
/// use taskward_postgres::NodeId;
///
/// let a = NodeId::new();
/// assert_ne!(a, NodeId::new());
/// assert_eq!(NodeId::from_uuid(*a.as_uuid()), a);
/// assert_eq!(a.to_string().parse::<NodeId>().unwrap(), a);
/// assert!("not a uuid".parse::<NodeId>().is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(Uuid);

impl NodeId {
    /// Draws a new random id.
    pub fn new() -> Self {
        Self(Uuid::new_v4())
    }

    /// Wraps an existing UUID (a node id read back from the database or configured).
    pub const fn from_uuid(uuid: Uuid) -> Self {
        Self(uuid)
    }

    /// The UUID inside.
    pub const fn as_uuid(&self) -> &Uuid {
        &self.0
    }
}

impl Default for NodeId {
    fn default() -> Self {
        Self::new()
    }
}

/// Parses the hyphenated form [`Display`](fmt::Display) writes (or any form of a UUID).
impl FromStr for NodeId {
    type Err = uuid::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s.trim()).map(Self)
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.hyphenated(), f)
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeId({})", self.0.hyphenated())
    }
}
