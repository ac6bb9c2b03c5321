//! The schema and its migrations, numbered in the `schema_version` table.
//!
//! Each step of [`MIGRATIONS`] takes the database from version `i` to `i + 1` in one
//! transaction, together with its row in `schema_version`, so a crash mid-migration leaves
//! the previous version whole. Each transaction first takes a transaction-scoped advisory
//! lock, so that several nodes connecting to a fresh database at once apply each step once.
//! Steps are only ever appended: a released step never changes.

use taskward_core::StoreError;
use tokio_postgres::Client;

use taskward_core::SchemaTooNew;

use crate::error::pg;

/// Version 1: tasks (one row per task keyed by its id: the columns a query needs, the record
/// and the last checkpoint as JSON) and sessions.
///
/// The records are `json`, not `jsonb`: `jsonb` refuses a string holding U+0000, which a
/// client's input may carry, and a commit that can never succeed would stall the journal
/// (it retries until it does). `json` keeps the text as written and still answers `->` and
/// `->>`; the columns a query filters on are typed columns of their own. The scale-out of
/// issue 12 adds its columns (owner node, lease) in [`V2`].
const V1: &str = "
CREATE TABLE tasks (
    id         uuid PRIMARY KEY,
    seq        bigint NOT NULL,
    scope      text NOT NULL,
    status     text NOT NULL,
    expires_at timestamptz,
    record     json NOT NULL,
    checkpoint json
);
CREATE INDEX tasks_seq ON tasks (seq);
CREATE INDEX tasks_status ON tasks (status);
CREATE INDEX tasks_expires_at ON tasks (expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE sessions (
    id         text PRIMARY KEY,
    principal  text,
    expires_at timestamptz,
    record     json NOT NULL
);
";

/// Version 2: what several nodes need (issue 12). Per task: `kind` (the registered kind's
/// name, NULL for a closure task, which only its node can run), `priority` (higher first),
/// `queued` with `available_at` (waiting for a claim, not before), `node` (the owner),
/// `attempt` (claims so far: the fencing token), `lease_until` (non-NULL while a node holds
/// the task), `max_attempts` (claims allowed, NULL unbounded) and `cancel_requested`. The
/// `nodes` table (one row per live node, renewed by heartbeats) and `task_inputs` (input
/// answers not yet taken by the work). Existing rows keep their meaning: they are neither
/// queued nor held, as a single node wrote them.
const V2: &str = "
ALTER TABLE tasks
    ADD COLUMN kind             text,
    ADD COLUMN priority         integer NOT NULL DEFAULT 0,
    ADD COLUMN queued           boolean NOT NULL DEFAULT false,
    ADD COLUMN available_at     timestamptz,
    ADD COLUMN node             uuid,
    ADD COLUMN attempt          integer NOT NULL DEFAULT 0,
    ADD COLUMN max_attempts     integer,
    ADD COLUMN lease_until      timestamptz,
    ADD COLUMN cancel_requested boolean NOT NULL DEFAULT false;
CREATE INDEX tasks_queue ON tasks (priority DESC, seq) WHERE queued;
CREATE INDEX tasks_held ON tasks (node) WHERE lease_until IS NOT NULL;
CREATE INDEX tasks_lease ON tasks (lease_until) WHERE lease_until IS NOT NULL;
CREATE INDEX tasks_scope_seq ON tasks (scope, seq);
CREATE TABLE nodes (
    id           uuid PRIMARY KEY,
    started_at   timestamptz NOT NULL,
    heartbeat_at timestamptz NOT NULL,
    capacity     integer NOT NULL
);
CREATE TABLE task_inputs (
    task_id     uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    key         text NOT NULL,
    value       json NOT NULL,
    answered_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (task_id, key)
);
";

/// Version 3: the sequence that numbers the nodes that join (issue 12). A node's slot (what
/// makes its tasks' `seq` unique across nodes) is `nextval('node_slots') % NODE_SLOTS`.
const V3: &str = "
CREATE SEQUENCE node_slots AS bigint MINVALUE 0 START WITH 0;
";

/// Version 4: dependencies across nodes (issue 12). `depends_on` holds the ids a queued task
/// waits for (NULL for most tasks): a claim skips it until every one of them is
/// `completed`, and the elected node ends it when one fails, is cancelled or is gone. The
/// partial index `tasks_waiting` lists the queued tasks that have dependencies. Existing
/// rows have none.
const V4: &str = "
ALTER TABLE tasks ADD COLUMN depends_on uuid[];
CREATE INDEX tasks_waiting ON tasks (seq) WHERE queued AND depends_on IS NOT NULL;
";

/// Version 5: what the MCP binding shares across nodes (issue 12). Per task, the
/// outstanding input requests as its node last wrote them (a JSON array of `{key, request}`),
/// so that any node shows them: read only while the task is `input_required`, NULL until its
/// work first asks. Per session, `ended`: an ended session's row stays a while as a
/// tombstone, read by no one, so that a node still holding the session cannot write it back.
const V5: &str = "
ALTER TABLE tasks ADD COLUMN input_requests json;
ALTER TABLE sessions ADD COLUMN ended boolean NOT NULL DEFAULT false;
CREATE INDEX sessions_ended ON sessions (expires_at) WHERE ended;
";

/// The migration steps, in order: step `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[V1, V2, V3, V4, V5];

/// The schema version this build writes: a fresh database is migrated to it, and a database
/// with a newer version in `schema_version` is refused with [`SchemaTooNew`].
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// The key of the advisory lock that migrations take ("taskward" in ASCII, truncated).
const MIGRATION_LOCK: i64 = 0x7461_736b_7761_7264;

/// Brings the database to [`SCHEMA_VERSION`], one step per transaction.
pub(crate) async fn migrate(client: &mut Client) -> Result<(), StoreError> {
    loop {
        let tx = client
            .transaction()
            .await
            .map_err(pg("begin a migration"))?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(pg("lock the schema"))?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_version (
                 version    integer PRIMARY KEY,
                 applied_at timestamptz NOT NULL DEFAULT now()
             )",
        )
        .await
        .map_err(pg("create the schema_version table"))?;
        let version: i32 = tx
            .query_one("SELECT coalesce(max(version), 0) FROM schema_version", &[])
            .await
            .and_then(|row| row.try_get(0))
            .map_err(pg("read the schema version"))?;
        let step = match usize::try_from(version) {
            Ok(step) if step < MIGRATIONS.len() => MIGRATIONS[step],
            Ok(step) if step == MIGRATIONS.len() => return Ok(()),
            Err(_) => {
                return Err(StoreError::new(format!(
                    "postgres store: the database's schema version is {version}, not one \
                     taskward writes"
                )));
            }
            Ok(_) => {
                let too_new = SchemaTooNew::new(i64::from(version), SCHEMA_VERSION);
                return Err(StoreError::with_source(
                    format!("postgres store: cannot use the database: {too_new}"),
                    too_new,
                ));
            }
        };
        tx.batch_execute(step)
            .await
            .map_err(pg("apply a schema migration"))?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES ($1)",
            &[&(version + 1)],
        )
        .await
        .map_err(pg("write the schema version"))?;
        tx.commit().await.map_err(pg("commit a schema migration"))?;
    }
}
