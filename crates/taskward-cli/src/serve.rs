//! `taskward serve`: a runtime, an MCP server with the demo tools, and a transport.

use std::time::Duration;

use clap::{Args, ValueEnum};
use taskward_core::ClosePolicy;
use taskward_mcp::Server;
use taskward_mcp::transport::http::StatusEndpoint;
use taskward_mcp::transport::stdio;
use taskward_postgres::Caps;
use taskward_runtime::{Builder, Taskward};
use tokio::net::TcpListener;

use crate::BoxError;
use crate::demo;
use crate::serve_auth as auth;
use crate::serve_http::{self, HttpArgs};
use crate::serve_store::StoreArgs;
use crate::signal::until_stopped;

/// How long shutdown waits for live tasks to stop before aborting them.
const SHUTDOWN_DEADLINE: Duration = Duration::from_secs(5);

/// The options of `taskward serve`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Serve Streamable HTTP on this address: MCP at /mcp, a JSON status at /status. Without
    /// authentication only a loopback address is served (one user on this machine).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:3000")]
    pub(crate) http: String,
    /// Serve one session on stdin and stdout instead (newline-delimited JSON-RPC).
    #[arg(long, conflicts_with = "http")]
    pub(crate) stdio: bool,
    /// At most this many live tasks in all [default: 100000].
    #[arg(long, value_name = "N")]
    pub(crate) max_live_tasks: Option<usize>,
    /// At most this many tool calls run at once; more wait, queued (status `working`), and
    /// start in the order they came [default: no cap]. With a postgres store, the cap is
    /// cluster-wide: at most N calls of the tools run at once across every node (give each
    /// node the same value).
    #[arg(long, value_name = "N")]
    pub(crate) max_running: Option<usize>,
    /// At most N calls of tool NAME run at once (repeatable); with a postgres store, across
    /// every node (give each node the same caps).
    #[arg(long, value_name = "NAME=N", value_parser = parse_kind_cap)]
    pub(crate) kind_cap: Vec<(String, u32)>,
    /// At most this many live tasks per session (scope); plain calls take none (0: no limit).
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub(crate) max_live_per_scope: usize,
    /// The TTL of tasks whose request asks for none, in seconds [default: 3600].
    #[arg(long, value_name = "N")]
    pub(crate) default_ttl_secs: Option<u64>,
    /// The longest TTL granted, in seconds; longer requests are capped [default: 3600].
    #[arg(long, value_name = "N")]
    pub(crate) max_ttl_secs: Option<u64>,
    /// At most this many finished tasks kept in all; the oldest is evicted first (0: no cap).
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    pub(crate) max_retained_tasks: usize,
    /// At most this many finished tasks kept per session (scope) (0: no cap).
    #[arg(long, value_name = "N", default_value_t = 1_000)]
    pub(crate) max_retained_per_scope: usize,
    /// At most this many bytes of finished tasks' results and errors kept in all (0: no cap).
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 30)]
    pub(crate) max_retained_bytes: usize,
    /// At most this many bytes of finished tasks' results and errors kept per session (0: no
    /// cap).
    #[arg(long, value_name = "BYTES", default_value_t = 64 << 20)]
    pub(crate) max_retained_bytes_per_scope: usize,
    /// At most this many sessions open at once; over it `initialize` gets 503 (0: no cap).
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub(crate) max_sessions: usize,
    /// Close a session unused for this many seconds, as DELETE would (0: never).
    #[arg(long, value_name = "SECS", default_value_t = 1800)]
    pub(crate) session_idle_secs: u64,
    /// What an ended session (DELETE, idle expiry) does to its live tasks: `keep` them
    /// running until their TTL, or `cancel` them (on every node, with postgres).
    #[arg(long, value_enum, value_name = "POLICY", default_value = "keep")]
    pub(crate) session_close_policy: SessionClosePolicy,
    /// The `pollInterval` advertised on every task, in milliseconds.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub(crate) poll_interval_ms: u64,
    /// A browser origin allowed on HTTP besides the local ones (repeatable).
    #[arg(long, value_name = "ORIGIN", conflicts_with = "stdio")]
    pub(crate) allowed_origin: Vec<String>,
    /// Allowed hosts, /status, connection limits and TLS.
    #[command(flatten)]
    pub(crate) net: HttpArgs,
    /// Authentication of HTTP requests.
    #[command(flatten)]
    pub(crate) auth: auth::AuthArgs,
    /// Where tasks and sessions are kept.
    #[command(flatten)]
    pub(crate) keep: StoreArgs,
}

/// A builder method that sets one bound.
type SetCap = fn(Builder, usize) -> Builder;

