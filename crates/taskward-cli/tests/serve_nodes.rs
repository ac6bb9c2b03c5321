//! Three `taskward serve --store postgres://…` processes on one PostgreSQL: a client's
//! requests land on random nodes and every node answers for every task (get, cancel, input
//! answers, a 2025-11-25 session's `tasks/result`), what travels between them (a task's
//! input requests, status and progress notifications, a session's end), the tasks of a node killed with
//! SIGKILL are rescued and finished by the others, once, and the queue's running cap holds
//! across the nodes.

mod crash_support {
    #[allow(dead_code)]
    #[path = "http.rs"]
    pub(crate) mod http;
    #[allow(dead_code)]
    #[path = "mcp.rs"]
    pub(crate) mod mcp;
    #[allow(dead_code)]
    #[path = "nodes.rs"]
    pub(crate) mod nodes;
    #[allow(dead_code)]
    #[path = "rng.rs"]
    pub(crate) mod rng;
    #[allow(dead_code)]
    #[path = "server.rs"]
    pub(crate) mod server;
}

#[path = "../../taskward-postgres/tests/common/server.rs"]
mod pg_server;

use std::collections::HashMap;

use crash_support::nodes::{Cluster, call, get, modern};
use crash_support::rng::Rng;
use crash_support::{http, mcp};
use serde_json::json;

