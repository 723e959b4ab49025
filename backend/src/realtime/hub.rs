//! The hub: which connection is in which room, the lobby, and membership.
//!
//! All state sits behind one mutex held only for map updates and
//! `try_send`s; nothing here awaits. An event is serialized once by the
//! caller and the same bytes go to every recipient. A connection whose
//! bounded queue is full is told to close (it is too slow) rather than
//! holding anyone else up.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use rustc_hash::{FxHashMap, FxHashSet};

use bytestring::ByteString;
use tokio::sync::oneshot;

use crate::api::UserResponse;
use crate::domain::membership::{Joined, Left, Membership, RoomFull};
pub use crate::realtime::frame::{
    chat_json, chat_json_of_frame, Arrival, Frame, Outbound, CHAT_FRAME_PREFIX,
};
use crate::realtime::queue;

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

    fn is_empty(&self) -> bool {
        self.0.is_empty()
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
pub struct Expired {
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
        if !out.frame.is_empty() {
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
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
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
    pub fn expire(&self, room: &str, user_id: &str) -> Option<Expired> {
        let mut inner = self.lock();
        if !inner.membership.expire(room, user_id) {
            return None;
        }
        Some(Self::after_removal(&mut inner, room, user_id))
    }

    fn after_removal(inner: &mut Inner, room: &str, user_id: &str) -> Expired {
        let still_somewhere = inner.users.contains_key(user_id)
            && inner
                .conns
                .values()
                .any(|c| c.user.id == user_id && !c.rooms.is_empty());
        let user = if still_somewhere {
            inner.users.get(user_id).cloned()
        } else {
            inner.users.remove(user_id)
        }
        .map(|u| UserResponse::clone(&u))
        .unwrap_or_else(|| UserResponse::new(user_id, None));
        let member_count = inner.membership.count(room);
        let empty_epoch = (member_count == 0).then(|| inner.bump_epoch(room));
        Expired {
            user,
            member_count,
            empty_epoch,
        }
    }

    /// Removes `user_id` from `room` at once, on all their connections, and
    /// sends those connections `kicked`.
    pub fn kick(&self, room: &str, user_id: &str, kicked: &Outbound) -> Option<Expired> {
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
        if out.chat.is_some() {
            let marker = Outbound::new(ByteString::new(), out.chat.clone());
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
mod tests {
    use super::*;
    use crate::api::ChatResponse;
    use crate::realtime::envelope::ServerEnvelope;

    fn user(id: &str) -> Arc<UserResponse> {
        Arc::new(UserResponse::new(id, None))
    }

    fn out(s: &str) -> Outbound {
        Outbound::new(ByteString::from(s.to_owned()), None)
    }

    #[test]
    fn a_room_set_holds_each_room_once() {
        let mut rooms = RoomSet::default();
        rooms.insert("r1");
        rooms.insert("r2");
        rooms.insert("r1");
        assert_eq!(rooms.iter().collect::<Vec<_>>(), ["r1", "r2"]);
        assert!(rooms.remove("r1"));
        assert!(!rooms.remove("r1"));
        assert!(!rooms.contains("r1") && rooms.contains("r2"));
        assert!(rooms.remove("r2"));
        assert!(rooms.is_empty());
    }

    #[test]
    fn a_full_queue_evicts_only_the_slow_connection() {
        let hub = Hub::new(2);
        let mut slow = hub.connect(user("a"));
        let mut fast = hub.connect(user("b"));
        hub.join(slow.id, "r", 10).unwrap();
        hub.join(fast.id, "r", 10).unwrap();
        for i in 0..3 {
            hub.to_room("r", &out(&i.to_string()), None);
            assert_eq!(&*fast.rx.try_recv().unwrap().frame, i.to_string());
        }
        assert_eq!(slow.evicted.try_recv(), Ok(Eviction::TooSlow));
        assert!(fast.evicted.try_recv().is_err());
    }

    #[test]
    fn a_queue_over_its_bytes_evicts_the_connection() {
        let hub = Hub::new(100).with_queue_bytes(10);
        let mut reg = hub.connect(user("a"));
        hub.join(reg.id, "r", 10).unwrap();
        hub.to_room("r", &out("123456"), None);
        assert!(reg.evicted.try_recv().is_err());
        hub.to_room("r", &out("789ab"), None);
        assert_eq!(reg.evicted.try_recv(), Ok(Eviction::TooSlow));
    }

    #[test]
    fn a_connection_joins_at_most_its_rooms() {
        let hub = Hub::new(8);
        let reg = hub.connect(user("a"));
        hub.join(reg.id, "r1", 10).unwrap();
        hub.join(reg.id, "r2", 10).unwrap();
        assert!(!hub.may_join(reg.id, "r3", 2));
        assert!(hub.may_join(reg.id, "r2", 2), "a room it is in already");
        hub.leave(reg.id, "r1");
        assert!(hub.may_join(reg.id, "r3", 2));
    }

    #[test]
    fn whispers_reach_only_both_parties_on_every_connection() {
        let hub = Hub::new(8);
        let mut regs: Vec<_> = ["a", "a", "b", "c"]
            .iter()
            .map(|u| hub.connect(user(u)))
            .collect();
        for r in &regs {
            hub.join(r.id, "r", 10).unwrap();
        }
        hub.to_room("r", &out("psst"), Some(["a", "b"]));
        let got: Vec<bool> = regs.iter_mut().map(|r| r.rx.try_recv().is_some()).collect();
        assert_eq!(got, [true, true, true, false]);
    }

    #[test]
    fn a_chat_frame_is_the_envelope_serde_would_write() {
        let chat = ChatResponse {
            id: 9,
            room_id: "r".into(),
            seq: 3,
            kind: crate::api::ChatKind::Text,
            user: Some(UserResponse::clone(&user("a"))),
            text: Some("hi \"there\"\n".into()),
            gif: None,
            to: None,
            event: None,
            subject: None,
            created_at: 1_764_000_000_123,
            client_id: Some("c-1".into()),
        };
        let built = Outbound::chat(chat.clone());
        assert_eq!(
            built.frame,
            ServerEnvelope::Chat { chat: chat.clone() }.frame()
        );
        assert_eq!(
            chat_json_of_frame(&built.frame).unwrap().as_bytes(),
            &chat_json(&chat)[..]
        );
    }

    #[test]
    fn others_learn_only_the_seq_of_a_whisper() {
        let hub = Hub::new(8);
        let mut a = hub.connect(user("a"));
        let mut c = hub.connect(user("c"));
        hub.join(a.id, "r", 10).unwrap();
        hub.join(c.id, "r", 10).unwrap();
        let whisper = Outbound::new(
            ByteString::from_static("psst"),
            Some((std::sync::Arc::from("r"), 7)),
        );
        hub.to_room("r", &whisper, Some(["a", "b"]));
        assert_eq!(&*a.rx.try_recv().unwrap().frame, "psst");
        let marker = c.rx.try_recv().unwrap();
        assert!(marker.frame.is_empty(), "no text for a non-party");
        assert_eq!(marker.chat.as_ref().map(|c| c.1), Some(7));
    }

    #[test]
    fn a_rename_reaches_each_connection_once_and_later_frames_show_it() {
        let hub = Hub::new(8);
        let mut a = hub.connect(user("a"));
        let mut lobby_and_room = hub.connect(user("b"));
        let mut elsewhere = hub.connect(user("c"));
        let mut own_idle_tab = hub.connect(user("a"));
        hub.join(a.id, "r", 10).unwrap();
        hub.join(lobby_and_room.id, "r", 10).unwrap();
        hub.set_lobby(lobby_and_room.id, true);
        hub.join(elsewhere.id, "other", 10).unwrap();

        let renamed = UserResponse::new("a", Some("alice"));
        hub.user_updated(&renamed, &hub.rooms_of("a"), &out("renamed"));
        for reg in [&mut a, &mut lobby_and_room, &mut own_idle_tab] {
            assert_eq!(&*reg.rx.try_recv().unwrap().frame, "renamed");
            assert!(reg.rx.try_recv().is_none(), "once per connection");
        }
        assert!(elsewhere.rx.try_recv().is_none());
        assert_eq!(hub.members("r")[0].name, "alice");
        assert_eq!(hub.user(a.id).unwrap().name, "alice");
        hub.disconnect(a.id);
        hub.disconnect(own_idle_tab.id);
        assert_eq!(hub.expire("r", "a").unwrap().user.name, "alice");
    }

    #[test]
    fn last_connection_leaving_starts_the_grace() {
        let hub = Hub::new(8);
        let a1 = hub.connect(user("a"));
        let a2 = hub.connect(user("a"));
        assert!(hub.join(a1.id, "r", 1).unwrap().new_member);
        assert!(!hub.join(a2.id, "r", 1).unwrap().new_member);
        assert_eq!(hub.member_count("r"), 1);
        assert!(hub.leave(a1.id, "r").is_none());
        assert_eq!(hub.disconnect(a2.id).len(), 1);
        assert_eq!(hub.member_count("r"), 1, "seat kept during the grace");
        let gone = hub.expire("r", "a").unwrap();
        assert_eq!(gone.member_count, 0);
        let epoch = gone.empty_epoch.unwrap();
        assert!(hub.still_empty("r", epoch));
        let b = hub.connect(user("b"));
        hub.join(b.id, "r", 1).unwrap();
        assert!(!hub.still_empty("r", epoch));
    }
}
