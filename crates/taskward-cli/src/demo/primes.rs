//! `count_primes {limit}`: CPU-bound work in chunks: a segmented sieve of Eratosthenes that
//! reports progress and saves a checkpoint after each segment, and yields (and checks for
//! cancel) between segments. Resumed after a restart, it goes on from its last checkpoint.

use serde::{Deserialize, Serialize};
use serde_json::json;
use taskward_core::TaskError;
use taskward_mcp::wire::CallToolResult;
use taskward_mcp::{Tool, ToolCall};

/// Numbers sieved per chunk.
const SEGMENT: u64 = 1 << 16;

/// The largest limit accepted.
const MAX_LIMIT: u64 = 1_000_000_000_000;

#[derive(Deserialize)]
struct Args {
    limit: u64,
}

/// The checkpoint: every number below `low` is sieved, and `count` primes were found there.
#[derive(Serialize, Deserialize)]
struct Saved {
    low: u64,
    count: u64,
}

pub(super) fn tool() -> Tool {
    Tool::new(
        "count_primes",
        "Counts the primes below `limit` with a segmented sieve, reporting progress per \
         segment of 65,536 numbers. Cancelling it stops it between segments; after a restart \
         of the server it resumes from the last segment it finished.",
        json!({
            "type": "object",
            "properties": {
                "limit": {
                    "type": "integer",
                    "minimum": 0,
                    "maximum": MAX_LIMIT,
                    "description": "Count the primes strictly below this number."
                }
            },
            "required": ["limit"],
            "additionalProperties": false
        }),
        run,
    )
}

async fn run(call: ToolCall) -> Result<CallToolResult, TaskError> {
    let Args { limit } = call.args()?;
    if limit > MAX_LIMIT {
        return Ok(CallToolResult::error(format!(
            "limit must be at most {MAX_LIMIT}, got {limit}"
        )));
    }
    let ctx = &call.ctx;
    let mut sieve = Sieve::new(limit);
    // A task resumed after a restart (or a suspend) goes on from its last checkpoint.
    if let Some(saved) = ctx.last_checkpoint()
        && let Ok(Saved { low, count }) = serde_json::from_value::<Saved>((*saved).clone())
        && low <= limit
    {
        sieve.low = low;
        sieve.count = count;
    }
    ctx.progress(sieve.sieved(), Some(limit), "sieving");
    while sieve.step() {
        ctx.checkpoint(json!(Saved {
            low: sieve.sieved(),
            count: sieve.count()
        }));
        ctx.progress(sieve.sieved(), Some(limit), "sieving");
        if ctx.is_cancelled() {
            return Err(TaskError::cancelled());
        }
        // Leave the worker thread to others between chunks.
        tokio::task::yield_now().await;
    }
    let count = sieve.count();
    Ok(
        CallToolResult::text(format!("{count} primes below {limit}"))
            .structured(json!({ "count": count })),
    )
}

/// A segmented sieve of Eratosthenes over `[0, limit)`, one segment per [`Sieve::step`].
struct Sieve {
    limit: u64,
    /// The primes whose square is below the limit.
    small: Vec<u64>,
    /// Where the next segment starts: every number below it is counted.
    low: u64,
    count: u64,
    composite: Vec<bool>,
}

impl Sieve {
    fn new(limit: u64) -> Self {
        Self {
            limit,
            small: small_primes(limit.saturating_sub(1).isqrt()),
            low: 0,
            count: 0,
            composite: vec![false; SEGMENT as usize],
        }
    }

    /// Sieves the next segment; false once the whole range is done.
    fn step(&mut self) -> bool {
        if self.low >= self.limit {
            return false;
        }
        let low = self.low;
        let high = (low + SEGMENT).min(self.limit);
        let marks = &mut self.composite[..(high - low) as usize];
        marks.fill(false);
        for &p in &self.small {
            if p * p >= high {
                break;
            }
            let mut m = (p * p).max(low.div_ceil(p) * p);
            while m < high {
                marks[(m - low) as usize] = true;
                m += p;
            }
        }
        let first = low.max(2);
        self.count += (first..high)
            .filter(|&n| !marks[(n - low) as usize])
            .count() as u64;
        self.low = high;
        true
    }

    /// How many numbers, from 0, are sieved so far.
    fn sieved(&self) -> u64 {
        self.low
    }

    /// The primes found so far.
    fn count(&self) -> u64 {
        self.count
    }
}

/// The primes up to and including `max`, by a plain sieve.
fn small_primes(max: u64) -> Vec<u64> {
    let max = max as usize;
    let mut composite = vec![false; max + 1];
    let mut primes = Vec::new();
    for n in 2..=max {
        if !composite[n] {
            primes.push(n as u64);
            for m in (n * n..=max).step_by(n) {
                composite[m] = true;
            }
        }
    }
    primes
}

#[cfg(test)]
mod tests {
    use super::{SEGMENT, Sieve};

    fn count_below(limit: u64) -> u64 {
        let mut sieve = Sieve::new(limit);
        while sieve.step() {}
        assert_eq!(sieve.sieved(), limit);
        sieve.count()
    }

    fn naive(limit: u64) -> u64 {
        (2..limit)
            .filter(|&n| (2..).take_while(|d| d * d <= n).all(|d| n % d != 0))
            .count() as u64
    }

    #[test]
    fn small_limits_match_trial_division() {
        for limit in [0, 1, 2, 3, 4, 5, 10, 11, 100, 101, 1000, 7919, 7920] {
            assert_eq!(count_below(limit), naive(limit), "below {limit}");
        }
    }

    #[test]
    fn segment_boundaries() {
        for limit in [SEGMENT - 1, SEGMENT, SEGMENT + 1, 3 * SEGMENT + 7] {
            assert_eq!(count_below(limit), naive(limit), "below {limit}");
        }
    }

    #[test]
    fn known_counts() {
        assert_eq!(count_below(100), 25);
        assert_eq!(count_below(1_000_000), 78_498);
    }
}
