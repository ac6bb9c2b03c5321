//! The command line: `--tasks N`, `--short`, `--duration 20s`, `--concurrency N`, `--seed N`.

use std::time::Duration;

/// What one run does.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Args {
    /// Tasks to submit in all.
    pub(crate) tasks: u64,
    /// Stop submitting after this long, even short of `tasks`.
    pub(crate) duration: Option<Duration>,
    /// Live tasks at most (a semaphore of permits, one per task until its outcome is seen).
    pub(crate) concurrency: usize,
    /// Seed of the run's pseudo-random choices.
    pub(crate) seed: u64,
    /// Hide the progress line.
    pub(crate) quiet: bool,
}

const USAGE: &str =
    "usage: soak [--tasks N] [--short | --duration 20s] [--concurrency N] [--seed N] [--quiet]";

impl Args {
    /// Parses the process's arguments; an error is the usage line.
    pub(crate) fn parse() -> Result<Self, String> {
        let mut args = Args {
            tasks: 1_000_000,
            duration: None,
            concurrency: 2_000,
            seed: 0x5eed,
            quiet: false,
        };
        let mut it = std::env::args().skip(1);
        while let Some(flag) = it.next() {
            let mut value = || {
                it.next()
                    .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))
            };
            match flag.as_str() {
                "--tasks" => args.tasks = number(&value()?)?,
                "--concurrency" => args.concurrency = number::<usize>(&value()?)?.max(1),
                "--seed" => args.seed = number(&value()?)?,
                "--duration" => args.duration = Some(duration(&value()?)?),
                "--short" => args.duration = Some(Duration::from_secs(20)),
                "--quiet" => args.quiet = true,
                "--help" | "-h" => return Err(USAGE.to_owned()),
                other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
            }
        }
        Ok(args)
    }
}

fn number<T: std::str::FromStr>(text: &str) -> Result<T, String> {
    text.replace('_', "")
        .parse()
        .map_err(|_| format!("not a number: {text:?}\n{USAGE}"))
}

/// `20s`, `1500ms`, `2m`, or a number of seconds.
fn duration(text: &str) -> Result<Duration, String> {
    let (digits, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let n: u64 = number(digits)?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        _ => Err(format!("bad duration {text:?}\n{USAGE}")),
    }
}

/// A small, fast pseudo-random generator (SplitMix64): the soak needs cheap, reproducible
/// choices, not cryptographic ones.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// True with probability `percent` in 100.
    pub(crate) fn percent(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// A duration in `lo..=hi` milliseconds.
    pub(crate) fn millis(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(lo + self.below(hi - lo + 1))
    }
}
