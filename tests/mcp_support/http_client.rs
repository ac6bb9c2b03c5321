//! A minimal HTTP/1.1 client over a plain `TcpStream`: enough to drive the Streamable HTTP
//! transport byte for byte (no client library between the test and the wire).

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// How long a test waits for any answer before failing.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// A response, read whole.
#[derive(Debug)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Header names (lowercased) and values.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

impl Response {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON; panics when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

/// Sends one request on a fresh connection (`Connection: close`) and reads the whole answer.
pub async fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    tokio::time::timeout(PATIENCE, async {
        let mut reader = connect(addr, method, path, headers, body).await;
        let (status, headers) = read_head(&mut reader).await;
        let body = if is_chunked(&headers) {
            let mut body = Vec::new();
            while let Some(chunk) = read_chunk(&mut reader).await {
                body.extend_from_slice(&chunk);
            }
            body
        } else if let Some(len) = content_length(&headers) {
            let mut body = vec![0; len];
            reader.read_exact(&mut body).await.expect("whole body");
            body
        } else {
            let mut body = Vec::new();
            reader.read_to_end(&mut body).await.expect("body to EOF");
            body
        };
        Response {
            status,
            headers,
            body,
        }
    })
    .await
    .expect("answered in time")
}

/// POSTs a JSON-RPC message to `/mcp`, with the session id when given.
pub async fn post(addr: SocketAddr, session: Option<&str>, message: &Value) -> Response {
    let body = serde_json::to_vec(message).expect("serializes");
    let mut headers = vec![
        ("Content-Type", "application/json"),
        ("Accept", "application/json, text/event-stream"),
    ];
    if let Some(id) = session {
        headers.push(("Mcp-Session-Id", id));
    }
    send(addr, "POST", "/mcp", &headers, &body).await
}

/// An open SSE response: events are read as they come.
#[derive(Debug)]
pub struct EventStream {
    /// The status code.
    pub status: u16,
    /// Header names (lowercased) and values.
    pub headers: Vec<(String, String)>,
    reader: BufReader<TcpStream>,
    chunked: bool,
    buffer: String,
}

/// One SSE event.
#[derive(Debug, Clone, PartialEq)]
pub struct SseEvent {
    /// The `event:` field (`message` when absent).
    pub event: String,
    /// The `data:` lines, joined.
    pub data: String,
}

/// Opens `GET /mcp` for a session's stream.
pub async fn open_stream(addr: SocketAddr, session: &str) -> EventStream {
    let headers = [("Accept", "text/event-stream"), ("Mcp-Session-Id", session)];
    let reader = connect(addr, "GET", "/mcp", &headers, b"").await;
    EventStream::open(reader, "stream head in time").await
}

/// POSTs a body with the given headers and keeps the answer open as a stream of SSE events
/// (for answers that stream: `tasks/result` with input requests, `subscriptions/listen`).
pub async fn post_stream(addr: SocketAddr, headers: &[(&str, &str)], body: &[u8]) -> EventStream {
    let reader = connect(addr, "POST", "/mcp", headers, body).await;
    EventStream::open(reader, "answer head in time").await
}

impl EventStream {
    /// Reads the head of an answer on `reader` and keeps the rest as a stream; `what` names
    /// the head in the message when it does not come in time.
    async fn open(mut reader: BufReader<TcpStream>, what: &str) -> Self {
        let (status, headers) = tokio::time::timeout(PATIENCE, read_head(&mut reader))
            .await
            .expect(what);
        let chunked = is_chunked(&headers);
        Self {
            status,
            headers,
            reader,
            chunked,
            buffer: String::new(),
        }
    }

    /// The next event (comments such as keep-alives skipped); `None` when the stream ended.
    pub async fn next(&mut self) -> Option<SseEvent> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                if let Some(event) = parse_event(&block) {
                    return Some(event);
                }
                continue;
            }
            let more = if self.chunked {
                read_chunk(&mut self.reader).await?
            } else {
                let mut buf = vec![0; 4096];
                let n = self.reader.read(&mut buf).await.ok()?;
                if n == 0 {
                    return None;
                }
                buf.truncate(n);
                buf
            };
            self.buffer
                .push_str(&String::from_utf8_lossy(&more).replace("\r\n", "\n"));
        }
    }

    /// The next event's data as JSON, within [`PATIENCE`]; panics when none comes.
    pub async fn next_json(&mut self) -> Value {
        let event = tokio::time::timeout(PATIENCE, self.next())
            .await
            .expect("an event in time")
            .expect("the stream is open");
        assert_eq!(event.event, "message");
        serde_json::from_str(&event.data).expect("event data is JSON")
    }
}

/// Parses the data of an SSE body made of `message` events.
pub fn sse_messages(body: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(body)
        .replace("\r\n", "\n")
        .split("\n\n")
        .filter_map(parse_event)
        .map(|e| serde_json::from_str(&e.data).expect("event data is JSON"))
        .collect()
}

fn parse_event(block: &str) -> Option<SseEvent> {
    let mut event = None;
    let mut data: Vec<&str> = Vec::new();
    for line in block.lines() {
        if let Some(v) = line.strip_prefix("event:") {
            event = Some(v.trim_start().to_owned());
        } else if let Some(v) = line.strip_prefix("data:") {
            data.push(v.strip_prefix(' ').unwrap_or(v));
        }
    }
    if data.is_empty() && event.is_none() {
        return None;
    }
    Some(SseEvent {
        event: event.unwrap_or_else(|| "message".into()),
        data: data.join("\n"),
    })
}

async fn connect(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> BufReader<TcpStream> {
    let mut stream = TcpStream::connect(addr).await.expect("connects");
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    stream.write_all(head.as_bytes()).await.expect("writes");
    // A server may answer (413) before reading the whole body and close: not an error here.
    let _ = stream.write_all(body).await;
    BufReader::new(stream)
}

async fn read_head(reader: &mut BufReader<TcpStream>) -> (u16, Vec<(String, String)>) {
    let mut line = String::new();
    reader.read_line(&mut line).await.expect("status line");
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line: {line:?}"));
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line).await.expect("header line");
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            break;
        }
        let (name, value) = trimmed.split_once(':').expect("a header");
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    (status, headers)
}

fn is_chunked(headers: &[(String, String)]) -> bool {
    headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"))
}

fn content_length(headers: &[(String, String)]) -> Option<usize> {
    headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
}

/// One chunk of a chunked body; `None` at the last chunk or at EOF.
async fn read_chunk(reader: &mut BufReader<TcpStream>) -> Option<Vec<u8>> {
    let mut line = String::new();
    if reader.read_line(&mut line).await.ok()? == 0 {
        return None;
    }
    let size = usize::from_str_radix(line.trim().split(';').next()?, 16).ok()?;
    if size == 0 {
        return None;
    }
    let mut chunk = vec![0; size + 2];
    reader.read_exact(&mut chunk).await.ok()?;
    chunk.truncate(size);
    Some(chunk)
}
