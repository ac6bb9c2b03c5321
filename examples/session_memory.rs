//! What sessions cost in memory, and whether closing them gives it back.
//!
//! Opens N sessions over the Streamable HTTP transport (its router called in process, with
//! `initialize` as a client sends it), ends them all with DELETE, opens N again, then lets
//! them expire after their idle time, printing the process's resident memory (RSS) at each
//! step. Freed memory may stay with the allocator, so the figure to read is the second round:
//! sessions that were freed for real make room for the next ones, and RSS stays where the
//! first round took it instead of doubling.
//!
//! ```text
//! cargo run --example session_memory -- 100000 120
//! ```
//!
//! The arguments: how many sessions (default 100,000), and their idle timeout in seconds
//! (default 120; long enough for every session to be open before the first expires).

#[path = "shared/rss.rs"]
mod rss;

use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use rss::rss_mib;
use serde_json::json;
use taskward::Taskward;
use taskward::mcp::Server;
use taskward::mcp::transport::http::{HttpOptions, router};
use tower_service::Service;

fn request(method: &str, sid: Option<&str>, body: Option<serde_json::Value>) -> Request<Body> {
    let mut builder = Request::builder()
        .method(method)
        .uri("/mcp")
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json");
    if let Some(sid) = sid {
        builder = builder
            .header("mcp-session-id", sid)
            .header("mcp-protocol-version", "2025-11-25");
    }
    let body = body.map_or_else(Vec::new, |b| serde_json::to_vec(&b).unwrap_or_default());
    builder.body(Body::from(body)).expect("a request")
}

async fn open(app: &mut axum::Router, n: usize) -> Vec<String> {
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "session_memory", "version": "0"}}});
    let mut ids = Vec::with_capacity(n);
    for _ in 0..n {
        let response = app
            .call(request("POST", None, Some(init.clone())))
            .await
            .expect("infallible");
        let sid = response
            .headers()
            .get("mcp-session-id")
            .expect("a session id");
        ids.push(sid.to_str().expect("ascii").to_owned());
    }
    ids
}

fn report(step: &str, server: &Server) {
    println!(
        "{step:<28} sessions {:>7}   RSS {:>8.1} MiB",
        server.session_count(),
        rss_mib()
    );
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args().nth(1).map_or(Ok(100_000), |a| a.parse())?;
    let idle = Duration::from_secs(std::env::args().nth(2).map_or(Ok(120), |a| a.parse())?);
    let ward = Taskward::builder().spawn().await?;
    let server = Server::builder(ward.clone())
        .max_sessions(None)
        .session_idle_timeout(Some(idle))
        .build();
    let mut app = router(server.clone(), HttpOptions::default());
    report("start", &server);

    let ids = open(&mut app, n).await;
    report(&format!("{n} sessions open"), &server);
    let mut deleted = 0;
    for sid in &ids {
        let response = app.call(request("DELETE", Some(sid), None)).await?;
        deleted += usize::from(response.status() == 200);
    }
    assert_eq!(deleted, n, "every session was still open to DELETE");
    drop(ids);
    tokio::time::sleep(Duration::from_millis(100)).await;
    report("all DELETEd", &server);

    let ids = open(&mut app, n).await;
    report(&format!("{n} open again"), &server);
    drop(ids);
    while server.session_count() > 0 {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    report("all expired", &server);
    println!(
        "runtime: {} event subscribers",
        ward.status().await?.subscribers
    );
    ward.shutdown(Duration::from_secs(1)).await?;
    Ok(())
}
