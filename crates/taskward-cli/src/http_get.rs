//! A minimal HTTP/1.1 GET over a plain TCP connection, enough to read `/status` from a
//! `taskward serve` (no TLS, no redirects, no keep-alive).

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::BoxError;

/// The most a response may hold.
const MAX_RESPONSE: u64 = 64 * 1024 * 1024;

/// How long connecting, and then the whole exchange, may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// A parsed `http://host[:port][/path]` address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Url {
    /// The host as written (`127.0.0.1`, `localhost`, `[::1]`).
    pub(crate) host: String,
    /// The port (80 when not written).
    pub(crate) port: u16,
    /// The path, without a trailing `/` (empty for the root).
    pub(crate) path: String,
}

impl Url {
    /// Parses a plain-HTTP URL.
    pub(crate) fn parse(url: &str) -> Result<Self, BoxError> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| format!("{url}: only plain http:// URLs are supported"))?;
        let (authority, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        let (host, port) = match authority.rfind(':') {
            Some(i) if !authority[i..].contains(']') => {
                let port = authority[i + 1..]
                    .parse()
                    .map_err(|_| format!("{url}: bad port"))?;
                (&authority[..i], port)
            }
            _ => (authority, 80),
        };
        if host.is_empty() {
            return Err(format!("{url}: no host").into());
        }
        Ok(Self {
            host: host.to_owned(),
            port,
            path: path.trim_end_matches('/').to_owned(),
        })
    }

    /// The same server with another path.
    pub(crate) fn with_path(&self, path: &str) -> Self {
        Self {
            path: path.to_owned(),
            ..self.clone()
        }
    }

    /// The address to connect to (brackets of an IPv6 host removed).
    fn socket_host(&self) -> &str {
        self.host.trim_start_matches('[').trim_end_matches(']')
    }
}

impl std::fmt::Display for Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "http://{}:{}{}", self.host, self.port, self.path)
    }
}

/// GETs `url`, with `Authorization: Bearer <token>` when given; returns the body of a 200
/// answer, and an error naming the status otherwise.
pub(crate) async fn get(url: &Url, bearer: Option<&str>) -> Result<Vec<u8>, BoxError> {
    let authorization = match bearer {
        // A token with a line break (or any control character) would forge headers.
        Some(token) if token.is_empty() || token.bytes().any(|b| !b.is_ascii_graphic()) => {
            return Err("the bearer token has characters a header cannot carry".into());
        }
        Some(token) => format!("Authorization: Bearer {token}\r\n"),
        None => String::new(),
    };
    let exchange = async {
        let mut stream = TcpStream::connect((url.socket_host(), url.port))
            .await
            .map_err(|e| format!("cannot connect to {url}: {e}"))?;
        let path = if url.path.is_empty() { "/" } else { &url.path };
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {}:{}\r\nAccept: application/json\r\n\
             {authorization}User-Agent: taskward/{}\r\nConnection: close\r\n\r\n",
            url.host,
            url.port,
            env!("CARGO_PKG_VERSION")
        );
        stream.write_all(request.as_bytes()).await?;
        let mut response = Vec::new();
        (&mut stream)
            .take(MAX_RESPONSE)
            .read_to_end(&mut response)
            .await?;
        Ok::<_, BoxError>(response)
    };
    let response = tokio::time::timeout(TIMEOUT, exchange)
        .await
        .map_err(|_| format!("{url}: no answer within {} s", TIMEOUT.as_secs()))??;
    let (status, body) = parse_response(&response).map_err(|e| format!("{url}: {e}"))?;
    if status != 200 {
        let text = String::from_utf8_lossy(&body);
        return Err(format!("{url}: HTTP {status}: {}", text.trim()).into());
    }
    Ok(body)
}

/// Splits a whole HTTP/1.1 response into its status code and its (de-chunked) body.
fn parse_response(response: &[u8]) -> Result<(u16, Vec<u8>), String> {
    let end = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("incomplete HTTP response")?;
    let head = std::str::from_utf8(&response[..end]).map_err(|_| "bad HTTP header")?;
    let body = &response[end + 4..];
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or("bad HTTP status line")?;
    let mut chunked = false;
    let mut length = None;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.eq_ignore_ascii_case("chunked");
        } else if name.eq_ignore_ascii_case("content-length") {
            length = value.parse::<usize>().ok();
        }
    }
    let body = if chunked {
        dechunk(body)?
    } else {
        match length {
            Some(n) if n <= body.len() => body[..n].to_vec(),
            Some(_) => return Err("truncated HTTP body".into()),
            None => body.to_vec(),
        }
    };
    Ok((status, body))
}

/// Decodes a chunked transfer-encoded body.
fn dechunk(mut body: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let eol = body
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("truncated chunk")?;
        let size_text = std::str::from_utf8(&body[..eol]).map_err(|_| "bad chunk size")?;
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| "bad chunk size")?;
        body = &body[eol + 2..];
        if size == 0 {
            return Ok(out);
        }
        if body.len() < size {
            return Err("truncated chunk".into());
        }
        out.extend_from_slice(&body[..size]);
        body = body.get(size + 2..).unwrap_or_default();
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::{Url, get, parse_response};

    #[test]
    fn parses_urls() {
        let url = Url::parse("http://127.0.0.1:3000").unwrap();
        assert_eq!(
            (url.host.as_str(), url.port, url.path.as_str()),
            ("127.0.0.1", 3000, "")
        );
        let url = Url::parse("http://localhost/base/").unwrap();
        assert_eq!(
            (url.host.as_str(), url.port, url.path.as_str()),
            ("localhost", 80, "/base")
        );
        let url = Url::parse("http://[::1]:8080/mcp").unwrap();
        assert_eq!(
            (url.socket_host(), url.port, url.path.as_str()),
            ("::1", 8080, "/mcp")
        );
        assert_eq!(
            url.with_path("/status").to_string(),
            "http://[::1]:8080/status"
        );
        assert!(Url::parse("https://example.com").is_err());
        assert!(Url::parse("http://:80").is_err());
        assert!(Url::parse("http://host:port").is_err());
    }

    #[test]
    fn reads_content_length_and_chunked_bodies() {
        let plain = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}";
        assert_eq!(parse_response(plain).unwrap(), (200, b"{}".to_vec()));
        let chunked = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\n{\"a\r\n4;x=y\r\n\":1}\r\n0\r\n\r\n";
        assert_eq!(
            parse_response(chunked).unwrap(),
            (200, b"{\"a\":1}".to_vec())
        );
        let missing = b"HTTP/1.1 404 Not Found\r\n\r\nnope";
        assert_eq!(parse_response(missing).unwrap(), (404, b"nope".to_vec()));
        assert!(parse_response(b"HTTP/1.1 200 OK\r\n").is_err());
    }

    #[tokio::test]
    async fn gets_from_a_server() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = vec![0; 1024];
            let n = socket.read(&mut request).await.unwrap();
            let request = String::from_utf8_lossy(&request[..n]).into_owned();
            socket
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n{\"ok\":true}")
                .await
                .unwrap();
            request
        });
        let url = Url::parse(&format!("http://127.0.0.1:{port}/status")).unwrap();
        assert_eq!(get(&url, Some("tok-1")).await.unwrap(), b"{\"ok\":true}");
        let request = server.await.unwrap();
        assert!(request.starts_with("GET /status HTTP/1.1\r\n"), "{request}");
        assert!(
            request.contains("\r\nAuthorization: Bearer tok-1\r\n"),
            "{request}"
        );
        assert!(get(&url, Some("a\r\nX-Evil: 1")).await.is_err());
    }
}
