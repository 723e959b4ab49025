//! What every handler shares.

use std::sync::Arc;

use crate::config::Settings;
use crate::db::Db;
use crate::rate_limit::RateLimits;
use crate::realtime::append::Appender;
use crate::realtime::transport::OpenSockets;
use crate::realtime::Realtime;
use crate::storage::gifs::GifStore;
use crate::storage::pipeline::MediaQueue;

pub struct AppState {
    pub settings: Settings,
    pub db: Db,
    pub gifs: GifStore,
    /// Stored GIFs waiting for their renditions.
    pub media: MediaQueue,
    pub limits: RateLimits,
    /// Event delivery and presence, on this instance or across the cluster.
    pub realtime: Arc<Realtime>,
    /// The one way chats enter a room's timeline: group commit, in seq
    /// order, published under the room's lock.
    pub appender: Appender,
    /// Sockets whose connection is open, for a shutdown that lets their
    /// close frames out.
    pub sockets: OpenSockets,
    /// Open event streams by client address (`SSE_MAX_PER_IP`).
    pub streams: crate::rate_limit::PerAddress,
}
