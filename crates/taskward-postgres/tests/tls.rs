//! TLS to the server, as the URL's `sslmode` asks: a throwaway server with `ssl = on` and a
//! certificate made here, signed by a CA made here. A node joined with `sslmode=require` and
//! the CA file opens every connection (the pool's, its store's, its listener's, the
//! leadership's) over TLS; `verify-full` checks the name; a certificate of another CA is
//! refused; and `sslmode=require` against a server without TLS fails saying so.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::PgServer;
use common::node::within;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use taskward_core::Scope;
use taskward_postgres::{Cluster, ClusterOptions, Node, NodeId, NodeOptions};

/// A CA: its PEM, and its issuer to sign with.
fn ca() -> (String, CertifiedIssuer<'static, KeyPair>) {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
    (issuer.pem(), issuer)
}

/// A server certificate for `localhost` and 127.0.0.1 signed by `ca`: its PEM and its key's.
fn server_cert(ca: &CertifiedIssuer<'static, KeyPair>) -> (String, String) {
    let params =
        CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, ca).unwrap();
    (cert.pem(), key.serialize_pem())
}

/// `pem` in a file of its own under `dir`.
fn file(dir: &tempfile::TempDir, name: &str, pem: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, pem).unwrap();
    path
}

/// The connections of taskward's to `server` (by application name): (over TLS, all).
fn taskward_connections(server: &PgServer) -> (u32, u32) {
    let out = server.psql(
        "postgres",
        "SELECT count(*) FILTER (WHERE s.ssl) || ' ' || count(*) FROM pg_stat_ssl s \
         JOIN pg_stat_activity a USING (pid) WHERE a.application_name LIKE 'taskward%'",
    );
    let mut n = out.split(' ').map(|n| n.parse().unwrap());
    (n.next().unwrap(), n.next().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_opens_every_connection_over_tls_with_sslmode_require_and_a_ca() {
    let (ca_pem, ca) = ca();
    let (cert, key) = server_cert(&ca);
    let server = PgServer::start_with_tls(&cert, &key);
    let url = format!("{} sslmode=require", server.fresh_database());
    let dir = tempfile::tempdir().unwrap();
    let ca_file = file(&dir, "ca.pem", &ca_pem);

    let options = NodeOptions::new().cluster(
        ClusterOptions::new()
            .ca_file(&ca_file)
            .heartbeat(Duration::from_millis(200)),
    );
    let (node, store, shared) = Node::join(&url, NodeId::new(), options)
        .await
        .expect("join");
    // The pool's, the store's, the listener's and the leadership's connections.
    within("four connections, all over TLS", async {
        loop {
            let (tls, all) = taskward_connections(&server);
            assert_eq!(tls, all, "a connection without TLS");
            if all >= 4 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    let read = node
        .cluster()
        .get(&Scope::session("s"), taskward_core::TaskId::new())
        .await;
    assert_eq!(read.expect("a read over TLS"), None);
    drop((node, store, shared));

    // verify-full: the certificate names 127.0.0.1.
    let full = url.replace("sslmode=require", "sslmode=verify-full");
    Cluster::connect(&full, ClusterOptions::new().ca_file(&ca_file))
        .await
        .expect("verify-full against the CA");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_of_another_ca_is_refused() {
    let (_, ca) = ca();
    let (cert, key) = server_cert(&ca);
    let server = PgServer::start_with_tls(&cert, &key);
    let url = format!("{} sslmode=verify-ca", server.fresh_database());
    let (other_pem, _) = self::ca();
    let dir = tempfile::tempdir().unwrap();
    let other = file(&dir, "other.pem", &other_pem);
    let err = Cluster::connect(&url, ClusterOptions::new().ca_file(&other))
        .await
        .expect_err("a certificate of another CA");
    let message = format!("{err}: {:?}", std::error::Error::source(&err));
    assert!(message.to_lowercase().contains("certificate"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sslmode_require_against_a_server_without_tls_fails_saying_so() {
    let (_server, url) = common::fresh();
    let err = Cluster::connect(
        &format!("{url} sslmode=require"),
        ClusterOptions::new().connect_timeout(Duration::from_secs(5)),
    )
    .await
    .expect_err("no TLS on this server");
    let message = err.to_string();
    assert!(message.contains("does not support TLS"), "{message}");
    // The harness's default stays plain: the same URL without sslmode connects.
    Cluster::connect(&url, ClusterOptions::new())
        .await
        .expect("plain");
}
