//! The HTTP transport's bounds on a real socket: the allowed-hosts check (DNS rebinding),
//! `/status` without session ids and where it is served, connection timeouts and cap, TLS.

mod mcp_support;

use std::net::SocketAddr;
use std::time::Duration;

use mcp_support::http_client::{self, PATIENCE};
use serde_json::{Value, json};
use taskward_mcp::transport::http::{ConnectionLimits, HttpOptions, StatusEndpoint};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A request's head and body as raw bytes: `host` is the `Host` header (none when `None`).
fn raw(
    method: &str,
    path: &str,
    host: Option<&str>,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Vec<u8> {
    let mut head = format!("{method} {path} HTTP/1.1\r\n");
    if let Some(host) = host {
        head.push_str(&format!("Host: {host}\r\n"));
    }
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// A POST of a JSON-RPC message to `/mcp`, as raw bytes.
fn raw_post(host: Option<&str>, extra: &[(&str, &str)], message: &Value, close: bool) -> Vec<u8> {
    let mut headers = vec![
        ("Content-Type", "application/json"),
        ("Accept", "application/json, text/event-stream"),
    ];
    if close {
        headers.push(("Connection", "close"));
    }
    headers.extend_from_slice(extra);
    raw(
        "POST",
        "/mcp",
        host,
        &headers,
        &serde_json::to_vec(message).unwrap(),
    )
}

/// Reads one response whose body has a `Content-Length` (or none): status and body.
async fn read_response<S: AsyncRead + Unpin>(stream: &mut S) -> (u16, String) {
    let mut bytes = Vec::new();
    let mut byte = [0u8; 1];
    while !bytes.ends_with(b"\r\n\r\n") {
        let n = stream.read(&mut byte).await.expect("reads the head");
        assert_eq!(
            n,
            1,
            "the connection closed before a whole head: {:?}",
            String::from_utf8_lossy(&bytes)
        );
        bytes.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&bytes).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad head: {head}"));
    let length = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0; length];
    stream.read_exact(&mut body).await.expect("reads the body");
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// Sends raw bytes on a fresh connection and reads one answer.
async fn exchange(addr: SocketAddr, request: &[u8]) -> (u16, String) {
    tokio::time::timeout(PATIENCE, async {
        let mut stream = TcpStream::connect(addr).await.expect("connects");
        stream.write_all(request).await.expect("writes");
        read_response(&mut stream).await
    })
    .await
    .expect("answered in time")
}

/// Waits until the peer closes the connection (EOF or reset); panics if it stays open.
async fn closed_by_server(stream: &mut TcpStream) {
    let mut buf = [0u8; 256];
    let closed = tokio::time::timeout(PATIENCE, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the server kept the connection open");
}

fn refused_as_foreign_host(answer: &(u16, String)) {
    assert_eq!(answer.0, 403, "{answer:?}");
    let body: Value = serde_json::from_str(&answer.1).expect("a JSON-RPC error body");
    assert_eq!(body["error"]["message"], "host not allowed", "{body}");
}

#[tokio::test]
async fn a_foreign_host_is_refused_on_every_route() {
    let (addr, _server) = mcp_support::http_server(HttpOptions::default()).await;
    let sid = mcp_support::http_session(addr).await;
    let evil = Some("evil.example");
    let init = mcp_support::initialize_request();

    refused_as_foreign_host(&exchange(addr, &raw_post(evil, &[], &init, true)).await);
    let sse = [
        ("Accept", "text/event-stream"),
        ("Mcp-Session-Id", sid.as_str()),
        ("Connection", "close"),
    ];
    refused_as_foreign_host(&exchange(addr, &raw("GET", "/mcp", evil, &sse, b"")).await);
    let close = [("Connection", "close")];
    refused_as_foreign_host(&exchange(addr, &raw("GET", "/status", evil, &close, b"")).await);
    let delete = [("Mcp-Session-Id", sid.as_str()), ("Connection", "close")];
    refused_as_foreign_host(&exchange(addr, &raw("DELETE", "/mcp", evil, &delete, b"")).await);
    refused_as_foreign_host(&exchange(addr, &raw("GET", "/nowhere", evil, &close, b"")).await);

    // Look-alikes and malformed hosts are refused too, and never break the server.
    for host in [
        "evil.example:3000",
        "localhost.evil.example",
        "127.0.0.1.evil.example",
        "localhost@evil.example",
        "[::1",
        "[::2]:80",
        "localhost:http",
        "localhost:99999999",
        ":80",
        "",
    ] {
        let answer = exchange(addr, &raw_post(Some(host), &[], &init, true)).await;
        refused_as_foreign_host(&answer);
    }
    // The session the refusals aimed at is untouched.
    let list = mcp_support::request("tasks/list", json!({}));
    let answer = http_client::post(addr, Some(&sid), &list).await;
    assert_eq!(answer.status, 200, "{answer:?}");
}

#[tokio::test]
async fn local_and_configured_hosts_are_accepted() {
    let mut options = HttpOptions::default();
    options.allowed_hosts = vec!["mcp.example.com".into(), "192.0.2.7".into()];
    let (addr, _server) = mcp_support::http_server(options).await;
    let init = mcp_support::initialize_request();
    for host in [
        Some("localhost"),
        Some("localhost:4321"),
        Some("LocalHost:1"),
        Some("127.0.0.1:8080"),
        Some("[::1]:3000"),
        Some("[::1]"),
        Some("mcp.example.com"),
        Some("MCP.example.com:443"),
        Some("192.0.2.7:3000"),
        None,
    ] {
        let answer = exchange(addr, &raw_post(host, &[], &init, true)).await;
        assert_eq!(answer.0, 200, "{host:?}: {answer:?}");
    }
}

/// A free port on loopback, for a listener the server binds itself.
fn free_addr() -> SocketAddr {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
    probe.local_addr().expect("an address")
}

async fn get_status(addr: SocketAddr) -> (u16, String) {
    exchange(
        addr,
        &raw(
            "GET",
            "/status",
            Some("localhost"),
            &[("Connection", "close")],
            b"",
        ),
    )
    .await
}

#[tokio::test]
async fn status_shows_no_session_id() {
    let (addr, _server) = mcp_support::http_server(HttpOptions::default()).await;
    let first = mcp_support::http_session(addr).await;
    let second = mcp_support::http_session(addr).await;
    // A task-augmented call in the first session, a plain one (running in the session's
    // private scope of plain calls) in the second.
    let task = mcp_support::request(
        "tools/call",
        json!({"name": "sleep", "arguments": {"ms": 60_000}, "task": {"ttl": 60_000}}),
    );
    let answer = http_client::post(addr, Some(&first), &task).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    let plain = mcp_support::request(
        "tools/call",
        json!({"name": "sleep", "arguments": {"ms": 60_000}}),
    );
    let sid = second.clone();
    let _plain = tokio::spawn(async move { http_client::post(addr, Some(&sid), &plain).await });

    let status = tokio::time::timeout(PATIENCE, async {
        loop {
            let (code, body) = get_status(addr).await;
            assert_eq!(code, 200);
            let status: Value = serde_json::from_str(&body).expect("JSON");
            if status["tasks"].as_array().is_some_and(|t| t.len() == 2) {
                return body;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("both tasks show");
    for sid in [&first, &second] {
        assert!(!status.contains(sid.as_str()), "{status} shows {sid}");
        // Nor a large piece of it.
        assert!(!status.contains(&sid[..12]), "{status} shows part of {sid}");
    }
    let status: Value = serde_json::from_str(&status).unwrap();
    let scopes: Vec<&str> = status["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["scope"].as_str().expect("a scope"))
        .collect();
    assert!(
        scopes.iter().all(|s| s.starts_with("session:")),
        "{scopes:?}"
    );
    assert!(scopes.iter().any(|s| s.ends_with("#calls")), "{scopes:?}");
    // The same session shows the same way each time.
    let (_, again) = get_status(addr).await;
    for scope in &scopes {
        assert!(again.contains(scope), "{scope} not stable in {again}");
    }
}

#[tokio::test]
async fn status_can_be_turned_off() {
    let mut options = HttpOptions::default();
    options.status = StatusEndpoint::Off;
    let (addr, _server) = mcp_support::http_server(options).await;
    assert_eq!(get_status(addr).await.0, 404);
    mcp_support::http_session(addr).await;
}

#[tokio::test]
async fn status_can_have_its_own_listener() {
    let status_addr = free_addr();
    let mut options = HttpOptions::default();
    options.status = StatusEndpoint::Listen(status_addr);
    let (addr, _server) = mcp_support::http_server(options).await;
    mcp_support::http_session(addr).await;
    assert_eq!(get_status(addr).await.0, 404, "not beside /mcp");
    let (code, body) = tokio::time::timeout(PATIENCE, async {
        loop {
            // The status listener is bound by the server, maybe after our first try.
            if TcpStream::connect(status_addr).await.is_ok() {
                return get_status(status_addr).await;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the status listener answers");
    assert_eq!(code, 200, "{body}");
    let status: Value = serde_json::from_str(&body).unwrap();
    assert!(status["registry"].is_object(), "{status}");
    let init = mcp_support::initialize_request();
    assert_eq!(
        exchange(status_addr, &raw_post(Some("localhost"), &[], &init, true))
            .await
            .0,
        404
    );
    let evil = [("Connection", "close")];
    refused_as_foreign_host(
        &exchange(
            status_addr,
            &raw("GET", "/status", Some("evil.example"), &evil, b""),
        )
        .await,
    );
}

fn short(limits: ConnectionLimits) -> HttpOptions {
    let mut options = HttpOptions::default();
    options.connections = limits;
    options
}

#[tokio::test]
async fn slow_headers_are_cut_off() {
    let limits = ConnectionLimits::default()
        .header_timeout(Duration::from_millis(250))
        .idle_timeout(Duration::from_secs(600));
    let (addr, _server) = mcp_support::http_server(short(limits)).await;
    // Half a request line, then nothing.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(b"POST /mcp HTT").await.unwrap();
    closed_by_server(&mut stream).await;
    // A connection that sends nothing at all.
    let mut silent = TcpStream::connect(addr).await.unwrap();
    closed_by_server(&mut silent).await;
    // Headers that stop midway.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /status HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
        .await
        .unwrap();
    closed_by_server(&mut stream).await;
    // A later request on a kept-alive connection: its head is bounded from its first byte
    // (not by the idle timeout).
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(&raw("GET", "/status", Some("localhost"), &[], b""))
        .await
        .unwrap();
    assert_eq!(read_response(&mut stream).await.0, 200);
    stream
        .write_all(b"GET /status HTTP/1.1\r\nHo")
        .await
        .unwrap();
    closed_by_server(&mut stream).await;
    // The server still answers.
    assert_eq!(get_status(addr).await.0, 200);
}

#[tokio::test]
async fn a_slow_body_gets_408() {
    let options = short(ConnectionLimits::default().body_timeout(Duration::from_millis(100)));
    let (addr, _server) = mcp_support::http_server(options).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = "POST /mcp HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
                Accept: application/json\r\nContent-Length: 100\r\n\r\n{\"jsonrpc\":";
    stream.write_all(head.as_bytes()).await.unwrap();
    let (code, body) = tokio::time::timeout(PATIENCE, read_response(&mut stream))
        .await
        .expect("answered");
    assert_eq!(code, 408, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"]["code"], -32600, "{body}");
    closed_by_server(&mut stream).await;
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let limits = ConnectionLimits::default()
        .idle_timeout(Duration::from_millis(100))
        .header_timeout(Duration::from_secs(600));
    let options = short(limits);
    let (addr, _server) = mcp_support::http_server(options).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let init = mcp_support::initialize_request();
    stream
        .write_all(&raw_post(Some("localhost"), &[], &init, false))
        .await
        .unwrap();
    let (code, _) = read_response(&mut stream).await;
    assert_eq!(code, 200);
    closed_by_server(&mut stream).await;
}

#[tokio::test]
async fn a_stream_outlives_the_timeouts() {
    let limits = ConnectionLimits::default()
        .header_timeout(Duration::from_millis(200))
        .idle_timeout(Duration::from_millis(200))
        .body_timeout(Duration::from_millis(200));
    let (addr, _server) = mcp_support::http_server(short(limits)).await;
    let sid = mcp_support::http_session(addr).await;
    let mut stream = http_client::open_stream(addr, &sid).await;
    assert_eq!(stream.status, 200);
    // A task that ends well after every timeout: its notification still comes on the
    // stream opened before it.
    let call = mcp_support::request(
        "tools/call",
        json!({"name": "sleep", "arguments": {"ms": 800}, "task": {"ttl": 60_000}}),
    );
    let answer = http_client::post(addr, Some(&sid), &call).await;
    let task = answer.json()["result"]["task"]["taskId"]
        .as_str()
        .unwrap()
        .to_owned();
    // And a blocking tasks/result, in flight all that time.
    let result = mcp_support::request("tasks/result", json!({"taskId": task}));
    let session = sid.clone();
    let blocked =
        tokio::spawn(async move { http_client::post(addr, Some(&session), &result).await });
    loop {
        let message = stream.next_json().await;
        if message["params"]["taskId"] == task.as_str()
            && message["params"]["status"] == "completed"
        {
            break;
        }
    }
    let answer = blocked.await.unwrap();
    assert_eq!(answer.status, 200, "{answer:?}");
    assert!(answer.json()["result"]["isError"] != true, "{answer:?}");
}

#[tokio::test]
async fn the_connection_cap_holds_further_connections() {
    let options = short(ConnectionLimits::default().max_connections(2));
    let (addr, _server) = mcp_support::http_server(options).await;
    let request = raw("GET", "/status", Some("localhost"), &[], b"");
    let mut first = TcpStream::connect(addr).await.unwrap();
    let mut second = TcpStream::connect(addr).await.unwrap();
    for stream in [&mut first, &mut second] {
        stream.write_all(&request).await.unwrap();
        assert_eq!(read_response(stream).await.0, 200);
    }
    let mut third = TcpStream::connect(addr).await.unwrap();
    third.write_all(&request).await.unwrap();
    // The open connections are still served ...
    first.write_all(&request).await.unwrap();
    assert_eq!(read_response(&mut first).await.0, 200);
    // ... while the third waits.
    let mut byte = [0u8; 1];
    let early = tokio::time::timeout(Duration::from_millis(200), third.peek(&mut byte)).await;
    assert!(
        early.is_err(),
        "the third connection was served beyond the cap"
    );
    drop(first);
    let answer = tokio::time::timeout(PATIENCE, read_response(&mut third))
        .await
        .expect("served once a connection closed");
    assert_eq!(answer.0, 200);
}

mod tls {
    use std::sync::Arc;

    use tokio_rustls::rustls::{self, pki_types::ServerName};

    use super::*;

    #[tokio::test]
    async fn initialize_over_tls() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("a cert");
        let dir =
            std::env::temp_dir().join(format!("taskward-tls-{}-{}", std::process::id(), line!()));
        std::fs::create_dir_all(&dir).unwrap();
        let (cert_file, key_file) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&cert_file, cert.cert.pem()).unwrap();
        std::fs::write(&key_file, cert.signing_key.serialize_pem()).unwrap();

        let mut options = HttpOptions::default();
        options.tls = Some(
            taskward_mcp::transport::http::TlsConfig::from_pem_files(&cert_file, &key_file)
                .expect("the certificate and key load"),
        );
        let addr = mcp_support::serve_http(mcp_support::server().await, options).await;

        let mut roots = rustls::RootCertStore::empty();
        roots.add(cert.cert.der().clone()).unwrap();
        let config = rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let tcp = TcpStream::connect(addr).await.unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        let mut tls = tokio::time::timeout(PATIENCE, connector.connect(name, tcp))
            .await
            .expect("handshake in time")
            .expect("the handshake succeeds");
        let init = mcp_support::initialize_request();
        tls.write_all(&raw_post(Some("localhost"), &[], &init, true))
            .await
            .unwrap();
        let (code, body) = tokio::time::timeout(PATIENCE, read_response(&mut tls))
            .await
            .unwrap();
        assert_eq!(code, 200, "{body}");
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["result"]["protocolVersion"], mcp_support::VERSION);
        // Plain HTTP on the TLS port is not served.
        let mut plain = TcpStream::connect(addr).await.unwrap();
        plain
            .write_all(&raw("GET", "/status", Some("localhost"), &[], b""))
            .await
            .unwrap();
        closed_by_server(&mut plain).await;
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[tokio::test]
async fn shutdown_finishes_requests_in_flight_then_returns() {
    let server = mcp_support::server().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(taskward_mcp::transport::http::serve_with_shutdown(
        server,
        listener,
        HttpOptions::default(),
        async move {
            let _ = stopped.await;
        },
    ));
    let sid = mcp_support::http_session(addr).await;
    // An idle kept-alive connection, and a plain call in flight on another.
    let mut idle = TcpStream::connect(addr).await.unwrap();
    idle.write_all(&raw("GET", "/status", Some("localhost"), &[], b""))
        .await
        .unwrap();
    assert_eq!(read_response(&mut idle).await.0, 200);
    let call = mcp_support::request(
        "tools/call",
        json!({"name": "sleep", "arguments": {"ms": 300}}),
    );
    let mut busy = TcpStream::connect(addr).await.unwrap();
    busy.write_all(&raw_post(
        Some("localhost"),
        &[("Mcp-Session-Id", sid.as_str())],
        &call,
        false,
    ))
    .await
    .unwrap();
    // Wait until the call runs (its task shows in the status), then stop.
    tokio::time::timeout(PATIENCE, async {
        loop {
            let (_, body) = get_status(addr).await;
            if body.contains("\"sleep\"") {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the call runs");
    stop.send(()).unwrap();
    closed_by_server(&mut idle).await;
    let (code, body) = tokio::time::timeout(PATIENCE, read_response(&mut busy))
        .await
        .unwrap();
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("slept 300"), "{body}");
    let served = tokio::time::timeout(PATIENCE, serving)
        .await
        .expect("serve returns");
    served.unwrap().expect("served without error");
    assert!(TcpStream::connect(addr).await.is_err(), "still accepting");
}

#[tokio::test]
async fn huge_limits_are_no_limits() {
    let limits = ConnectionLimits::default()
        .header_timeout(Duration::MAX)
        .body_timeout(Duration::MAX)
        .idle_timeout(Duration::MAX)
        .max_connections(usize::MAX);
    let (addr, _server) = mcp_support::http_server(short(limits)).await;
    mcp_support::http_session(addr).await;
    assert_eq!(get_status(addr).await.0, 200);
}
