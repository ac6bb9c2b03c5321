//! What the clients were told: every acknowledged task, the results they saw, the cancels
//! the server acknowledged; and what each task's right result is.

use std::collections::HashMap;

use serde_json::{Value, json};

/// The work of a task, and so its right result.
#[derive(Debug, Clone)]
pub(crate) enum Work {
    /// `count_primes {limit}`.
    Primes(u64),
    /// `sleep {seconds}`, in tenths of a second.
    Sleep(u64),
    /// `ask_name {}`, answered with this name.
    Ask(String),
    /// `fail {message}`.
    Fail(String),
}

/// π(limit) for the limits the load uses.
pub(crate) const PRIME_COUNTS: [(u64, u64); 6] = [
    (100_000, 9_592),
    (1_000_000, 78_498),
    (2_000_000, 148_933),
    (5_000_000, 348_513),
    (10_000_000, 664_579),
    (20_000_000, 1_270_607),
];

impl Work {
    /// The `tools/call` params of a task-augmented call of this work.
    pub(crate) fn call(&self) -> Value {
        let (name, arguments) = match self {
            Work::Primes(limit) => ("count_primes", json!({"limit": limit})),
            Work::Sleep(tenths) => ("sleep", json!({"seconds": *tenths as f64 / 10.0})),
            Work::Ask(_) => ("ask_name", json!({})),
            Work::Fail(message) => ("fail", json!({"message": message})),
        };
        json!({"name": name, "arguments": arguments, "task": {}})
    }

    /// The name an `ask_name` task is answered with.
    pub(crate) fn name(&self) -> Option<&str> {
        match self {
            Work::Ask(name) => Some(name),
            _ => None,
        }
    }

    /// Checks a terminal status and `tasks/result` answer against the right ones; a
    /// cancelled task is right only when a cancel was sent for it.
    pub(crate) fn check(
        &self,
        status: &str,
        answer: &Value,
        cancel_sent: bool,
    ) -> Result<(), String> {
        if status == "cancelled" {
            return if cancel_sent {
                Ok(())
            } else {
                Err("cancelled, though no cancel was sent".into())
            };
        }
        let result = &answer["result"];
        let text = result["content"][0]["text"].as_str().unwrap_or_default();
        let right = match self {
            Work::Primes(limit) => {
                let want = PRIME_COUNTS
                    .iter()
                    .find(|(l, _)| l == limit)
                    .map(|(_, c)| *c);
                status == "completed" && result["structuredContent"]["count"].as_u64() == want
            }
            Work::Sleep(tenths) => {
                status == "completed"
                    && result["structuredContent"]["seconds"].as_f64()
                        == Some(*tenths as f64 / 10.0)
            }
            Work::Ask(name) => status == "completed" && text == format!("Hello, {name}!"),
            Work::Fail(message) => {
                status == "failed" && result["isError"] == json!(true) && text == message
            }
        };
        if right {
            Ok(())
        } else {
            Err(format!("{status} with {answer}"))
        }
    }
}

/// One acknowledged task.
#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) id: String,
    pub(crate) session: String,
    pub(crate) work: Work,
    /// The cycle it was created in.
    pub(crate) cycle: usize,
    /// The terminal status a client saw, and the `tasks/result` answer it got.
    pub(crate) seen: Option<(String, Value)>,
    /// A cancel was sent (whether or not it was answered).
    pub(crate) cancel_sent: bool,
    /// The server answered a cancel with the task cancelled.
    pub(crate) cancel_acked: bool,
    /// A broken promise about it was reported: not checked again.
    pub(crate) broken: bool,
}

/// Every task and session the clients were told of, and what went wrong.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    pub(crate) entries: Vec<Entry>,
    index: HashMap<String, usize>,
    /// Every session whose `initialize` was answered.
    pub(crate) sessions: Vec<String>,
    /// Every broken promise, in words.
    pub(crate) violations: Vec<String>,
}

impl Ledger {
    pub(crate) fn add(&mut self, entry: Entry) {
        self.index.insert(entry.id.clone(), self.entries.len());
        self.entries.push(entry);
    }

    pub(crate) fn get_mut(&mut self, id: &str) -> Option<&mut Entry> {
        self.index.get(id).map(|&i| &mut self.entries[i])
    }

    /// Records what a client saw of a finished task, checking it is right.
    pub(crate) fn seen(&mut self, id: &str, status: &str, answer: Value) {
        let Some(entry) = self.get_mut(id) else {
            return;
        };
        let verdict = entry.work.check(status, &answer, entry.cancel_sent);
        let what = format!("{} ({:?}, cycle {})", entry.id, entry.work, entry.cycle);
        entry.seen = Some((status.to_owned(), answer));
        if let Err(e) = verdict {
            self.violations
                .push(format!("task {what} finished wrong: {e}"));
        }
    }
}
