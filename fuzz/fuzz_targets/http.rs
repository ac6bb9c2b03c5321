//! Arbitrary HTTP requests to the Streamable HTTP routes: a method, a path, headers picked
//! among the ones the transport reads (with arbitrary values) and an arbitrary body. The
//! transport must never panic and never answer 5xx; a JSON answer to a POST must be a
//! JSON-RPC response.
#![no_main]

use arbitrary::Arbitrary;
use axum::body::Body;
use axum::http::{HeaderValue, Method, Request};
use libfuzzer_sys::fuzz_target;
use taskward_fuzz::{PATIENCE, check_response, harness, let_time_pass};
use tower::ServiceExt;

const HEADERS: [&str; 9] = [
    "content-type",
    "accept",
    "origin",
    "mcp-session-id",
    "mcp-protocol-version",
    "mcp-method",
    "mcp-name",
    "last-event-id",
    "content-length",
];

#[derive(Arbitrary, Debug)]
struct Input {
    method: u8,
    path: bool,
    headers: Vec<(u8, Vec<u8>)>,
    body: Vec<u8>,
}

fuzz_target!(|input: Input| {
    let h = harness();
    let method = [Method::POST, Method::GET, Method::DELETE, Method::PUT]
        [usize::from(input.method % 4)]
    .clone();
    let uri = if input.path { "/mcp" } else { "/status" };
    let mut request = Request::builder().method(method.clone()).uri(uri);
    for (name, value) in input.headers.iter().take(12) {
        if let Ok(value) = HeaderValue::from_bytes(value) {
            request = request.header(HEADERS[usize::from(*name) % HEADERS.len()], value);
        }
    }
    let Ok(request) = request.body(Body::from(input.body)) else {
        return;
    };
    h.rt.block_on(async {
        let response = h.router.clone().oneshot(request).await.expect("infallible");
        let status = response.status();
        // Sessions that this input opened end with it.
        let opened = response
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        assert!(!status.is_server_error(), "{status}");
        let is_json = response
            .headers()
            .get("content-type")
            .is_some_and(|t| t.as_bytes().starts_with(b"application/json"));
        let body = tokio::time::timeout(
            PATIENCE,
            axum::body::to_bytes(response.into_body(), 1 << 24),
        )
        .await;
        if method == Method::POST
            && uri == "/mcp"
            && is_json
            && let Ok(Ok(body)) = body
        {
            let answer: serde_json::Value = serde_json::from_slice(&body).expect("a JSON body");
            check_response(&answer, None);
        }
        if let Some(id) = opened {
            h.server.close_session(&id).await;
        }
        let_time_pass().await;
    });
});
