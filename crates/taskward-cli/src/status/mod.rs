//! `taskward status`: reads `/status` from a running `taskward serve --http` and shows the
//! registry and its live tasks.

mod board;
mod view;

use std::io::{IsTerminal, Write};
use std::time::Duration;

use clap::Args;
use serde_json::Value;

use crate::BoxError;
use crate::http_get::{self, Url};
use crate::signal::stop_requested;

use self::board::Board;

/// The options of `taskward status`.
#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    /// The server (its base URL, or its MCP endpoint `.../mcp`); plain http only.
    #[arg(
        long,
        value_name = "URL",
        env = "TASKWARD_URL",
        default_value = "http://127.0.0.1:3000"
    )]
    pub(crate) url: String,
    /// Print the raw JSON answer of `/status`.
    #[arg(long)]
    pub(crate) json: bool,
    /// Refresh every MS milliseconds until interrupted.
    #[arg(long, value_name = "MS", conflicts_with = "json")]
    pub(crate) watch: Option<u64>,
}

/// Fetches and shows the status once, or every `--watch` interval until Ctrl-C.
pub(crate) async fn run(args: StatusArgs) -> Result<(), BoxError> {
    let url = status_url(&Url::parse(&args.url)?);
    if args.json {
        let body = http_get::get(&url).await?;
        let mut out = std::io::stdout().lock();
        out.write_all(&body)?;
        if !body.ends_with(b"\n") {
            out.write_all(b"\n")?;
        }
        return Ok(());
    }
    let mut board = Board::new(std::io::stdout().is_terminal());
    let shown = async {
        loop {
            let body = http_get::get(&url).await?;
            let status: Value = serde_json::from_slice(&body)
                .map_err(|e| format!("{url}: the answer is not JSON: {e}"))?;
            board.show(&status);
            let Some(ms) = args.watch else {
                return Ok::<_, BoxError>(());
            };
            tokio::time::sleep(Duration::from_millis(ms.max(50))).await;
        }
    };
    let result = tokio::select! {
        result = shown => result,
        () = stop_requested() => Ok(()),
    };
    board.finish();
    result
}

/// `/status` beside the MCP endpoint: `http://h:p` and `http://h:p/mcp` both give
/// `http://h:p/status`.
fn status_url(base: &Url) -> Url {
    let prefix = base.path.strip_suffix("/mcp").unwrap_or(&base.path);
    base.with_path(&format!("{prefix}/status"))
}

#[cfg(test)]
mod tests {
    use super::{Url, status_url};

    #[test]
    fn status_sits_beside_mcp() {
        for (given, expected) in [
            ("http://127.0.0.1:3000", "http://127.0.0.1:3000/status"),
            ("http://127.0.0.1:3000/", "http://127.0.0.1:3000/status"),
            ("http://127.0.0.1:3000/mcp", "http://127.0.0.1:3000/status"),
            ("http://h:1/tw/mcp", "http://h:1/tw/status"),
        ] {
            assert_eq!(
                status_url(&Url::parse(given).unwrap()).to_string(),
                expected
            );
        }
    }
}
