//! `POST /mcp` on the hot path ([`crate::fast`]): `tasks/get` and task-augmented
//! `tools/call` of an initialized session or of a stateless request, answered as plain
//! JSON. Whatever the hot path does not take (an SSE-only client, a header that disagrees,
//! an unknown session, ...) goes the general way, which answers it as before.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::headers::{self, SessionHeader};
use super::modern::disagreement;
use super::state::Shared;
use crate::fast::{self, Op};
use crate::jsonrpc::{self, ErrorObject};
use crate::wire::MODERN_VERSION;

/// The answer of the hot path, or `None` when the general path must answer (then
/// `headers` is left as it was).
///
/// An answer takes `headers`, the request's, emptied, as its own: hyper keeps a response's
/// header map to parse the next request of the connection into, so one sized for a request
/// is then reused instead of grown again, and the request's is not freed.
pub(super) async fn answer(
    shared: &Arc<Shared>,
    principal: Option<&str>,
    headers: &mut HeaderMap,
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
        Op::Get { task, .. } => fast::get(&shared.server, session.as_deref(), principal, &id, task)
            .map(|answer| json(answer, headers)),
        Op::Create { tool, params } => {
            // In its own task: a client that disconnects never cuts a submit short.
            let server = shared.server.clone();
            let request = id.clone();
            let modern = plan.modern;
            let principal = principal.map(str::to_owned);
            let created = Box::pin(async move {
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
            Some(match now_or_spawned(created).await {
                Ok(answer) => json(answer, headers),
                // As the general path answers a handler that panicked.
                Err(_) if modern => StatusCode::ACCEPTED.into_response(),
                Err(e) => {
                    let error = ErrorObject::internal(format!("the handler failed: {e}"));
                    let answer = jsonrpc::failure(Some(&id), &error);
                    json(serde_json::to_vec(&answer).unwrap_or_default(), headers)
                }
            })
        }
    }
}

/// The output of `future`, polled here once and, if not ready then, in a task of its own,
/// so that a client that disconnects never cuts it short. A submit is usually done at the
/// first poll, which then costs no task. A panic, at the first poll or later, is an error,
/// as in a task of its own.
async fn now_or_spawned<T: Send + 'static>(
    mut future: Pin<Box<impl Future<Output = T> + Send + 'static>>,
) -> Result<T, String> {
    let first = std::future::poll_fn(|cx| {
        let polled = std::panic::catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx)));
        Poll::Ready(match polled {
            Ok(Poll::Ready(output)) => Ok(Some(output)),
            Ok(Poll::Pending) => Ok(None),
            Err(_) => Err("it panicked".to_owned()),
        })
    })
    .await?;
    match first {
        Some(output) => Ok(output),
        None => tokio::spawn(future).await.map_err(|e| e.to_string()),
    }
}

/// `200` with a JSON body, and the request's `headers`, emptied, as the response's.
fn json(body: Vec<u8>, headers: &mut HeaderMap) -> Response {
    let mut response = Response::new(Body::from(body));
    let mut map = std::mem::take(headers);
    map.clear();
    map.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    *response.headers_mut() = map;
    response
}
