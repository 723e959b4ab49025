//! Real time: one multiplexed WebSocket per client (and SSE for watchers),
//! a hub that fans events out, and the membership rules around it.
//!
//! [`Realtime`] owns everything that delivers events: this instance's hub,
//! the cluster when there are several instances, the recent-chats cache
//! and the room locks. Callers reach sockets and presence only through it,
//! so local and shared presence cannot be confused.

pub(crate) mod append;
pub(crate) mod delivery;
pub mod envelope;
pub(crate) mod service;
pub(crate) mod socket;
pub mod transport;

use crate::sync::LockOrRecover;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::api::{ChatResponse, RoomResponse, UserResponse};
use crate::cluster::Cluster;
use crate::db::Db;
use crate::realtime::delivery::frame::Outbound;
use crate::realtime::delivery::hub::{ConnId, Hub, Registration};
use crate::realtime::delivery::recent::Recent;
use crate::realtime::envelope::ServerEnvelope;

/// The owner of event delivery and presence for this instance.
pub struct Realtime {
    /// Connections, rooms, the lobby and membership on this instance.
    hub: Hub,
    /// Several instances: the event bus and shared presence. `None` for a
    /// single instance, where the hub alone holds presence.
    cluster: Option<Arc<Cluster>>,
    /// The latest chats of active rooms, for the latest page of history.
    recent: Recent,
    /// One lock per room, held from a chat's insert to its publication so
    /// sockets receive chats in seq order.
    room_locks: Mutex<HashMap<String, Arc<Mutex<()>>>>,
    db: Db,
    /// Set as the server stops: a leave grace that ends announces nothing.
    stopping: AtomicBool,
}

impl Realtime {
    pub fn new(hub: Hub, cluster: Option<Arc<Cluster>>, db: Db) -> Self {
        Self {
            hub,
            cluster,
            recent: Recent::default(),
            room_locks: Mutex::default(),
            db,
            stopping: AtomicBool::new(false),
        }
    }

    /// The server is stopping: leave graces that end from now on announce
    /// nothing (the seats are held across the restart).
    pub fn stop_announcing(&self) {
        self.stopping.store(true, Ordering::Relaxed);
    }

    fn stopping(&self) -> bool {
        self.stopping.load(Ordering::Relaxed)
    }

    /// The cluster this instance belongs to, if any.
    pub fn cluster(&self) -> Option<&Arc<Cluster>> {
        self.cluster.as_ref()
    }

    /// The latest chats kept for history reads.
    pub fn recent(&self) -> &Recent {
        &self.recent
    }

    /// Registers a read-only watcher of one room (an SSE stream).
    pub fn watch(&self, viewer: Arc<UserResponse>, room_id: &str) -> Registration {
        let registration = self.hub.connect(viewer);
        self.hub.watch(registration.id, room_id);
        registration
    }

    /// Ends a watcher registered by [`Realtime::watch`].
    pub fn unwatch(&self, id: ConnId) {
        self.hub.disconnect(id);
    }

    /// The members on this instance, as (room, user) pairs.
    pub fn local_presence(&self) -> Vec<(String, String)> {
        self.hub.local_presence()
    }

    /// Connections (sockets and SSE watchers) open on this instance.
    pub fn connections_here(&self) -> usize {
        self.hub.connections()
    }

    /// Whether `user_id` is a member of the room through this instance.
    pub fn is_member_here(&self, room: &str, user_id: &str) -> bool {
        self.hub.is_member(room, user_id)
    }

    /// The room's members counted on this instance alone.
    pub fn member_count_here(&self, room: &str) -> usize {
        self.hub.member_count(room)
    }

    /// Closes every socket of this instance with 1001 (shutdown).
    pub fn close_all(&self) {
        self.hub.close_all();
    }

    /// Sends a committed chat to the room and keeps it for history reads.
    pub(crate) fn publish_chat(&self, chat: &ChatResponse) {
        let json = delivery::frame::chat_json(chat);
        let out = Outbound::chat_json(&chat.room_id, chat.seq, chat.rev, &json);
        let parties = parties_of(chat);
        self.recent
            .record(&chat.room_id, chat.seq, chat.rev, parties, json);
        self.to_room(&chat.room_id, &out, parties);
    }

    /// Sends `chat_updated` with the chat as it now is to everyone who can
    /// see it, on every instance.
    pub(crate) fn publish_chat_updated(&self, chat: &ChatResponse) {
        self.recent.changed(&chat.room_id, chat.rev);
        self.to_room(
            &chat.room_id,
            &Outbound::chat_updated(chat),
            parties_of(chat),
        );
    }

    pub(crate) fn room_lock(&self, room_id: &str) -> Arc<std::sync::Mutex<()>> {
        let mut locks = self.room_locks.lock_or_recover();
        locks.entry(room_id.to_owned()).or_default().clone()
    }

    fn forget_room_lock(&self, room_id: &str) {
        self.room_locks.lock_or_recover().remove(room_id);
    }

    pub fn announce_room_created(&self, room: &RoomResponse) {
        self.to_lobby(&Outbound::plain(ServerEnvelope::RoomCreated {
            room: room.clone(),
        }));
    }

    /// Forgets a deleted room and tells its sockets and the lobby, on every
    /// instance.
    pub fn announce_room_deleted(&self, room_id: &str) {
        let out = Outbound::plain(ServerEnvelope::RoomDeleted {
            room_id: room_id.to_owned(),
        });
        self.room_deleted_everywhere(room_id, &out);
        self.forget_room_lock(room_id);
        self.recent.forget_room(room_id);
        if let Some(cluster) = self.cluster.clone() {
            let room = room_id.to_owned();
            tokio::spawn(async move {
                if let Err(e) = cluster.forget_room(&room).await {
                    log::warn!(
                        "deleted room {room} stays in shared presence until it expires: {e}"
                    );
                }
            });
        }
    }
}

/// A whisper's two parties.
fn parties_of(chat: &ChatResponse) -> Option<[&str; 2]> {
    match (&chat.user, &chat.to) {
        (Some(from), Some(to)) => Some([from.id.as_str(), to.id.as_str()]),
        _ => None,
    }
}
