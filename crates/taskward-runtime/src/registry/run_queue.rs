//! The admission queue: running slots under the caps (in all and per task name), and the
//! tasks waiting for one, by priority (higher first) and submission order.
//!
//! Each name has its own queue; a set holds the head of every name's queue whose name has
//! room under its cap, ordered by (priority, submission). The next task to start is the first
//! of that set, so a name whose cap is full never holds back the names queued behind it (no
//! head-of-line blocking), and every operation is O(log n): no scan of the queued tasks.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use taskward_core::TaskId;

use crate::config::Config;

/// Where a queued task stands: higher priority first, then earlier submission.
pub(crate) type QueueKey = (Reverse<i32>, u64);

/// The running caps, the slots held and the queue (see the module docs).
#[derive(Debug, Default)]
pub(crate) struct RunQueue {
    max: Option<usize>,
    max_named: HashMap<Arc<str>, usize>,
    /// The tasks holding a slot, with their name.
    holding: HashMap<TaskId, Arc<str>>,
    /// Slots held per capped name.
    running_named: HashMap<Arc<str>, usize>,
    /// Each name's queue.
    by_name: HashMap<Arc<str>, BTreeMap<QueueKey, TaskId>>,
    /// The head of each queue whose name has room.
    heads: BTreeSet<(QueueKey, Arc<str>)>,
    /// Every queued task's place.
    queued: HashMap<TaskId, (QueueKey, Arc<str>)>,
}

impl RunQueue {
    /// A queue under `config`'s caps.
    pub(crate) fn new(config: &Config) -> Self {
        Self {
            max: config.max_running,
            max_named: config.max_running_named.clone(),
            ..Self::default()
        }
    }

    /// Whether any cap is set: without one, no slot is counted and nothing queues.
    pub(crate) fn is_capped(&self) -> bool {
        self.max.is_some() || !self.max_named.is_empty()
    }

    /// Which cap is full for a task of `name`, if any (with its value).
    pub(crate) fn full(&self, name: &str) -> Option<(bool, usize)> {
        if let Some(max) = self.max
            && self.holding.len() >= max
        {
            return Some((true, max));
        }
        match self.max_named.get(name) {
            Some(&max) if self.named(name) >= max => Some((false, max)),
            _ => None,
        }
    }

    fn named(&self, name: &str) -> usize {
        self.running_named.get(name).copied().unwrap_or(0)
    }

    fn name_has_room(&self, name: &str) -> bool {
        self.max_named
            .get(name)
            .is_none_or(|&max| self.named(name) < max)
    }

    /// Slots held now.
    pub(crate) fn running(&self) -> usize {
        self.holding.len()
    }

    /// Tasks queued now.
    pub(crate) fn len(&self) -> usize {
        self.queued.len()
    }

    /// `id` (named `name`) takes a slot. A name whose cap this fills stops offering its head.
    pub(crate) fn take_slot(&mut self, id: TaskId, name: &Arc<str>) {
        if !self.is_capped() || self.holding.insert(id, name.clone()).is_some() {
            return;
        }
        if self.max_named.contains_key(name) {
            *self.running_named.entry(name.clone()).or_default() += 1;
            if !self.name_has_room(name) {
                self.offer_head(name, false);
            }
        }
    }

