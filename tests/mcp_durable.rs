//! MCP sessions in the durable store: a client that comes back with its `Mcp-Session-Id`
//! after a restart finds its session and its tasks; a session that ended, or whose idle
//! expiry passed while the server was down, is gone; a restored session still answers only
//! its principal, counts against the session cap and expires when idle.
//!
//! A "process" is a runtime on a test disk ([`Disk`]) and the test server over it, served
//! over HTTP; the next process starts on the same disk (or on a crash copy of it).

mod common;
mod mcp_support;

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use common::disk::Disk;
use mcp_support::http_client::{self, Response};
use mcp_support::{VERSION, request};
use serde_json::{Value, json};
use taskward::{SessionRecord, Taskward};
use taskward_mcp::transport::http::auth::{Auth, StaticTokens};
use taskward_mcp::transport::http::{self, HttpOptions};
use taskward_mcp::{Server, ServerOptions};
use time::OffsetDateTime;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tower_service::Service;

const ALICE: &str = "alice-token-0123456789";
const BOB: &str = "bob-token-0123456789ab";

/// One process: a runtime on the disk, the test server over it, served over HTTP.
struct Process {
    ward: Taskward,
    server: Server,
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    serving: JoinHandle<std::io::Result<()>>,
}

async fn start_with(disk: &Disk, options: HttpOptions) -> Process {
    let ward = Taskward::builder()
        .durable(disk.clone())
        .spawn()
        .await
        .expect("runtime starts");
    let server = Server::builder(ward.clone())
        .tools(mcp_support::tools::basic())
        .tools([mcp_support::tools::ask_name()])
        .build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let addr = listener.local_addr().expect("an address");
    let (stop, stopped) = oneshot::channel::<()>();
    let serving = tokio::spawn(http::serve_with_shutdown(
        server.clone(),
        listener,
        options,
        async move {
            let _ = stopped.await;
        },
    ));
    Process {
        ward,
        server,
        addr,
        stop,
        serving,
    }
}

async fn start(disk: &Disk) -> Process {
    start_with(disk, HttpOptions::default()).await
}

impl Process {
    /// Stops serving and shuts the runtime down, as a clean exit does.
    async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.serving.await;
        drop(self.server);
        self.ward
            .shutdown(Duration::from_secs(1))
            .await
            .expect("shuts down");
    }
}

/// POSTs a message to a session, with a bearer token when given.
async fn post(
    addr: SocketAddr,
    token: Option<&str>,
    sid: Option<&str>,
    message: &Value,
) -> Response {
    let bearer = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![
        ("Content-Type", "application/json"),
        ("Accept", "application/json, text/event-stream"),
    ];
    if let Some(bearer) = &bearer {
        headers.push(("Authorization", bearer));
    }
    if let Some(sid) = sid {
        headers.push(("Mcp-Session-Id", sid));
    }
    let body = serde_json::to_vec(message).expect("serializes");
    http_client::send(addr, "POST", "/mcp", &headers, &body).await
}

/// Sends a request and returns its result; panics on an error.
async fn ok(
    addr: SocketAddr,
    token: Option<&str>,
    sid: &str,
    method: &str,
    params: Value,
) -> Value {
    let response = post(addr, token, Some(sid), &request(method, params)).await;
    assert_eq!(response.status, 200, "{method}: {response:?}");
    let answer = response.json();
    assert!(answer.get("error").is_none(), "{method} failed: {answer}");
    answer["result"].clone()
}

/// Asserts that the session id gets the unknown-session answer.
async fn assert_unknown(addr: SocketAddr, token: Option<&str>, sid: &str) {
    let response = post(addr, token, Some(sid), &request("ping", json!({}))).await;
    assert_eq!(response.status, 404, "{response:?}");
    assert_eq!(response.json()["error"]["code"], -32001);
}

/// Opens an initialized session as a token's principal.
async fn session(addr: SocketAddr, token: Option<&str>) -> String {
    let response = post(addr, token, None, &mcp_support::initialize_request()).await;
    assert_eq!(response.status, 200, "{response:?}");
    response
        .header("mcp-session-id")
        .expect("a session id")
        .to_owned()
}

