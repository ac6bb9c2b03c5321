//! Routing one message to its handler.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::calls;
use crate::elicit;
use crate::jsonrpc::{self, ErrorObject, Message, Notification, Request};
use crate::modern;
use crate::server::Server;
use crate::session::{Session, Sink};
use crate::wire::{CancelledParams, ListParams, PROTOCOL_VERSION, SUPPORTED_VERSIONS};

/// Answers one message of a session. A request whose `_meta` names a protocol version (or
/// `server/discover`) is a stateless 2026-07-28 request; anything else follows the session
/// (2025-11-25). Messages tied to the request before its answer (`elicitation/create`
/// during `tasks/result`, `subscriptions/listen` notifications) go to `sink`.
pub(crate) async fn handle(
    server: &Server,
    session: &Arc<Session>,
    message: Message,
    sink: &Sink,
) -> Option<Value> {
    match message {
        Message::Request(request) if modern::is_modern(&request) => {
            Some(modern::handle(server, session.principal(), request, sink).await)
        }
        Message::Request(request) => {
            let id = request.id.clone();
            let answer = request_answer(server, session, request, sink).await;
            Some(match answer {
                Ok(result) => jsonrpc::success(&id, result),
                Err(error) => jsonrpc::failure(Some(&id), &error),
            })
        }
        Message::Notification(notification) => {
            on_notification(server, session, notification).await;
            None
        }
        Message::Response(response) => {
            elicit::on_response(server, session, &response).await;
            None
        }
    }
}

async fn request_answer(
    server: &Server,
    session: &Arc<Session>,
    request: Request,
    sink: &Sink,
) -> Result<Value, ErrorObject> {
    let params = request.params.as_ref();
    match request.method.as_str() {
        "initialize" => initialize(server, session, params),
        "ping" => Ok(json!({})),
        _ if !session.is_initialized() => Err(ErrorObject::invalid_request(
            "the session is not initialized: send `initialize` first",
        )),
        "tools/list" => {
            let _: ListParams = jsonrpc::params(params)?;
            let tools: Vec<_> = server.inner().tools.iter().map(|t| t.info()).collect();
            Ok(json!({ "tools": tools }))
        }
        "tools/call" => calls::call_tool(server, session, &request.id, params).await,
        "tasks/get" => calls::get(server, session, params).await,
        "tasks/result" => calls::result(server, session, params, sink).await,
        "tasks/list" => calls::list(server, session, params).await,
        "tasks/cancel" => calls::cancel(server, session, params).await,
        other => Err(ErrorObject::method_not_found(format!(
            "method not found: {other}"
        ))),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InitializeParams {
    protocol_version: String,
    #[serde(default)]
    #[allow(dead_code)]
    capabilities: Value,
}

fn initialize(
    server: &Server,
    session: &Arc<Session>,
    params: Option<&Value>,
) -> Result<Value, ErrorObject> {
    let params: InitializeParams = jsonrpc::params(params)?;
    server.admit(session).map_err(|max| {
        ErrorObject::new(
            jsonrpc::SESSION_LIMIT_EXCEEDED,
            format!("too many sessions: the server holds its maximum of {max}; retry later"),
        )
        .with_data(json!({ "maxSessions": max }))
    })?;
    let version = if SUPPORTED_VERSIONS.contains(&params.protocol_version.as_str()) {
        params.protocol_version.as_str()
    } else {
        PROTOCOL_VERSION
    };
    session.initialize(version);
    let options = server.options();
    let mut result = json!({
        "protocolVersion": version,
        "capabilities": {
            "tools": { "listChanged": false },
            "tasks": {
                "list": {},
                "cancel": {},
                "requests": { "tools": { "call": {} } }
            }
        },
        "serverInfo": { "name": options.name, "version": options.version }
    });
    if let Some(instructions) = &options.instructions {
        result["instructions"] = json!(instructions);
    }
    Ok(result)
}

async fn on_notification(server: &Server, session: &Arc<Session>, notification: Notification) {
    // `notifications/initialized` and anything else need no action.
    if notification.method != "notifications/cancelled" {
        return;
    }
    let Ok(params) = jsonrpc::params::<CancelledParams>(notification.params.as_ref()) else {
        return;
    };
    if let Some(task) = session.call_task(&params.request_id) {
        let reason = params
            .reason
            .or_else(|| Some("cancelled by the client".into()));
        let _ = server
            .ward()
            .cancel(session.sync_scope(), task, reason)
            .await;
    }
}
