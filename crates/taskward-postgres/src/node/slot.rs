//! A node's slot: what makes the `seq` of its tasks unique across nodes.

use taskward_core::StoreError;
use taskward_runtime::NODE_SLOTS;

use crate::Cluster;
use crate::error::pg;

/// Draws the next number of the `node_slots` sequence, modulo [`NODE_SLOTS`].
pub(super) async fn allocate(cluster: &Cluster) -> Result<u16, StoreError> {
    let conn = cluster.conn().await?;
    let next: i64 = conn
        .query_one("SELECT nextval('node_slots')", &[])
        .await
        .and_then(|row| row.try_get(0))
        .map_err(pg("draw a node slot"))?;
    let slot = next.rem_euclid(i64::from(NODE_SLOTS));
    Ok(u16::try_from(slot).unwrap_or(0))
}
