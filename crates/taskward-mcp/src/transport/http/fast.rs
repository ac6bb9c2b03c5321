//! `POST /mcp` on the hot path ([`crate::fast`]): `tasks/get` and task-augmented
//! `tools/call` of an initialized session or of a stateless request, answered as plain
//! JSON. Whatever the hot path does not take (an SSE-only client, a header that disagrees,
//! an unknown session, ...) goes the general way, which answers it as before.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::headers::{self, SessionHeader};
use super::modern::disagreement;
use super::state::Shared;
use crate::fast::{self, Op};
use crate::jsonrpc::{self, ErrorObject};
use crate::wire::MODERN_VERSION;

/// The answer of the hot path, or `None` when the general path must answer.
pub(super) async fn answer(
    shared: &Arc<Shared>,
    principal: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Option<Response> {
    let plan = fast::plan(&shared.server, body)?;
    let session = if plan.modern {
        let version = Some(Some(MODERN_VERSION));
        if disagreement(headers, plan.method, version, plan.task_id()).is_some() {
            return None;
        }
        None
    } else {
        if headers::version_refusal(headers).is_some() {
            return None;
        }
        let SessionHeader::Id(sid) = headers::session_id(headers) else {
            return None;
        };
        // A session due for a look in the shared table (another node may have ended it)
        // takes the general path, which looks before the use is written.
        let now = tokio::time::Instant::now();
        if shared
            .server
            .find_session(sid)
            .is_some_and(|s| shared.server.recheck_due(&s, now, false))
        {
            return None;
        }
        let session = shared.session(sid, principal)?;
        if !session.is_initialized() {
            return None;
        }
        Some(session)
    };
    let id = plan.id;
    match plan.op {
        Op::Get { task, .. } => {
            fast::get(&shared.server, session.as_deref(), principal, &id, task).map(json)
        }
        Op::Create { tool, params } => {
            // In its own task: a client that disconnects never cuts a submit short.
            let server = shared.server.clone();
            let request = id.clone();
            let modern = plan.modern;
            let principal = principal.map(str::to_owned);
            let created = tokio::spawn(async move {
                let principal = principal.as_deref();
                fast::create(
                    &server,
                    session.as_ref(),
                    principal,
                    &request,
                    tool,
                    *params,
                )
                .await
            });
            Some(match created.await {
                Ok(answer) => json(answer),
                // As the general path answers a handler that panicked.
                Err(_) if modern => StatusCode::ACCEPTED.into_response(),
                Err(e) => {
                    let error = ErrorObject::internal(format!("the handler failed: {e}"));
                    let answer = jsonrpc::failure(Some(&id), &error);
                    json(serde_json::to_vec(&answer).unwrap_or_default())
                }
            })
        }
    }
}

/// `200` with a JSON body.
fn json(body: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(body));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
