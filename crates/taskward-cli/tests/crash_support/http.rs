//! A blocking HTTP/1.1 client over one TCP connection per request (`Connection: close`):
//! enough for JSON answers and SSE streams, and every failure of a killed server is an
//! `io::Error` (refused, reset, or the end of a body before its end).

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use serde_json::Value;

/// The longest any read or write waits: a live server answers far sooner.
const IO_TIMEOUT: Duration = Duration::from_secs(60);

/// An answer whose body is read as it comes.
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) session: Option<String>,
    sse: bool,
    body: Box<dyn BufRead + Send>,
}

/// POSTs `message` to `/mcp` (as a 2025-11-25 client, with the session when given).
pub(crate) fn post(addr: SocketAddr, session: Option<&str>, message: &Value) -> io::Result<Answer> {
    post_as(addr, "2025-11-25", session, message)
}

/// POSTs `message` to `/mcp` with the `MCP-Protocol-Version` header `version` (and the
/// session when given).
pub(crate) fn post_as(
    addr: SocketAddr,
    version: &str,
    session: Option<&str>,
    message: &Value,
) -> io::Result<Answer> {
    let body = serde_json::to_vec(message).map_err(io::Error::other)?;
    send(addr, "POST", version, session, &body)
}

/// Opens the session's notification stream (`GET /mcp`, as a 2025-11-25 client).
#[allow(dead_code)] // serve_nodes.rs only
pub(crate) fn get_stream(addr: SocketAddr, session: &str) -> io::Result<Answer> {
    send(addr, "GET", "2025-11-25", Some(session), &[])
}

/// Ends the session (`DELETE /mcp`): the status.
#[allow(dead_code)] // serve_nodes.rs only
pub(crate) fn delete(addr: SocketAddr, session: &str) -> io::Result<u16> {
    Ok(send(addr, "DELETE", "2025-11-25", Some(session), &[])?.status)
}

/// One request to `/mcp` with `method` and `body` (JSON when not empty).
fn send(
    addr: SocketAddr,
    method: &str,
    version: &str,
    session: Option<&str>,
    body: &[u8],
) -> io::Result<Answer> {
    let mut stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT)?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    stream.set_nodelay(true)?;
    let mut head = format!(
        "{method} /mcp HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Accept: application/json, text/event-stream\r\nMCP-Protocol-Version: {version}\r\n\
         Content-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    if let Some(session) = session {
        head.push_str(&format!("Mcp-Session-Id: {session}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    let mut reader = BufReader::new(stream);
    let status_line = line(&mut reader)?;
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad(format!("status line {status_line:?}")))?;
    let (mut session, mut sse, mut chunked, mut length) = (None, false, false, None);
    loop {
        let header = line(&mut reader)?;
        if header.is_empty() {
            break;
        }
        let Some((name, value)) = header.split_once(':') else {
            return Err(bad(format!("header {header:?}")));
        };
        let value = value.trim();
        match name.to_ascii_lowercase().as_str() {
            "mcp-session-id" => session = Some(value.to_owned()),
            "content-type" => sse = value.starts_with("text/event-stream"),
            "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
            "content-length" => length = value.parse::<u64>().ok(),
            _ => {}
        }
    }
    let body: Box<dyn BufRead + Send> = if chunked {
        Box::new(BufReader::new(Chunked {
            inner: reader,
            left: 0,
            done: false,
        }))
    } else if let Some(length) = length {
        Box::new(reader.take(length))
    } else {
        Box::new(reader)
    };
    Ok(Answer {
        status,
        session,
        sse,
        body,
    })
}

impl Answer {
    /// The next JSON-RPC message of the answer: the whole body of a JSON answer, the next
    /// `data` event of an SSE one; `None` at the end of an empty body or of the stream.
    pub(crate) fn next_message(&mut self) -> io::Result<Option<Value>> {
        if !self.sse {
            let mut text = Vec::new();
            self.body.read_to_end(&mut text)?;
            if text.iter().all(u8::is_ascii_whitespace) {
                return Ok(None);
            }
            return serde_json::from_slice(&text).map(Some).map_err(bad);
        }
        let mut data = String::new();
        loop {
            let mut raw = String::new();
            if self.body.read_line(&mut raw)? == 0 {
                return if data.is_empty() {
                    Ok(None)
                } else {
                    Err(bad("the stream ended inside an event"))
                };
            }
            let raw = raw.trim_end_matches(['\r', '\n']);
            if raw.is_empty() {
                if data.is_empty() {
                    continue;
                }
                return serde_json::from_str(&data).map(Some).map_err(bad);
            }
            if let Some(rest) = raw.strip_prefix("data:") {
                data.push_str(rest.strip_prefix(' ').unwrap_or(rest));
            }
        }
    }
}

/// One header line, without its CRLF; the connection closing first is an error.
fn line(reader: &mut impl BufRead) -> io::Result<String> {
    let mut text = String::new();
    if reader.read_line(&mut text)? == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the connection closed before the answer",
        ));
    }
    Ok(text.trim_end_matches(['\r', '\n']).to_owned())
}

fn bad(what: impl ToString) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

/// A chunked body (RFC 9112 §7.1), decoded as it is read; closing before the last chunk is
/// an error.
struct Chunked<R> {
    inner: R,
    left: usize,
    done: bool,
}

impl<R: BufRead> Read for Chunked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        if self.left == 0 {
            let size = line(&mut self.inner)?;
            let size = size.split(';').next().unwrap_or_default().trim();
            self.left = usize::from_str_radix(size, 16).map_err(bad)?;
            if self.left == 0 {
                self.done = true;
                return Ok(0);
            }
        }
        let want = buf.len().min(self.left);
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the connection closed inside a chunk",
            ));
        }
        self.left -= n;
        if self.left == 0 {
            line(&mut self.inner)?;
        }
        Ok(n)
    }
}
