//! Real time: one multiplexed WebSocket per client (and SSE for watchers),
//! a hub that fans events out, and the membership rules around it.

pub mod append;
pub mod envelope;
pub mod fanout;
pub mod frame;
pub mod hub;
pub mod inbound;
pub mod queue;
pub mod recent;
pub mod service;
pub mod socket;
pub mod transport;
pub mod wakes;
pub mod writer;
