//! What happens around membership: persisted system chats, lobby updates,
//! the leave grace, owner hand-over, kicks and deleting rooms left empty.
//! The hub holds the state; these functions add the database and timers.

use std::sync::Arc;
use std::time::Duration;

use actix_web::web::Data;

use crate::access::{ensure_can_read, find_room};
use crate::api::{ChatResponse, RoomResponse, SystemEvent, UserResponse};
use crate::db::chats;
use crate::db::held_seats;
use crate::db::rooms as room_rows;
use crate::db::users as user_rows;
use crate::error::{AppError, AppResult};
use crate::realtime::append::{Post, SystemPost};
use crate::realtime::delivery::frame::Outbound;
use crate::realtime::delivery::hub::{ConnId, Departure, JoinOutcome};
use crate::realtime::envelope::ServerEnvelope;
use crate::state::AppState;

/// The room as responses show it now, with its member count; `None` once
/// it is gone.
async fn current_room(state: &Data<AppState>, room_id: &str) -> AppResult<Option<RoomResponse>> {
    let id = room_id.to_owned();
    let Some((room, owner)) = state
        .db
        .run(move |conn| Ok(room_rows::find(conn, &id)?))
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(RoomResponse::new(
        &room,
        &owner,
        state.realtime.member_count(room_id).await,
    )))
}

/// Reloads a room and sends `room_updated` to the lobby.
pub async fn announce_room_updated(state: &Data<AppState>, room_id: &str) -> AppResult<()> {
    if let Some(room) = current_room(state, room_id).await? {
        state
            .realtime
            .to_lobby(&Outbound::plain(ServerEnvelope::RoomUpdated { room }));
    }
    Ok(())
}

/// Persists and publishes a system chat.
pub async fn system_chat(
    state: &Data<AppState>,
    room_id: &str,
    event: SystemEvent,
    subject: &str,
) -> AppResult<()> {
    let post = SystemPost {
        room_id: room_id.to_owned(),
        event,
        subject_id: subject.to_owned(),
    };
    state.appender.post(Post::System(post)).await.map(drop)
}

/// The frames a joining connection gets first: `joined`, then the replay:
/// chats after `since_seq`, then older chats changed after `since_rev`.
pub struct JoinReply {
    pub joined: ServerEnvelope,
    /// The room's latest seq when it was read.
    pub last_seq: i64,
    pub replay: Vec<ChatResponse>,
    pub updates: Vec<ChatResponse>,
}

/// Joins connection `conn` to a room: access, bans and capacity checked,
/// then the replay of chats after `since_seq`.
pub async fn join(
    state: &Data<AppState>,
    conn: ConnId,
    user: &UserResponse,
    room_id: &str,
    since_seq: Option<i64>,
    since_rev: Option<i64>,
) -> AppResult<JoinReply> {
    let (id, uid) = (room_id.to_owned(), user.id.clone());
    let (room, _) = state
        .db
        .run(move |c| {
            let found = find_room(c, &id)?;
            ensure_can_read(c, &found.0, &uid)?;
            Ok(found)
        })
        .await?;
    let capacity = room.max_members as usize;
    let outcome = match &state.realtime.cluster {
        None => state
            .realtime
            .hub
            .join(conn, room_id, capacity)
            .map_err(|_| AppError::RoomFull)?,
        Some(cluster) => join_shared(state, cluster, conn, &user.id, room_id, capacity).await?,
    };
    if outcome.new_member {
        let member_joined = Outbound::plain(ServerEnvelope::MemberJoined {
            room_id: room_id.to_owned(),
            user: user.clone(),
            member_count: outcome.member_count as u32,
        });
        state
            .realtime
            .to_room_except_conn(room_id, conn, &member_joined);
        system_chat(state, room_id, SystemEvent::Joined, &user.id).await?;
    }
    // Read after registering: whatever this misses arrives live. The room
    // read here is also the lobby's `room_updated` for a new member.
    let (id, uid, cap) = (
        room_id.to_owned(),
        user.id.clone(),
        state.settings.replay_max as i64,
    );
    let (room, owner, replay, updates, truncated) = state
        .db
        .run(move |c| {
            let (room, owner) = find_room(c, &id)?;
            let (rows, truncated) = match since_seq {
                Some(after) => {
                    let found = chats::latest_after(c, &id, &uid, after.max(0), cap)?;
                    crate::metrics::count_resume(found.1);
                    found
                }
                None => (Vec::new(), false),
            };
            let (changed, more_changed) = match since_rev {
                Some(after) => chats::changed_after(c, &id, &uid, after.max(0), since_seq, cap)?,
                None => (Vec::new(), false),
            };
            let replay = chats::load_responses(c, &rows)?;
            let updates = chats::load_responses(c, &changed)?;
            Ok((room, owner, replay, updates, truncated || more_changed))
        })
        .await?;
    let (last_seq, last_rev) = (room.last_seq, room.last_rev);
    let room = RoomResponse::new(&room, &owner, state.realtime.member_count(room_id).await);
    if outcome.new_member {
        state
            .realtime
            .to_lobby(&Outbound::plain(ServerEnvelope::RoomUpdated {
                room: room.clone(),
            }));
    }
    Ok(JoinReply {
        last_seq,
        joined: ServerEnvelope::Joined {
            room,
            members: state.realtime.members(room_id).await?,
            last_seq,
            last_rev,
            replay_truncated: truncated,
        },
        replay,
        updates,
    })
}

