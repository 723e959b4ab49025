//! What every handler shares.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::config::Settings;
use crate::db::Db;
use crate::rate_limit::RateLimits;
use crate::realtime::hub::Hub;
use crate::storage::gifs::GifStore;

pub struct AppState {
    pub settings: Settings,
    pub db: Db,
    pub gifs: GifStore,
    pub limits: RateLimits,
    /// Connections, rooms, the lobby and membership on this instance.
    pub hub: Hub,
    /// One lock per room, held from a chat's insert to its publication so
    /// sockets receive chats in seq order.
    pub room_locks: Mutex<HashMap<String, Arc<Mutex<()>>>>,
}

impl AppState {
    pub fn member_count(&self, room_id: &str) -> usize {
        self.hub.member_count(room_id)
    }
}
