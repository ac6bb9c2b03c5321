//! Migrations: a fresh database is brought to the current version, numbered in
//! `schema_version`; a newer one is refused; connecting again changes nothing. And the
//! policies a server cannot honour are refused at connect.

mod common;

use std::error::Error as _;

use common::{connect, fresh};
use taskward_core::{Durability, DurableStore};
use taskward_postgres::{PostgresOptions, PostgresStore, SCHEMA_VERSION, SchemaTooNew};

fn dbname(url: &str) -> &str {
    url.rsplit('=').next().unwrap()
}

#[test]
fn a_fresh_database_is_migrated_once() {
    let (server, url) = fresh();
    drop(connect(&url));
    drop(connect(&url));
    let versions = server.psql(
        dbname(&url),
        "SELECT string_agg(version::text, ',' ORDER BY version) FROM schema_version",
    );
    let expected: Vec<String> = (1..=SCHEMA_VERSION).map(|v| v.to_string()).collect();
    assert_eq!(versions, expected.join(","));
}

#[test]
fn a_newer_schema_is_refused_with_schema_too_new() {
    let (server, url) = fresh();
    drop(connect(&url));
    let newer = SCHEMA_VERSION + 1;
    server.psql(
        dbname(&url),
        &format!("INSERT INTO schema_version (version) VALUES ({newer})"),
    );
    let error = PostgresStore::connect(&url, PostgresOptions::new()).expect_err("too new");
    let too_new = error
        .source()
        .and_then(|e| e.downcast_ref::<SchemaTooNew>())
        .expect("SchemaTooNew is the source");
    assert_eq!(too_new.found(), i64::from(newer));
    assert_eq!(too_new.supported(), SCHEMA_VERSION);
    assert!(error.to_string().contains("newer"), "{error}");
}

#[test]
fn power_is_refused_by_a_server_without_fsync() {
    // The test server runs with fsync = off.
    let (_server, url) = fresh();
    let options = PostgresOptions::new().durability(Durability::Power);
    let error = PostgresStore::connect(&url, options).expect_err("fsync is off");
    assert!(error.to_string().contains("fsync"), "{error}");
}

#[test]
fn memory_is_refused() {
    let options = PostgresOptions::new().durability(Durability::Memory);
    let error = PostgresStore::connect("host=127.0.0.1 dbname=x", options).expect_err("memory");
    assert!(error.to_string().contains("memory"), "{error}");
}

#[test]
fn a_url_that_does_not_parse_is_an_error() {
    let error = PostgresStore::connect("postgres://[::1", PostgresOptions::new());
    assert!(error.is_err());
}

#[test]
fn process_connects_to_a_server_with_fsync_off() {
    let (_server, url) = fresh();
    let store = connect(&url);
    assert_eq!(store.durability(), Durability::Process);
}

