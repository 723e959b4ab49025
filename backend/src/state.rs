//! What every handler shares.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::error::{AppError, AppResult};

use crate::config::Settings;
use crate::db::Db;
use crate::rate_limit::RateLimits;
use crate::realtime::append::Appender;
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
    /// Several instances: the event bus and shared presence. `None` for a
    /// single instance, where the hub alone holds presence.
    pub cluster: Option<std::sync::Arc<crate::cluster::Cluster>>,
    /// The latest chats of active rooms, for the latest page of history.
    pub recent: crate::realtime::recent::Recent,
    /// Group commit for text chats; set once the state exists.
    pub appender: std::sync::OnceLock<Appender>,
    /// Sockets whose connection is open, for a shutdown that lets their
    /// close frames out.
    pub sockets: crate::realtime::transport::OpenSockets,
}

impl AppState {
    pub fn appender(&self) -> AppResult<&Appender> {
        self.appender
            .get()
            .ok_or_else(|| AppError::Unavailable(anyhow::anyhow!("starting up")))
    }
}