/// Takes the seat in Redis first (where the capacity check for the whole
/// cluster happens), then registers the connection here.
async fn join_shared(
    state: &Data<AppState>,
    cluster: &Arc<crate::cluster::Cluster>,
    conn: ConnId,
    user_id: &str,
    room_id: &str,
    capacity: usize,
) -> AppResult<JoinOutcome> {
    if state.realtime.hub.is_in(conn, room_id) {
        return Ok(JoinOutcome {
            new_member: false,
            member_count: state.realtime.member_count(room_id).await,
        });
    }
    let (new_member, member_count) = cluster
        .join(room_id, user_id, capacity)
        .await?
        .ok_or(AppError::RoomFull)?;
    if state.realtime.hub.join(conn, room_id, usize::MAX).is_err() {
        // The socket closed meanwhile: give the seat back unless another
        // of the user's sockets here holds it.
        if !state.realtime.hub.is_member(room_id, user_id) {
            cluster.leave(room_id, user_id).await?;
        }
        return Err(AppError::BadRequest("the connection closed".into()));
    }
    Ok(JoinOutcome {
        new_member,
        member_count,
    })
}

/// The chats `viewer` may see with `after < seq < before`: what a socket
/// missed when a later chat reached it first (from another instance, or
/// after the event bus lost messages).
pub async fn missed(
    state: &Data<AppState>,
    room_id: &str,
    viewer: &str,
    after: i64,
    before: i64,
) -> AppResult<Vec<ChatResponse>> {
    let (id, uid) = (room_id.to_owned(), viewer.to_owned());
    let limit = (before - after - 1).clamp(1, state.settings.replay_max.max(1) as i64);
    state
        .db
        .run(move |c| {
            let q = chats::PageQuery {
                before_seq: Some(before),
                after_seq: Some(after),
                limit,
            };
            let (rows, _) = chats::page(c, &id, &uid, q, None)?;
            Ok(chats::load_responses(c, &rows)?)
        })
        .await
}

/// Connection `conn` leaves the room; the user's last one starts the grace.
pub fn leave(state: &Data<AppState>, conn: ConnId, room_id: &str) -> bool {
    let was_in = state.realtime.hub.is_in(conn, room_id);
    if let Some(user) = state.realtime.hub.leave(conn, room_id) {
        start_leave_grace(state, room_id.to_owned(), user);
    }
    was_in
}

/// A connection closed.
pub fn disconnect(state: &Data<AppState>, conn: ConnId) {
    for (room, user) in state.realtime.hub.disconnect(conn) {
        start_leave_grace(state, room, user);
    }
}

