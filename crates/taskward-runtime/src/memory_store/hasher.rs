//! The shards' hasher: 64 bits of the task id.

use std::hash::Hasher;

/// Hashes a [`TaskId`](taskward_core::TaskId) by taking 64 of its bits. Ids are 128 bits from
/// a CSPRNG and only the runtime creates them, so they are already uniformly spread: SipHash
/// over them (the default, ~20 ns) buys nothing. A lookup of a chosen id cannot lengthen
/// probing, since the table holds only random ids.
#[derive(Debug, Default)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // A uuid hashes as its 16 bytes (after a length prefix on some paths): keep the last
        // eight, mixed with what came before.
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = self.0.rotate_left(5) ^ u64::from_le_bytes(word);
        }
    }
}
