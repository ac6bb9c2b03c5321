//! Interop test: the official Rust MCP SDK (`rmcp` 3.x) client, in 2026-07-28 Discover mode with
//! the `io.modelcontextprotocol/tasks` extension (SEP-2663) declared, over Streamable HTTP, against
//! two servers, each started as a child process on a free localhost port: `taskward serve --http`,
//! and the rmcp 3.x server on the rmcp adapter (`examples/rmcp_server.rs`), which serves the same
//! demo tools. Every scenario runs against both (`scenario::taskward_serve`,
//! `scenario::rmcp_example`).
//!
//! Each test starts its own server and client: `server/discover`, then `tools/call` answered with a
//! flat `CreateTaskResult`, then `tasks/get` polling (with `tasks/cancel` and `tasks/update` where the
//! scenario needs them). The server binary is `$TASKWARD_BIN` if set, else
//! `<target>/release/taskward`, built first with `cargo build --release -p taskward-cli` (a no-op
//! when it is up to date), where `<target>` is `$CARGO_TARGET_DIR` or the workspace's `target/`.
//!
//! The example server is `$RMCP_SERVER_BIN` if set, else `<target>/debug/examples/rmcp_server`,
//! built first with `cargo build -p taskward --example rmcp_server`.
//!
//! With `$TASKWARD_URL` set (an `http://…/mcp` URL), the `taskward serve` runs start no server and
//! drive that one: `tests/interop/client.py` does so, so that the Python 2025-11-25 client and this
//! 2026-07-28 client are served by the same server process. The example's runs are then skipped.

use std::collections::BTreeMap;
use std::fs::File;
use std::future::Future;
use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, CancelTaskParams, ClientCapabilities,
    ClientConfig, GetTaskParams, GetTaskResult, Implementation, InputRequest, JsonObject,
    ProtocolVersion, TASKS_EXTENSION_ID, TaskPayload, TaskStatus, UpdateTaskParams,
};
use rmcp::service::RunningService;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::{ClientLifecycleMode, ClientServiceExt, RoleClient};
use serde_json::{Value, json};

/// The longest real-time wait for any one step: connecting, one request, or a polling loop.
const STEP_LIMIT: Duration = Duration::from_secs(30);
/// The server's advertised poll interval (`--poll-interval-ms`), short to keep the test quick.
const SERVER_POLL_MS: u64 = 100;

type Client = RunningService<RoleClient, ClientConfig>;

// ---------------------------------------------------------------------------------------------
// The server binary and process
// ---------------------------------------------------------------------------------------------

/// The workspace root: this crate lives at `<workspace>/tests/interop-rmcp`.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the workspace root exists")
}

/// The servers the scenarios run against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum ServerKind {
    /// `taskward serve --http`.
    TaskwardServe,
    /// The rmcp 3.x example server on the rmcp adapter (`examples/rmcp_server.rs`).
    RmcpExample,
}

impl ServerKind {
    /// The variable naming a prebuilt binary, the cargo build that makes it, and where.
    fn build(self) -> (&'static str, &'static [&'static str], &'static str) {
        match self {
            ServerKind::TaskwardServe => (
                "TASKWARD_BIN",
                &["build", "--release", "--quiet", "-p", "taskward-cli"],
                "release/taskward",
            ),
            ServerKind::RmcpExample => (
                "RMCP_SERVER_BIN",
                &[
                    "build",
                    "--quiet",
                    "-p",
                    "taskward",
                    "--example",
                    "rmcp_server",
                ],
                "debug/examples/rmcp_server",
            ),
        }
    }

    /// The arguments that serve on `addr`, suggesting [`SERVER_POLL_MS`].
    fn args(self, addr: SocketAddr) -> Vec<String> {
        let addr = addr.to_string();
        let poll = SERVER_POLL_MS.to_string();
        match self {
            ServerKind::TaskwardServe => {
                let args = ["serve", "--http", &addr, "--store", "memory"];
                let mut args: Vec<String> = args.map(str::to_owned).to_vec();
                args.extend(["--poll-interval-ms".to_owned(), poll]);
                args
            }
            ServerKind::RmcpExample => vec![addr, "--poll-interval-ms".to_owned(), poll],
        }
    }
}

/// The binary of a server: as its variable names it, or built once per run (the first test to
/// get here builds; a failed build fails every test of that server with its reason).
fn server_binary(kind: ServerKind) -> &'static Path {
    static TASKWARD: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    static EXAMPLE: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let cell = match kind {
        ServerKind::TaskwardServe => &TASKWARD,
        ServerKind::RmcpExample => &EXAMPLE,
    };
    match cell.get_or_init(|| find_or_build_binary(kind)) {
        Ok(bin) => bin,
        Err(reason) => panic!("{reason}"),
    }
}

