//! Idle expiry: the timer that closes the sessions nobody has used for the idle time.

use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::task::AbortOnDropHandle;

use crate::server::{Inner, Server};

/// The shortest and longest interval between two looks for idle sessions.
const MIN_PERIOD: Duration = Duration::from_secs(1);
const MAX_PERIOD: Duration = Duration::from_secs(60);

/// Starts the expiry timer of a server, when it has an idle timeout and a tokio runtime to
/// run on. It holds the server weakly, and stops with it.
pub(crate) fn spawn(inner: &Arc<Inner>, idle: Option<Duration>) -> Option<AbortOnDropHandle<()>> {
    let idle = idle?;
    let runtime = tokio::runtime::Handle::try_current().ok()?;
    let period = (idle / 4).clamp(MIN_PERIOD, MAX_PERIOD);
    let server = Arc::downgrade(inner);
    Some(AbortOnDropHandle::new(
        runtime.spawn(run(server, idle, period)),
    ))
}

/// Every `period`, closes the sessions idle for `idle`, as a client's DELETE would (on a
/// node of several, only those idle everywhere: [`Server::expire`]), ends those another node
/// ended, and writes the use of the others to the durable store when due.
async fn run(server: Weak<Inner>, idle: Duration, period: Duration) {
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let Some(inner) = server.upgrade() else {
            return;
        };
        let server = Server::from_inner(inner);
        let now = Instant::now();
        for id in server.idle_sessions(now, idle) {
            tracing::debug!("an idle session is closed");
            server.expire(&id, now, idle).await;
        }
        server.drop_ended_elsewhere().await;
        server.write_seen(now);
    }
}
