//! Per-attempt resource limits: a future wrapper that meters the work of an attempt, and the
//! hook by which it tells its runner that the work went over a limit.
//!
//! The runner calls [`wrap`] to put an attempt's work inside a [`Metered`] future only when
//! its task has a CPU budget or a memory limit; otherwise the work runs as it is (no wrapper,
//! no clock read, nothing shared). The [`Metered`] future times each poll of the work (the CPU account) and, for a
//! memory limit, enters the attempt's allocation group around it (the memory account, which
//! needs the host's [`TrackingAllocator`]). After each poll that leaves the work pending it
//! compares both with the limits and, the first time one is over, calls the hook with what
//! was exceeded; the runner then cancels the work as at a deadline. The runner reads the
//! [`Meter`] for its status answers.

mod cpu;
mod exceeded;
mod limits;
mod memory;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

pub(crate) use exceeded::Exceeded;
pub(crate) use limits::ResourceLimits;
pub(crate) use memory::MemoryTrackingUnavailable;
pub use memory::{TrackingAllocator, memory_tracking_installed};

/// A boxed work future, as the runner holds one (the module imports nothing of the crate).
type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// The readings of one metered attempt, shared by its [`Metered`] future (the writer) and
/// its runner (the reader).
#[derive(Debug)]
pub(crate) struct Meter {
    cpu: cpu::CpuTime,
    live: Option<Arc<memory::LiveBytes>>,
}

impl Meter {
    /// The time the work has spent being polled.
    pub(crate) fn cpu_time(&self) -> Duration {
        self.cpu.get()
    }

    /// The heap bytes the work holds, when they are counted (a memory limit is set).
    pub(crate) fn live_bytes(&self) -> Option<u64> {
        self.live.as_ref().map(|live| live.get())
    }
}

/// What a metered attempt calls, once, when its work goes over a limit.
type Hook = Box<dyn FnOnce(Exceeded) + Send>;

/// An attempt's work, metered.
pub(crate) struct Metered<F> {
    // Dropped first: what dropping the work frees still counts against its group.
    inner: F,
    meter: Arc<Meter>,
    limits: ResourceLimits,
    attribution: Option<memory::Attribution>,
    on_exceeded: Option<Hook>,
}

impl<F> std::fmt::Debug for Metered<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metered")
            .field("meter", &self.meter)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl<F> Metered<F> {
    /// Meters `inner` against `limits`; fails when a memory limit is set and the tracking
    /// allocator is not installed.
    pub(crate) fn new(
        inner: F,
        limits: ResourceLimits,
        on_exceeded: impl FnOnce(Exceeded) + Send + 'static,
    ) -> Result<(Self, Arc<Meter>), MemoryTrackingUnavailable> {
        let attribution = match limits.memory_limit {
            Some(_) => Some(memory::Attribution::start()?),
            None => None,
        };
        let meter = Arc::new(Meter {
            cpu: cpu::CpuTime::default(),
            live: attribution.as_ref().map(|a| a.live().clone()),
        });
        let metered = Self {
            inner,
            meter: meter.clone(),
            limits,
            attribution,
            on_exceeded: Some(Box::new(on_exceeded)),
        };
        Ok((metered, meter))
    }

    /// The first limit the readings are over, if any.
    fn over(&self, cpu: Duration) -> Option<Exceeded> {
        if let Some(budget) = self.limits.cpu_budget.filter(|&budget| cpu > budget) {
            return Some(Exceeded::Cpu { used: cpu, budget });
        }
        let limit = self.limits.memory_limit?;
        let live = self.meter.live_bytes()?;
        (live > limit).then_some(Exceeded::Memory { live, limit })
    }
}

impl<F: Future + Unpin> Future for Metered<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        let started = Instant::now();
        let poll = {
            let _entered = this.attribution.as_mut().map(memory::Attribution::enter);
            Pin::new(&mut this.inner).poll(cx)
        };
        let cpu = this.meter.cpu.add(started.elapsed());
        // A work that finished in the poll that crossed a limit has its result: it stands.
        if poll.is_pending() && this.on_exceeded.is_some() {
            if let Some(exceeded) = this.over(cpu) {
                if let Some(hook) = this.on_exceeded.take() {
                    hook(exceeded);
                }
            }
        }
        poll
    }
}

/// Wraps an attempt's work in a [`Metered`] future, boxed as the runner holds works; the
/// runner calls it only for a task that has resource limits.
pub(crate) fn wrap<T: 'static>(
    work: BoxFuture<T>,
    limits: &ResourceLimits,
    on_exceeded: impl FnOnce(Exceeded) + Send + 'static,
) -> Result<(BoxFuture<T>, Arc<Meter>), MemoryTrackingUnavailable> {
    let (metered, meter) = Metered::new(work, *limits, on_exceeded)?;
    Ok((Box::pin(metered), meter))
}
