//! HTTP integration tests: the real app, a real database, real requests.

mod helpers;
mod process;
mod ws;

mod abuse;
mod bodies;
mod chats;
mod errors;
mod gifs;
mod living;
mod me;
mod media;
mod openapi;
mod operations;
mod posting_once;
mod realtime;
mod renames;
mod rooms;
mod socket_limits;
mod transport;
mod web_app;
