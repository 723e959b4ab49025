//! The hub: which connection is in which room, the lobby, and membership.
//!
//! All state sits behind one mutex held only for map updates and
//! `try_send`s; nothing here awaits. An event is serialized once by the
//! caller and the same bytes go to every recipient. A connection whose
//! bounded queue is full is told to close (it is too slow) rather than
//! holding anyone else up.

use crate::sync::LockOrRecover;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use rustc_hash::{FxHashMap, FxHashSet};

use tokio::sync::oneshot;

use crate::api::UserResponse;
use crate::domain::membership::{Joined, Left, Membership, RoomFull};
use crate::realtime::delivery::frame::Outbound;
use crate::realtime::delivery::queue;

pub type ConnId = u64;

/// Why the hub closes a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Eviction {
    /// Its queue filled up: it is not reading fast enough.
    TooSlow,
    /// The server is shutting down.
    ShuttingDown,
}

/// The few rooms a connection is in. A list: for one or two rooms it is a
/// fraction of a hash set's size, and every connection holds two.
#[derive(Default)]
struct RoomSet(Vec<Box<str>>);

impl RoomSet {
    fn contains(&self, room: &str) -> bool {
        self.0.iter().any(|r| &**r == room)
    }

    /// Adds `room` unless it is there.
    fn insert(&mut self, room: &str) {
        if !self.contains(room) {
            self.0.reserve_exact(1);
            self.0.push(room.into());
        }
    }

    /// Whether `room` was there.
    fn remove(&mut self, room: &str) -> bool {
        let found = self.0.iter().position(|r| &**r == room);
        found.map(|i| self.0.swap_remove(i)).is_some()
    }

    fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|r| &**r)
    }
}

struct Conn {
    /// Shared with the connection's task and the hub's member details.
    user: Arc<UserResponse>,
    tx: queue::Sender,
    evict: Option<oneshot::Sender<Eviction>>,
    /// Rooms this connection has joined as a member.
    rooms: RoomSet,
    /// Rooms it only watches (SSE): events, no membership.
    watching: RoomSet,
    lobby: bool,
}

#[derive(Default)]
struct Inner {
    next_id: ConnId,
    // Fx hashing: every delivery looks its connection up, and the keys are
    // ids this process hands out, or room ids checked against the database
    // before they are inserted, never raw client input.
    conns: FxHashMap<ConnId, Conn>,
    /// Every connection that receives a room's events, members and watchers.
    rooms: FxHashMap<String, FxHashSet<ConnId>>,
    lobby: FxHashSet<ConnId>,
    membership: Membership,
    /// Member details for each user in membership.
    users: HashMap<String, Arc<UserResponse>>,
    /// Bumped whenever a room becomes empty or is joined, so a pending
    /// "delete when still empty" knows whether it is stale.
    empty_epoch: HashMap<String, u64>,
}

/// The receiving half a connection task owns.
pub struct Registration {
    pub id: ConnId,
    pub rx: queue::Receiver,
    pub evicted: oneshot::Receiver<Eviction>,
}

#[derive(Debug)]
pub struct JoinOutcome {
    pub new_member: bool,
    pub member_count: usize,
}

#[derive(Debug)]
pub struct Departure {
    pub user: UserResponse,
    pub member_count: usize,
    /// Set when the room is now empty: the epoch to check before deleting it.
    pub empty_epoch: Option<u64>,
}

pub struct Hub {
    inner: Mutex<Inner>,
    queue: usize,
    queue_bytes: usize,
}

impl Inner {
    fn deliver(&mut self, targets: impl IntoIterator<Item = ConnId>, out: &Outbound) {
        let mut delivered = 0;
        for id in targets {
            let Some(conn) = self.conns.get_mut(&id) else {
                continue;
            };
            if conn.tx.push(out.clone()).is_err() {
                if let Some(evict) = conn.evict.take() {
                    let _ = evict.send(Eviction::TooSlow);
                }
            } else {
                delivered += 1;
            }
        }
        // Once per fan-out, not per recipient; a seq marker is no frame.
        if !out.is_marker() {
            crate::metrics::metrics().deliveries.inc_by(delivered);
        }
    }

    fn room_targets(&self, room: &str) -> Vec<ConnId> {
        self.rooms
            .get(room)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default()
    }

    fn members(&self, room: &str) -> Vec<UserResponse> {
        self.membership
            .members(room)
            .filter_map(|m| self.users.get(&m.user_id).map(|u| UserResponse::clone(u)))
            .collect()
    }

