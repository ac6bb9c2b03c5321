//! The crash test: `taskward serve` with the SQLite store, killed with SIGKILL at random
//! points under load from several clients, and restarted on the same data directory, many
//! times. After each restart every acknowledged task and session is there, every result a
//! client was given (by `tasks/result`) is unchanged, every acknowledged cancel holds, and
//! every task left live was resumed and finishes with the right result (none fails
//! `interrupted`). Half the kills land at a random time, half right after a client received
//! an acknowledgement of a random kind (the moment a promise was just made).
//!
//! `TASKWARD_CRASH_CYCLES=N` sets the number of kills (default 5); `TASKWARD_CRASH_SEED=S`
//! replays a run's choices (the seed is printed; thread timing still varies);
//! `TASKWARD_CRASH_DURABILITY=power` serves with `--durability power` (default `process`);
//! `-- --nocapture` shows the counts.

mod crash_support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crash_support::check::{self, Counts};
use crash_support::ledger::Ledger;
use crash_support::load::{self, Acked, LoadCounts, Shared, lock};
use crash_support::mcp;
use crash_support::rng::Rng;
use crash_support::server::Server;

/// Concurrent clients, one session each.
const CLIENTS: usize = 4;

fn env_u64(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    Some(
        value
            .parse()
            .unwrap_or_else(|e| panic!("{name}={value:?}: {e}")),
    )
}

#[test]
fn sigkill_under_load_loses_no_acknowledged_task() {
    let durability =
        std::env::var("TASKWARD_CRASH_DURABILITY").unwrap_or_else(|_| "process".into());
    let cycles = env_u64("TASKWARD_CRASH_CYCLES").unwrap_or(5) as usize;
    let seed = env_u64("TASKWARD_CRASH_SEED").unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
    });
    println!(
        "crash test: {cycles} cycles, {CLIENTS} clients, --durability {durability}, seed {seed} \
         (TASKWARD_CRASH_SEED={seed} replays its choices)"
    );
    let mut rng = Rng::new(seed);
    let dir = std::env::temp_dir().join(format!("taskward-crash-{}-{seed}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let started = Instant::now();

    let mut server = Server::start(&dir, &durability);
    let mut sessions: Vec<String> = (0..CLIENTS)
        .map(|_| mcp::initialize(server.addr).unwrap_or_else(|e| panic!("initialize: {e}")))
        .collect();
    lock(&ledger).sessions.extend(sessions.iter().cloned());
    let mut totals = Counts::default();
    for cycle in 1..=cycles {
        let (acked, heard) = std::sync::mpsc::channel();
        let shared = Shared {
            addr: server.addr,
            ledger: ledger.clone(),
            stop: Arc::new(AtomicBool::new(false)),
            counts: Arc::new(LoadCounts::default()),
            cycle,
            acked,
        };
        let clients: Vec<_> = sessions
            .drain(..)
            .map(|session| {
                let (shared, rng) = (shared.clone(), rng.fork());
                std::thread::spawn(move || load::run(shared, session, rng))
            })
            .collect();
        // Half the kills at a random time, half right after a random kind of
        // acknowledgement (the moment a promise has just been made) past a random time.
        let after = rng.millis(300, 3000);
        std::thread::sleep(after);
        let moment = if rng.chance(50) {
            let want = Acked::ALL[rng.below(Acked::ALL.len() as u64) as usize];
            while heard.try_recv().is_ok() {}
            let deadline = Instant::now() + Duration::from_secs(5);
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                match heard.recv_timeout(left) {
                    Ok(got) if got == want => {
                        break format!("right after a {want:?} acknowledgement");
                    }
                    Ok(_) => {}
                    Err(_) => break format!("no {want:?} acknowledgement within 5 s"),
                }
            }
        } else {
            "at a random time".to_owned()
        };
        server.kill();
        shared.stop.store(true, Ordering::Relaxed);
        sessions = clients
            .into_iter()
            .map(|c| c.join().expect("a client thread panicked"))
            .collect();
        let load = &shared.counts;
        let get = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
        println!(
            "cycle {cycle}/{cycles}: SIGKILL after {} ms of load, {moment}: created {}, \
             finished seen {}, cancels acknowledged {}, inputs answered {}, sessions opened {}",
            after.as_millis(),
            get(&load.created),
            get(&load.finished_seen),
            get(&load.cancelled),
            get(&load.inputs),
            get(&load.sessions),
        );

        server = Server::start(&dir, &durability);
        let wait = cycle == cycles || rng.chance(70);
        let counts = check::after_restart(server.addr, &mut lock(&ledger), wait);
        println!(
            "cycle {cycle}/{cycles}: after restart{}: {counts}",
            if wait { " (live tasks waited for)" } else { "" }
        );
        totals += counts;
        // A session found lost is replaced (its loss is reported).
        let known = lock(&ledger).sessions.clone();
        for session in &mut sessions {
            if !known.contains(session) {
                *session =
                    mcp::initialize(server.addr).unwrap_or_else(|e| panic!("initialize: {e}"));
                lock(&ledger).sessions.push(session.clone());
            }
        }
    }
    server.kill();
    let _ = std::fs::remove_dir_all(&dir);
    let ledger = lock(&ledger);
    println!(
        "totals over {cycles} cycles ({} s, seed {seed}): {totals}",
        started.elapsed().as_secs()
    );
    assert!(
        ledger.violations.is_empty(),
        "{} broken promises (seed {seed}):\n{}",
        ledger.violations.len(),
        ledger.violations.join("\n")
    );
}