fn start_leave_grace(state: &Data<AppState>, room: String, user: UserResponse) {
    if let Some(cluster) = state.realtime.cluster.clone() {
        // The grace runs in Redis, where every instance's sweep sees it.
        state.realtime.hub.expire(&room, &user.id);
        let state = state.clone();
        tokio::spawn(async move {
            if let Err(e) = cluster.leave(&room, &user.id).await {
                log::warn!("{} left room {room}, not yet recorded: {e}", user.id);
            }
            // A socket of theirs may have joined here while that ran.
            if state.realtime.hub.is_member(&room, &user.id) {
                let _ = cluster.restore(&[(room, user.id)]).await;
            }
        });
        return;
    }
    let grace = Duration::from_secs(state.settings.leave_grace_secs);
    expire_after(state, room, user.id, grace);
}

/// Ends `user_id`'s seat in `room` after `grace` unless they are back by
/// then (a single instance).
fn expire_after(state: &Data<AppState>, room: String, user_id: String, grace: Duration) {
    let state = state.clone();
    tokio::spawn(async move {
        tokio::time::sleep(grace).await;
        if state.realtime.stopping() {
            return;
        }
        if let Some(gone) = state.realtime.hub.expire(&room, &user_id) {
            if let Err(e) = member_gone(&state, &room, gone, SystemEvent::Left).await {
                log::warn!("after {user_id} left room {room}: {e}");
            }
        }
    });
}

/// A single instance stops cleanly, its sockets closed: every room's
/// members are written down, so that after the next start those back
/// within `RESTART_GRACE_SECS` were never away. Returns how many seats are
/// held.
pub async fn hold_seats(state: &Data<AppState>) -> AppResult<usize> {
    let seats = state.realtime.hub.seats();
    state
        .db
        .write(move |c| Ok(held_seats::save(c, &seats)?))
        .await
}

/// A single instance starts: the seats held at the last clean stop are
/// given back, each in a leave grace of `RESTART_GRACE_SECS`, so a member
/// who reconnects by then joins quietly and one who does not is announced
/// gone as usual (ownership passing on, an emptied room deleted after its
/// grace). Returns how many seats were held.
pub async fn restore_seats(state: &Data<AppState>) -> AppResult<usize> {
    let seats = state
        .db
        .write(|c| {
            let mut seats = held_seats::take(c)?;
            // Someone removed from a room while the server stopped has no
            // seat there to come back to.
            for (room, users) in &mut seats {
                let mut kept = Vec::with_capacity(users.len());
                for user in users.drain(..) {
                    if !room_rows::is_banned(c, room, &user)? {
                        kept.push(user);
                    }
                }
                *users = kept;
            }
            let ids: Vec<&str> = seats
                .iter()
                .flat_map(|(_, users)| users.iter().map(String::as_str))
                .collect();
            let users = user_rows::load_responses(c, &ids)?;
            Ok(seats
                .into_iter()
                .map(|(room, ids)| {
                    let members = ids
                        .iter()
                        .map(|id| {
                            users
                                .get(id)
                                .cloned()
                                .unwrap_or_else(|| UserResponse::new(id, None))
                        })
                        .collect::<Vec<_>>();
                    (room, members)
                })
                .collect::<Vec<_>>())
        })
        .await?;
    let grace = Duration::from_secs(state.settings.restart_grace_secs);
    let mut held = 0;
    for (room, members) in seats {
        let ids: Vec<String> = members.iter().map(|u| u.id.clone()).collect();
        held += ids.len();
        state.realtime.hub.hold(&room, members);
        for user_id in ids {
            expire_after(state, room.clone(), user_id, grace);
        }
    }
    Ok(held)
}

/// Drops the seats a single instance held, unread (a cluster starts).
pub async fn forget_seats(state: &Data<AppState>) -> AppResult<()> {
    state.db.write(|c| Ok(held_seats::clear(c)?)).await
}

