//! gifchat: real-time GIF chat rooms over a JSON API and one WebSocket.

pub mod access;
pub mod api;
pub mod cluster;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod extract;
pub mod identity;
pub mod logging;
pub mod metrics;
pub mod net;
pub mod openapi;
pub mod rate_limit;
pub mod realtime;
pub mod routes;
pub mod startup;
pub mod state;
pub mod storage;
pub mod sync;