/// The schema of version 1, as the first Postgres store released it (frozen: a fixture).
const V1: &str = "
CREATE TABLE schema_version (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE tasks (id uuid PRIMARY KEY, seq bigint NOT NULL, scope text NOT NULL, status text NOT NULL,
    expires_at timestamptz, record json NOT NULL, checkpoint json);
CREATE INDEX tasks_seq ON tasks (seq);
CREATE INDEX tasks_status ON tasks (status);
CREATE INDEX tasks_expires_at ON tasks (expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE sessions (id text PRIMARY KEY, principal text, expires_at timestamptz, record json NOT NULL);
INSERT INTO schema_version (version) VALUES (1);
";

#[test]
fn a_version_1_database_is_upgraded_in_place_and_keeps_its_data() {
    let (server, url) = fresh();
    let db = dbname(&url);
    server.psql(db, V1);
    let a = common::working(1);
    let record = serde_json::to_string(&a).unwrap().replace('\'', "''");
    server.psql(
        db,
        &format!(
            "INSERT INTO tasks (id, seq, scope, status, record, checkpoint) \
             VALUES ('{}', 1, '{}', 'working', '{record}', '{{\"next\": 3}}')",
            a.id, a.scope
        ),
    );

    let mut store = connect(&url);
    let versions = server.psql(
        db,
        "SELECT string_agg(version::text, ',' ORDER BY version) FROM schema_version",
    );
    let expected: Vec<String> = (1..=SCHEMA_VERSION).map(|v| v.to_string()).collect();
    assert_eq!(versions, expected.join(","));
    let loaded = store.load().unwrap();
    assert_eq!(loaded.tasks.len(), 1);
    assert_eq!(loaded.tasks[0].record, a);
    assert_eq!(
        loaded.tasks[0].checkpoint.as_deref(),
        Some(&serde_json::json!({ "next": 3 }))
    );
    // The old row is neither queued nor held: a single node wrote it.
    let columns = server.psql(
        db,
        "SELECT queued, attempt, node IS NULL, lease_until IS NULL, priority, \
         cancel_requested FROM tasks",
    );
    assert_eq!(columns, "f|0|t|t|0|f");
    // The new tables are there.
    let tables = server.psql(db, "SELECT count(*) FROM nodes, task_inputs");
    assert_eq!(tables, "0");
}

#[test]
fn a_version_2_database_is_upgraded_to_3_keeps_its_data_and_numbers_slots_from_0() {
    let (server, url) = fresh();
    let db = dbname(&url);
    let mut store = connect(&url);
    let a = common::working(1);
    store.commit(&[common::put(&a)]).unwrap();
    drop(store);
    // Back to version 2 as a v2 build left it: no sequence, no row 3, nor what the later
    // steps add.
    server.psql(
        db,
        "DROP INDEX tasks_waiting; ALTER TABLE tasks DROP COLUMN depends_on; \
         DROP SEQUENCE node_slots; ALTER TABLE tasks DROP COLUMN input_requests; \
         ALTER TABLE sessions DROP COLUMN ended; \
         DELETE FROM schema_version WHERE version >= 3;",
    );
    assert_eq!(
        server.psql(
            db,
            "SELECT count(*) FROM pg_class WHERE relname = 'node_slots'"
        ),
        "0"
    );

    let mut store = connect(&url);
    let versions = server.psql(
        db,
        "SELECT string_agg(version::text, ',' ORDER BY version) FROM schema_version",
    );
    let expected: Vec<String> = (1..=SCHEMA_VERSION).map(|v| v.to_string()).collect();
    assert_eq!(versions, expected.join(","));
    let loaded = store.load().unwrap();
    assert_eq!(loaded.tasks.len(), 1);
    assert_eq!(loaded.tasks[0].record, a);
    assert_eq!(server.psql(db, "SELECT nextval('node_slots')"), "0");
    assert_eq!(server.psql(db, "SELECT nextval('node_slots')"), "1");
}

#[test]
fn a_version_3_database_is_upgraded_to_4_and_its_rows_have_no_dependencies() {
    let (server, url) = fresh();
    let db = dbname(&url);
    let mut store = connect(&url);
    let a = common::working(1);
    store.commit(&[common::put(&a)]).unwrap();
    drop(store);
    // Back to version 3 as a v3 build left it: no `depends_on`, no row 4, nor what version
    // 5 adds.
    server.psql(
        db,
        "DROP INDEX tasks_waiting; ALTER TABLE tasks DROP COLUMN depends_on; \
         ALTER TABLE tasks DROP COLUMN input_requests; DROP INDEX sessions_ended; \
         ALTER TABLE sessions DROP COLUMN ended; \
         DELETE FROM schema_version WHERE version >= 4;",
    );

    let mut store = connect(&url);
    let versions = server.psql(
        db,
        "SELECT string_agg(version::text, ',' ORDER BY version) FROM schema_version",
    );
    assert_eq!(versions, "1,2,3,4,5");
    let loaded = store.load().unwrap();
    assert_eq!(loaded.tasks.len(), 1);
    assert_eq!(loaded.tasks[0].record, a);
    assert_eq!(
        server.psql(db, "SELECT count(*) FROM tasks WHERE depends_on IS NULL"),
        "1"
    );
    assert_eq!(
        server.psql(
            db,
            "SELECT count(*) FROM pg_class WHERE relname = 'tasks_waiting'"
        ),
        "1"
    );
}

#[test]
fn a_version_4_database_is_upgraded_to_5_and_its_sessions_are_not_ended() {
    let (server, url) = fresh();
    let db = dbname(&url);
    let mut store = connect(&url);
    let a = common::working(1);
    store.commit(&[common::put(&a)]).unwrap();
    drop(store);
    // Back to version 4 as a v4 build left it: no input requests, no session tombstones.
    server.psql(
        db,
        "ALTER TABLE tasks DROP COLUMN input_requests; DROP INDEX sessions_ended; \
         ALTER TABLE sessions DROP COLUMN ended; DELETE FROM schema_version WHERE version = 5;",
    );

    let mut store = connect(&url);
    let versions = server.psql(
        db,
        "SELECT string_agg(version::text, ',' ORDER BY version) FROM schema_version",
    );
    assert_eq!(versions, "1,2,3,4,5");
    let loaded = store.load().unwrap();
    assert_eq!(loaded.tasks.len(), 1);
    assert_eq!(loaded.tasks[0].record, a);
    assert_eq!(
        server.psql(
            db,
            "SELECT count(*) FROM tasks WHERE input_requests IS NULL"
        ),
        "1"
    );
}
