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
    use clap::{CommandFactory, Parser};

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
    fn status_takes_a_url_and_json() {
        let cli = Cli::parse_from(["taskward", "status", "--url", "http://[::1]:8080", "--json"]);
        let Command::Status(args) = cli.command else {
            panic!("not status")
        };
        assert_eq!(args.url, "http://[::1]:8080");
        assert!(args.json);
    }
}
