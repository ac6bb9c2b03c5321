//! The stdio transport: newline-delimited JSON-RPC on a reader and a writer.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::jsonrpc::{self, Message};
use crate::server::Server;

/// The longest line accepted; a longer one is answered with `-32600` and skipped.
pub const MAX_LINE: usize = 4 * 1024 * 1024;

/// How long requests in flight at the end of input still have to be answered.
const END_OF_INPUT_GRACE: Duration = Duration::from_secs(1);

/// Serves one session over a reader and a writer (stdin and stdout for a child process
/// server) until the reader ends. Each message is handled in its own task, so a blocking
/// `tasks/result` never holds up the others; answers and notifications are written one per
/// line. At the end of input, requests still in flight get a short grace (one second) to be
/// answered, then the rest are dropped unanswered and the session is closed: a client that
/// closes its end to stop the server sees it exit promptly.
pub async fn serve<R, W>(server: Server, reader: R, writer: W) -> std::io::Result<()>
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (session, mut notifications) = server.open_session(None);
    // A connection open is a session in use: it never expires while the input lasts.
    let busy = session.busy();
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Value>();

    let writer_task = tokio::spawn(async move {
        let mut writer = writer;
        loop {
            let message = tokio::select! {
                Some(m) = out_rx.recv() => m,
                Some(n) = notifications.recv() => n,
                else => break,
            };
            let mut line = serde_json::to_vec(&message).unwrap_or_default();
            line.push(b'\n');
            if writer.write_all(&line).await.is_err() || writer.flush().await.is_err() {
                break;
            }
        }
    });

    let mut lines = BufReader::new(reader);
    let mut buf = Vec::new();
    let mut handlers = JoinSet::new();
    loop {
        while handlers.try_join_next().is_some() {}
        buf.clear();
        let n = read_line_limited(&mut lines, &mut buf).await?;
        if n == 0 {
            break;
        }
        if buf.len() > MAX_LINE {
            let _ = out_tx.send(jsonrpc::failure(
                None,
                &jsonrpc::ErrorObject::invalid_request("message too large"),
            ));
            continue;
        }
        let text = buf.trim_ascii();
        if text.is_empty() {
            continue;
        }
        let message = match jsonrpc::parse(text) {
            Ok(message) => message,
            Err(error) => {
                let _ = out_tx.send(error);
                continue;
            }
        };
        // `initialize` is answered before the next line is read, so that the requests a
        // client pipes right after it find the session initialized.
        if matches!(&message, Message::Request(r) if r.method == "initialize") {
            if let Some(answer) = server.handle(&session, message).await {
                let _ = out_tx.send(answer);
            }
            continue;
        }
        let server = server.clone();
        let session = Arc::clone(&session);
        let out = out_tx.clone();
        handlers.spawn(async move {
            if let Some(answer) = server.handle(&session, message).await {
                let _ = out.send(answer);
            }
        });
    }
    // Answers still come for a while (a piped batch of requests); but a blocking
    // `tasks/result` must not keep the session, and this function, alive until its task ends.
    let _ = tokio::time::timeout(END_OF_INPUT_GRACE, async {
        while handlers.join_next().await.is_some() {}
    })
    .await;
    handlers.shutdown().await;
    drop(busy);
    server.close_session(session.id()).await;
    drop(out_tx);
    drop(session);
    let _ = writer_task.await;
    Ok(())
}

/// Reads one line, keeping at most `MAX_LINE + 1` bytes of it (the rest is discarded).
async fn read_line_limited<R: AsyncBufReadExt + Unpin>(
    reader: &mut R,
    buf: &mut Vec<u8>,
) -> std::io::Result<usize> {
    let mut total = 0;
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(total);
        }
        let (chunk, done) = match available.iter().position(|b| *b == b'\n') {
            Some(i) => (&available[..=i], true),
            None => (available, false),
        };
        let len = chunk.len();
        if buf.len() <= MAX_LINE {
            let room = MAX_LINE + 1 - buf.len();
            buf.extend_from_slice(&chunk[..len.min(room)]);
        }
        reader.consume(len);
        total += len;
        if done {
            return Ok(total);
        }
    }
}
