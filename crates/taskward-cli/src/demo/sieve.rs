//! The segmented sieve of Eratosthenes behind `count_primes`: plain std, one segment per
//! step, so that its caller can report progress, save a checkpoint and yield between
//! segments. (Also built into the rmcp example server, `crates/taskward-rmcp/examples`,
//! which serves the same demo tools.)

/// Numbers sieved per segment.
pub(crate) const SEGMENT: u64 = 1 << 16;

/// A segmented sieve of Eratosthenes over `[0, limit)`, one segment per [`Sieve::step`].
pub(crate) struct Sieve {
    limit: u64,
    /// The primes whose square is below the limit.
    small: Vec<u64>,
    /// Where the next segment starts: every number below it is counted.
    low: u64,
    count: u64,
    composite: Vec<bool>,
}

impl Sieve {
    pub(crate) fn new(limit: u64) -> Self {
        Self {
            limit,
            small: small_primes(limit.saturating_sub(1).isqrt()),
            low: 0,
            count: 0,
            composite: vec![false; SEGMENT as usize],
        }
    }

    /// Goes on from a checkpoint: every number below `low` is sieved, with `count` primes.
    pub(crate) fn resume(&mut self, low: u64, count: u64) {
        self.low = low.min(self.limit);
        self.count = count;
    }

    /// Sieves the next segment; false once the whole range is done.
    pub(crate) fn step(&mut self) -> bool {
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
    pub(crate) fn sieved(&self) -> u64 {
        self.low
    }

    /// The primes found so far.
    pub(crate) fn count(&self) -> u64 {
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
