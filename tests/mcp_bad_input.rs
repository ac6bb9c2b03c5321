//! Bad input to the MCP binding: every malformed, misshapen or misplaced message gets its
//! JSON-RPC error (or, over HTTP, its status and error body); nothing panics, nothing goes
//! unanswered.

mod mcp_support;

use mcp_support::http_client::{self, send as http};
use mcp_support::{err, server, session};
use serde_json::{Value, json};
use taskward_mcp::transport::http::HttpOptions;

/// Sends raw bytes to a fresh session and returns the answer.
async fn raw(server: &taskward_mcp::Server, bytes: &[u8]) -> Value {
    let (session, _rx) = server.open_session(None);
    server
        .handle_bytes(&session, bytes)
        .await
        .unwrap_or_else(|| panic!("{:?} is answered", String::from_utf8_lossy(bytes)))
}

#[tokio::test(start_paused = true)]
async fn malformed_json_is_a_parse_error() {
    let server = server().await;
    for bytes in [
        &b"{not json"[..],
        b"",
        b"   ",
        br#"{"jsonrpc":"2.0","id":1,"method":"ping""#,
        b"\xff\xfe\x00",
        br#"{"jsonrpc":"2.0","id":1,"method":"ping"} trailing"#,
    ] {
        let answer = raw(&server, bytes).await;
        assert_eq!(answer["error"]["code"], -32700, "{bytes:?}: {answer}");
        assert_eq!(answer["id"], Value::Null);
        assert_eq!(answer["jsonrpc"], "2.0");
    }
}

