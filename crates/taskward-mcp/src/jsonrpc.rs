//! JSON-RPC 2.0: the envelope of every MCP message.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// Invalid JSON was received.
pub const PARSE_ERROR: i64 = -32700;
/// The JSON sent is not a valid request object.
pub const INVALID_REQUEST: i64 = -32600;
/// The method does not exist or is not available.
pub const METHOD_NOT_FOUND: i64 = -32601;
/// Invalid method parameters.
pub const INVALID_PARAMS: i64 = -32602;
/// Internal error.
pub const INTERNAL_ERROR: i64 = -32603;
/// Implementation-defined server error (limits, cancelled task results).
pub const SERVER_ERROR: i64 = -32000;
/// `initialize` refused: the server holds its maximum of sessions
/// ([`ServerOptions::max_sessions`](crate::ServerOptions::max_sessions)); `data.maxSessions`
/// names it. Over HTTP the answer is `503 Service Unavailable`. Retry once a session has
/// ended (closed, or expired after its idle time).
pub const SESSION_LIMIT_EXCEEDED: i64 = -32010;
/// 2026-07-28: an HTTP header that mirrors the body (`Mcp-Name`, `Mcp-Method`,
/// `MCP-Protocol-Version`) was sent and disagrees with it. A missing one is accepted.
pub const HEADER_MISMATCH: i64 = -32020;
/// 2026-07-28: the request lacks a client capability it needs (the tasks extension).
pub const MISSING_CAPABILITY: i64 = -32021;
/// 2026-07-28: the request's `io.modelcontextprotocol/protocolVersion` is not supported.
pub const UNSUPPORTED_VERSION: i64 = -32022;

/// A request id: a string or an integer.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RequestId {
    /// An integer id.
    Number(i64),
    /// A string id.
    String(String),
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestId::Number(n) => write!(f, "{n}"),
            RequestId::String(s) => write!(f, "{s:?}"),
        }
    }
}

/// A request: a method call that expects a response.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Request {
    /// The id the response must carry.
    pub id: RequestId,
    /// The method.
    pub method: String,
    /// The parameters (an object when present).
    pub params: Option<Value>,
}

/// A notification: a method call without a response.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Notification {
    /// The method.
    pub method: String,
    /// The parameters.
    pub params: Option<Value>,
}

/// One incoming JSON-RPC message.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Message {
    /// A request.
    Request(Request),
    /// A notification.
    Notification(Notification),
    /// A response to a request the server sent (an `elicitation/create` delivered during
    /// `tasks/result`): the whole message object, `id` included.
    Response(Value),
}

/// A JSON-RPC error object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ErrorObject {
    /// The error code.
    pub code: i64,
    /// A short description.
    pub message: String,
    /// Additional information.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl ErrorObject {
    /// An error with a code and a message.
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            data: None,
        }
    }

    /// Attaches data.
    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }

    /// `-32602`, invalid params.
    pub fn invalid_params(message: impl Into<String>) -> Self {
        Self::new(INVALID_PARAMS, message)
    }

    /// `-32601`, method not found.
    pub fn method_not_found(message: impl Into<String>) -> Self {
        Self::new(METHOD_NOT_FOUND, message)
    }

    /// `-32600`, invalid request.
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(INVALID_REQUEST, message)
    }

    /// `-32603`, internal error.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(INTERNAL_ERROR, message)
    }
}

impl fmt::Display for ErrorObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl std::error::Error for ErrorObject {}

/// A success response.
pub fn success(id: &RequestId, result: Value) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "result": result })
}

/// An error response; `id` is `None` when the request's id could not be read.
pub fn failure(id: Option<&RequestId>, error: &ErrorObject) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "error": error })
}

/// A notification message.
pub fn notification(method: &str, params: Value) -> Value {
    json!({ "jsonrpc": "2.0", "method": method, "params": params })
}

/// Parses one message. On failure, returns the error response to send back (`-32700` for
/// text that is not JSON, `-32600` for JSON that is not a JSON-RPC 2.0 message).
///
/// # Examples
///
/// ```
/// use taskward_mcp::jsonrpc::{self, Message};
///
/// let msg = jsonrpc::parse(br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#).unwrap();
/// assert!(matches!(msg, Message::Request(_)));
/// let err = jsonrpc::parse(b"{not json").unwrap_err();
/// assert_eq!(err["error"]["code"], -32700);
/// ```
pub fn parse(bytes: &[u8]) -> Result<Message, Value> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        failure(
            None,
            &ErrorObject::new(PARSE_ERROR, format!("parse error: {e}")),
        )
    })?;
    from_value(value)
}

/// Classifies a parsed JSON value as a JSON-RPC message.
pub fn from_value(value: Value) -> Result<Message, Value> {
    let Value::Object(mut object) = value else {
        let why = if value.is_array() {
            "batches are not supported"
        } else {
            "a message must be a JSON object"
        };
        return Err(failure(None, &ErrorObject::invalid_request(why)));
    };
    let id = match object.remove("id") {
        None => None,
        Some(raw) => match serde_json::from_value::<RequestId>(raw) {
            Ok(id) => Some(id),
            Err(_) => {
                return Err(failure(
                    None,
                    &ErrorObject::invalid_request("the id must be a string or an integer"),
                ));
            }
        },
    };
    let invalid = |why: &str| Err(failure(id.as_ref(), &ErrorObject::invalid_request(why)));
    if object.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return invalid("`jsonrpc` must be \"2.0\"");
    }
    if object.contains_key("result") || object.contains_key("error") {
        return match id {
            Some(id) => {
                object.insert("id".into(), serde_json::to_value(id).unwrap_or(Value::Null));
                Ok(Message::Response(Value::Object(object)))
            }
            None => invalid("a response must carry an id"),
        };
    }
    let method = match object.remove("method") {
        Some(Value::String(m)) => m,
        Some(_) => return invalid("`method` must be a string"),
        None => return invalid("a request must name a method"),
    };
    let params = match object.remove("params") {
        None | Some(Value::Null) => None,
        Some(p @ Value::Object(_)) => Some(p),
        Some(_) => return invalid("`params` must be an object"),
    };
    Ok(match id {
        Some(id) => Message::Request(Request { id, method, params }),
        None => Message::Notification(Notification { method, params }),
    })
}

/// Reads typed params, answering `-32602` when they do not fit.
pub fn params<T: serde::de::DeserializeOwned>(params: Option<&Value>) -> Result<T, ErrorObject> {
    let value = params.cloned().unwrap_or_else(|| Value::Object(Map::new()));
    serde_json::from_value(value)
        .map_err(|e| ErrorObject::invalid_params(format!("invalid params: {e}")))
}
