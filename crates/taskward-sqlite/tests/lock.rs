//! One writer per database: a second store on the same file is refused while the first is
//! open.

use taskward_core::Durability;
use taskward_sqlite::SqliteStore;

#[test]
fn a_second_store_on_the_same_file_is_refused_until_the_first_closes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tasks.db");
    let first = SqliteStore::open(&path, Durability::Process).unwrap();
    let refused = SqliteStore::open(&path, Durability::Process).unwrap_err();
    assert!(
        refused.to_string().contains("in use by another process"),
        "{refused}"
    );
    drop(first);
    SqliteStore::open(&path, Durability::Process).expect("free once the first is closed");
}
