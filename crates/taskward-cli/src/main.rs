//! `taskward`: the reference MCP server of taskward, and a live view of a running one.
//!
//! - `taskward serve` runs a taskward runtime and serves demo tools (`sleep`, `count_primes`,
//!   `fail`, `crash`, `echo`) as supervised tasks over MCP, on Streamable HTTP
//!   (`--http 127.0.0.1:3000`, the default: MCP at `/mcp`, a JSON status at `/status`) or on
//!   stdio (`--stdio`). Logs go to stderr, never stdout. Without authentication it serves
//!   only a loopback address (one user); `--auth-token-file` or `--jwks-file`/`--jwks-url`
//!   authenticate bearer tokens, and `--allow-unauthenticated` serves a network without.
//! - `taskward status` reads `/status` from a running server and shows the registry and one
//!   progress bar per live task (`--json` for the raw answer).
//! - `taskward bench-http` measures `serve --http` under load from its own clients (a child
//!   server; tasks/s, `tasks/get` latency, the server's CPU per task).
//!
//! Run `taskward help` for every option.
//!
//! The binary runs on the system allocator; built with `--features mimalloc`
//! (`cargo install taskward-cli --features mimalloc`), on mimalloc (docs/performance.md,
//! "Allocator").

mod bench_http;
mod cli;
mod demo;
mod http_get;
mod logging;
mod serve;
mod serve_auth;
mod serve_http;
mod serve_store;
mod signal;
mod status;

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

use crate::cli::{Cli, Command};

#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The error of a command, shown to the user.
type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("taskward: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => serve::run(*args).await,
            Command::Status(args) => status::run(args).await,
            Command::BenchHttp(args) => bench_http::run(args).await,
        }
    });
    // A blocking read of stdin may still be pending: do not wait for it.
    runtime.shutdown_timeout(Duration::from_millis(500));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("taskward: {err}");
            ExitCode::FAILURE
        }
    }
}
