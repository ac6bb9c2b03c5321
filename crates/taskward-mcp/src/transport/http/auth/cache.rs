//! The tokens already validated, so that a client sending the same access token on every
//! request pays for its signature once.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use super::Principal;

/// The most tokens remembered; past it the cache starts over.
const CAPACITY: usize = 10_000;

/// Validated tokens by their SHA-256 digest, with the principal and until when (Unix
/// seconds, leeway included) each is good. Only tokens that passed every check are kept;
/// the cache is emptied whenever the key set changes.
#[derive(Debug, Default)]
pub(super) struct TokenCache {
    entries: Mutex<HashMap<[u8; 32], (Principal, u64)>>,
}

impl TokenCache {
    fn entries(&self) -> MutexGuard<'_, HashMap<[u8; 32], (Principal, u64)>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The principal of a token validated before and still good at `now`.
    pub(super) fn get(&self, digest: &[u8; 32], now: u64) -> Option<Principal> {
        let mut entries = self.entries();
        match entries.get(digest) {
            Some((principal, until)) if now <= *until => Some(principal.clone()),
            Some(_) => {
                entries.remove(digest);
                None
            }
            None => None,
        }
    }

    /// Remembers a validated token until `until`.
    pub(super) fn insert(&self, digest: [u8; 32], principal: Principal, until: u64) {
        let mut entries = self.entries();
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        entries.insert(digest, (principal, until));
    }

    /// Forgets every token (the keys changed).
    pub(super) fn clear(&self) {
        self.entries().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::{Principal, TokenCache};

    #[test]
    fn a_token_is_remembered_until_its_time_and_no_longer() {
        let cache = TokenCache::default();
        let digest = super::super::digest("a.b.c");
        cache.insert(digest, Principal::new("alice"), 100);
        assert_eq!(cache.get(&digest, 100), Some(Principal::new("alice")));
        assert_eq!(cache.get(&digest, 101), None);
        assert_eq!(cache.get(&digest, 50), None, "forgotten once past its time");
        cache.insert(digest, Principal::new("alice"), 100);
        cache.clear();
        assert_eq!(cache.get(&digest, 50), None);
    }
}