/// The run's seed: `TASKWARD_NODES_SEED`, else the clock; printed so a run can be replayed.
fn rng() -> Rng {
    let seed = std::env::var("TASKWARD_NODES_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
    eprintln!("serve_nodes: TASKWARD_NODES_SEED={seed}");
    Rng::new(seed)
}

/// Three distinct nodes (A, B, C) in a random order.
fn shuffle(rng: &mut Rng) -> [usize; 3] {
    let mut order = [0, 1, 2];
    for i in (1..3).rev() {
        order.swap(i, rng.below(i as u64 + 1) as usize);
    }
    order
}

#[test]
fn any_node_answers_for_a_task_of_another() {
    let mut rng = rng();
    let cluster = Cluster::start(3);
    let addr = |n: usize| cluster.addr(n);

    // A long sleep created on A is read as working on B and C, cancelled through B.
    let [a, b, c] = shuffle(&mut rng);
    let id = call(addr(a), "sleep", json!({"seconds": 300}));
    // Queued, then claimed by whichever node had room first.
    cluster.wait_until("a node claims the sleep", || {
        cluster
            .ids
            .contains(&cluster.row(&id, "coalesce(node::text, '')"))
    });
    for n in [b, c] {
        assert_eq!(get(addr(n), &id)["status"], "working", "on node {n}");
    }
    let cancelled = modern(addr(b), "tasks/cancel", json!({"taskId": id})).expect("cancel");
    assert_eq!(cancelled["resultType"], "complete");
    cluster.wait_until("the cancel reaches the holder", || {
        cluster.row(&id, "status") == "cancelled" && cluster.row(&id, "lease_until IS NULL") == "t"
    });
    for n in [a, b, c] {
        assert_eq!(get(addr(n), &id)["status"], "cancelled", "on node {n}");
    }

    // ask_name created on A, answered through C (the key read on the node that claimed
    // it), read completed on B.
    let [a, b, c] = shuffle(&mut rng);
    let id = call(addr(a), "ask_name", json!({}));
    answer_ask_name(&cluster, a, c, &id, "Nodes");
    cluster.wait_until("ask_name completes", || {
        get(addr(b), &id)["status"] == "completed"
    });
    let done = get(addr(b), &id);
    assert!(
        done["result"].to_string().contains("Hello, Nodes!"),
        "the answer is in the result: {done}"
    );

    // A short sleep polled on random nodes until terminal.
    let id = call(
        addr(rng.below(3) as usize),
        "sleep",
        json!({"seconds": 0.2}),
    );
    cluster.wait_until("the short sleep ends", || {
        get(addr(rng.below(3) as usize), &id)["status"] == "completed"
    });

    // A 2025-11-25 session opened on A; tasks/result of its task sent to B.
    let [a, b, _] = shuffle(&mut rng);
    let session = mcp::initialize(addr(a)).expect("a session on A");
    let created = mcp::request(
        addr(a),
        &session,
        "tools/call",
        json!({"name": "count_primes", "arguments": {"limit": 200000}, "task": {}}),
    )
    .expect("a task in the session");
    let id = created["task"]["taskId"].as_str().expect("a task id");
    let answer = mcp::task_result(addr(b), &session, id, None).expect("tasks/result on B");
    let text = answer["result"].to_string();
    assert!(
        text.contains("17984 primes below 200000"),
        "the tool result: {answer}"
    );
    assert_eq!(cluster.row(id, "status"), "completed");
}

/// A `sleep` of `seconds` created as a task of `session` on `addr`: its id.
fn sleep_in(addr: std::net::SocketAddr, session: &str, seconds: f64) -> String {
    sleep_with_meta(addr, session, seconds, json!({}))
}

/// As [`sleep_in`], the call carrying `meta` as its `_meta`.
fn sleep_with_meta(
    addr: std::net::SocketAddr,
    session: &str,
    seconds: f64,
    meta: serde_json::Value,
) -> String {
    let created = mcp::request(
        addr,
        session,
        "tools/call",
        json!({"name": "sleep", "arguments": {"seconds": seconds}, "task": {}, "_meta": meta}),
    )
    .expect("a task of the session");
    created["task"]["taskId"]
        .as_str()
        .expect("a task id")
        .to_owned()
}

/// Waits until a node claims task `id`; which one.
fn holder(cluster: &Cluster, id: &str) -> usize {
    let mut holder = None;
    cluster.wait_until("a node claims the task", || {
        let node = cluster.row(id, "coalesce(node::text, '')");
        holder = cluster.ids.iter().position(|n| *n == node);
        holder.is_some()
    });
    holder.expect("a holder")
}

/// Waits until `shown_on` shows the input request of `ask_name` task `id`, and answers it
/// `name` through `answered_on`.
fn answer_ask_name(cluster: &Cluster, shown_on: usize, answered_on: usize, id: &str, name: &str) {
    let mut key = None;
    cluster.wait_until("ask_name asks", || {
        let task = get(cluster.addr(shown_on), id);
        key = task["inputRequests"]
            .as_object()
            .and_then(|requests| requests.keys().next().cloned());
        key.is_some()
    });
    let key = key.expect("an input key");
    let update = json!({
        "taskId": id,
        "inputResponses": {key: {"action": "accept", "content": {"name": name}}}
    });
    let updated = modern(cluster.addr(answered_on), "tasks/update", update).expect("tasks/update");
    assert_eq!(updated["resultType"], "complete");
}

#[test]
fn the_input_requests_of_a_task_on_a_are_shown_on_c_and_answered_on_b() {
    let mut rng = rng();
    let cluster = Cluster::start(3);
    let addr = |n: usize| cluster.addr(n);

    // ask_name running on A: its request shown on C, answered through B.
    let [a, b, c] = shuffle(&mut rng);
    let id = call(addr(a), "ask_name", json!({}));
    answer_ask_name(&cluster, c, b, &id, "Relay");
    cluster.wait_until("ask_name completes", || {
        get(addr(c), &id)["status"] == "completed"
    });
}

#[test]
fn the_status_of_a_task_is_notified_on_the_stream_held_on_another_node() {
    let mut rng = rng();
    let cluster = Cluster::start(3);
    let addr = |n: usize| cluster.addr(n);

    // A 2025-11-25 session opened on A, a task of it created on B and claimed by some node
    // H, the session's stream then held on a node other than H.
    let [a, b, _] = shuffle(&mut rng);
    let session = mcp::initialize(addr(a)).expect("a session on A");
    let id = sleep_in(addr(b), &session, 5.0);
    let h = holder(&cluster, &id);
    let elsewhere = (0..3).find(|n| *n != h).expect("another node");
    let messages = listen(addr(elsewhere), &session);
    loop {
        let message = messages
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("a status notification on the stream");
        if message["method"] == "notifications/tasks/status"
            && message["params"]["taskId"] == id.as_str()
            && message["params"]["status"] == "completed"
        {
            break;
        }
    }
}

/// Opens `session`'s stream on `addr`; its messages, read on a thread of their own.
fn listen(
    addr: std::net::SocketAddr,
    session: &str,
) -> std::sync::mpsc::Receiver<serde_json::Value> {
    let mut stream = http::get_stream(addr, session).expect("the stream");
    assert_eq!(stream.status, 200);
    let (heard, messages) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        while let Ok(Some(message)) = stream.next_message() {
            if heard.send(message).is_err() {
                return;
            }
        }
    });
    messages
}