    fn bump_epoch(&mut self, room: &str) -> u64 {
        let epoch = self.empty_epoch.entry(room.to_owned()).or_default();
        *epoch += 1;
        *epoch
    }

    fn unsubscribe(&mut self, id: ConnId, room: &str) {
        if let Some(set) = self.rooms.get_mut(room) {
            set.remove(&id);
            if set.is_empty() {
                self.rooms.remove(room);
            }
        }
    }
}

impl Hub {
    /// `queue` bounds each connection's outbound queue, in frames.
    pub fn new(queue: usize) -> Self {
        Self {
            inner: Mutex::default(),
            queue: queue.max(1),
            queue_bytes: usize::MAX,
        }
    }

    /// Bounds each connection's outbound queue in bytes as well.
    pub fn with_queue_bytes(mut self, bytes: usize) -> Self {
        self.queue_bytes = bytes;
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Every update below leaves the maps consistent before it can panic,
        // so a poisoned lock still guards valid state.
        self.inner.lock_or_recover()
    }

    pub fn connect(&self, user: Arc<UserResponse>) -> Registration {
        let (tx, rx) = queue::channel(self.queue, self.queue_bytes);
        let (evict_tx, evicted) = oneshot::channel();
        let mut inner = self.lock();
        inner.next_id += 1;
        let id = inner.next_id;
        inner.conns.insert(
            id,
            Conn {
                user,
                tx,
                evict: Some(evict_tx),
                rooms: RoomSet::default(),
                watching: RoomSet::default(),
                lobby: false,
            },
        );
        Registration { id, rx, evicted }
    }

    /// Forgets a connection. Returns the rooms where that was the user's last
    /// connection, so the caller can start their leave grace.
    pub fn disconnect(&self, id: ConnId) -> Vec<(String, UserResponse)> {
        let mut inner = self.lock();
        let Some(conn) = inner.conns.remove(&id) else {
            return Vec::new();
        };
        inner.lobby.remove(&id);
        for room in conn.watching.iter() {
            inner.unsubscribe(id, room);
        }
        let mut last = Vec::new();
        for room in conn.rooms.0 {
            inner.unsubscribe(id, &room);
            if inner.membership.leave(&room, &conn.user.id) == Left::LastConnection {
                last.push((room.into_string(), UserResponse::clone(&conn.user)));
            }
        }
        last
    }

    pub fn set_lobby(&self, id: ConnId, on: bool) {
        let mut inner = self.lock();
        if inner.conns.get_mut(&id).map(|c| c.lobby = on).is_some() {
            if on {
                inner.lobby.insert(id);
            } else {
                inner.lobby.remove(&id);
            }
        }
    }

    /// Joins connection `id` to `room` if the user holds or can take a seat.
    /// Checking and taking the seat happen under one lock, so concurrent
    /// joins for the last seat have exactly one winner.
    pub fn join(&self, id: ConnId, room: &str, capacity: usize) -> Result<JoinOutcome, RoomFull> {
        let mut inner = self.lock();
        let Some(conn) = inner.conns.get(&id) else {
            return Err(RoomFull);
        };
        let user = conn.user.clone();
        if conn.rooms.contains(room) {
            return Ok(JoinOutcome {
                new_member: false,
                member_count: inner.membership.count(room),
            });
        }
        let joined = inner.membership.join(room, &user.id, capacity)?;
        if joined == Joined::NewMember {
            inner.bump_epoch(room);
        }
        inner.users.insert(user.id.clone(), user);
        if let Some(conn) = inner.conns.get_mut(&id) {
            conn.rooms.insert(room);
        }
        inner.rooms.entry(room.to_owned()).or_default().insert(id);
        Ok(JoinOutcome {
            new_member: joined == Joined::NewMember,
            member_count: inner.membership.count(room),
        })
    }

    /// Takes connection `id` out of `room`. `Some(user)` when that was the
    /// user's last connection there.
    pub fn leave(&self, id: ConnId, room: &str) -> Option<UserResponse> {
        let mut inner = self.lock();
        let conn = inner.conns.get_mut(&id)?;
        if !conn.rooms.remove(room) {
            return None;
        }
        let user = conn.user.clone();
        inner.unsubscribe(id, room);
        (inner.membership.leave(room, &user.id) == Left::LastConnection)
            .then(|| UserResponse::clone(&user))
    }

    /// Whether connection `id` may join `room` with at most `max_rooms`
    /// rooms joined: it is there already, or has joined fewer.
    pub fn may_join(&self, id: ConnId, room: &str, max_rooms: usize) -> bool {
        self.lock()
            .conns
            .get(&id)
            .is_some_and(|c| c.rooms.contains(room) || c.rooms.0.len() < max_rooms)
    }