fn find_or_build_binary(kind: ServerKind) -> Result<PathBuf, String> {
    let (variable, build, built) = kind.build();
    if let Some(bin) = std::env::var_os(variable) {
        let bin = PathBuf::from(bin);
        return if bin.is_file() {
            Ok(bin)
        } else {
            Err(format!("{variable}={} is not a file", bin.display()))
        };
    }
    let root = workspace_root();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(|dir| root.join(dir))
        .unwrap_or_else(|| root.join("target"));
    let bin = target.join(format!("{built}{}", std::env::consts::EXE_SUFFIX));
    // Always ask cargo: it builds a missing binary and rebuilds a stale one, and is a quick
    // no-op otherwise. A stale server would test yesterday's code. (`cargo test` no longer
    // holds the build lock while the tests run, so this does not deadlock.)
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args(build)
        .current_dir(&root)
        .status()
        .map_err(|error| format!("cargo does not run: {error}"))?;
    if !status.success() {
        return Err(format!(
            "`cargo {}` failed ({status}); its errors are above",
            build.join(" ")
        ));
    }
    if !bin.is_file() {
        return Err(format!("no server binary at {}", bin.display()));
    }
    Ok(bin)
}

/// A free port on 127.0.0.1, as the OS hands it out (released before the server binds it).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free localhost port")
        .port()
}

/// A server on `127.0.0.1:PORT`, killed when dropped (also when the test panics, in
/// which case its log is printed).
struct Server {
    /// `None` when driving an external server (`$TASKWARD_URL`).
    child: Option<Child>,
    url: String,
    log: PathBuf,
}

