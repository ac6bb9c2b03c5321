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
    let versions = server.psql(dbname(&url), "SELECT version FROM schema_version");
    assert_eq!(versions, SCHEMA_VERSION.to_string());
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