#[test]
fn the_progress_of_a_task_is_notified_on_the_stream_held_on_another_node() {
    let mut rng = rng();
    let cluster = Cluster::start(3);
    let addr = |n: usize| cluster.addr(n);

    // A `sleep` with a progress token, created on B, held by H; the session's stream on a
    // node other than H, which never saw the call: the token travels with the task.
    let [a, b, _] = shuffle(&mut rng);
    let session = mcp::initialize(addr(a)).expect("a session on A");
    let id = sleep_with_meta(addr(b), &session, 4.0, json!({"progressToken": "relay-7"}));
    let h = holder(&cluster, &id);
    let others: Vec<usize> = (0..3).filter(|n| *n != h).collect();
    let elsewhere = others[rng.below(2) as usize];
    let messages = listen(addr(elsewhere), &session);
    let mut progress = Vec::new();
    loop {
        let message = messages
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("a notification on the stream");
        let params = &message["params"];
        if message["method"] == "notifications/progress" {
            assert_eq!(params["progressToken"], "relay-7", "{message}");
            assert_eq!(
                params["_meta"]["io.modelcontextprotocol/related-task"]["taskId"],
                id.as_str(),
                "{message}"
            );
            progress.push(params["progress"].as_u64().expect("a progress"));
        }
        if message["method"] == "notifications/tasks/status"
            && params["taskId"] == id.as_str()
            && params["status"] == "completed"
        {
            break;
        }
    }
    assert!(
        !progress.is_empty(),
        "no progress relayed from node {h} to node {elsewhere}"
    );
    assert!(
        progress.is_sorted(),
        "progress went backwards: {progress:?}"
    );
}

#[test]
fn a_session_deleted_on_one_node_is_gone_on_all_and_its_task_on_another_is_cancelled() {
    let mut rng = rng();
    let cluster = Cluster::start(3);
    let addr = |n: usize| cluster.addr(n);

    // Opened on A, used on B (which holds it then), a long task of it claimed by some node H.
    let [a, b, _] = shuffle(&mut rng);
    let session = mcp::initialize(addr(a)).expect("a session on A");
    let long = sleep_in(addr(b), &session, 300.0);
    let h = holder(&cluster, &long);
    // Ended on a node D other than H: its task on H cancelled before the DELETE is answered
    // (the nodes run with `--session-close-policy cancel`), "session not found" on every
    // node, B included once it looks.
    let d = [a, b]
        .into_iter()
        .find(|n| *n != h)
        .expect("a node other than H");
    assert_eq!(http::delete(addr(d), &session).expect("DELETE on D"), 200);
    assert_eq!(
        cluster.row(&long, "status"),
        "cancelled",
        "the close policy on H"
    );
    let ping = json!({"jsonrpc": "2.0", "id": 1, "method": "ping"});
    let status = |n: usize| {
        http::post(addr(n), Some(&session), &ping)
            .expect("a ping")
            .status
    };
    assert_eq!(status(d), 404, "ended on D");
    for n in 0..3 {
        cluster.wait_until("every node finds the session ended", || status(n) == 404);
    }
    assert_eq!(status(d), 404, "not written back by another node");
    cluster.wait_until("H's work stops", || {
        cluster.row(&long, "lease_until IS NULL") == "t"
    });
}

