//! The checks after a restart: every acknowledged task is there, what was seen finished is
//! unchanged, acknowledged cancels hold, and every task left live was resumed and finishes
//! with the right result.

use std::net::SocketAddr;
use std::ops::AddAssign;
use std::time::{Duration, Instant};

use serde_json::json;

use super::ledger::{Entry, Ledger};
use super::load::status_of;
use super::mcp::{self, Fail};

/// How long the tasks left live get to finish after a restart.
const FINISH_LIMIT: Duration = Duration::from_secs(300);

/// The counts of one check.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Counts {
    pub(crate) sessions: u64,
    pub(crate) sessions_lost: u64,
    pub(crate) acked: u64,
    pub(crate) found: u64,
    pub(crate) lost: u64,
    pub(crate) seen: u64,
    pub(crate) seen_same: u64,
    pub(crate) cancels: u64,
    pub(crate) cancels_held: u64,
    pub(crate) live: u64,
    pub(crate) resumed: u64,
    pub(crate) interrupted: u64,
    pub(crate) finished_after: u64,
    pub(crate) stuck: u64,
}

impl AddAssign for Counts {
    fn add_assign(&mut self, o: Self) {
        self.sessions += o.sessions;
        self.sessions_lost += o.sessions_lost;
        self.acked += o.acked;
        self.found += o.found;
        self.lost += o.lost;
        self.seen += o.seen;
        self.seen_same += o.seen_same;
        self.cancels += o.cancels;
        self.cancels_held += o.cancels_held;
        self.live += o.live;
        self.resumed += o.resumed;
        self.interrupted += o.interrupted;
        self.finished_after += o.finished_after;
        self.stuck += o.stuck;
    }
}

impl std::fmt::Display for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "sessions {}/{} found; tasks acknowledged {}, found {}, lost {}; seen finished {}, unchanged {}; \
             cancels acknowledged {}, still cancelled {}; live at restart {}, resumed {}, \
             failed interrupted {}; finished after restart {}; stuck {}",
            self.sessions - self.sessions_lost,
            self.sessions,
            self.acked,
            self.found,
            self.lost,
            self.seen,
            self.seen_same,
            self.cancels,
            self.cancels_held,
            self.live,
            self.resumed,
            self.interrupted,
            self.finished_after,
            self.stuck,
        )
    }
}

fn terminal(status: &str) -> bool {
    matches!(status, "completed" | "failed" | "cancelled")
}

/// Checks the ledger against the restarted server at `addr`; with `wait`, gives the tasks
/// left live time to finish and checks their results (the ledger then records them as seen).
pub(crate) fn after_restart(addr: SocketAddr, ledger: &mut Ledger, wait: bool) -> Counts {
    let mut c = Counts::default();
    let mut bad = Vec::new();
    let mut lost_sessions = Vec::new();
    for session in &ledger.sessions {
        c.sessions += 1;
        if let Err(fail) = mcp::request(addr, session, "tasks/list", json!({})) {
            c.sessions_lost += 1;
            lost_sessions.push(session.clone());
            bad.push(format!(
                "session {session} not found after the restart: {fail}"
            ));
        }
    }
    let mut live = Vec::new();
    let mut broke = Vec::new();
    for (i, e) in ledger.entries.iter().enumerate() {
        c.acked += 1;
        // Reported once.
        if e.broken {
            continue;
        }
        let before = bad.len();
        if entry(addr, e, &mut c, &mut bad) {
            live.push(i);
        }
        if bad.len() > before {
            broke.push(i);
        }
    }
    for i in broke {
        ledger.entries[i].broken = true;
    }
    if wait {
        finish(addr, ledger, &live, &mut c, &mut bad);
    }
    ledger.sessions.retain(|s| !lost_sessions.contains(s));
    ledger.violations.extend(bad);
    c
}