impl Server {
    /// Starts a server of `kind` and waits (at most [`STEP_LIMIT`]) until it accepts
    /// connections; `None` for the example when `$TASKWARD_URL` names an external server.
    fn start(kind: ServerKind, label: &str) -> Option<Self> {
        if let Ok(url) = std::env::var("TASKWARD_URL") {
            return (kind == ServerKind::TaskwardServe).then_some(Server {
                child: None,
                url,
                log: PathBuf::new(),
            });
        }
        let binary = server_binary(kind);
        let port = free_port();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let log = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("rmcp-{label}-{kind:?}-server.log"));
        let log_file = File::create(&log).expect("the server log can be created");
        let child = Command::new(binary)
            .args(kind.args(addr))
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("the log file handle clones"))
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|error| panic!("{} does not start: {error}", binary.display()));
        let mut server = Server {
            child: Some(child),
            url: format!("http://{addr}/mcp"),
            log,
        };
        let deadline = Instant::now() + STEP_LIMIT;
        loop {
            if let Some(status) = server
                .child
                .as_mut()
                .expect("a started server")
                .try_wait()
                .expect("the server can be waited on")
            {
                panic!(
                    "the server exited with {status} before listening:\n{}",
                    server.log_text()
                );
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Some(server);
            }
            assert!(
                Instant::now() < deadline,
                "the server did not listen on {addr} within {STEP_LIMIT:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log_text(&self) -> String {
        let mut text = String::new();
        if let Ok(mut file) = File::open(&self.log) {
            let _ = file.read_to_string(&mut text);
        }
        text
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let Some(child) = self.child.as_mut() else {
            return;
        };
        let _ = child.kill();
        let _ = child.wait();
        if std::thread::panicking() {
            eprintln!(
                "--- server log ({}) ---\n{}",
                self.log.display(),
                self.log_text()
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The rmcp client
// ---------------------------------------------------------------------------------------------

/// Fails the test with `what` if `future` takes longer than [`STEP_LIMIT`].
async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(STEP_LIMIT, future)
        .await
        .unwrap_or_else(|_| panic!("{what}: no answer within {STEP_LIMIT:?}"))
}

/// The client's capabilities: the tasks extension and nothing else. (This is what
/// `ClientCapabilities::builder().enable_tasks().build()` makes; rmcp compiles its builders only
/// with its `server` or `macros` feature, which this client-only test does not enable.)
fn tasks_capabilities() -> ClientCapabilities {
    let mut capabilities = ClientCapabilities::default();
    capabilities.extensions = Some(BTreeMap::from([(
        TASKS_EXTENSION_ID.to_owned(),
        JsonObject::new(),
    )]));
    assert!(capabilities.supports_tasks());
    capabilities
}

/// An rmcp client connected over Streamable HTTP in Discover mode (2026-07-28 only, no fallback
/// to `initialize`), declaring the tasks extension on every request; checks what discovery found.
async fn connect(server: &Server) -> Client {
    let info = ClientConfig::new(
        tasks_capabilities(),
        Implementation::new(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION")),
    );
    let transport = StreamableHttpClientTransport::from_uri(server.url.as_str());
    let lifecycle = ClientLifecycleMode::Discover {
        preferred_versions: vec![ProtocolVersion::V_2026_07_28],
    };
    let client = within(
        "server/discover",
        info.serve_with_lifecycle(transport, lifecycle),
    )
    .await
    .unwrap_or_else(|error| panic!("Discover-mode startup fails: {error}"));
    let peer_info = client
        .peer()
        .peer_info()
        .expect("discovery stores the server's info");
    assert_eq!(peer_info.protocol_version, ProtocolVersion::V_2026_07_28);
    assert!(
        peer_info.capabilities.supports_tasks(),
        "server/discover does not advertise {TASKS_EXTENSION_ID}: {:?}",
        peer_info.capabilities
    );
    assert!(
        peer_info.capabilities.tools.is_some(),
        "server/discover advertises no tools capability"
    );
    client
}

fn arguments(value: Value) -> JsonObject {
    match value {
        Value::Object(object) => object,
        other => panic!("tool arguments must be an object, not {other}"),
    }
}

/// `tools/call` through `call_tool_once`, which must be answered with a task; returns its id.
async fn call_as_task(client: &Client, tool: &'static str, args: Value) -> String {
    let params = CallToolRequestParams::new(tool).with_arguments(arguments(args));
    let response = within(&format!("tools/call {tool}"), client.call_tool_once(params))
        .await
        .unwrap_or_else(|error| panic!("tools/call {tool} fails: {error}"));
    match response {
        CallToolResponse::Task(created) => {
            assert!(created.result_type.is_task());
            assert!(!created.task.task_id.is_empty(), "an empty taskId");
            assert!(
                created.task.ttl_ms.is_none_or(|ttl| ttl > 0),
                "a task created with ttlMs 0"
            );
            created.task.task_id
        }
        CallToolResponse::Complete(result) => {
            panic!("tools/call {tool} was answered synchronously, not with a task: {result:?}")
        }
        CallToolResponse::InputRequired(result) => {
            panic!(
                "tools/call {tool} was answered input_required (MRTR), not with a task: {result:?}"
            )
        }
        other => panic!("tools/call {tool}: unexpected response {other:?}"),
    }
}

/// Polls `tasks/get` (honouring `pollIntervalMs`, at most 1 s apart) until `done` holds, for at
/// most [`STEP_LIMIT`]; returns the result that satisfied it.
async fn poll_until(
    client: &Client,
    task_id: &str,
    what: &str,
    done: impl Fn(&GetTaskResult) -> bool,
) -> GetTaskResult {
    let polling = async {
        loop {
            let got = client
                .peer()
                .get_task(GetTaskParams::new(task_id))
                .await
                .unwrap_or_else(|error| panic!("tasks/get {task_id} fails: {error}"));
            assert!(
                got.result_type.is_complete(),
                "tasks/get resultType {:?}",
                got.result_type
            );
            assert_eq!(got.task.task.task_id, task_id);
            if done(&got) {
                return got;
            }
            let interval = got.task.task.poll_interval_ms.unwrap_or(SERVER_POLL_MS);
            tokio::time::sleep(Duration::from_millis(interval.clamp(10, 1000))).await;
        }
    };
    within(&format!("task {task_id} to become {what}"), polling).await
}

/// Polls until the task is terminal and asserts it `completed`; returns its `CallToolResult`.
async fn completed_result(client: &Client, task_id: &str) -> (CallToolResult, JsonObject) {
    let got = poll_until(client, task_id, "terminal", |got| {
        got.task.status().is_terminal()
    })
    .await;
    match got.task.payload {
        TaskPayload::Completed { result } => {
            let parsed: CallToolResult = serde_json::from_value(Value::Object(result.clone()))
                .unwrap_or_else(|error| panic!("the task's result is no CallToolResult: {error}"));
            (parsed, result)
        }
        other => panic!("task {task_id} ended {other:?}, not completed"),
    }
}

fn first_text(result: &CallToolResult) -> String {
    let content = serde_json::to_value(&result.content).expect("content serializes");
    content[0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("no text content in {content}"))
        .to_owned()
}

// ---------------------------------------------------------------------------------------------
// The scenarios
// ---------------------------------------------------------------------------------------------

/// Runs a scenario against both servers, as `SCENARIO::taskward_serve` and
/// `SCENARIO::rmcp_example`.
macro_rules! against_both {
    ($scenario:ident) => {
        mod $scenario {
            use super::ServerKind;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn taskward_serve() {
                super::$scenario(ServerKind::TaskwardServe).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn rmcp_example() {
                super::$scenario(ServerKind::RmcpExample).await
            }
        }
    };
}

against_both!(count_primes_completes_with_structured_count);

/// `count_primes {limit: 10000000}` → task → polled to `completed`, with structuredContent.count.
async fn count_primes_completes_with_structured_count(kind: ServerKind) {
    let Some(server) = Server::start(kind, "count-primes") else {
        return;
    };
    let client = connect(&server).await;

    let id = call_as_task(&client, "count_primes", json!({ "limit": 10_000_000 })).await;
    let (result, raw) = completed_result(&client, &id).await;

    assert_ne!(result.is_error, Some(true), "count_primes erred: {raw:?}");
    let structured = result
        .structured_content
        .unwrap_or_else(|| panic!("no structuredContent in {raw:?}"));
    assert_eq!(structured["count"], json!(664_579), "{structured}");

    within("client shutdown", client.cancel()).await.ok();
}

against_both!(sleep_is_cancelled_by_tasks_cancel);

/// `sleep {seconds: 30}` → task → `tasks/cancel` is acknowledged → `tasks/get` reads `cancelled`.
async fn sleep_is_cancelled_by_tasks_cancel(kind: ServerKind) {
    let Some(server) = Server::start(kind, "sleep-cancel") else {
        return;
    };
    let client = connect(&server).await;

    let id = call_as_task(&client, "sleep", json!({ "seconds": 30 })).await;
    let working = poll_until(&client, &id, "readable", |_| true).await;
    assert_eq!(working.task.status(), TaskStatus::Working);

    within(
        "tasks/cancel",
        client.peer().cancel_task(CancelTaskParams::new(id.clone())),
    )
    .await
    .unwrap_or_else(|error| panic!("tasks/cancel is not acknowledged: {error}"));

    let ended = poll_until(&client, &id, "cancelled", |got| {
        got.task.status().is_terminal()
    })
    .await;
    assert_eq!(
        ended.task.payload,
        TaskPayload::Cancelled,
        "a cancelled 30 s sleep ended otherwise"
    );

    // Cancelling a terminal task is no longer an error in this generation: still an ack.
    within(
        "tasks/cancel (terminal)",
        client.peer().cancel_task(CancelTaskParams::new(id.clone())),
    )
    .await
    .unwrap_or_else(|error| {
        panic!("tasks/cancel of a cancelled task is not acknowledged: {error}")
    });

    within("client shutdown", client.cancel()).await.ok();
}

against_both!(ask_name_takes_its_input_through_tasks_update);

/// `ask_name {}` → task → `input_required` with a form elicitation under key "name" →
/// `tasks/update` answers it → `completed` with "Hello, Luca!".
async fn ask_name_takes_its_input_through_tasks_update(kind: ServerKind) {
    let Some(server) = Server::start(kind, "ask-name") else {
        return;
    };
    let client = connect(&server).await;

    let id = call_as_task(&client, "ask_name", json!({})).await;
    let asking = poll_until(&client, &id, "input_required", |got| {
        got.task.status() != TaskStatus::Working
    })
    .await;
    let TaskPayload::InputRequired { input_requests } = &asking.task.payload else {
        panic!(
            "ask_name went {:?}, not input_required",
            asking.task.payload
        );
    };
    let keys: Vec<&String> = input_requests.keys().collect();
    assert_eq!(keys, ["name"], "inputRequests keys");
    let request = &input_requests["name"];
    assert!(
        matches!(request, InputRequest::Elicitation(_)),
        "inputRequests.name is no elicitation/create: {request:?}"
    );
    let wire = serde_json::to_value(request).expect("the input request serializes");
    assert_eq!(wire["method"], "elicitation/create", "{wire}");
    assert_eq!(wire["params"]["mode"], "form", "{wire}");
    assert!(
        wire["params"]["requestedSchema"]["properties"]["name"].is_object(),
        "the form asks for no `name` property: {wire}"
    );

    let responses = BTreeMap::from([(
        "name".to_owned(),
        json!({ "action": "accept", "content": { "name": "Luca" } }),
    )]);
    within(
        "tasks/update",
        client
            .peer()
            .update_task(UpdateTaskParams::new(id.clone(), responses)),
    )
    .await
    .unwrap_or_else(|error| panic!("tasks/update is not acknowledged: {error}"));

    let (result, raw) = completed_result(&client, &id).await;
    assert_ne!(result.is_error, Some(true), "ask_name erred: {raw:?}");
    assert_eq!(first_text(&result), "Hello, Luca!");

    within("client shutdown", client.cancel()).await.ok();
}

against_both!(fail_completes_with_is_error);

/// `fail {message}` → task → `completed` with `isError: true` (in 2026-07-28, a tool error is a
/// completed task; `failed` is for JSON-RPC errors only).
async fn fail_completes_with_is_error(kind: ServerKind) {
    let Some(server) = Server::start(kind, "fail") else {
        return;
    };
    let client = connect(&server).await;

    let id = call_as_task(&client, "fail", json!({ "message": "boom from rmcp" })).await;
    let (result, raw) = completed_result(&client, &id).await;
    assert_eq!(result.is_error, Some(true), "isError: {raw:?}");
    assert!(
        first_text(&result).contains("boom from rmcp"),
        "the error text does not carry the message: {raw:?}"
    );

    within("client shutdown", client.cancel()).await.ok();
}
