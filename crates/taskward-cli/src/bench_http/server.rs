//! The server under test: `taskward serve --http` as a child process, and its CPU time.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::process::{Child as Process, Command};

use crate::BoxError;

/// How long the child may take to listen.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A running `taskward serve --http` child.
#[derive(Debug)]
pub(super) struct Child {
    process: Process,
    pid: u32,
    addr: SocketAddr,
    ticks_per_second: u64,
}

impl Child {
    /// Starts this binary as `serve --http 127.0.0.1:<free port>` with limits that do not
    /// bind (live tasks, in all and per session, a short TTL so finished tasks do not pile
    /// up; the retention caps stay at their defaults) and waits until it accepts
    /// connections.
    pub(super) async fn start(binary: Option<&Path>) -> Result<Self, BoxError> {
        let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
            .local_addr()?
            .port();
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let process = Command::new(match binary {
            Some(binary) => binary.to_owned(),
            None => std::env::current_exe()?,
        })
        .args(["serve", "--http", &addr.to_string(), "--store", "memory"])
        .args(["--max-live-tasks", "10000000", "--default-ttl-secs", "5"])
        .args(["--max-live-per-scope", "0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()?;
        let pid = process.id().ok_or("the server exited at once")?;
        let child = Self {
            process,
            pid,
            addr,
            ticks_per_second: ticks_per_second(),
        };
        let started = tokio::time::Instant::now();
        while TcpStream::connect(addr).await.is_err() {
            if started.elapsed() > START_TIMEOUT {
                return Err(format!("the server did not listen on {addr}").into());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(child)
    }

    /// Where it listens.
    pub(super) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its CPU time so far (user + system, all threads), from `/proc/<pid>/stat`.
    pub(super) fn cpu(&self) -> Result<Duration, BoxError> {
        cpu_of(&self.pid.to_string(), self.ticks_per_second)
    }

    /// The load generator's own CPU time so far (this process).
    pub(super) fn own_cpu(&self) -> Result<Duration, BoxError> {
        cpu_of("self", self.ticks_per_second)
    }

    /// Stops it (SIGKILL: its shutdown is not measured).
    pub(super) async fn stop(mut self) {
        let _ = self.process.kill().await;
    }
}

/// The CPU time (user + system, all threads) of `/proc/<pid>`.
fn cpu_of(pid: &str, ticks_per_second: u64) -> Result<Duration, BoxError> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name (field 2) may hold spaces: count fields after its `)`.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).ok_or("bad stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 and 15 (utime, stime) are the 12th and 13th after the name.
    let ticks: u64 = fields.get(11).ok_or("bad stat")?.parse::<u64>()?
        + fields.get(12).ok_or("bad stat")?.parse::<u64>()?;
    Ok(Duration::from_secs_f64(
        ticks as f64 / ticks_per_second as f64,
    ))
}

/// `CLK_TCK`, the unit of `utime` and `stime` (100 on Linux unless `getconf` says
/// otherwise).
fn ticks_per_second() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .filter(|&t| t > 0)
        .unwrap_or(100)
}
