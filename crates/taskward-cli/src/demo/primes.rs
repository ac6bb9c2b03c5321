//! `count_primes {limit}`: CPU-bound work in chunks: a segmented sieve of Eratosthenes that
//! reports progress and saves a checkpoint after each segment, and yields (and checks for
//! cancel) between segments. Resumed after a restart, it goes on from its last checkpoint.

use serde::{Deserialize, Serialize};
use serde_json::json;
use taskward_core::TaskError;
use taskward_mcp::wire::CallToolResult;
use taskward_mcp::{Tool, ToolCall};

use super::sieve::Sieve;

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
        sieve.resume(low, count);
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