/// Waits for the tasks at `indexes` to finish (answering questions), and records their
/// results as seen.
fn finish(
    addr: SocketAddr,
    ledger: &mut Ledger,
    indexes: &[usize],
    c: &mut Counts,
    bad: &mut Vec<String>,
) {
    let deadline = Instant::now() + FINISH_LIMIT;
    let mut left: Vec<usize> = indexes.to_vec();
    while !left.is_empty() && Instant::now() < deadline {
        let mut still = Vec::new();
        for &i in &left {
            let e = &ledger.entries[i];
            let (id, session) = (e.id.clone(), e.session.clone());
            let name = e.work.name().map(|n| (n.to_owned(), Duration::ZERO));
            let got = mcp::request(addr, &session, "tasks/get", json!({"taskId": id}));
            let status = match &got {
                Ok(task) => status_of(task).to_owned(),
                Err(fail) => {
                    bad.push(format!("task {id}: lost while finishing: {fail}"));
                    continue;
                }
            };
            if !terminal(&status) && name.is_none() {
                still.push(i);
                continue;
            }
            let answer = match mcp::task_result(
                addr,
                &session,
                &id,
                name.as_ref().map(|(n, d)| (n.as_str(), *d)),
            ) {
                Ok(answer) => answer,
                Err(Fail::Down(e)) => panic!("the server went down while checking: {e}"),
                Err(fail) => {
                    bad.push(format!("task {id}: tasks/result: {fail}"));
                    continue;
                }
            };
            let status = match mcp::request(addr, &session, "tasks/get", json!({"taskId": id})) {
                Ok(task) => status_of(&task).to_owned(),
                Err(fail) => {
                    bad.push(format!("task {id}: lost after its result: {fail}"));
                    continue;
                }
            };
            c.finished_after += 1;
            ledger.seen(&id, &status, answer);
        }
        left = still;
        if !left.is_empty() {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    for &i in &left {
        let e = &ledger.entries[i];
        c.stuck += 1;
        bad.push(format!(
            "task {} ({:?}, cycle {}): still not finished {} s after the restart",
            e.id,
            e.work,
            e.cycle,
            FINISH_LIMIT.as_secs()
        ));
    }
}

/// Checks one acknowledged task after a restart; true when it is to be finished (live, or
/// ended unseen).
fn entry(addr: SocketAddr, e: &Entry, c: &mut Counts, bad: &mut Vec<String>) -> bool {
    let what = format!("task {} ({:?}, cycle {})", e.id, e.work, e.cycle);
    let task = match mcp::request(addr, &e.session, "tasks/get", json!({"taskId": e.id})) {
        Ok(task) => task,
        Err(fail) => {
            c.lost += 1;
            bad.push(format!(
                "{what}: acknowledged, not found after the restart: {fail}"
            ));
            return false;
        }
    };
    c.found += 1;
    let status = status_of(&task);
    let message = task["statusMessage"].as_str().unwrap_or_default();
    if status == "failed" && message.contains("interrupted") {
        c.interrupted += 1;
        bad.push(format!("{what}: failed interrupted: {message}"));
    }
    if e.cancel_acked {
        c.cancels += 1;
        if status == "cancelled" {
            c.cancels_held += 1;
        } else {
            bad.push(format!(
                "{what}: its cancel was acknowledged; now {status}: {message}"
            ));
        }
    }
    if let Some((seen, answer)) = &e.seen {
        c.seen += 1;
        let now = mcp::task_result(addr, &e.session, &e.id, None);
        match now {
            Ok(now) if status == seen && &now == answer => c.seen_same += 1,
            now => bad.push(format!(
                "{what}: seen {seen} with {answer}; now {status} with {now:?} ({message})"
            )),
        }
    } else if terminal(status) {
        return true;
    } else {
        c.live += 1;
        if message.contains("resumed after a restart") || status == "input_required" {
            c.resumed += 1;
        } else {
            bad.push(format!(
                "{what}: {status} after the restart, not resumed: {task}"
            ));
        }
        return true;
    }
    false
}