    /// Whether connection `id` has joined `room`.
    pub fn is_in(&self, id: ConnId, room: &str) -> bool {
        self.lock()
            .conns
            .get(&id)
            .is_some_and(|c| c.rooms.contains(room))
    }

    /// Subscribes `id` to a room's events without membership (SSE).
    pub fn watch(&self, id: ConnId, room: &str) {
        let mut inner = self.lock();
        if let Some(conn) = inner.conns.get_mut(&id) {
            conn.watching.insert(room);
            inner.rooms.entry(room.to_owned()).or_default().insert(id);
        }
    }

    /// Ends the leave grace for `user`: if they did not come back, they lose
    /// their seat.
    pub fn expire(&self, room: &str, user_id: &str) -> Option<Departure> {
        let mut inner = self.lock();
        if !inner.membership.expire(room, user_id) {
            return None;
        }
        Some(Self::after_removal(&mut inner, room, user_id))
    }

    fn after_removal(inner: &mut Inner, room: &str, user_id: &str) -> Departure {
        // A seat elsewhere, with a connection or held (a leave grace, a
        // restart), still needs the user's details.
        let still_somewhere =
            inner.users.contains_key(user_id) && inner.membership.holds_a_seat(user_id);
        let user = if still_somewhere {
            inner.users.get(user_id).cloned()
        } else {
            inner.users.remove(user_id)
        }
        .map(|u| UserResponse::clone(&u))
        .unwrap_or_else(|| UserResponse::new(user_id, None));
        let member_count = inner.membership.count(room);
        let empty_epoch = (member_count == 0).then(|| inner.bump_epoch(room));
        Departure {
            user,
            member_count,
            empty_epoch,
        }
    }

    /// Removes `user_id` from `room` at once, on all their connections, and
    /// sends those connections `kicked`.
    pub fn kick(&self, room: &str, user_id: &str, kicked: &Outbound) -> Option<Departure> {
        let mut inner = self.lock();
        let conns: Vec<ConnId> = inner
            .conns
            .iter()
            .filter(|(_, c)| {
                c.user.id == user_id && (c.rooms.contains(room) || c.watching.contains(room))
            })
            .map(|(id, _)| *id)
            .collect();
        for id in &conns {
            if let Some(c) = inner.conns.get_mut(id) {
                c.rooms.remove(room);
                c.watching.remove(room);
            }
            inner.unsubscribe(*id, room);
        }
        inner.deliver(conns, kicked);
        if !inner.membership.remove(room, user_id) {
            return None;
        }
        Some(Self::after_removal(&mut inner, room, user_id))
    }

    /// Whether `room` has stayed empty since `epoch` was handed out.
    pub fn still_empty(&self, room: &str, epoch: u64) -> bool {
        let inner = self.lock();
        inner.membership.count(room) == 0 && inner.empty_epoch.get(room) == Some(&epoch)
    }

    /// Forgets a deleted room; its connections get `frame` (room_deleted).
    pub fn remove_room(&self, room: &str, frame: &Outbound) {
        let mut inner = self.lock();
        let targets = inner.room_targets(room);
        inner.deliver(targets.iter().copied(), frame);
        for id in targets {
            if let Some(c) = inner.conns.get_mut(&id) {
                c.rooms.remove(room);
                c.watching.remove(room);
            }
        }
        inner.rooms.remove(room);
        inner.membership.remove_room(room);
        inner.empty_epoch.remove(room);
    }

    /// Every room's members, in the order they arrived, those in their
    /// leave grace too: the seats to hold across a restart.
    pub fn seats(&self) -> Vec<(String, Vec<String>)> {
        self.lock()
            .membership
            .all()
            .map(|(room, members)| {
                (
                    room.to_owned(),
                    members.map(|m| m.user_id.clone()).collect(),
                )
            })
            .collect()
    }

    /// Holds a seat in `room` for each of `users`, with no connection, as
    /// in their leave grace: one who joins again is no new member.
    pub fn hold(&self, room: &str, users: Vec<UserResponse>) {
        let mut inner = self.lock();
        for user in users {
            inner.membership.hold(room, &user.id);
            inner
                .users
                .entry(user.id.clone())
                .or_insert_with(|| Arc::new(user));
        }
    }

    /// Every `(room, user)` with a connection here, for shared presence.
    pub fn local_presence(&self) -> Vec<(String, String)> {
        let inner = self.lock();
        inner
            .conns
            .values()
            .flat_map(|c| c.rooms.iter().map(|r| (r.to_owned(), c.user.id.clone())))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect()
    }