#[test]
fn the_tasks_of_a_killed_node_are_finished_once_by_the_others() {
    let mut rng = rng();
    let mut cluster = Cluster::start(3);
    // Some finished before the kill, whose rows must not change.
    let mut finished = Vec::new();
    for n in 0..3 {
        finished.push(call(cluster.addr(n), "sleep", json!({"seconds": 0.05})));
    }
    cluster.wait_until("the first tasks end", || {
        finished
            .iter()
            .all(|id| cluster.row(id, "status") == "completed")
    });
    let before: HashMap<String, String> = finished
        .iter()
        .map(|id| {
            (
                id.clone(),
                cluster.row(id, "attempt || ' ' || record::text"),
            )
        })
        .collect();
    // Running ones, two per kind on each node.
    let mut running = Vec::new();
    for n in 0..3 {
        for _ in 0..2 {
            running.push(call(cluster.addr(n), "sleep", json!({"seconds": 2})));
            running.push(call(
                cluster.addr(n),
                "count_primes",
                json!({"limit": 20_000_000}),
            ));
        }
    }
    // They wait in the shared queue until claimed; the victim is a node holding sleeps (the
    // one holding most, the first of a tie in a random order).
    cluster.wait_until("every task is claimed", || {
        cluster.sql("SELECT count(*) FROM tasks WHERE queued") == "0"
    });
    let sleeps_of = |n: usize| -> usize {
        let sql = format!(
            "SELECT count(*) FROM tasks WHERE node = '{}' AND lease_until IS NOT NULL \
             AND kind = 'sleep'",
            cluster.ids[n]
        );
        cluster.sql(&sql).parse().expect("a count")
    };
    let victim = shuffle(&mut rng)
        .into_iter()
        .max_by_key(|n| sleeps_of(*n))
        .expect("a node");
    let held_sleeps = sleeps_of(victim);
    let dead = cluster.ids[victim].clone();
    let held: Vec<(String, i64)> = cluster
        .sql(&format!(
            "SELECT id, attempt FROM tasks WHERE node = '{dead}' AND lease_until IS NOT NULL"
        ))
        .lines()
        .map(|l| {
            let (id, attempt) = l.split_once('|').expect("id|attempt");
            (id.to_owned(), attempt.parse().expect("an attempt"))
        })
        .collect();
    eprintln!("serve_nodes: killing node {victim} ({dead}), holding {held:?}");
    assert!(held_sleeps > 0, "the victim holds sleeps");
    cluster.kill(victim);

    cluster.wait_until("the dead node's tasks are finished by others", || {
        held.iter()
            .all(|(id, _)| cluster.row(id, "status") == "completed")
    });
    let mut rescued = 0;
    for (id, attempt) in &held {
        assert_eq!(cluster.row(id, "lease_until IS NULL"), "t", "{id} released");
        let now: i64 = cluster.row(id, "attempt").parse().expect("an attempt");
        if now == *attempt {
            // It ended on the victim between the read of its rows and the kill.
            assert_eq!(cluster.row(id, "node::text"), dead, "{id} unclaimed");
            continue;
        }
        assert_eq!(
            now,
            attempt + 1,
            "task {id} was claimed once more, so run once more"
        );
        assert_ne!(
            cluster.row(id, "node::text"),
            dead,
            "{id} ended by another node"
        );
        rescued += 1;
    }
    assert!(
        rescued >= held_sleeps,
        "at least the victim's {held_sleeps} sleeps were rescued"
    );
    for (id, row) in &before {
        assert_eq!(
            &cluster.row(id, "attempt || ' ' || record::text"),
            row,
            "{id} finished before the kill is unchanged"
        );
    }
    let stuck = cluster.sql(&format!(
        "SELECT count(*) FROM tasks WHERE node = '{dead}' AND lease_until IS NOT NULL"
    ));
    assert_eq!(stuck, "0", "nothing is left held by the dead node");
    // The others' running tasks finish too.
    cluster.wait_until("every task ends", || {
        running
            .iter()
            .all(|id| cluster.row(id, "status") == "completed")
    });
}

#[test]
fn queue_caps_held_globally() {
    let mut rng = rng();
    // `--max-running 2` on postgres: at most two tool calls run at once in the cluster.
    let cluster = Cluster::start_with(3, &["--max-running", "2"]);
    let ids: Vec<String> = (0..6)
        .map(|_| {
            let n = rng.below(3) as usize;
            call(cluster.addr(n), "sleep", json!({"seconds": 0.3}))
        })
        .collect();
    let mut most = 0;
    cluster.wait_until("every sleep completes", || {
        let running: usize = cluster
            .sql("SELECT count(*) FROM tasks WHERE status = 'working' AND NOT queued")
            .parse()
            .expect("a count");
        most = most.max(running);
        assert!(running <= 2, "{running} tool calls run at once");
        ids.iter()
            .all(|id| cluster.row(id, "status") == "completed")
    });
    assert!(most >= 1, "the sleeps ran");
    for id in &ids {
        let n = rng.below(3) as usize;
        assert_eq!(
            get(cluster.addr(n), id)["status"],
            "completed",
            "on node {n}"
        );
    }
}
