//! A throwaway PostgreSQL server for tests: `initdb` in a temp dir, `postgres` on a free port
//! of 127.0.0.1 (its unix socket in the temp dir too), stopped and removed on drop.
//!
//! The binaries are found with `pg_config --bindir`, else in `/usr/lib/postgresql/*/bin`,
//! else on `PATH`. None found is a test failure with a message saying how to install them
//! (`.ci/run` installs Debian's `postgresql` package when they are missing). PostgreSQL
//! refuses to run as root: as root, `initdb` and `postgres` run as the `postgres` user
//! (`setpriv`, which execs, so that the child is the postmaster itself). A watchdog process
//! stops the server and removes its directory if the test process is killed.
//!
//! Shared by this crate's tests and the root package's (`#[path]` from `tests/`).

#![allow(dead_code, unreachable_pub)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

/// A running server (stopped on drop).
#[derive(Debug)]
pub struct PgServer {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    as_postgres: bool,
    /// `ssl = on` with the certificate and key files in the temp dir.
    tls: bool,
    child: Option<Child>,
}

impl PgServer {
    /// Starts a new server of its own (`fsync = off`: the tests do not cut the power).
    pub fn start() -> Self {
        let mut server = Self::init();
        server.run_postmaster();
        server
    }

    /// Starts a new server of its own with `ssl = on`, serving the certificate chain
    /// `cert_pem` with the private key `key_pem`.
    pub fn start_with_tls(cert_pem: &str, key_pem: &str) -> Self {
        let mut server = Self::init();
        let (cert, key) = server.tls_files();
        std::fs::write(&cert, cert_pem).expect("write the certificate");
        std::fs::write(&key, key_pem).expect("write the key");
        run(Command::new("chmod").arg("600").arg(&key));
        if server.as_postgres {
            run(Command::new("chown").arg("postgres:").arg(&cert).arg(&key));
        }
        server.tls = true;
        server.run_postmaster();
        server
    }

    fn tls_files(&self) -> (PathBuf, PathBuf) {
        (
            self.dir.path().join("server.crt"),
            self.dir.path().join("server.key"),
        )
    }

    /// A server's data directory, initialised, not running.
    fn init() -> Self {
        let bin = bindir();
        let as_postgres = is_root();
        let dir = tempfile::Builder::new()
            .prefix("taskward-pg")
            .tempdir()
            .expect("a temp dir");
        if as_postgres {
            run(Command::new("chown").arg("postgres:").arg(dir.path()));
        }
        let data = dir.path().join("data");
        let mut initdb = command(as_postgres, &bin.join("initdb"));
        initdb
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"])
            .args(["--locale=C"]);
        run(&mut initdb);
        Self {
            dir,
            bin,
            port: free_port(),
            as_postgres,
            tls: false,
            child: None,
        }
    }

    /// A server shared by the tests of this process that run at the same time: started by
    /// the first, stopped when the last one drops its handle.
    pub fn shared() -> Arc<Self> {
        static SHARED: Mutex<Weak<PgServer>> = Mutex::new(Weak::new());
        let mut shared = SHARED.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(server) = shared.upgrade() {
            return server;
        }
        let server = Arc::new(Self::start());
        *shared = Arc::downgrade(&server);
        server
    }

    /// The connection string of database `dbname`.
    pub fn url(&self, dbname: &str) -> String {
        format!(
            "host=127.0.0.1 port={} user=postgres dbname={dbname}",
            self.port
        )
    }

    /// Creates a new, empty database with a name unique in this process, and returns its
    /// connection string.
    pub fn fresh_database(&self) -> String {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "t{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        self.psql("postgres", &format!("CREATE DATABASE {name}"));
        self.url(&name)
    }

