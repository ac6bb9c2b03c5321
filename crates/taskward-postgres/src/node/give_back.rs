//! Giving a claim back: a task this node claimed but cannot run (it ended here already, in
//! an earlier attempt it lost) goes back to the queue for another node.

use taskward_core::StoreError;

use crate::cluster::{TERMINAL, millis};
use crate::error::pg;
use crate::{Cluster, Fence};

/// Queues the task of `fence` again, not before `delay` from now (so that this node, which
/// cannot run it, does not claim it straight back), if the fence still holds and the task is
/// live. No notification: the other nodes find it at their next claim. Whether it was
/// given back.
pub(super) async fn give_back(
    cluster: &Cluster,
    fence: Fence,
    delay: std::time::Duration,
) -> Result<bool, StoreError> {
    let conn = cluster.conn().await?;
    let attempt = i32::try_from(fence.attempt).unwrap_or(i32::MAX);
    let changed = conn
        .execute(
            "UPDATE tasks SET lease_until = NULL, node = NULL, queued = true, \
             available_at = now() + $4::int8 * interval '1 millisecond' \
             WHERE id = $1 AND node = $2 AND attempt = $3 AND lease_until IS NOT NULL \
             AND status <> ALL($5)",
            &[
                fence.id.as_uuid(),
                fence.node.as_uuid(),
                &attempt,
                &millis(delay),
                &&TERMINAL[..],
            ],
        )
        .await
        .map_err(pg("give a claim back"))?;
    Ok(changed == 1)
}
