//! Delivery: the registry of this instance's connections and rooms
//! ([`hub`]), frames encoded once for every receiver ([`frame`]), each
//! connection's bounded queue ([`queue`]), the latest chats of active rooms
//! ([`recent`]), and sending through [`crate::realtime::Realtime`] to this
//! instance and the cluster ([`fanout`]).

pub mod fanout;
pub mod frame;
pub mod hub;
pub mod queue;
pub mod recent;
