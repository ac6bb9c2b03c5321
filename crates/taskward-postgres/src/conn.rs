//! One connection: opened, set up for the durability policy, migrated, statements prepared.

use taskward_core::{Durability, StoreError};
use tokio_postgres::{Client, Statement};

use crate::error::pg;
use crate::pool::Target;
use crate::{PostgresOptions, commit, schema, sessions};

/// The statements a commit runs, prepared once per connection.
#[derive(Debug)]
pub(crate) struct Statements {
    pub(crate) delete_tasks: Statement,
    pub(crate) put_tasks: Statement,
    pub(crate) checkpoints: Statement,
    pub(crate) put_sessions: Statement,
    pub(crate) delete_sessions: Statement,
}

/// A live connection and its prepared statements.
#[derive(Debug)]
pub(crate) struct Conn {
    pub(crate) client: Client,
    pub(crate) statements: Statements,
}

impl Conn {
    /// Connects (TLS as the URL's `sslmode` asks), sets `synchronous_commit`, checks the server's `fsync` under
    /// `power`, migrates the schema and prepares the statements. The connection's I/O runs as
    /// a task of the current (the store's own) runtime.
    pub(crate) async fn open(
        target: &Target,
        options: &PostgresOptions,
    ) -> Result<Self, StoreError> {
        let (mut client, connection) = target
            .connect()
            .await
            .map_err(pg("connect to the server"))?;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::warn!(%error, "postgres store: the connection closed");
            }
        });
        client
            .batch_execute("SET synchronous_commit = on")
            .await
            .map_err(pg("set synchronous_commit"))?;
        if options.durability != Durability::Process {
            let fsync: String = client
                .query_one("SHOW fsync", &[])
                .await
                .and_then(|row| row.try_get(0))
                .map_err(pg("read the server's fsync"))?;
            if fsync != "on" {
                return Err(StoreError::new(format!(
                    "postgres store: the `power` policy needs the server to run with fsync = on \
                     (it is {fsync})"
                )));
            }
        }
        schema::migrate(&mut client).await?;
        let statements = Statements {
            delete_tasks: prepare(&client, commit::DELETE_TASKS).await?,
            put_tasks: prepare(&client, commit::PUT_TASKS).await?,
            checkpoints: prepare(&client, commit::CHECKPOINTS).await?,
            put_sessions: prepare(&client, sessions::PUT_SESSIONS).await?,
            delete_sessions: prepare(&client, sessions::DELETE_SESSIONS).await?,
        };
        Ok(Self { client, statements })
    }
}

async fn prepare(client: &Client, sql: &str) -> Result<Statement, StoreError> {
    client.prepare(sql).await.map_err(pg("prepare a statement"))
}

impl crate::worker::Backend for Conn {
    type Setup = (Target, PostgresOptions);
    type Load = (taskward_core::Loaded, taskward_core::LoadStats);

    async fn open((config, options): &Self::Setup) -> Result<Self, StoreError> {
        Conn::open(config, options).await
    }

    fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    async fn load(&mut self) -> Result<Self::Load, StoreError> {
        crate::load::load(self).await
    }

    async fn commit(&mut self, batch: &[taskward_core::StoreWrite]) -> Result<(), StoreError> {
        commit::commit(self, batch).await
    }
}
