//! `taskward status`: reads `/status` from a running `taskward serve --http` and shows the
//! registry and its live tasks.

mod board;
mod view;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
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
    /// Send the operator's bearer token read from FILE (its first word that is not a
    /// comment; a `serve --auth-token-file` line works), for a server with authentication.
    #[arg(long, value_name = "FILE", conflicts_with = "token")]
    pub(crate) token_file: Option<PathBuf>,
    /// The operator's bearer token itself (better in the environment than on the command
    /// line, where other users can see it).
    #[arg(
        long,
        value_name = "TOKEN",
        env = "TASKWARD_TOKEN",
        hide_env_values = true
    )]
    pub(crate) token: Option<String>,
}

impl StatusArgs {
    /// The bearer token to send, if any.
    fn bearer(&self) -> Result<Option<String>, BoxError> {
        match (&self.token_file, &self.token) {
            (Some(path), _) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("--token-file {}: {e}", path.display()))?;
                let token = first_token(&text)
                    .ok_or_else(|| format!("--token-file {}: no token", path.display()))?;
                Ok(Some(token.to_owned()))
            }
            (None, Some(token)) => Ok(Some(token.trim().to_owned())),
            (None, None) => Ok(None),
        }
    }
}

/// The first word of the first line that is neither blank nor a `#` comment.
fn first_token(text: &str) -> Option<&str> {
    text.lines()
        .map(str::trim)
        .find(|line| !line.is_empty() && !line.starts_with('#'))
        .and_then(|line| line.split_whitespace().next())
}

/// Fetches and shows the status once, or every `--watch` interval until Ctrl-C.
pub(crate) async fn run(args: StatusArgs) -> Result<(), BoxError> {
    let url = status_url(&Url::parse(&args.url)?);
    let bearer = args.bearer()?;
    let bearer = bearer.as_deref();
    if args.json {
        let body = http_get::get(&url, bearer).await?;
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
            let body = http_get::get(&url, bearer).await?;
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
    use super::{Url, first_token, status_url};

    #[test]
    fn the_token_is_the_first_word_of_the_file() {
        assert_eq!(
            first_token("# ops\n\n  tok-123 ops operator\nother\n"),
            Some("tok-123")
        );
        assert_eq!(first_token("tok\n"), Some("tok"));
        assert_eq!(first_token("# only a comment\n"), None);
    }

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