impl ServeArgs {
    /// The runtime these options ask for, with the demo tools registered as kinds of work
    /// (so that their tasks resume after a restart); the store is added by
    /// [`StoreArgs::apply`](crate::serve_store::StoreArgs::apply).
    fn runtime(&self) -> Result<Builder, BoxError> {
        let mut builder = Taskward::builder();
        for tool in demo::tools() {
            builder = builder.register_kind(tool.kind());
        }
        if let Some(n) = self.max_live_tasks {
            builder = builder.max_live_tasks(n);
        }
        // With postgres the running caps are the cluster's (see `StoreArgs::apply`).
        if !self.keep.is_postgres() {
            if let Some(n) = self.max_running {
                builder = builder.max_running(n);
            }
            for (name, n) in &self.kind_cap {
                builder = builder.max_running_named(name.as_str(), *n as usize);
            }
        }
        // 0 turns a bound off.
        let caps: [(usize, SetCap); 5] = [
            (self.max_live_per_scope, Builder::max_live_per_scope),
            (self.max_retained_tasks, Builder::max_retained_tasks),
            (
                self.max_retained_per_scope,
                Builder::max_retained_tasks_per_scope,
            ),
            (self.max_retained_bytes, Builder::max_retained_bytes),
            (
                self.max_retained_bytes_per_scope,
                Builder::max_retained_bytes_per_scope,
            ),
        ];
        for (max, set) in caps {
            if max > 0 {
                builder = set(builder, max);
            }
        }
        if let Some(secs) = self.default_ttl_secs {
            builder = builder.default_ttl(Duration::from_secs(secs));
        }
        if let Some(secs) = self.max_ttl_secs {
            builder = builder.max_ttl(Duration::from_secs(secs));
        }
        Ok(builder)
    }

    /// The caps of a node's claims from the shared queue: `--max-running` cluster-wide, and
    /// each `--kind-cap`.
    fn caps(&self) -> Caps {
        let mut caps = Caps::new();
        if let Some(n) = self.max_running {
            caps = caps.global(u32::try_from(n).unwrap_or(u32::MAX));
        }
        for (name, n) in &self.kind_cap {
            caps = caps.kind(name.as_str(), *n);
        }
        caps
    }
}

/// `NAME=N` of `--kind-cap`.
fn parse_kind_cap(text: &str) -> Result<(String, u32), String> {
    let (name, n) = text
        .rsplit_once('=')
        .ok_or_else(|| format!("expected NAME=N, got {text:?}"))?;
    let n = n
        .parse()
        .map_err(|e| format!("the cap of {name:?} is not a count: {e}"))?;
    if name.is_empty() {
        return Err("the tool's name is empty".to_owned());
    }
    Ok((name.to_owned(), n))
}

/// Serves until the transport ends (stdin closes) or Ctrl-C / SIGTERM, then shuts the
/// runtime down: live tasks are cancelled, and aborted after a deadline.
pub(crate) async fn run(args: ServeArgs) -> Result<(), BoxError> {
    // Bind, load the certificate and the keys, and check the exposure first: a taken address,
    // a bad key or an unauthenticated network bind fails before anything starts.
    let listener = if args.stdio {
        None
    } else {
        let mut options = args.net.options()?;
        options.allowed_origins = args.allowed_origin.clone();
        let listener = bind(&args.http).await?;
        options.auth = args.auth.auth().await?;
        // `/status` on a listener of its own faces the network as `/mcp` does.
        let mut exposed = vec![listener.local_addr()?];
        if let StatusEndpoint::Listen(status) = options.status {
            exposed.push(status);
        }
        for addr in exposed {
            let open = auth::check_exposure(
                addr,
                options.auth.is_some(),
                args.auth.allow_unauthenticated,
            )?;
            if open {
                eprintln!("{}", auth::warning(addr));
                tracing::warn!("serving {addr} without authentication");
            }
        }
        Some((listener, options))
    };
    let (builder, node) = args.keep.apply(args.runtime()?, args.caps()).await?;
    let ward = builder.spawn().await?;
    // With postgres, this process is a node of the cluster: its duties run beside the runtime.
    let node = node.map(|node| node.run(ward.clone()));
    let server = Server::builder(ward.clone())
        .server_info("taskward", env!("CARGO_PKG_VERSION"))
        .poll_interval(Duration::from_millis(args.poll_interval_ms))
        .max_sessions((args.max_sessions > 0).then_some(args.max_sessions))
        .session_idle_timeout(
            (args.session_idle_secs > 0).then(|| Duration::from_secs(args.session_idle_secs)),
        )
        .close_policy(args.session_close_policy.policy())
        .tools(demo::tools())
        .build();
    let served = match listener {
        None => {
            tracing::info!("serving MCP on stdio");
            until_stopped(stdio::serve(
                server,
                tokio::io::stdin(),
                tokio::io::stdout(),
            ))
            .await
        }
        Some((listener, options)) => serve_http::serve(server, listener, options).await,
    };
    if let Some(node) = node {
        node.stop().await;
    }
    match ward.shutdown(SHUTDOWN_DEADLINE).await {
        Ok(report) => tracing::info!(
            runners = report.runners,
            aborted = report.aborted,
            "runtime shut down"
        ),
        Err(err) => tracing::warn!("runtime shutdown: {err}"),
    }
    Ok(served?)
}

