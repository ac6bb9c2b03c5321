//! Interop test harness: the official Rust MCP SDK (`rmcp` 3.x) as a 2026-07-28 client with the
//! `io.modelcontextprotocol/tasks` extension, against `taskward serve --http`.
//!
//! This library is empty on purpose: the test is `tests/rmcp_client.rs`, and this crate exists
//! only so that `rmcp` stays a dev-dependency of a test crate, out of the published crates.