/// Announces a departure, hands ownership on, and schedules the deletion
/// of a room left empty.
async fn member_gone(
    state: &Data<AppState>,
    room_id: &str,
    gone: Departure,
    event: SystemEvent,
) -> AppResult<()> {
    let left = Outbound::plain(ServerEnvelope::MemberLeft {
        room_id: room_id.to_owned(),
        user: gone.user.clone(),
        member_count: gone.member_count as u32,
    });
    state.realtime.to_room(room_id, &left, None);
    system_chat(state, room_id, event, &gone.user.id).await?;
    let id = room_id.to_owned();
    let owner = state
        .db
        .run(move |c| Ok(room_rows::find(c, &id)?.map(|(r, _)| r.owner_id)))
        .await?;
    if owner.as_deref() == Some(gone.user.id.as_str()) {
        if let Some(next) = state
            .realtime
            .longest_present_except(room_id, &gone.user.id)
            .await?
        {
            set_owner(state, room_id, &next.id).await?;
        }
    }
    announce_room_updated(state, room_id).await?;
    if let Some(epoch) = gone.empty_epoch {
        schedule_empty_room_deletion(state, room_id.to_owned(), epoch);
    }
    Ok(())
}

fn schedule_empty_room_deletion(state: &Data<AppState>, room: String, epoch: u64) {
    let state = state.clone();
    let grace = Duration::from_secs(state.settings.room_empty_grace_secs);
    tokio::spawn(async move {
        tokio::time::sleep(grace).await;
        if state.realtime.hub.still_empty(&room, epoch) {
            delete_now(&state, room).await;
        }
    });
}

async fn delete_now(state: &Data<AppState>, room: String) {
    let (store, id) = (state.gifs.clone(), room.clone());
    let deleted = state.db.write(move |c| {
        if !room_rows::may_vanish(c, &id)? {
            return Ok(false);
        }
        store.delete_room(c, &id)
    });
    match deleted.await {
        Ok(true) => {
            log::info!(
                "deleted room {room}: empty for {}s",
                state.settings.room_empty_grace_secs
            );
            state.realtime.announce_room_deleted(&room);
        }
        Ok(false) => {}
        Err(e) => log::warn!("could not delete empty room {room}: {e}"),
    }
}

/// A cluster sweep found `room` empty for its whole grace, and handed it to
/// this instance alone.
pub fn delete_empty_room(state: &Data<AppState>, room: String) {
    let state = state.clone();
    tokio::spawn(async move { delete_now(&state, room).await });
}

impl crate::cluster::Host for AppState {
    fn deliver(&self, route: crate::cluster::Route, frame: bytestring::ByteString) {
        self.realtime.deliver_remote(route, frame);
    }

    fn local_presence(&self) -> Vec<(String, String)> {
        self.realtime.local_presence()
    }

    fn member_left(self: Arc<Self>, room: String, user: String, count: usize) {
        member_left_everywhere(&Data::from(self), room, user, count);
    }

    fn room_empty(self: Arc<Self>, room: String) {
        delete_empty_room(&Data::from(self), room);
    }
}

/// A cluster sweep found that `user_id`'s leave grace ended, and handed the
/// announcement to this instance alone.
pub fn member_left_everywhere(
    state: &Data<AppState>,
    room: String,
    user_id: String,
    member_count: usize,
) {
    let state = state.clone();
    tokio::spawn(async move {
        let gone = async {
            let user = state.realtime.user(&user_id).await?;
            let gone = Departure {
                user,
                member_count,
                empty_epoch: None,
            };
            member_gone(&state, &room, gone, SystemEvent::Left).await
        };
        if let Err(e) = gone.await {
            log::warn!("after {user_id} left room {room}: {e}");
        }
    });
}

async fn set_owner(state: &Data<AppState>, room_id: &str, user_id: &str) -> AppResult<()> {
    let (id, uid) = (room_id.to_owned(), user_id.to_owned());
    state
        .db
        .write(move |c| Ok(room_rows::set_owner(c, &id, &uid)?))
        .await?;
    system_chat(state, room_id, SystemEvent::OwnerChanged, user_id).await
}

