//! gifchat: real-time GIF chat rooms over a JSON API and one WebSocket.
//!
//! The library exists for the `gifchat` binary, its tests, the fuzz
//! targets and `bench/ceiling`; what those use is public, the rest is the
//! crate's own.

mod access;
mod api;
mod cluster;
pub mod config;
pub mod db;
pub mod domain;
mod error;
mod extract;
mod identity;
pub mod logging;
mod metrics;
mod net;
pub mod openapi;
mod rate_limit;
pub mod realtime;
mod routes;
pub mod startup;
pub mod state;
pub mod storage;
mod sync;
