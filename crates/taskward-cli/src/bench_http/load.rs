//! The load: N clients creating tasks and polling each until it is terminal, with a warm-up,
//! then a measured window.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::client::{self, Client};
use super::server::Child;
use crate::BoxError;

/// Which protocol generation the clients speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Generation {
    /// 2025-11-25: one session per client.
    Sessions,
    /// 2026-07-28: stateless requests, the tasks extension declared in each `_meta`.
    Stateless,
}

impl Generation {
    pub(super) fn from_version(version: &str) -> Option<Self> {
        match version {
            "2025-11-25" => Some(Self::Sessions),
            "2026-07-28" => Some(Self::Stateless),
            _ => None,
        }
    }

    /// The figure names' part: the revision.
    pub(super) fn label(self) -> &'static str {
        match self {
            Self::Sessions => "2025-11-25",
            Self::Stateless => "2026-07-28",
        }
    }
}

/// One run's settings.
#[derive(Debug, Clone)]
pub(super) struct Workload {
    pub(super) generation: Generation,
    pub(super) clients: usize,
    pub(super) warmup: Duration,
    pub(super) measured: Duration,
}

/// One run's figures.
#[derive(Debug, Clone, Copy)]
pub(super) struct Figures {
    pub(super) tasks_per_second: f64,
    pub(super) get_p50_us: f64,
    pub(super) get_p99_us: f64,
    pub(super) cpu_per_task_us: f64,
    pub(super) client_cpu_per_task_us: f64,
    pub(super) gets_per_task: f64,
}

/// What the clients share: whether the window is open, whether to stop, tasks done.
#[derive(Debug, Default)]
struct Window {
    measuring: AtomicBool,
    stop: AtomicBool,
    tasks: AtomicU64,
    gets: AtomicU64,
}

/// Runs the clients against the server: warm-up, then the measured window between two reads
/// of the server's CPU time.
pub(super) async fn run(server: &Child, workload: &Workload) -> Result<Figures, BoxError> {
    let http = client::http(workload.clients);
    let window = Arc::new(Window::default());
    let mut clients = Vec::with_capacity(workload.clients);
    for _ in 0..workload.clients {
        let client = Client::open(http.clone(), server.addr(), workload.generation).await?;
        clients.push(tokio::spawn(drive(client, window.clone())));
    }
    tokio::time::sleep(workload.warmup).await;
    let cpu_before = server.cpu()?;
    let own_before = server.own_cpu()?;
    let tasks_before = window.tasks.load(Ordering::Relaxed);
    let gets_before = window.gets.load(Ordering::Relaxed);
    window.measuring.store(true, Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(workload.measured).await;
    let tasks = window.tasks.load(Ordering::Relaxed) - tasks_before;
    let gets = window.gets.load(Ordering::Relaxed) - gets_before;
    let elapsed = started.elapsed();
    let cpu = server.cpu()? - cpu_before;
    let own = server.own_cpu()? - own_before;
    window.measuring.store(false, Ordering::Relaxed);
    window.stop.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    for client in clients {
        latencies.extend(client.await??);
    }
    latencies.sort_unstable();
    let tasks_f = tasks.max(1) as f64;
    Ok(Figures {
        tasks_per_second: tasks as f64 / elapsed.as_secs_f64(),
        get_p50_us: percentile(&latencies, 0.50),
        get_p99_us: percentile(&latencies, 0.99),
        cpu_per_task_us: cpu.as_secs_f64() * 1e6 / tasks_f,
        client_cpu_per_task_us: own.as_secs_f64() * 1e6 / tasks_f,
        gets_per_task: gets as f64 / tasks_f,
    })
}

/// One client's loop; returns its `tasks/get` latencies (ns) within the window.
async fn drive(mut client: Client, window: Arc<Window>) -> Result<Vec<u64>, BoxError> {
    let mut latencies = Vec::with_capacity(1 << 14);
    while !window.stop.load(Ordering::Relaxed) {
        let mut task = client.create().await?;
        while !task.terminal {
            let sent = Instant::now();
            task = client.get(&task.id).await?;
            window.gets.fetch_add(1, Ordering::Relaxed);
            if window.measuring.load(Ordering::Relaxed) {
                latencies.push(u64::try_from(sent.elapsed().as_nanos()).unwrap_or(u64::MAX));
            }
        }
        window.tasks.fetch_add(1, Ordering::Relaxed);
    }
    Ok(latencies)
}

/// The `q` quantile of sorted nanoseconds, in µs (0 when empty).
fn percentile(sorted: &[u64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i.min(sorted.len() - 1)] as f64 / 1e3
}