/// A task-augmented `tools/call`; returns the task id.
async fn create(
    addr: SocketAddr,
    token: Option<&str>,
    sid: &str,
    tool: &str,
    args: Value,
) -> String {
    let params = json!({"name": tool, "arguments": args, "task": {"ttl": 3_600_000}});
    let result = ok(addr, token, sid, "tools/call", params).await;
    result["task"]["taskId"]
        .as_str()
        .expect("a task id")
        .to_owned()
}

/// A `tasks/*` request on one task; returns its result.
async fn on_task(addr: SocketAddr, sid: &str, method: &str, task: &str) -> Value {
    ok(addr, None, sid, method, json!({"taskId": task})).await
}

/// The ids `tasks/list` lists.
async fn listed(addr: SocketAddr, token: Option<&str>, sid: &str) -> Vec<String> {
    let list = ok(addr, token, sid, "tasks/list", json!({})).await;
    list["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .map(|t| t["taskId"].as_str().expect("an id").to_owned())
        .collect()
}

fn stored_sessions(disk: &Disk) -> Vec<String> {
    let platters = disk.platters.lock().unwrap();
    platters.sessions.keys().map(|k| k.to_string()).collect()
}

/// A session record as an earlier process would have written it: last used `ago`, expiring
/// `idle` after that.
fn written_earlier(ago: Duration, idle: Duration) -> SessionRecord {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let mut record = SessionRecord::new(id, None);
    let now = OffsetDateTime::now_utc();
    record.created_at = now - ago - Duration::from_secs(60);
    record.last_seen = now - ago;
    record.expires_at = Some(now - ago + idle);
    record.data = json!({"protocolVersion": VERSION});
    record
}

fn put_session(disk: &Disk, record: &SessionRecord) {
    let mut platters = disk.platters.lock().unwrap();
    platters.sessions.insert(record.id.clone(), record.clone());
}

#[tokio::test]
async fn a_session_and_its_finished_task_are_found_after_a_restart() {
    let disk = Disk::new();
    let before = start(&disk).await;
    let sid = session(before.addr, None).await;
    let task = create(before.addr, None, &sid, "echo", json!({"text": "kept"})).await;
    let result = on_task(before.addr, &sid, "tasks/result", &task).await;
    assert_eq!(result["content"][0]["text"], "kept", "{result}");
    before.stop().await;

    let after = start(&disk).await;
    let got = on_task(after.addr, &sid, "tasks/get", &task).await;
    assert_eq!(got["status"], "completed", "{got}");
    let again = on_task(after.addr, &sid, "tasks/result", &task).await;
    assert_eq!(again, result, "the same result");
    assert_eq!(listed(after.addr, None, &sid).await, vec![task]);
    // Its notifications reach the stream the client opens again.
    let mut stream = http_client::open_stream(after.addr, &sid).await;
    assert_eq!(stream.status, 200);
    let next = create(after.addr, None, &sid, "echo", json!({"text": "again"})).await;
    let note = stream.next_json().await;
    assert_eq!(note["method"], "notifications/tasks/status", "{note}");
    assert_eq!(note["params"]["taskId"], next.as_str());
    drop(stream);
    after.stop().await;
}

/// `initialize` answers once the session is durable: a process killed right after the
/// answer (the disk copied at that instant, its commit still under way) leaves the session
/// for the next one. Found by `crates/taskward-cli/tests/crash_restart.rs`.
#[tokio::test]
async fn an_answered_initialize_survives_a_crash_right_after() {
    // Each commit takes long enough for the answer to come back before it ends.
    let disk = Disk::slow(Duration::from_millis(300));
    let before = start(&disk).await;
    let sid = session(before.addr, None).await;
    let crashed = disk.crash_copy();

    let after = start(&crashed).await;
    assert_eq!(listed(after.addr, None, &sid).await, Vec::<String>::new());
    after.stop().await;
    before.stop().await;
}

/// `tasks/result` of a task that has just ended answers once its end is durable: a process
/// killed right after leaves it ended for the next one. Found by
/// `crates/taskward-cli/tests/crash_restart.rs` (an `ask_name` task seen completed came back
/// `input_required`).
#[tokio::test]
async fn a_result_answered_survives_a_crash_right_after() {
    let disk = Disk::slow(Duration::from_millis(300));
    let before = start(&disk).await;
    let sid = session(before.addr, None).await;
    let task = create(before.addr, None, &sid, "ask_name", json!({})).await;
    // The question, on the stream of a first tasks/result; answered.
    let first = request("tasks/result", json!({"taskId": task}));
    let body = serde_json::to_vec(&first).unwrap();
    let mut stream = http_client::post_stream(
        before.addr,
        &[
            ("Content-Type", "application/json"),
            ("Accept", "application/json, text/event-stream"),
            ("Mcp-Session-Id", &sid),
        ],
        &body,
    )
    .await;
    let question = stream.next_json().await;
    assert_eq!(question["method"], "elicitation/create", "{question}");
    let answer = json!({"jsonrpc": "2.0", "id": question["id"], "result": {"action": "accept", "content": {"name": "Ada"}}});
    assert_eq!(
        post(before.addr, None, Some(&sid), &answer).await.status,
        202
    );
    drop(stream);
    // Ended (in memory: its end is still being written).
    while on_task(before.addr, &sid, "tasks/get", &task).await["status"] != "completed" {
        tokio::task::yield_now().await;
    }
    let result = on_task(before.addr, &sid, "tasks/result", &task).await;
    assert_eq!(result["content"][0]["text"], "Hello, Ada!", "{result}");
    let crashed = disk.crash_copy();

    let after = start(&crashed).await;
    let got = on_task(after.addr, &sid, "tasks/get", &task).await;
    assert_eq!(got["status"], "completed", "{got}");
    after.stop().await;
    before.stop().await;
}

#[tokio::test]
async fn a_task_working_when_the_process_died_reads_failed_in_its_session() {
    let disk = Disk::new();
    let before = start(&disk).await;
    let sid = session(before.addr, None).await;
    let task = create(before.addr, None, &sid, "sleep", json!({"ms": 3_600_000})).await;
    let crashed = disk.crash_copy();

    let after = start(&crashed).await;
    let got = on_task(after.addr, &sid, "tasks/get", &task).await;
    assert_eq!(got["status"], "failed", "{got}");
    assert!(
        got["statusMessage"]
            .as_str()
            .is_some_and(|m| m.contains("interrupted")),
        "{got}"
    );
    let result = post(
        after.addr,
        None,
        Some(&sid),
        &request("tasks/result", json!({"taskId": task})),
    )
    .await
    .json();
    assert_ne!(result["error"]["code"], -32602, "not unknown: {result}");
    assert_eq!(listed(after.addr, None, &sid).await, vec![task]);
    after.stop().await;
    before.stop().await;
}

#[tokio::test]
async fn a_session_whose_idle_expiry_passed_while_down_is_gone() {
    let disk = Disk::new();
    let idle = ServerOptions::default()
        .session_idle_timeout
        .expect("an idle timeout");
    let stale = written_earlier(idle + Duration::from_secs(60), idle);
    let fresh = written_earlier(Duration::from_secs(60), idle);
    put_session(&disk, &stale);
    put_session(&disk, &fresh);

    let process = start(&disk).await;
    assert_unknown(process.addr, None, &stale.id).await;
    ok(process.addr, None, &fresh.id, "ping", json!({})).await;
    assert_eq!(process.server.session_count(), 1);
    process.stop().await;
    assert_eq!(
        stored_sessions(&disk),
        vec![fresh.id.to_string()],
        "the stale session is forgotten"
    );
}

fn authenticated() -> HttpOptions {
    let tokens = StaticTokens::parse(&format!("{ALICE} alice\n{BOB} bob\n")).expect("tokens");
    let mut options = HttpOptions::default();
    options.auth = Some(Auth::static_tokens(tokens));
    options
}

#[tokio::test]
async fn a_restored_session_answers_only_its_principal() {
    let disk = Disk::new();
    let before = start_with(&disk, authenticated()).await;
    let sid = session(before.addr, Some(ALICE)).await;
    let task = create(before.addr, Some(ALICE), &sid, "echo", json!({"text": "a"})).await;
    before.stop().await;

    let after = start_with(&disk, authenticated()).await;
    assert_unknown(after.addr, Some(BOB), &sid).await;
    let random = uuid::Uuid::new_v4().simple().to_string();
    assert_unknown(after.addr, Some(BOB), &random).await;
    let got = ok(
        after.addr,
        Some(ALICE),
        &sid,
        "tasks/get",
        json!({"taskId": task}),
    )
    .await;
    assert_eq!(got["status"], "completed", "{got}");
    after.stop().await;
}

#[tokio::test]
async fn a_deleted_session_is_not_restored() {
    let disk = Disk::new();
    let before = start(&disk).await;
    let closed = session(before.addr, None).await;
    let open = session(before.addr, None).await;
    let deleted = http_client::send(
        before.addr,
        "DELETE",
        "/mcp",
        &[("Mcp-Session-Id", closed.as_str())],
        b"",
    )
    .await;
    assert_eq!(deleted.status, 200);
    before.stop().await;
    assert_eq!(stored_sessions(&disk), vec![open.clone()]);

    let after = start(&disk).await;
    assert_unknown(after.addr, None, &closed).await;
    ok(after.addr, None, &open, "ping", json!({})).await;
    after.stop().await;
}

/// The transport's routes, called in process, so that the paused clock drives them.
struct InProcess(axum::Router);

impl InProcess {
    async fn call(
        &mut self,
        method: &str,
        sid: Option<&str>,
        body: Option<&Value>,
    ) -> axum::http::Response<Body> {
        let mut builder = Request::builder()
            .method(method)
            .uri("/mcp")
            .header("accept", "application/json, text/event-stream")
            .header("content-type", "application/json");
        if let Some(sid) = sid {
            builder = builder.header("mcp-session-id", sid);
        }
        let body = body.map_or_else(Vec::new, |b| serde_json::to_vec(b).expect("json"));
        let request = builder.body(Body::from(body)).expect("a request");
        self.0.call(request).await.expect("infallible")
    }

    /// Sends a request; returns the status and the JSON body.
    async fn send(
        &mut self,
        method: &str,
        sid: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let response = self.call(method, sid, body).await;
        let status = response.status().as_u16();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("a body");
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// Opens a session; returns its id. Answered once the session is durable: the clock
    /// runs meanwhile, as in [`InProcess::barrier`].
    async fn initialize(&mut self) -> String {
        let initialize = mcp_support::initialize_request();
        tokio::time::resume();
        let response = self.call("POST", None, Some(&initialize)).await;
        tokio::time::pause();
        assert_eq!(response.status(), 200);
        response
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .expect("a session id")
            .to_owned()
    }

    async fn ping(&mut self, sid: &str) -> u16 {
        self.send("POST", Some(sid), Some(&request("ping", json!({}))))
            .await
            .0
    }

    /// A task-augmented call, whose answer comes once its task is durable, and with it every
    /// write queued before. The clock runs meanwhile: paused, it would jump ahead while the
    /// commit is under way on the writer thread.
    async fn barrier(&mut self, sid: &str) {
        let call = json!({"name": "echo", "arguments": {"text": "x"}, "task": {"ttl": 60_000}});
        tokio::time::resume();
        let (status, answer) = self
            .send("POST", Some(sid), Some(&request("tools/call", call)))
            .await;
        tokio::time::pause();
        assert_eq!(status, 200, "{answer}");
    }
}

const IDLE: Duration = Duration::from_secs(10);

async fn in_process(disk: &Disk, max_sessions: Option<usize>) -> (Taskward, Server, InProcess) {
    let ward = Taskward::builder()
        .durable(disk.clone())
        .spawn()
        .await
        .expect("runtime starts");
    let mut options = ServerOptions::default();
    options.session_idle_timeout = Some(IDLE);
    options.max_sessions = max_sessions;
    let server = Server::builder(ward.clone())
        .tools(mcp_support::tools::basic())
        .options(options)
        .build();
    let router = http::router(server.clone(), HttpOptions::default());
    (ward, server, InProcess(router))
}

#[tokio::test(start_paused = true)]
async fn a_restored_session_counts_against_the_cap_and_expires_when_idle() {
    let disk = Disk::new();
    let restored = written_earlier(Duration::from_secs(1), IDLE);
    put_session(&disk, &restored);
    let (ward, server, mut http) = in_process(&disk, Some(1)).await;
    assert_eq!(server.session_count(), 1);
    let (status, answer) = http
        .send("POST", None, Some(&mcp_support::initialize_request()))
        .await;
    assert_eq!(status, 503, "the restored session fills the cap: {answer}");
    assert_eq!(http.ping(&restored.id).await, 200);

    for _ in 0..4 {
        tokio::time::sleep(IDLE).await;
    }
    mcp_support::settle().await;
    assert_eq!(server.session_count(), 0);
    assert_eq!(http.ping(&restored.id).await, 404);
    ward.shutdown(Duration::from_secs(1))
        .await
        .expect("shuts down");
    assert!(
        stored_sessions(&disk).is_empty(),
        "the expiry reached the disk"
    );
}

#[tokio::test(start_paused = true)]
async fn a_restored_session_is_idle_since_its_last_use_before_the_restart() {
    let disk = Disk::new();
    // Last used 8 s before the restart, with an idle timeout of 10 s: 2 s left.
    let restored = written_earlier(IDLE * 8 / 10, IDLE);
    put_session(&disk, &restored);
    let (ward, server, mut http) = in_process(&disk, None).await;
    assert_eq!(server.session_count(), 1);
    // The idle timeout and a look of the expiry timer (every quarter of it) later.
    tokio::time::sleep(IDLE * 2 / 10 + IDLE / 4 + Duration::from_millis(100)).await;
    mcp_support::settle().await;
    assert_eq!(server.session_count(), 0, "expired, unused since before");
    assert_eq!(http.ping(&restored.id).await, 404);
    ward.shutdown(Duration::from_secs(1))
        .await
        .expect("shuts down");
}

#[track_caller]
fn stored(disk: &Disk, sid: &str) -> SessionRecord {
    let platters = disk.platters.lock().unwrap();
    platters
        .sessions
        .get(sid)
        .cloned()
        .expect("the session is stored")
}

#[tokio::test(start_paused = true)]
async fn a_session_in_use_is_written_at_most_once_per_tenth_of_the_idle_timeout() {
    let disk = Disk::new();
    let (ward, _server, mut http) = in_process(&disk, None).await;
    let sid = http.initialize().await;
    http.barrier(&sid).await;
    let opened = stored(&disk, &sid);
    assert_eq!(opened.data["protocolVersion"], VERSION);
    assert_eq!(opened.expires_at, Some(opened.last_seen + IDLE));

    for _ in 0..20 {
        assert_eq!(http.ping(&sid).await, 200);
        tokio::time::sleep(IDLE / 500).await;
    }
    http.barrier(&sid).await;
    assert_eq!(stored(&disk, &sid), opened, "not written per request");

    tokio::time::sleep(IDLE / 10).await;
    assert_eq!(http.ping(&sid).await, 200);
    http.barrier(&sid).await;
    let seen = stored(&disk, &sid);
    assert!(seen.last_seen > opened.last_seen, "written again once due");
    assert_eq!(seen.expires_at, Some(seen.last_seen + IDLE));
    assert_eq!(seen.created_at, opened.created_at);
    ward.shutdown(Duration::from_secs(1))
        .await
        .expect("shuts down");
}
