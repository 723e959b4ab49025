//! Several instances of the real binary, as separate processes, sharing a
//! fresh PostgreSQL database, one upload folder and a private Redis that
//! these tests start, stop and restart (the machine's own Redis is left
//! alone). Instances are killed with SIGKILL where a test says so.

#![allow(dead_code)]

#[path = "../api/helpers.rs"]
mod helpers;
#[path = "../api/ws.rs"]
mod ws;

mod chaos;
mod fixture;
mod scenarios;
