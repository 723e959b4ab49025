//! Socket plumbing: taking the TCP connection over from actix-http after
//! the `101` ([`upgrade`]), reading frames as they arrive ([`inbound`]),
//! writing straight from one buffer per socket ([`writer`]), gathering
//! wake-ups ([`wakes`]) and counting open sockets ([`open`]).
//!
//! What this module exports is the whole surface the rest of the service
//! and `bench/ceiling` build a socket from.

pub mod inbound;
pub mod open;
pub mod upgrade;
pub mod wakes;
pub mod writer;

pub use open::{OpenSocket, OpenSockets, TooMany};
pub use upgrade::{upgrade, upgrades, CanTakeOver, SocketReader, SocketTakeover, SOCKET_PATH};
