//! Timing helpers both sides use: percentiles of samples, and random reads from a table.

use std::time::{Duration, Instant};

use taskward::TaskId;

/// The `p` percentile of `sorted` samples, in µs (0 without samples).
pub(crate) fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_nanos() as f64 / 1000.0
}

/// µs per `get` over `gets` calls, each for a random one of `ids`; every id must be found.
pub(crate) fn time_gets(ids: &[TaskId], gets: usize, mut get: impl FnMut(&TaskId) -> bool) -> f64 {
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let start = Instant::now();
    let mut found = 0usize;
    for _ in 0..gets {
        // xorshift: a random id each time, so the table is not read in cache order.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        if get(&ids[(state % ids.len() as u64) as usize]) {
            found += 1;
        }
    }
    let ns = start.elapsed().as_nanos() as f64 / gets as f64;
    assert_eq!(found, gets, "every id is found");
    ns / 1000.0
}

/// The CPU time this process has used so far, every thread (user + system), from
/// `/proc/self/stat` in clock ticks (taken as 100 a second); zero where `/proc` is missing.
/// Under a loaded machine, CPU time per task is steadier than wall-clock throughput.
pub(crate) fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name (which may hold spaces) closed by ')'.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
    // utime and stime are fields 14 and 15 of the line: 11 and 12 after the name.
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}