async fn bind(addr: &str) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .map_err(|err| std::io::Error::new(err.kind(), format!("cannot listen on {addr}: {err}")))
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use taskward_core::{Error, Limit, Scope};
    use taskward_runtime::TaskSpec;

    use super::ServeArgs;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        serve: ServeArgs,
    }

    #[tokio::test]
    async fn kind_caps_cap_a_tool_in_process_and_the_cluster_with_postgres() {
        let args = |args: &[&str]| {
            let mut argv = vec!["serve"];
            argv.extend_from_slice(args);
            Cli::try_parse_from(argv).map(|cli| cli.serve)
        };
        let memory = args(&["--store", "memory", "--kind-cap", "sleep=1"]).expect("parses");
        let ward = memory
            .runtime()
            .expect("options")
            .spawn()
            .await
            .expect("starts");
        assert_eq!(ward.config().max_running_named.get("sleep"), Some(&1));
        ward.shutdown(super::SHUTDOWN_DEADLINE)
            .await
            .expect("shutdown");

        let url = "postgres://nobody@127.0.0.1:1/none";
        let argv = ["--store", url, "--max-running", "3", "--kind-cap", "a=b=2"];
        let pg = args(&argv).expect("parses");
        let caps = pg.caps();
        assert_eq!((caps.global, caps.per_kind.get("a=b")), (Some(3), Some(&2)));
        let runtime = pg
            .runtime()
            .expect("options")
            .spawn()
            .await
            .expect("starts");
        assert_eq!(
            runtime.config().max_running,
            None,
            "the cap is the cluster's"
        );
        runtime
            .shutdown(super::SHUTDOWN_DEADLINE)
            .await
            .expect("shutdown");

        for bad in ["sleep", "sleep=x", "=2"] {
            assert!(args(&["--kind-cap", bad]).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn max_running_caps_running_calls_and_is_off_by_default() {
        let runtime = |args: &[&str]| {
            let mut argv = vec!["serve", "--store", "memory"];
            argv.extend_from_slice(args);
            Cli::parse_from(argv).serve.runtime().expect("options")
        };
        let capped = runtime(&["--max-running", "2"])
            .spawn()
            .await
            .expect("starts");
        assert_eq!(capped.config().max_running, Some(2));
        let open = runtime(&[]).spawn().await.expect("starts");
        assert_eq!(open.config().max_running, None);
        capped
            .shutdown(super::SHUTDOWN_DEADLINE)
            .await
            .expect("shutdown");
        open.shutdown(super::SHUTDOWN_DEADLINE)
            .await
            .expect("shutdown");
    }

    #[tokio::test]
    async fn serve_limits_live_tasks_per_scope_by_default() {
        let args = Cli::parse_from(["serve", "--store", "memory"]).serve;
        let ward = args
            .runtime()
            .expect("options")
            .spawn()
            .await
            .expect("runtime starts");
        let config = ward.config();
        assert_eq!(config.max_live_per_scope, Some(100));
        assert_eq!(config.max_ttl, Some(std::time::Duration::from_secs(3600)));
        assert_eq!(config.max_retained_tasks_per_scope, Some(1000));
        let scope = Scope::session("s");
        let spec = || TaskSpec::new("t").scope(scope.clone());
        for _ in 0..100 {
            ward.submit_external(spec(), |_: &taskward_core::Cancellation| {})
                .await
                .expect("within the limit");
        }
        let refused = ward
            .submit_external(spec(), |_: &taskward_core::Cancellation| {})
            .await;
        assert!(matches!(
            refused,
            Err(Error::LimitExceeded {
                limit: Limit::LiveTasksPerScope,
                max: 100
            })
        ));
        let other = TaskSpec::new("t").scope(Scope::session("other"));
        let off =
            Cli::parse_from(["serve", "--store", "memory", "--max-live-per-scope", "0"]).serve;
        assert_eq!(
            off.runtime()
                .expect("options")
                .spawn()
                .await
                .expect("starts")
                .config()
                .max_live_per_scope,
            None
        );
        ward.submit_external(other, |_: &taskward_core::Cancellation| {})
            .await
            .expect("another scope");
    }
}

/// `--session-close-policy`: what an ended session does to its live tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum SessionClosePolicy {
    /// Leave them running until their TTL.
    Keep,
    /// Cancel them (cancelled by their owner).
    Cancel,
}

impl SessionClosePolicy {
    fn policy(self) -> ClosePolicy {
        match self {
            SessionClosePolicy::Keep => ClosePolicy::Keep,
            SessionClosePolicy::Cancel => ClosePolicy::Cancel,
        }
    }
}