    /// Runs SQL in database `dbname` with `psql`, panicking if it fails; returns its output
    /// (unaligned, tuples only).
    pub fn psql(&self, dbname: &str, sql: &str) -> String {
        let out = Command::new(self.bin.join("psql"))
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"])
            .args(["-h", "127.0.0.1", "-U", "postgres"])
            .arg("-p")
            .arg(self.port.to_string())
            .arg("-d")
            .arg(dbname)
            .arg("-c")
            .arg(sql)
            .output()
            .expect("psql runs");
        assert!(
            out.status.success(),
            "psql failed on {sql:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Stops the server at once (`immediate`: as a crash, no checkpoint).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let mut pg_ctl = command(self.as_postgres, &self.bin.join("pg_ctl"));
            pg_ctl
                .arg("-D")
                .arg(self.data())
                .args(["-m", "immediate", "-s", "stop"]);
            let stopped = pg_ctl.status().is_ok_and(|s| s.success());
            if !stopped {
                let _ = child.kill();
            }
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same data and port (after [`stop`](Self::stop)).
    pub fn restart(&mut self) {
        self.stop();
        self.run_postmaster();
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn run_postmaster(&mut self) {
        let mut postgres = command(self.as_postgres, &self.bin.join("postgres"));
        postgres
            .arg("-D")
            .arg(self.data())
            .arg("-p")
            .arg(self.port.to_string())
            .arg("-k")
            .arg(self.dir.path())
            .args(["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"])
            .args(["-c", "full_page_writes=off", "-c", "max_connections=200"]);
        if self.tls {
            let (cert, key) = self.tls_files();
            postgres
                .args(["-c", "ssl=on", "-c"])
                .arg(format!("ssl_cert_file={}", cert.display()))
                .arg("-c")
                .arg(format!("ssl_key_file={}", key.display()));
        }
        postgres.stdout(Stdio::null()).stderr(Stdio::null());
        let child = postgres.spawn().expect("postgres starts");
        self.watch(child.id());
        self.child = Some(child);
        self.wait_ready();
    }

    /// Starts a watchdog that stops the postmaster `pid` and removes the temp dir if this test
    /// process dies without dropping the server (killed, or aborted by a panic in a
    /// destructor): a test run never leaves a server behind. It exits by itself once the
    /// postmaster is gone.
    fn watch(&self, pid: u32) {
        // A process is alive while it exists and is not a zombie: this machine's init may
        // reap the orphaned postmaster late, and `kill -0` answers yes for a zombie.
        const SCRIPT: &str = "alive() { [ -e /proc/$1/stat ] && \\
             [ \"$(cut -d' ' -f3 /proc/$1/stat 2>/dev/null)\" != Z ]; }; \\
             while alive \"$1\" && alive \"$2\"; do sleep 1; done; \\
             if alive \"$2\"; then kill -QUIT \"$2\"; \\
             while alive \"$2\"; do sleep 0.1; done; rm -rf \"$3\"; fi";
        let watchdog = Command::new("sh")
            .args(["-c", SCRIPT, "taskward-pg-watchdog"])
            .arg(std::process::id().to_string())
            .arg(pid.to_string())
            .arg(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        if let Err(e) = watchdog {
            eprintln!("no watchdog for the test's postgres (it may outlive a killed test): {e}");
        }
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ready = Command::new(self.bin.join("pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-p"])
                .arg(self.port.to_string())
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                return;
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!("postgres exited at start: {status}");
            }
            assert!(Instant::now() < deadline, "postgres did not start in 60 s");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The directory of the PostgreSQL binaries; panics with how to install them if none.
pub fn bindir() -> PathBuf {
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if dir.join("initdb").exists() && dir.join("postgres").exists() {
            return dir;
        }
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("bin"))
        .filter(|bin| bin.join("initdb").exists())
        .collect();
    versions.sort();
    if let Some(bin) = versions.pop() {
        return bin;
    }
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .find(|dir| dir.join("initdb").exists() && dir.join("postgres").exists())
    });
    on_path.unwrap_or_else(|| {
        panic!(
            "no PostgreSQL binaries found (tried `pg_config --bindir`, /usr/lib/postgresql/*/bin \
             and PATH): the Postgres store's tests need initdb and postgres. Install them, e.g. \
             `apt-get install -y postgresql` (as .ci/run does)"
        )
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// `program`, as the `postgres` user when `as_postgres`.
fn command(as_postgres: bool, program: &Path) -> Command {
    if as_postgres {
        let mut cmd = Command::new("setpriv");
        cmd.args([
            "--reuid=postgres",
            "--regid=postgres",
            "--init-groups",
            "--",
        ])
        .arg(program);
        cmd
    } else {
        Command::new(program)
    }
}

fn run(cmd: &mut Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?} cannot run: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}