/// Checks that `actor` owns the room and returns it.
async fn owned_room(
    state: &Data<AppState>,
    actor: &str,
    room_id: &str,
) -> AppResult<crate::db::models::Room> {
    let (id, actor) = (room_id.to_owned(), actor.to_owned());
    state
        .db
        .run(move |c| crate::access::find_owned_room(c, &id, &actor))
        .await
}

/// The owner removes `target` from the room and bans them.
pub async fn kick(
    state: &Data<AppState>,
    actor: &str,
    room_id: &str,
    target: &str,
) -> AppResult<()> {
    owned_room(state, actor, room_id).await?;
    if target == actor {
        return Err(AppError::field("user_id", "you cannot kick yourself"));
    }
    if !crate::domain::ids::is_well_formed(target) {
        return Err(AppError::field("user_id", "no such user"));
    }
    let (id, uid) = (room_id.to_owned(), target.to_owned());
    state
        .db
        .write(move |c| {
            if crate::db::users::find(c, &uid)?.is_none() {
                return Err(AppError::field("user_id", "no such user"));
            }
            Ok(room_rows::ban(c, &id, &uid)?)
        })
        .await?;
    let kicked = Outbound::plain(ServerEnvelope::Kicked {
        room_id: room_id.to_owned(),
    });
    let gone = match &state.realtime.cluster {
        None => state.realtime.hub.kick(room_id, target, &kicked),
        Some(cluster) => {
            let count = cluster.kick(room_id, target).await?;
            state.realtime.kick_sockets(room_id, target, &kicked);
            match count {
                None => None,
                Some(member_count) => Some(Departure {
                    user: state.realtime.user(target).await?,
                    member_count,
                    empty_epoch: None,
                }),
            }
        }
    };
    if let Some(gone) = gone {
        member_gone(state, room_id, gone, SystemEvent::Kicked).await?;
    }
    Ok(())
}

/// The owner hands the room to another member.
pub async fn transfer_owner(
    state: &Data<AppState>,
    actor: &str,
    room_id: &str,
    target: &str,
) -> AppResult<()> {
    owned_room(state, actor, room_id).await?;
    if target == actor {
        return Ok(());
    }
    if !state.realtime.is_member(room_id, target).await? {
        return Err(AppError::field(
            "user_id",
            "must be a member of the room now",
        ));
    }
    set_owner(state, room_id, target).await?;
    announce_room_updated(state, room_id).await
}

/// The owner renames, resizes, locks or unlocks, keeps or releases the
/// room. Returns it as it is now, as members and the lobby are told.
pub async fn update_room(
    state: &Data<AppState>,
    actor: &str,
    room_id: &str,
    changes: room_rows::RoomChanges,
) -> AppResult<RoomResponse> {
    owned_room(state, actor, room_id).await?;
    if let Some(max) = changes.max_members {
        let present = state.realtime.member_count(room_id).await;
        if (max as usize) < present {
            return Err(AppError::RoomFull);
        }
    }
    // Locking a public room keeps the people in it now: they are granted
    // the access the password would have given them.
    let present: Vec<String> = match changes.password_hash {
        Some(Some(_)) => state
            .realtime
            .members(room_id)
            .await?
            .into_iter()
            .map(|u| u.id)
            .collect(),
        _ => Vec::new(),
    };
    let id = room_id.to_owned();
    state
        .db
        .write(move |c| {
            diesel::Connection::transaction(c, |c| {
                room_rows::update(c, &id, changes)?;
                for user in &present {
                    room_rows::grant_access(c, &id, user)?;
                }
                Ok(())
            })
        })
        .await?;
    let room = current_room(state, room_id)
        .await?
        .ok_or(AppError::NotFound("room"))?;
    let updated = Outbound::plain(ServerEnvelope::RoomUpdated { room: room.clone() });
    state.realtime.to_lobby(&updated);
    state.realtime.to_room(room_id, &updated, None);
    Ok(room)
}
