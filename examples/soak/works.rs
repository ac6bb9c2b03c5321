//! The mix of works and of specs: what each task does, and under which policies it runs.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use taskward::{
    Backoff, CancelPolicy, ClosePolicy, Owner, Restart, Scope, TaskContext, TaskError, TaskSpec,
};

use crate::args::Rng;

/// The message every planned panic carries; the soak's panic hook keeps these quiet.
pub(crate) const PLANNED_PANIC: &str = "soak: planned panic";

/// What a task's work does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Returns a value at once.
    Complete,
    /// Sleeps, watching its token, then returns a value.
    Sleepy(Duration),
    /// Returns an error.
    Fail,
    /// Panics.
    Panic,
    /// Ignores its token and sleeps, then returns a value.
    Stubborn(Duration),
    /// Burns CPU for a while without awaiting, calling `ctx.progress` in the loop.
    Spin(Duration),
    /// Asks for input; the soak answers it, or not (then the task times out, expires or is
    /// cancelled).
    Input { answered: bool },
    /// Fails (or panics) before its third attempt, under a transient restart policy.
    Retry,
    /// One-shot work (`submit_once`) that consumes what it captured.
    Once,
}

impl Kind {
    /// A kind drawn from the mix (percent): complete 28, sleepy 15, fail 8, panic 5, stubborn
    /// 6, spin 4, input 12, retry 12, once 10.
    pub(crate) fn draw(rng: &mut Rng) -> Kind {
        match rng.below(100) {
            0..28 => Kind::Complete,
            28..43 => Kind::Sleepy(rng.millis(1, 60)),
            43..51 => Kind::Fail,
            51..56 => Kind::Panic,
            56..62 => Kind::Stubborn(rng.millis(10, 150)),
            62..66 => Kind::Spin(Duration::from_micros(200 + rng.below(1_800))),
            66..78 => Kind::Input {
                answered: rng.percent(60),
            },
            78..90 => Kind::Retry,
            _ => Kind::Once,
        }
    }

    /// The row this kind is counted in.
    pub(crate) const fn name(self) -> &'static str {
        match self {
            Kind::Complete => "complete",
            Kind::Sleepy(_) => "sleepy",
            Kind::Fail => "fail",
            Kind::Panic => "panic",
            Kind::Stubborn(_) => "stubborn",
            Kind::Spin(_) => "spin",
            Kind::Input { .. } => "input",
            Kind::Retry => "retry",
            Kind::Once => "once",
        }
    }
}

/// The TTL of tasks that ask for none (the runtime's default in the soak).
pub(crate) const DEFAULT_TTL: Duration = Duration::from_secs(2);

/// The scope owned tasks move to when their owner dies with the transfer policy.
pub(crate) fn transfer_scope() -> Scope {
    Scope::session("soak-transferred")
}

/// The spec of one task: its scope, and at random a timeout, an abort cancel policy, an owner
/// with a close policy, and (for input nobody answers) a short TTL so that it expires live.
/// Returns the spec and the task's TTL.
pub(crate) fn spec(
    rng: &mut Rng,
    kind: Kind,
    scope: Scope,
    owner: Option<Owner>,
) -> (TaskSpec, Duration) {
    let mut spec = TaskSpec::new(kind.name()).scope(scope);
    let mut ttl = DEFAULT_TTL;
    let unanswered = matches!(kind, Kind::Input { answered: false });
    if unanswered && rng.percent(60) {
        // Nobody answers and nothing times it out: its TTL cancels it (by expiry). Longer
        // than a submit takes even while the registry restarts, so `wait` sees the outcome.
        ttl = rng.millis(500, 1_500);
        spec = spec.ttl(ttl);
    } else if rng.percent(25) {
        spec = spec.timeout(rng.millis(10, 80));
    }
    if rng.percent(10) {
        spec = spec.cancel_policy(CancelPolicy::Abort);
    }
    if kind == Kind::Retry {
        spec = spec.restart(Restart::transient(3, Backoff::fixed(rng.millis(1, 10))));
    }
    if let Some(owner) = owner {
        let policy = match rng.below(10) {
            0..5 => ClosePolicy::Cancel,
            5..8 => ClosePolicy::Keep,
            _ => ClosePolicy::Transfer(transfer_scope()),
        };
        spec = spec.owner(owner).on_owner_exit(policy);
    }
    (spec, ttl)
}

/// Runs one attempt of a reusable work (every kind but [`Kind::Once`]).
pub(crate) async fn run(kind: Kind, ctx: TaskContext) -> Result<Value, TaskError> {
    match kind {
        Kind::Complete | Kind::Once => Ok(json!(1)),
        Kind::Sleepy(d) => tokio::select! {
            () = tokio::time::sleep(d) => Ok(json!("slept")),
            () = ctx.cancelled() => Err(TaskError::cancelled()),
        },
        Kind::Fail => Err(TaskError::new("planned failure")),
        Kind::Panic => panic!("{PLANNED_PANIC}"),
        Kind::Stubborn(d) => {
            tokio::time::sleep(d).await;
            Ok(json!("ignored the token"))
        }
        Kind::Spin(d) => {
            let start = Instant::now();
            let mut i = 0u64;
            while start.elapsed() < d {
                i += 1;
                ctx.progress(i, None, "spinning");
                std::hint::spin_loop();
            }
            Ok(json!(i))
        }
        Kind::Input { .. } => {
            let answer = ctx
                .request_input("q", json!({ "message": "go on?" }))
                .await?;
            Ok(json!({ "answer": answer }))
        }
        Kind::Retry => match ctx.attempt() {
            1 if ctx.id().as_uuid().as_u128() % 2 == 0 => panic!("{PLANNED_PANIC}"),
            1 | 2 => Err(TaskError::new("planned transient failure")),
            _ => Ok(json!("third time lucky")),
        },
    }
}

/// The one-shot work of [`Kind::Once`]: it moves out what it captured (a `String` and a
/// `std::sync::mpsc::Sender`, which is not `Sync`), so it is an `FnOnce`.
pub(crate) fn once(
    sender: std::sync::mpsc::Sender<()>,
) -> impl FnOnce(TaskContext) -> std::future::Ready<Result<Value, TaskError>> + Send + 'static {
    let owned = String::from("moved into the work");
    move |_ctx| {
        let _ = sender.send(());
        std::future::ready(Ok(json!(owned)))
    }
}