#[tokio::test(start_paused = true)]
async fn wrong_shapes_are_invalid_requests() {
    let server = server().await;
    let cases: [(&str, Value); 14] = [
        ("[]", Value::Null),
        (r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#, Value::Null),
        ("42", Value::Null),
        ("null", Value::Null),
        (r#""ping""#, Value::Null),
        (r#"{"id":1,"method":"ping"}"#, json!(1)),
        (r#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#, json!(1)),
        (r#"{"jsonrpc":2,"id":"a","method":"ping"}"#, json!("a")),
        (r#"{"jsonrpc":"2.0","id":1,"method":5}"#, json!(1)),
        (r#"{"jsonrpc":"2.0","id":1}"#, json!(1)),
        (r#"{"jsonrpc":"2.0","id":1.5,"method":"ping"}"#, Value::Null),
        (
            r#"{"jsonrpc":"2.0","id":{"x":1},"method":"ping"}"#,
            Value::Null,
        ),
        (
            r#"{"jsonrpc":"2.0","id":2,"method":"ping","params":[1]}"#,
            json!(2),
        ),
        (
            r#"{"jsonrpc":"2.0","id":3,"method":"ping","params":"x"}"#,
            json!(3),
        ),
    ];
    for (text, id) in cases {
        let answer = raw(&server, text.as_bytes()).await;
        assert_eq!(answer["error"]["code"], -32600, "{text}: {answer}");
        assert_eq!(answer["id"], id, "{text}: {answer}");
    }
    for id in ["true", "null", "[1]"] {
        let text = format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"ping"}}"#);
        let answer = raw(&server, text.as_bytes()).await;
        assert_eq!(answer["error"]["code"], -32600, "{text}: {answer}");
    }
}

#[tokio::test(start_paused = true)]
async fn unknown_methods_and_bad_params() {
    let server = server().await;
    let (s, _rx) = session(&server).await;
    for method in ["tools/frobnicate", "resources/list", "tasks/update", ""] {
        let error = err(&server, &s, method, json!({})).await;
        assert_eq!(error["code"], -32601, "{method}: {error}");
    }
    let bad = [
        ("tools/call", json!({})),
        ("tools/call", json!({"name": 5})),
        ("tools/call", json!({"name": "nope"})),
        ("tools/call", json!({"name": "echo", "arguments": 5})),
        ("tools/call", json!({"name": "echo", "task": "soon"})),
        ("tools/call", json!({"name": "echo", "task": {"ttl": -1}})),
        ("tasks/get", json!({})),
        ("tasks/get", json!({"taskId": 5})),
        ("tasks/result", json!({"taskId": null})),
        ("tasks/cancel", json!({"taskId": ["x"]})),
        ("tasks/list", json!({"cursor": 5})),
        ("tools/list", json!({"cursor": {}})),
    ];
    for (method, params) in bad {
        let error = err(&server, &s, method, params.clone()).await;
        assert_eq!(error["code"], -32602, "{method} {params}: {error}");
    }
    let (fresh, _rx) = server.open_session(None);
    let error = err(&server, &fresh, "initialize", json!({"capabilities": {}})).await;
    assert_eq!(error["code"], -32602, "initialize without protocolVersion");
    assert!(!fresh.is_initialized());
}

#[tokio::test(start_paused = true)]
async fn requests_before_initialize_are_refused() {
    let server = server().await;
    let (s, _rx) = server.open_session(None);
    for (method, params) in [
        ("tools/list", json!({})),
        ("tools/call", json!({"name": "echo"})),
        ("tasks/list", json!({})),
        ("tasks/get", json!({"taskId": "x"})),
    ] {
        let error = err(&server, &s, method, params).await;
        assert_eq!(error["code"], -32600, "{method}: {error}");
    }
    let pong = mcp_support::ok(&server, &s, "ping", json!({})).await;
    assert_eq!(pong, json!({}));
}

#[tokio::test(start_paused = true)]
async fn notifications_and_responses_get_no_answer_even_when_odd() {
    let server = server().await;
    let (s, _rx) = session(&server).await;
    for text in [
        r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":{}}}"#,
        r#"{"jsonrpc":"2.0","method":"notifications/cancelled"}"#,
        r#"{"jsonrpc":"2.0","method":"notifications/whatever","params":{"x":1}}"#,
        r#"{"jsonrpc":"2.0","id":9,"result":{}}"#,
        r#"{"jsonrpc":"2.0","id":"r","error":{"code":1,"message":"no"}}"#,
    ] {
        assert_eq!(
            server.handle_bytes(&s, text.as_bytes()).await,
            None,
            "{text}"
        );
    }
    let answer = server
        .handle_bytes(&s, br#"{"jsonrpc":"2.0","result":{}}"#)
        .await
        .expect("a response without id is invalid");
    assert_eq!(answer["error"]["code"], -32600);
}

#[tokio::test(start_paused = true)]
async fn mangled_messages_never_panic_and_requests_are_always_answered() {
    let server = server().await;
    let (s, _rx) = session(&server).await;
    let valid = br#"{"jsonrpc":"2.0","id":77,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"},"task":{"ttl":1000}}}"#;
    let mut variants: Vec<Vec<u8>> = (0..valid.len()).map(|n| valid[..n].to_vec()).collect();
    for i in 0..valid.len() {
        for b in [b'"', b'{', b'}', b'x', b'0', 0xff] {
            let mut v = valid.to_vec();
            v[i] = b;
            variants.push(v);
        }
    }
    for bytes in variants {
        if let Some(answer) = server.handle_bytes(&s, &bytes).await {
            assert_eq!(answer["jsonrpc"], "2.0");
            assert!(
                answer.get("result").is_some() != answer.get("error").is_some(),
                "{answer}"
            );
        }
    }
    // The session still works.
    let pong = mcp_support::ok(&server, &s, "ping", json!({})).await;
    assert_eq!(pong, json!({}));
}

/// Serves with a small body limit and one extra allowed origin.
async fn http_server() -> (std::net::SocketAddr, taskward_mcp::Server) {
    let mut options = HttpOptions::default();
    options.max_body_bytes = 1024;
    options.allowed_origins = vec!["https://app.example.com".into()];
    mcp_support::http_server(options).await
}

fn assert_rpc_error(response: &http_client::Response, status: u16, code: i64) {
    assert_eq!(response.status, status, "{response:?}");
    let body = response.json();
    assert_eq!(body["jsonrpc"], "2.0", "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
}

#[tokio::test]
async fn http_bad_bodies_are_answered() {
    let (addr, _server) = http_server().await;
    let sid = mcp_support::http_session(addr).await;
    let headers = [
        ("Content-Type", "application/json"),
        ("Mcp-Session-Id", sid.as_str()),
    ];

    let big =
        json!({"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {"pad": "x".repeat(4096)}});
    let response = http(
        addr,
        "POST",
        "/mcp",
        &headers,
        &serde_json::to_vec(&big).unwrap(),
    )
    .await;
    assert_rpc_error(&response, 413, -32600);
    assert_eq!(
        response.json()["error"]["message"],
        "request body too large"
    );

    let response = http(addr, "POST", "/mcp", &headers, b"{not json").await;
    assert_rpc_error(&response, 400, -32700);
    let response = http(addr, "POST", "/mcp", &headers, b"").await;
    assert_rpc_error(&response, 400, -32700);
    let batch = br#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#;
    let response = http(addr, "POST", "/mcp", &headers, batch).await;
    assert_rpc_error(&response, 400, -32600);

    // JSON-RPC errors of well-formed requests travel in a 200.
    let unknown = mcp_support::request("no/such/method", json!({}));
    let response = http_client::post(addr, Some(&sid), &unknown).await;
    assert_rpc_error(&response, 200, -32601);
    assert_eq!(response.json()["id"], unknown["id"]);

    // A body just under the limit is fine.
    let fits =
        json!({"jsonrpc": "2.0", "id": 2, "method": "ping", "params": {"pad": "x".repeat(900)}});
    let response = http_client::post(addr, Some(&sid), &fits).await;
    assert_eq!(response.status, 200, "{response:?}");
    assert_eq!(response.json()["result"], json!({}));
}

#[tokio::test]
async fn http_sessions_must_be_named_and_known() {
    let (addr, server) = http_server().await;
    let ping = mcp_support::request("ping", json!({}));

    let response = http_client::post(addr, None, &ping).await;
    assert_rpc_error(&response, 400, -32600);
    assert_eq!(response.json()["id"], ping["id"]);
    let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    assert_rpc_error(&http_client::post(addr, None, &note).await, 400, -32600);

    let response = http_client::post(addr, Some("no-such-session"), &ping).await;
    assert_rpc_error(&response, 404, -32001);
    assert_eq!(response.json()["id"], ping["id"]);
    let stream = http_client::open_stream(addr, "no-such-session").await;
    assert_eq!(stream.status, 404);
    let gone = [("Mcp-Session-Id", "no-such-session")];
    assert_rpc_error(&http(addr, "DELETE", "/mcp", &gone, b"").await, 404, -32001);

    assert_rpc_error(&http(addr, "DELETE", "/mcp", &[], b"").await, 400, -32600);
    let accept = [("Accept", "text/event-stream")];
    assert_rpc_error(&http(addr, "GET", "/mcp", &accept, b"").await, 400, -32600);
    assert_eq!(http(addr, "PUT", "/mcp", &[], b"{}").await.status, 405);

    // A failed initialize opens no session.
    let bad_init = mcp_support::request("initialize", json!({"capabilities": {}}));
    let response = http_client::post(addr, None, &bad_init).await;
    assert_eq!(response.json()["error"]["code"], -32602);
    assert!(response.header("mcp-session-id").is_none());
    assert_eq!(server.session_count(), 0);
}

#[tokio::test]
async fn http_origin_and_protocol_version_are_checked() {
    let (addr, _server) = http_server().await;
    let init = serde_json::to_vec(&mcp_support::initialize_request()).unwrap();
    let post = |origin: &'static str| {
        let init = init.clone();
        async move {
            let headers = [("Content-Type", "application/json"), ("Origin", origin)];
            http(addr, "POST", "/mcp", &headers, &init).await
        }
    };
    for origin in [
        "http://evil.example",
        "null",
        "http://localhost.evil.example:80",
    ] {
        assert_rpc_error(&post(origin).await, 403, -32600);
    }
    for origin in [
        "http://localhost:6274",
        "http://127.0.0.1",
        "https://[::1]:8443",
        "https://app.example.com",
    ] {
        let response = post(origin).await;
        assert_eq!(response.status, 200, "{origin}: {response:?}");
        assert!(response.header("mcp-session-id").is_some());
    }
    let evil = [("Origin", "http://evil.example")];
    assert_eq!(http(addr, "GET", "/status", &evil, b"").await.status, 403);

    let sid = mcp_support::http_session(addr).await;
    let ping = serde_json::to_vec(&mcp_support::request("ping", json!({}))).unwrap();
    for (version, status) in [
        ("1999-01-01", 400),
        ("2025-11-25", 200),
        ("2025-06-18", 200),
    ] {
        let headers = [
            ("Content-Type", "application/json"),
            ("Mcp-Session-Id", sid.as_str()),
            ("MCP-Protocol-Version", version),
        ];
        let response = http(addr, "POST", "/mcp", &headers, &ping).await;
        assert_eq!(response.status, status, "{version}: {response:?}");
        if status == 400 {
            assert_rpc_error(&response, 400, -32600);
        }
    }
}

#[tokio::test]
async fn http_a_huge_body_is_refused_with_an_answer() {
    let (addr, _server) = http_server().await;
    let sid = mcp_support::http_session(addr).await;
    let headers = [
        ("Content-Type", "application/json"),
        ("Mcp-Session-Id", sid.as_str()),
    ];
    let huge = vec![b' '; 8 * 1024 * 1024];
    let response = http(addr, "POST", "/mcp", &headers, &huge).await;
    assert_rpc_error(&response, 413, -32600);
}