    /// The user behind connection `id`, with their current name.
    pub fn user(&self, id: ConnId) -> Option<Arc<UserResponse>> {
        self.lock().conns.get(&id).map(|c| c.user.clone())
    }

    /// The rooms where `user_id` is a member through this hub.
    pub fn rooms_of(&self, user_id: &str) -> Vec<String> {
        self.lock().membership.rooms_of(user_id)
    }

    /// A user's name changed: every copy here (their connections', the
    /// member details) takes the new one, and `out` goes once to each
    /// connection in the lobby, in one of `rooms` or of the user's own.
    pub fn user_updated(&self, user: &UserResponse, rooms: &[String], out: &Outbound) {
        let user = Arc::new(user.clone());
        let mut guard = self.lock();
        let inner = &mut *guard;
        let mut targets: FxHashSet<ConnId> = inner.lobby.clone();
        for (id, conn) in &mut inner.conns {
            if conn.user.id == user.id {
                conn.user = user.clone();
                targets.insert(*id);
            }
        }
        if let Some(cached) = inner.users.get_mut(&user.id) {
            *cached = user.clone();
        }
        for room in rooms {
            if let Some(conns) = inner.rooms.get(room.as_str()) {
                targets.extend(conns.iter().copied());
            }
        }
        inner.deliver(targets, out);
    }

    pub fn member_count(&self, room: &str) -> usize {
        self.lock().membership.count(room)
    }

    pub fn is_member(&self, room: &str, user_id: &str) -> bool {
        self.lock().membership.is_member(room, user_id)
    }

    pub fn has_seat_for(&self, room: &str, user_id: &str, capacity: usize) -> bool {
        self.lock().membership.has_seat_for(room, user_id, capacity)
    }

    pub fn members(&self, room: &str) -> Vec<UserResponse> {
        self.lock().members(room)
    }

    /// The longest-present member other than `except`.
    pub fn longest_present_except(&self, room: &str, except: &str) -> Option<UserResponse> {
        let inner = self.lock();
        let id = inner.membership.longest_present_except(room, except)?;
        inner.users.get(id).map(|u| UserResponse::clone(u))
    }

    /// To every connection in the room; a whisper only to its two parties.
    /// The others get a seq marker (no frame), so they know the seq was
    /// taken and is not missing.
    pub fn to_room(&self, room: &str, out: &Outbound, only_users: Option<[&str; 2]>) {
        let mut inner = self.lock();
        let Some(parties) = only_users else {
            let targets = inner.room_targets(room);
            inner.deliver(targets, out);
            return;
        };
        let (to_parties, others): (Vec<ConnId>, Vec<ConnId>) =
            inner.room_targets(room).into_iter().partition(|id| {
                inner
                    .conns
                    .get(id)
                    .is_some_and(|c| parties.contains(&c.user.id.as_str()))
            });
        inner.deliver(to_parties, out);
        if let Some(marker) = out.marker() {
            inner.deliver(others, &marker);
        }
    }

    /// To every connection in the room except those of `user_id`.
    pub fn to_room_except_user(&self, room: &str, user_id: &str, out: &Outbound) {
        let mut inner = self.lock();
        let targets: Vec<ConnId> = inner
            .room_targets(room)
            .into_iter()
            .filter(|id| inner.conns.get(id).is_some_and(|c| c.user.id != user_id))
            .collect();
        inner.deliver(targets, out);
    }

    /// To every connection in the room except `conn`.
    pub fn to_room_except_conn(&self, room: &str, conn: ConnId, out: &Outbound) {
        let mut inner = self.lock();
        let targets: Vec<ConnId> = inner
            .room_targets(room)
            .into_iter()
            .filter(|id| *id != conn)
            .collect();
        inner.deliver(targets, out);
    }

    pub fn to_lobby(&self, out: &Outbound) {
        let mut inner = self.lock();
        let targets: Vec<ConnId> = inner.lobby.iter().copied().collect();
        inner.deliver(targets, out);
    }

    /// Tells every connection to close and forgets them all (shutdown). SSE
    /// streams end when their queue's sender goes.
    pub fn close_all(&self) {
        let mut inner = self.lock();
        for (_, mut conn) in inner.conns.drain() {
            if let Some(evict) = conn.evict.take() {
                let _ = evict.send(Eviction::ShuttingDown);
            }
        }
        inner.rooms.clear();
        inner.lobby.clear();
    }

    /// Open connections (sockets and SSE watchers).
    pub fn connections(&self) -> usize {
        self.lock().conns.len()
    }
}

#[cfg(test)]
mod tests;
