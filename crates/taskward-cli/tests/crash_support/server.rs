//! `taskward serve` as a child process (with the SQLite store in a data directory, or the
//! options a test gives).

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_taskward");

/// How long a start may take (opening and reloading the database included).
const START_LIMIT: Duration = Duration::from_secs(60);

/// A running server, killed with SIGKILL when dropped.
pub(crate) struct Server {
    child: Child,
    pub(crate) addr: SocketAddr,
}

impl Server {
    /// Starts `taskward serve` on a free loopback port over `data_dir` with the durability
    /// policy `durability`, and waits for the line naming its address.
    pub(crate) fn start(data_dir: &Path, durability: &str) -> Server {
        let mut args: Vec<OsString> = [
            "--store",
            "sqlite",
            "--durability",
            durability,
            "--data-dir",
        ]
        .map(OsString::from)
        .into();
        args.push(data_dir.into());
        Server::start_with(&args)
    }

    /// Starts `taskward serve` on a free loopback port with the options `args`, and waits
    /// for the line naming its address.
    pub(crate) fn start_with(args: &[OsString]) -> Server {
        let mut child = Command::new(BIN)
            .arg("serve")
            .args(["--http", "127.0.0.1:0"])
            .args(args)
            // Polls are the client's business here; keep the advertised interval short.
            .args(["--poll-interval-ms", "100"])
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("taskward starts");
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, rx) = mpsc::channel();
        // Reads stderr to its end (the pipe never fills), handing over the address.
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(tx) = &tx {
                    let _ = tx.send(line.clone());
                }
                if line.contains("serving MCP on ") {
                    tx = None;
                } else if tx.is_none() {
                    eprintln!("[server] {line}");
                }
            }
        });
        let mut seen = Vec::new();
        loop {
            match rx.recv_timeout(START_LIMIT) {
                Ok(line) => {
                    if let Some(rest) = line.split("serving MCP on http://").nth(1) {
                        let addr = rest.split('/').next().unwrap_or_default();
                        let addr = addr.parse().unwrap_or_else(|e| {
                            panic!("serve printed an odd address {addr:?}: {e}")
                        });
                        return Server { child, addr };
                    }
                    seen.push(line);
                }
                Err(e) => {
                    let _ = child.kill();
                    let status = child.wait();
                    panic!("serve did not start ({e}; exit {status:?}); it printed: {seen:#?}");
                }
            }
        }
    }

    /// SIGKILL, and waits for the process to be gone.
    pub(crate) fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
