//! `taskward serve` and `taskward status` with authentication, as a user runs them: the
//! built binary, as child processes.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_taskward");

/// A `taskward serve` child, killed when dropped.
struct Served {
    child: Child,
    url: String,
    stderr: Vec<String>,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `taskward serve` with `args` and waits for the line naming its address; `Err`
/// with what it printed when it exits first.
fn start(args: &[&str]) -> Result<Served, Vec<String>> {
    let mut child = Command::new(BIN)
        .arg("serve")
        // Several servers at once: none keeps its tasks on disk.
        .args(["--store", "memory"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("taskward starts");
    let stderr = child.stderr.take().expect("piped stderr");
    let mut seen = Vec::new();
    for line in BufReader::new(stderr).lines() {
        let line = line.expect("stderr is text");
        seen.push(line.clone());
        if let Some(rest) = line.split("serving MCP on ").nth(1) {
            let url = rest.split("/mcp").next().expect("a URL").to_owned();
            return Ok(Served {
                child,
                url,
                stderr: seen,
            });
        }
    }
    let _ = child.wait();
    Err(seen)
}

fn serve(args: &[&str]) -> Served {
    start(args).unwrap_or_else(|seen| panic!("serve ended before serving: {seen:?}"))
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("TASKWARD_TOKEN")
        .env_remove("TASKWARD_URL")
        .stdin(Stdio::null())
        .output()
        .expect("taskward runs")
}

fn token_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("taskward-auth-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("written");
    path
}

#[test]
fn a_non_loopback_bind_without_auth_is_refused() {
    let Err(stderr) = start(&["--http", "0.0.0.0:0"]) else {
        panic!("served 0.0.0.0 without authentication");
    };
    let stderr = stderr.join("\n");
    assert!(
        stderr.contains("without authentication") && stderr.contains("--allow-unauthenticated"),
        "{stderr}"
    );
}

#[test]
fn a_status_listener_off_loopback_without_auth_is_refused() {
    let Err(stderr) = start(&["--http", "127.0.0.1:0", "--status-listen", "0.0.0.0:0"]) else {
        panic!("served /status on 0.0.0.0 without authentication");
    };
    let stderr = stderr.join("\n");
    assert!(
        stderr.contains("0.0.0.0") && stderr.contains("--allow-unauthenticated"),
        "{stderr}"
    );
}

#[test]
fn allow_unauthenticated_serves_with_a_loud_warning() {
    let served = serve(&["--http", "0.0.0.0:0", "--allow-unauthenticated"]);
    let warned = served
        .stderr
        .iter()
        .any(|l| l.contains("WARNING") && l.contains("WITHOUT AUTHENTICATION"));
    assert!(warned, "{:?}", served.stderr);
}

#[test]
fn status_passes_the_operators_token() {
    let tokens = token_file(
        "tokens",
        "# test tokens\nops-token-0123456789abc ops operator\nalice-token-0123456789 alice\n",
    );
    let tokens = tokens.to_str().expect("a UTF-8 path");
    let served = serve(&["--http", "127.0.0.1:0", "--auth-token-file", tokens]);
    let url = served.url.as_str();

    let refused = run(&["status", "--url", url, "--json"]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("HTTP 401"), "{stderr}");

    let ok = run(&["status", "--url", url, "--json", "--token-file", tokens]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let status: serde_json::Value = serde_json::from_slice(&ok.stdout).expect("JSON");
    assert!(status.is_object(), "{status}");

    let user = Command::new(BIN)
        .args(["status", "--url", url, "--json"])
        .env("TASKWARD_TOKEN", "alice-token-0123456789")
        .output()
        .expect("taskward runs");
    let stderr = String::from_utf8_lossy(&user.stderr);
    assert!(stderr.contains("HTTP 403"), "{stderr}");
}