    /// `id` gives its slot back, if it held one; its name offers its head again when it has
    /// room. Returns whether it held one.
    pub(crate) fn free_slot(&mut self, id: &TaskId) -> bool {
        let Some(name) = self.holding.remove(id) else {
            return false;
        };
        if let Some(n) = self.running_named.get_mut(&name) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.running_named.remove(&name);
            }
            if self.name_has_room(&name) {
                self.offer_head(&name, true);
            }
        }
        true
    }

    /// Puts (or takes) the head of `name`'s queue in (out of) the set of startable heads.
    fn offer_head(&mut self, name: &Arc<str>, offer: bool) {
        let Some(key) = self
            .by_name
            .get(name)
            .and_then(|q| q.keys().next().copied())
        else {
            return;
        };
        if offer {
            self.heads.insert((key, name.clone()));
        } else {
            self.heads.remove(&(key, name.clone()));
        }
    }

    /// Queues `id`, named `name`, at `key`.
    pub(crate) fn push(&mut self, id: TaskId, name: &Arc<str>, key: QueueKey) {
        if self.queued.contains_key(&id) {
            return;
        }
        let room = self.name_has_room(name);
        let queue = self.by_name.entry(name.clone()).or_default();
        let old_head = queue.keys().next().copied();
        queue.insert(key, id);
        self.queued.insert(id, (key, name.clone()));
        if room && old_head.is_none_or(|old| key < old) {
            if let Some(old) = old_head {
                self.heads.remove(&(old, name.clone()));
            }
            self.heads.insert((key, name.clone()));
        }
    }

    /// Takes `id` out of the queue (it ended, or starts otherwise). Returns whether it was
    /// queued.
    pub(crate) fn remove(&mut self, id: &TaskId) -> bool {
        let Some((key, name)) = self.queued.remove(id) else {
            return false;
        };
        let was_offered = self.heads.remove(&(key, name.clone()));
        if let Some(queue) = self.by_name.get_mut(&name) {
            queue.remove(&key);
            if queue.is_empty() {
                self.by_name.remove(&name);
            } else if was_offered {
                self.offer_head(&name, true);
            }
        }
        true
    }

    /// The next task that may start now, taken out of the queue (its slot is not taken yet:
    /// see [`take_slot`](Self::take_slot)); `None` when the global cap is full or no queued
    /// task's name has room.
    pub(crate) fn pop(&mut self) -> Option<(TaskId, Arc<str>)> {
        if self.max.is_some_and(|max| self.holding.len() >= max) {
            return None;
        }
        let (key, name) = self.heads.first()?.clone();
        let id = *self.by_name.get(&name)?.get(&key)?;
        self.remove(&id);
        Some((id, name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue(max: Option<usize>, named: &[(&str, usize)]) -> RunQueue {
        let mut config = Config {
            max_running: max,
            ..Config::default()
        };
        for (name, n) in named {
            config.max_running_named.insert((*name).into(), *n);
        }
        RunQueue::new(&config)
    }

    fn key(priority: i32, seq: u64) -> QueueKey {
        (Reverse(priority), seq)
    }

    #[test]
    fn higher_priority_first_then_submission_order() {
        let mut q = queue(Some(1), &[]);
        let name: Arc<str> = "n".into();
        let ids: Vec<TaskId> = (0..4).map(|_| TaskId::new()).collect();
        q.push(ids[0], &name, key(0, 1));
        q.push(ids[1], &name, key(5, 2));
        q.push(ids[2], &name, key(0, 3));
        q.push(ids[3], &name, key(5, 4));
        let mut order = Vec::new();
        while let Some((id, name)) = q.pop() {
            q.take_slot(id, &name);
            order.push(id);
            assert!(q.pop().is_none(), "the cap is full");
            q.free_slot(&id);
        }
        assert_eq!(order, vec![ids[1], ids[3], ids[0], ids[2]]);
        assert_eq!((q.len(), q.running()), (0, 0));
    }

    #[test]
    fn a_full_name_does_not_block_other_names() {
        let mut q = queue(Some(10), &[("a", 1)]);
        let (a, b): (Arc<str>, Arc<str>) = ("a".into(), "b".into());
        let running = TaskId::new();
        q.take_slot(running, &a);
        let (a2, b1) = (TaskId::new(), TaskId::new());
        q.push(a2, &a, key(9, 1));
        q.push(b1, &b, key(0, 2));
        assert_eq!(
            q.pop().map(|(id, _)| id),
            Some(b1),
            "b passes the blocked a"
        );
        assert!(q.pop().is_none());
        q.free_slot(&running);
        assert_eq!(q.pop().map(|(id, _)| id), Some(a2));
    }

    #[test]
    fn removing_a_head_offers_the_next() {
        let mut q = queue(Some(1), &[]);
        let name: Arc<str> = "n".into();
        let (x, y) = (TaskId::new(), TaskId::new());
        q.push(x, &name, key(0, 1));
        q.push(y, &name, key(0, 2));
        assert!(q.remove(&x));
        assert!(!q.remove(&x));
        assert_eq!(q.pop().map(|(id, _)| id), Some(y));
        assert_eq!(q.len(), 0);
    }
}
