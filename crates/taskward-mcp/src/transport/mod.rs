//! Transports: how messages reach a [`Server`](crate::Server).

#[cfg(feature = "http")]
pub mod http;
pub mod stdio;
