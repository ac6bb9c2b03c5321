//! Leader election: of two contenders one leads; when the leader's connection is killed or
//! its node stops, the other takes over at its next attempt.

mod common;

use std::time::Duration;

use common::cluster::options;
use common::fresh;
use taskward_postgres::Leadership;

/// A guard against a hang: waiting for an event, never a timing assertion.
const HANG: Duration = Duration::from_secs(60);

async fn until_leading(leadership: &mut Leadership) {
    tokio::time::timeout(HANG, async {
        while !leadership.is_leader() {
            leadership.changed().await;
        }
    })
    .await
    .expect("took the lead");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_of_two_leads_and_the_other_takes_over_when_it_stops() {
    let (_server, url) = fresh();
    let mut first = Leadership::start(&url, &options()).unwrap();
    until_leading(&mut first).await;
    let mut second = Leadership::start(&url, &options()).unwrap();
    // The second tries several times (its retry is 20 ms) while the first holds the lock:
    // it must not lead. Wait for the first's lock to be checked a few times.
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(first.is_leader());
        assert!(!second.is_leader(), "two leaders");
    }
    drop(first);
    until_leading(&mut second).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_leaders_connection_is_killed_another_node_leads() {
    let (server, url) = fresh();
    let mut first = Leadership::start(&url, &options()).unwrap();
    until_leading(&mut first).await;
    let second = Leadership::start(&url, &options()).unwrap();
    let dbname = url.rsplit('=').next().unwrap();
    let holder = |server: &common::PgServer| {
        server.psql(
            dbname,
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted \
             AND classid = x'74776c65'::int8::oid AND objid = x'61646572'::int8::oid \
             AND objsubid = 1 AND database = \
             (SELECT oid FROM pg_database WHERE datname = current_database())",
        )
    };
    let killed = holder(&server);
    assert!(!killed.is_empty(), "the leader holds the lock");
    server.psql(dbname, &format!("SELECT pg_terminate_backend({killed})"));
    // The first learns it lost the lead...
    tokio::time::timeout(HANG, async {
        while first.is_leader() {
            first.changed().await;
        }
    })
    .await
    .expect("the first noticed its lost connection");
    // ...and exactly one node leads again, from another connection.
    tokio::time::timeout(HANG, async {
        loop {
            let leaders = [first.is_leader(), second.is_leader()];
            if leaders.iter().filter(|l| **l).count() == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("a leader again");
    let now = holder(&server);
    assert!(!now.is_empty() && now != killed, "{now} after {killed}");
}
