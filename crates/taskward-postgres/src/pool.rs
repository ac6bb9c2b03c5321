//! The pool of connections the cluster's statements share (claims, heartbeats, fenced writes,
//! reads by key), built with `deadpool-postgres`.
//!
//! Notifications never go through the pool: a `LISTEN` lives on the connection that ran it,
//! and a pooled connection is handed to whoever asks next, so its notifications would be
//! lost. The [`Listener`](crate::Listener) and the [`Leadership`](crate::Leadership) keep a
//! dedicated connection each. The store's own commit thread
//! ([`PostgresStore`](crate::PostgresStore)) keeps its one connection too: its commits are
//! serial, and it runs on its own runtime.

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use taskward_core::StoreError;
use tokio_postgres::{Client, Config, Connection, Socket};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::ClusterOptions;
use crate::tls::{self, Tls};

/// The connection of a client opened by [`Target::connect`], to be driven.
pub(crate) type Driven =
    Connection<Socket, <MakeRustlsConnect as tokio_postgres::tls::MakeTlsConnect<Socket>>::Stream>;

/// Where and how to connect: the parsed URL and the TLS connector it asks for.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) config: Config,
    pub(crate) tls: Tls,
}

impl Target {
    /// Opens one connection (TLS as the `sslmode` asks).
    pub(crate) async fn connect(&self) -> Result<(Client, Driven), tokio_postgres::Error> {
        self.config.connect(self.tls.0.clone()).await
    }
}

/// Parses `url` (a `postgres://` URL or `key=value` string) and applies the options'
/// connect timeout and an application name (`name` unless the URL sets one); with the TLS
/// connector its `sslmode` and the options' CA file ask for (see [`tls`]).
pub(crate) fn config(
    url: &str,
    options: &ClusterOptions,
    name: &str,
) -> Result<Target, StoreError> {
    let (url, check) = tls::split_mode(url);
    let tls = tls::connector(check, options.ca_file.as_deref())?;
    let mut config: Config = url.parse().map_err(|e| {
        StoreError::with_source("postgres cluster: the connection string does not parse", e)
    })?;
    if config.get_application_name().is_none() {
        config.application_name(name);
    }
    config.connect_timeout(options.connect_timeout);
    Ok(Target { config, tls })
}

/// A pool of at most `options.pool_size` connections, opened on demand; a connection found
/// closed when taken is replaced (`RecyclingMethod::Fast`).
pub(crate) fn build(target: Target, options: &ClusterOptions) -> Result<Pool, StoreError> {
    let manager = Manager::from_config(
        target.config,
        target.tls.0,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(options.pool_size)
        .runtime(Runtime::Tokio1)
        .create_timeout(Some(options.connect_timeout))
        .build()
        .map_err(|e| StoreError::with_source("postgres cluster: cannot build the pool", e))
}

/// A connection of the pool, or the error saying why none could be had.
pub(crate) async fn get(pool: &Pool) -> Result<Object, StoreError> {
    pool.get().await.map_err(|e| {
        let message = crate::error::with_causes("postgres cluster: no connection".into(), &e);
        StoreError::with_source(message, e)
    })
}
