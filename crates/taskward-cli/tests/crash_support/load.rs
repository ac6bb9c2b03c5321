//! One client of the load: creates, polls, cancels and answers inputs in its session until
//! the server goes down (or the run stops it).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, mpsc};

use serde_json::{Value, json};

use super::ledger::{Entry, Ledger, PRIME_COUNTS, Work};
use super::mcp::{self, Fail};
use super::rng::Rng;

/// At most this many tasks a client has not seen finish.
const MAX_LIVE: usize = 6;

/// What the clients did in one cycle, acknowledged by the server.
#[derive(Debug, Default)]
pub(crate) struct LoadCounts {
    pub(crate) created: AtomicU64,
    pub(crate) finished_seen: AtomicU64,
    pub(crate) cancelled: AtomicU64,
    pub(crate) inputs: AtomicU64,
    pub(crate) sessions: AtomicU64,
}

/// An acknowledgement a client just received: the run may kill the server right after one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Acked {
    Session,
    Created,
    Finished,
    Cancelled,
}

impl Acked {
    pub(crate) const ALL: [Acked; 4] = [
        Acked::Session,
        Acked::Created,
        Acked::Finished,
        Acked::Cancelled,
    ];
}

/// What a client shares with the run.
#[derive(Clone)]
pub(crate) struct Shared {
    pub(crate) addr: SocketAddr,
    pub(crate) ledger: Arc<Mutex<Ledger>>,
    pub(crate) stop: Arc<AtomicBool>,
    pub(crate) counts: Arc<LoadCounts>,
    pub(crate) cycle: usize,
    /// Told of each acknowledgement as it arrives.
    pub(crate) acked: mpsc::Sender<Acked>,
}

pub(crate) fn lock(ledger: &Mutex<Ledger>) -> MutexGuard<'_, Ledger> {
    ledger.lock().unwrap_or_else(PoisonError::into_inner)
}

