//! The crash test's parts: a child server, a blocking MCP client, the load, the ledger and
//! the checks after each restart.

pub(crate) mod check;
pub(crate) mod http;
pub(crate) mod ledger;
pub(crate) mod load;
pub(crate) mod mcp;
pub(crate) mod rng;
pub(crate) mod server;
