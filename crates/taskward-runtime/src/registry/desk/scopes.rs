//! Owners and scopes: closing a scope, transferring tasks, owners that exit.

use ractor::{ActorId, ActorStatus};
use taskward_core::{CancelledBy, ClosePolicy, EventKind, Scope, TaskId};

use super::Desk;

impl Desk<'_> {
    pub(in crate::registry) fn close_scope(
        &mut self,
        scope: &Scope,
        policy: &ClosePolicy,
    ) -> usize {
        self.holding_admission(|desk| {
            let mut affected = 0;
            for id in desk.shared.store.scope_ids(scope) {
                if desk.apply_close(id, policy, "scope closed") {
                    affected += 1;
                }
            }
            affected
        })
    }

    fn apply_close(&mut self, id: TaskId, policy: &ClosePolicy, why: &str) -> bool {
        let Some(control) = self.shared.control(&id) else {
            return false;
        };
        if control.is_terminal() {
            return false;
        }
        match policy {
            ClosePolicy::Keep => false,
            ClosePolicy::Cancel => self
                .cancel_control(&control, CancelledBy::Owner, Some(why.to_owned()))
                .is_some(),
            ClosePolicy::Transfer(to) => self.transfer(id, to),
            _ => false,
        }
    }

    fn transfer(&mut self, id: TaskId, to: &Scope) -> bool {
        let Some(old) = self.shared.store.get(&id) else {
            return false;
        };
        if old.scope == *to {
            return false;
        }
        let from = old.scope.clone();
        let Some(record) = self.update(&id, |r| r.scope = to.clone()) else {
            return false;
        };
        if !self.book.uncounted.contains(&id) {
            self.book.remove_live(&from);
            self.book.add_live(to);
        }
        if let Some(key) = &record.idempotency_key {
            self.book.idempotency.remove(&(from.clone(), key.clone()));
            self.book.idempotency.insert((to.clone(), key.clone()), id);
        }
        self.publish(id, to, EventKind::Transferred { from });
        true
    }

    pub(in crate::registry) fn owner_exited(&mut self, owner: ActorId) {
        let Some(tasks) = self.book.owners.remove(&owner) else {
            return;
        };
        self.holding_admission(|desk| {
            for id in tasks {
                if let Some(ownership) = desk.book.owned_by.remove(&id) {
                    desk.apply_close(id, &ownership.policy, "owner exited");
                }
            }
        });
    }

    pub(in crate::registry) fn rewatch_owners(&mut self) {
        let cells: Vec<_> = self
            .book
            .owned_by
            .values()
            .map(|o| o.owner.cell.clone())
            .collect();
        let mut dead = Vec::new();
        for cell in cells {
            if let Some(me) = self.myself {
                me.get_cell().monitor(cell.clone());
            }
            if matches!(
                cell.get_status(),
                ActorStatus::Stopping | ActorStatus::Stopped
            ) {
                dead.push(cell.get_id());
            }
        }
        for owner in dead {
            self.owner_exited(owner);
        }
    }
}
