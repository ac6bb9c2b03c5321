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
use tokio_postgres::{Config, NoTls};

use crate::ClusterOptions;

/// Parses `url` (a `postgres://` URL or `key=value` string) and applies the options'
/// connect timeout and an application name (`name` unless the URL sets one).
pub(crate) fn config(
    url: &str,
    options: &ClusterOptions,
    name: &str,
) -> Result<Config, StoreError> {
    let mut config: Config = url.parse().map_err(|e| {
        StoreError::with_source("postgres cluster: the connection string does not parse", e)
    })?;
    if config.get_application_name().is_none() {
        config.application_name(name);
    }
    config.connect_timeout(options.connect_timeout);
    Ok(config)
}

/// A pool of at most `options.pool_size` connections, opened on demand; a connection found
/// closed when taken is replaced (`RecyclingMethod::Fast`).
pub(crate) fn build(config: Config, options: &ClusterOptions) -> Result<Pool, StoreError> {
    let manager = Manager::from_config(
        config,
        NoTls,
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
    pool.get()
        .await
        .map_err(|e| StoreError::with_source(format!("postgres cluster: no connection: {e}"), e))
}
