//! The command line: `taskward serve`, `taskward status` and `taskward bench-http`.

use clap::{Parser, Subcommand};

use crate::bench_http::BenchHttpArgs;
use crate::serve::ServeArgs;
use crate::status::StatusArgs;

/// Supervised long-running tasks over MCP: serve demo tools, or watch a running server.
#[derive(Debug, Parser)]
#[command(name = "taskward", version, propagate_version = true)]
pub(crate) struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Serve the demo tools as tasks over MCP (Streamable HTTP by default, or stdio).
    Serve(Box<ServeArgs>),
    /// Show the registry and the live tasks of a running `taskward serve --http`.
    Status(StatusArgs),
    /// Benchmark `serve --http` (a child process) with a built-in load generator.
    BenchHttp(BenchHttpArgs),
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use clap::{CommandFactory, Parser};
    use taskward_mcp::transport::http::StatusEndpoint;

    use super::{Cli, Command};

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn serve_defaults_to_http_on_port_3000() {
        let cli = Cli::parse_from(["taskward", "serve"]);
        let Command::Serve(args) = cli.command else {
            panic!("not serve")
        };
        assert_eq!(args.http, "127.0.0.1:3000");
        assert!(!args.stdio);
        assert_eq!(args.poll_interval_ms, 1000);
    }

    #[test]
    fn http_and_stdio_exclude_each_other() {
        assert!(Cli::try_parse_from(["taskward", "serve", "--stdio"]).is_ok());
        assert!(
            Cli::try_parse_from(["taskward", "serve", "--stdio", "--http", "127.0.0.1:1"]).is_err()
        );
    }

    #[test]
    fn serve_takes_the_http_bounds() {
        let cli = Cli::parse_from([
            "taskward",
            "serve",
            "--allowed-host",
            "mcp.example.com",
            "--allowed-host",
            "192.0.2.7",
            "--status-listen",
            "127.0.0.1:3001",
            "--header-timeout-secs",
            "5",
            "--max-connections",
            "64",
        ]);
        let Command::Serve(args) = cli.command else {
            panic!("not serve")
        };
        let options = args.net.options().unwrap();
        assert_eq!(options.allowed_hosts, ["mcp.example.com", "192.0.2.7"]);
        assert_eq!(
            options.status,
            StatusEndpoint::Listen("127.0.0.1:3001".parse().unwrap())
        );
        assert_eq!(options.connections.header_timeout, Duration::from_secs(5));
        assert_eq!(options.connections.max_connections, 64);
        assert_eq!(options.connections.idle_timeout, Duration::from_secs(60));
        assert!(options.tls.is_none());

        let off = Cli::parse_from(["taskward", "serve", "--status", "off"]);
        let Command::Serve(args) = off.command else {
            panic!("not serve")
        };
        assert_eq!(args.net.options().unwrap().status, StatusEndpoint::Off);
        for bad in [
            &[
                "taskward",
                "serve",
                "--status",
                "off",
                "--status-listen",
                "127.0.0.1:1",
            ][..],
            &["taskward", "serve", "--tls-cert", "c.pem"],
            &["taskward", "serve", "--stdio", "--allowed-host", "h"],
        ] {
            assert!(Cli::try_parse_from(bad).is_err(), "{bad:?}");
        }
        let missing = Cli::parse_from([
            "taskward",
            "serve",
            "--tls-cert",
            "/nonexistent.pem",
            "--tls-key",
            "/nonexistent.key",
        ]);
        let Command::Serve(args) = missing.command else {
            panic!("not serve")
        };
        let error = args.net.options().unwrap_err().to_string();
        assert!(error.contains("/nonexistent.pem"), "{error}");
    }

    #[test]
    fn status_takes_a_url_and_json() {
        let cli = Cli::parse_from(["taskward", "status", "--url", "http://[::1]:8080", "--json"]);
        let Command::Status(args) = cli.command else {
            panic!("not status")
        };
        assert_eq!(args.url, "http://[::1]:8080");
        assert!(args.json);
    }
}