fn count(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

struct Client {
    shared: Shared,
    session: String,
    rng: Rng,
    /// This session's tasks not seen finished.
    live: Vec<(String, Work)>,
}

/// Runs one client in `session` until the server stops answering or the run says stop;
/// returns the session it ended in.
pub(crate) fn run(shared: Shared, session: String, rng: Rng) -> String {
    let live = lock(&shared.ledger)
        .entries
        .iter()
        .filter(|e| e.session == session && e.seen.is_none())
        .map(|e| (e.id.clone(), e.work.clone()))
        .collect();
    let mut client = Client {
        shared,
        session,
        rng,
        live,
    };
    while !client.shared.stop.load(Ordering::Relaxed) {
        let pause = client.rng.millis(5, 40);
        std::thread::sleep(pause);
        match client.step() {
            Ok(()) => {}
            Err(Fail::Down(_)) => break,
            Err(fail @ Fail::Rpc { http: 404, .. }) => {
                client.violation(format!("session {} unknown: {fail}", client.session));
                match mcp::initialize(client.shared.addr) {
                    Ok(session) => client.switch(session),
                    Err(_) => break,
                }
            }
            Err(fail) => client.violation(format!("unexpected answer: {fail}")),
        }
    }
    client.session
}

impl Client {
    fn violation(&self, what: String) {
        lock(&self.shared.ledger)
            .violations
            .push(format!("cycle {} load: {what}", self.shared.cycle));
    }

    fn switch(&mut self, session: String) {
        lock(&self.shared.ledger).sessions.push(session.clone());
        count(&self.shared.counts.sessions);
        let _ = self.shared.acked.send(Acked::Session);
        self.session = session;
        self.live.clear();
    }

    fn step(&mut self) -> Result<(), Fail> {
        let roll = self.rng.below(100);
        let full = self.live.len() >= MAX_LIVE;
        match roll {
            _ if full && roll < 60 => self.poll(),
            0..30 => {
                let (limit, _) = PRIME_COUNTS[self.rng.below(PRIME_COUNTS.len() as u64) as usize];
                self.create(Work::Primes(limit)).map(drop)
            }
            30..45 => {
                let tenths = [5, 10, 20, 30, 40][self.rng.below(5) as usize];
                self.create(Work::Sleep(tenths)).map(drop)
            }
            45..52 => {
                let message = format!("failed on purpose {}", self.rng.below(1000));
                self.create(Work::Fail(message)).map(drop)
            }
            52..60 => {
                let work = Work::Ask(format!("n{}", self.rng.below(1_000_000)));
                if let Some(id) = self.create(work.clone())? {
                    self.finish(&id, &work)?;
                }
                Ok(())
            }
            60..90 => self.poll(),
            90..97 => self.cancel(),
            _ => {
                let session = mcp::initialize(self.shared.addr)?;
                self.switch(session);
                Ok(())
            }
        }
    }

    /// A task-augmented `tools/call`; the task's id once acknowledged (none when refused).
    fn create(&mut self, work: Work) -> Result<Option<String>, Fail> {
        let result = match mcp::request(self.shared.addr, &self.session, "tools/call", work.call())
        {
            Ok(result) => result,
            // Over a limit: nothing created.
            Err(Fail::Rpc { http: 200, .. }) => return Ok(None),
            Err(fail) => return Err(fail),
        };
        let Some(id) = result["task"]["taskId"].as_str() else {
            return Err(Fail::Odd(format!("tools/call answered {result}")));
        };
        lock(&self.shared.ledger).add(Entry {
            id: id.to_owned(),
            session: self.session.clone(),
            work: work.clone(),
            cycle: self.shared.cycle,
            seen: None,
            cancel_sent: false,
            cancel_acked: false,
            broken: false,
        });
        count(&self.shared.counts.created);
        let _ = self.shared.acked.send(Acked::Created);
        self.live.push((id.to_owned(), work));
        Ok(Some(id.to_owned()))
    }

    /// `tasks/get` of a task not seen finished; its result when it has finished (answering
    /// an `ask_name` task's question on the way).
    fn poll(&mut self) -> Result<(), Fail> {
        if self.live.is_empty() {
            return Ok(());
        }
        let (id, work) = self.live[self.rng.below(self.live.len() as u64) as usize].clone();
        let task = self.get(&id)?;
        let status = status_of(&task);
        if matches!(status, "completed" | "failed" | "cancelled") || work.name().is_some() {
            self.finish(&id, &work)?;
        }
        Ok(())
    }

    /// `tasks/get` of a task of this session.
    fn get(&self, id: &str) -> Result<Value, Fail> {
        mcp::request(
            self.shared.addr,
            &self.session,
            "tasks/get",
            json!({"taskId": id}),
        )
    }

    /// `tasks/result`, answering the question of an `ask_name` task, and the status after.
    fn finish(&mut self, id: &str, work: &Work) -> Result<(), Fail> {
        let delay = self.rng.millis(0, 300);
        let answer = mcp::task_result(
            self.shared.addr,
            &self.session,
            id,
            work.name().map(|n| (n, delay)),
        )?;
        if work.name().is_some() {
            count(&self.shared.counts.inputs);
        }
        let status = status_of(&self.get(id)?).to_owned();
        if !matches!(status.as_str(), "completed" | "failed" | "cancelled") {
            return Err(Fail::Odd(format!(
                "tasks/result answered {answer} for a {status} task {id}"
            )));
        }
        lock(&self.shared.ledger).seen(id, &status, answer);
        count(&self.shared.counts.finished_seen);
        let _ = self.shared.acked.send(Acked::Finished);
        self.live.retain(|(live, _)| live != id);
        Ok(())
    }

    /// `tasks/cancel` of a live task.
    fn cancel(&mut self) -> Result<(), Fail> {
        let live: Vec<_> = self
            .live
            .iter()
            .filter(|(_, w)| !matches!(w, Work::Fail(_)))
            .collect();
        if live.is_empty() {
            return Ok(());
        }
        let id = live[self.rng.below(live.len() as u64) as usize].0.clone();
        if let Some(entry) = lock(&self.shared.ledger).get_mut(&id) {
            entry.cancel_sent = true;
        }
        match mcp::request(
            self.shared.addr,
            &self.session,
            "tasks/cancel",
            json!({"taskId": id}),
        ) {
            Ok(task) if task["status"] == "cancelled" => {
                if let Some(entry) = lock(&self.shared.ledger).get_mut(&id) {
                    entry.cancel_acked = true;
                }
                count(&self.shared.counts.cancelled);
                let _ = self.shared.acked.send(Acked::Cancelled);
                Ok(())
            }
            Ok(task) => Err(Fail::Odd(format!("tasks/cancel answered {task}"))),
            // Already finished.
            Err(fail) if fail.is_code(-32602) => Ok(()),
            Err(fail) => Err(fail),
        }
    }
}

/// The status of a `tasks/get` answer.
pub(crate) fn status_of(task: &Value) -> &str {
    task["status"].as_str().unwrap_or_default()
}
