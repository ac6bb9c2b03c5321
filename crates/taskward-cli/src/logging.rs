//! Logs: to stderr only, so that stdout stays the stdio transport's.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Sends logs to stderr, filtered by `RUST_LOG` (default `info`), and reports panics as one
/// log line (unless `RUST_BACKTRACE` asks for backtraces): a panic in a tool's work is an
/// expected event here, which the runtime turns into a failed task.
pub(crate) fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
    if std::env::var_os("RUST_BACKTRACE").is_none_or(|v| v == "0") {
        std::panic::set_hook(Box::new(|info| {
            let payload = info.payload();
            let message = payload
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
                .unwrap_or("(no message)");
            let at = info
                .location()
                .map(|l| format!("{}:{}", l.file(), l.line()))
                .unwrap_or_default();
            tracing::error!(target: "taskward::panic", at, "panicked: {message}");
        }));
    }
}
