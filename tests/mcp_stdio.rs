//! The stdio transport over in-memory pipes: newline-delimited JSON-RPC, notifications on
//! the same stream, bad lines answered, the session closed when input ends.

mod mcp_support;

use std::time::Duration;

use serde_json::{Value, json};
use taskward_mcp::transport::stdio;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream, Lines};
use tokio::task::JoinHandle;

struct Client {
    input: DuplexStream,
    output: Lines<BufReader<DuplexStream>>,
    /// Notifications read while waiting for answers.
    notifications: Vec<Value>,
}

impl Client {
    async fn write(&mut self, line: &[u8]) {
        self.input.write_all(line).await.expect("writes");
        self.input.write_all(b"\n").await.expect("writes");
    }

    async fn read(&mut self) -> Value {
        let line = tokio::time::timeout(Duration::from_secs(10), self.output.next_line())
            .await
            .expect("a line in time")
            .expect("reads")
            .expect("the server is still writing");
        serde_json::from_str(&line).expect("one JSON message a line")
    }

    /// Reads until the answer with `id`, keeping notifications aside.
    async fn answer(&mut self, id: &Value) -> Value {
        loop {
            let message = self.read().await;
            if message.get("method").is_some() {
                self.notifications.push(message);
            } else if message["id"] == *id {
                return message;
            } else {
                panic!("unexpected {message}");
            }
        }
    }

    async fn call(&mut self, method: &str, params: Value) -> Value {
        let request = mcp_support::request(method, params);
        self.write(&serde_json::to_vec(&request).unwrap()).await;
        self.answer(&request["id"]).await
    }
}

async fn start() -> (
    Client,
    taskward_mcp::Server,
    JoinHandle<std::io::Result<()>>,
) {
    let server = mcp_support::server().await;
    let (client_in, server_in) = tokio::io::duplex(64 * 1024);
    let (server_out, client_out) = tokio::io::duplex(64 * 1024);
    let serving = tokio::spawn(stdio::serve(server.clone(), server_in, server_out));
    let client = Client {
        input: client_in,
        output: BufReader::new(client_out).lines(),
        notifications: Vec::new(),
    };
    (client, server, serving)
}

#[tokio::test]
async fn a_session_over_stdio() {
    let (mut client, server, serving) = start().await;
    let init = client
        .call(
            "initialize",
            json!({"protocolVersion": "2025-11-25", "capabilities": {},
                   "clientInfo": {"name": "t", "version": "0"}}),
        )
        .await;
    assert_eq!(init["result"]["protocolVersion"], "2025-11-25");
    client
        .write(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
        .await;

    let tools = client.call("tools/list", json!({})).await;
    assert_eq!(tools["result"]["tools"].as_array().map(Vec::len), Some(6));

    // A blocking tasks/result does not hold up other requests.
    let created = client
        .call(
            "tools/call",
            json!({"name": "sleep", "arguments": {"ms": 300}, "task": {}}),
        )
        .await;
    let id = created["result"]["task"]["taskId"]
        .as_str()
        .expect("id")
        .to_owned();
    let result = mcp_support::request("tasks/result", json!({"taskId": id}));
    client.write(&serde_json::to_vec(&result).unwrap()).await;
    let pong = client.call("ping", json!({})).await;
    assert_eq!(pong["result"], json!({}));
    let answer = client.answer(&result["id"]).await;
    assert_eq!(answer["result"]["content"][0]["text"], "slept 300");

    // The status notification came on the same stream.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let pong = client.call("ping", json!({})).await;
    assert!(pong.get("result").is_some());
    assert!(
        client.notifications.iter().any(|n| {
            n["method"] == "notifications/tasks/status"
                && n["params"]["taskId"] == id.as_str()
                && n["params"]["status"] == "completed"
        }),
        "{:?}",
        client.notifications
    );

    // Bad lines are answered and the session goes on; blank lines are skipped.
    client.write(b"{not json").await;
    assert_eq!(client.read().await["error"]["code"], -32700);
    client.write(b"   ").await;
    client
        .write(br#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#)
        .await;
    assert_eq!(client.read().await["error"]["code"], -32600);
    let mut long = b"\"".to_vec();
    long.extend(std::iter::repeat_n(b'x', stdio::MAX_LINE + 10));
    long.push(b'"');
    client.write(&long).await;
    let too_long = client.read().await;
    assert_eq!(too_long["error"]["code"], -32600, "{too_long}");
    let pong = client.call("ping", json!({})).await;
    assert!(pong.get("result").is_some());

    // End of input closes the session; the transport returns.
    assert_eq!(server.session_count(), 1);
    drop(client.input);
    let done = tokio::time::timeout(Duration::from_secs(10), serving)
        .await
        .expect("serve returns in time");
    done.expect("no panic").expect("no I/O error");
    assert_eq!(server.session_count(), 0);
}

#[tokio::test]
async fn end_of_input_returns_even_with_a_tasks_result_pending() {
    let (mut client, server, serving) = start().await;
    client
        .call(
            "initialize",
            json!({"protocolVersion": "2025-11-25", "capabilities": {},
                   "clientInfo": {"name": "t", "version": "0"}}),
        )
        .await;
    let created = client
        .call(
            "tools/call",
            json!({"name": "sleep", "arguments": {"ms": 3_600_000}, "task": {}}),
        )
        .await;
    let id = created["result"]["task"]["taskId"].clone();
    let result = mcp_support::request("tasks/result", json!({"taskId": id}));
    client.write(&serde_json::to_vec(&result).unwrap()).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    drop(client.input);
    let done = tokio::time::timeout(Duration::from_secs(10), serving)
        .await
        .expect("serve returns in time");
    done.expect("no panic").expect("no I/O error");
    assert_eq!(server.session_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_piped_batch_is_answered_before_the_server_exits() {
    let (mut client, server, serving) = start().await;
    let init = mcp_support::initialize_request();
    let call = mcp_support::request(
        "tools/call",
        json!({"name": "sleep", "arguments": {"ms": 200}}),
    );
    let list = mcp_support::request("tools/list", json!({}));
    client.write(&serde_json::to_vec(&init).unwrap()).await;
    client.write(&serde_json::to_vec(&list).unwrap()).await;
    client.write(&serde_json::to_vec(&call).unwrap()).await;
    drop(client.input);
    let mut answers = Vec::new();
    while let Ok(Some(line)) = client.output.next_line().await {
        answers.push(serde_json::from_str::<Value>(&line).expect("JSON"));
    }
    let answer = answers
        .iter()
        .find(|a| a["id"] == call["id"])
        .unwrap_or_else(|| panic!("the call is answered: {answers:?}"));
    assert_eq!(answer["result"]["content"][0]["text"], "slept 200");
    let tools = answers
        .iter()
        .find(|a| a["id"] == list["id"])
        .expect("tools/list is answered");
    assert!(
        tools["result"]["tools"].is_array(),
        "after initialize: {tools}"
    );
    serving.await.expect("no panic").expect("no I/O error");
    assert_eq!(server.session_count(), 0);
}
