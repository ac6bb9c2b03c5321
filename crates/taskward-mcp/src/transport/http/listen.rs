//! The accept loop: at most [`ConnectionLimits::max_connections`] connections at once,
//! each served by [`conn::serve`], optionally behind TLS, until shutdown.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::conn::{self, App};
use super::limits::ConnectionLimits;

/// How a connection's bytes are carried.
#[derive(Debug, Clone)]
pub(super) enum Wire {
    /// Plain HTTP.
    Plain,
    /// HTTPS.
    #[cfg(feature = "tls")]
    Tls(super::TlsConfig),
}

/// Accepts and serves connections until `shutdown` completes; then stops accepting, lets
/// every connection finish its request in flight, and returns when all are closed.
/// Dropping the future closes every connection at once.
pub(super) async fn accept_loop(
    listener: TcpListener,
    app: App,
    limits: ConnectionLimits,
    wire: Wire,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let cap = limits.max_connections.clamp(1, Semaphore::MAX_PERMITS);
    let permits = Arc::new(Semaphore::new(cap));
    let stop = CancellationToken::new();
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        // Not one accept beyond the cap: further clients wait in the listen backlog.
        if permits.available_permits() == 0 {
            tracing::debug!(cap, "connection cap reached: new connections wait");
        }
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => permit,
            () = &mut shutdown => break,
            Some(_) = connections.join_next() => continue,
        };
        let Ok(permit) = permit else { break };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
            Some(_) = connections.join_next() => continue,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(error) => {
                pause_after(&error).await;
                continue;
            }
        };
        let (app, limits, wire, stop) = (app.clone(), limits.clone(), wire.clone(), stop.clone());
        connections.spawn(async move {
            let _permit = permit;
            serve_stream(stream, app, limits, wire, stop).await;
        });
    }
    drop(listener);
    stop.cancel();
    while connections.join_next().await.is_some() {}
    Ok(())
}

async fn serve_stream(
    stream: TcpStream,
    app: App,
    limits: ConnectionLimits,
    wire: Wire,
    stop: CancellationToken,
) {
    let _ = stream.set_nodelay(true);
    match wire {
        Wire::Plain => conn::serve(stream, app, limits, stop).await,
        #[cfg(feature = "tls")]
        Wire::Tls(config) => {
            let acceptor = config.acceptor();
            // The handshake is bounded like a request head.
            let handshake = tokio::time::timeout(limits.header_timeout, acceptor.accept(stream));
            if let Ok(Ok(stream)) = handshake.await {
                conn::serve(stream, app, limits, stop).await;
            }
        }
    }
}

/// After a failed accept: a connection that failed before it was accepted is nothing to
/// wait for; running out of file descriptors (or memory) is, briefly, so that the loop
/// does not spin while connections close.
async fn pause_after(error: &io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if !matches!(
        error.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        tracing::warn!("accept failed: {error}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
