//! `POST /mcp` served straight from the connection, without the router: the hot path of
//! a transport that does not authenticate (`serve` without [`HttpOptions::auth`]).
//!
//! The router's layers on that route are then the allowed-hosts check and the body limit:
//! the check runs here, the same function, and the POST handler bounds the body itself.
//! Every other request (another method or path) goes through the router, as before.
//!
//! [`HttpOptions::auth`]: super::HttpOptions::auth

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::Method;
use axum::response::Response;

use super::host::{self, AllowedHosts};
use super::post;
use super::state::Shared;

/// What `POST /mcp` needs without the router.
#[derive(Debug)]
pub(super) struct DirectPost {
    shared: Arc<Shared>,
    hosts: Arc<AllowedHosts>,
}

impl DirectPost {
    pub(super) fn new(shared: Arc<Shared>, hosts: Arc<AllowedHosts>) -> Self {
        Self { shared, hosts }
    }

    /// Whether it serves this request (`POST /mcp`).
    pub(super) fn takes<B>(&self, request: &Request<B>) -> bool {
        request.method() == Method::POST && request.uri().path() == "/mcp"
    }

    /// Answers a request it [`takes`](Self::takes), as the router would.
    pub(super) async fn call(&self, request: Request) -> Response {
        match host::refusal(&self.hosts, &request) {
            Some(refused) => refused,
            None => post::handle(State(self.shared.clone()), request).await,
        }
    }
}
