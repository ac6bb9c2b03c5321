//! [`serve`] and [`serve_with_shutdown`]: the transport's routes on a listener (and
//! `/status` on its own listener when asked), through the bounded accept loop.

use std::future::Future;
use std::io;
use std::net::IpAddr;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::conn::App;
use super::listen::{self, Wire};
use super::{HttpOptions, StatusEndpoint, routes, status_router};
use crate::server::Server;

/// Serves the transport on a listener, forever (until the future is dropped, which closes
/// every connection): [`serve_with_shutdown`] with a shutdown that never comes.
///
/// # Errors
///
/// The I/O error of binding [`StatusEndpoint::Listen`]'s address.
pub async fn serve(server: Server, listener: TcpListener, options: HttpOptions) -> io::Result<()> {
    serve_with_shutdown(server, listener, options, std::future::pending()).await
}

/// Serves the transport on a listener until `shutdown` completes, bounding connections by
/// [`HttpOptions::connections`], over TLS when `HttpOptions::tls` is set (feature `tls`),
/// with `/status` where [`HttpOptions::status`] says (binding its own listener first when it
/// has one).
///
/// A listener bound to a specific address that is not loopback (not `0.0.0.0` or `[::]`)
/// adds that address to the allowed hosts. On `shutdown`, the server stops accepting,
/// closes idle connections, lets each request in flight finish, and returns once every
/// connection is closed; an open `GET /mcp` stream does not end by itself, so bound the
/// wait (with [`tokio::time::timeout`]): dropping the future closes what is left.
///
/// Failed accepts (a client that went away, running out of file descriptors) never end the
/// server: it logs them and, for the latter, pauses briefly.
///
/// # Errors
///
/// The I/O error of binding [`StatusEndpoint::Listen`]'s address or of reading the
/// listener's address.
///
/// # Cancel safety
///
/// Dropping the future stops the server and closes its connections; tasks started by
/// requests keep running in the runtime.
pub async fn serve_with_shutdown(
    server: Server,
    listener: TcpListener,
    mut options: HttpOptions,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    allow_bound_address(&mut options, &listener)?;
    let status = match options.status {
        StatusEndpoint::Listen(addr) => {
            let listener = TcpListener::bind(addr).await.map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("cannot listen on {addr} for /status: {e}"),
                )
            })?;
            let mut status_options = options.clone();
            allow_bound_address(&mut status_options, &listener)?;
            let router = status_router(server.clone(), status_options);
            Some((
                listener,
                App {
                    router,
                    direct: None,
                },
            ))
        }
        StatusEndpoint::WithMcp | StatusEndpoint::Off => None,
    };
    let limits = options.connections.clone();
    let wire = wire(&options);
    let stop = CancellationToken::new();
    let main = listen::accept_loop(
        listener,
        {
            let (router, direct) = routes(server, options);
            App { router, direct }
        },
        limits.clone(),
        wire,
        stop.clone().cancelled_owned(),
    );
    let side = async {
        match status {
            Some((listener, app)) => {
                let stopped = stop.clone().cancelled_owned();
                listen::accept_loop(listener, app, limits.clone(), Wire::Plain, stopped).await
            }
            None => Ok(()),
        }
    };
    let served = async { tokio::try_join!(main, side).map(drop) };
    let signal = async {
        shutdown.await;
        stop.cancel();
        std::future::pending::<()>().await;
    };
    tokio::select! {
        served = served => served,
        () = signal => Ok(()),
    }
}

/// Adds the listener's address to the allowed hosts when it is a specific, non-loopback
/// one (a client reaching the server by that address names it in `Host`).
fn allow_bound_address(options: &mut HttpOptions, listener: &TcpListener) -> io::Result<()> {
    allow_address(options, listener.local_addr()?.ip());
    Ok(())
}

fn allow_address(options: &mut HttpOptions, ip: IpAddr) {
    if !ip.is_unspecified() && !ip.is_loopback() {
        options.allowed_hosts.push(ip.to_string());
    }
}

fn wire(options: &HttpOptions) -> Wire {
    #[cfg(feature = "tls")]
    if let Some(tls) = &options.tls {
        return Wire::Tls(tls.clone());
    }
    let _ = options;
    Wire::Plain
}

#[cfg(test)]
mod tests {
    use super::{HttpOptions, allow_address};

    #[test]
    fn a_specific_address_is_allowed_but_not_a_wildcard() {
        let mut options = HttpOptions::default();
        for ip in [
            "0.0.0.0",
            "::",
            "127.0.0.1",
            "::1",
            "192.0.2.7",
            "2001:db8::1",
        ] {
            allow_address(&mut options, ip.parse().unwrap());
        }
        assert_eq!(options.allowed_hosts, ["192.0.2.7", "2001:db8::1"]);
    }
}
