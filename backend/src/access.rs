//! Who may do what in a room. Every room rule lives here, so routes, the
//! socket, the event stream and the chat writer apply the same ones.

use crate::db::models::Room;
use crate::db::rooms::{self, RoomWithOwner};
use crate::db::{users, DbConnection};
use crate::domain::ids;
use crate::error::{AppError, AppResult};

/// Loads a room, answering `not_found` for ids that cannot exist without
/// asking the database.
pub fn find_room(conn: &mut DbConnection, id: &str) -> AppResult<RoomWithOwner> {
    if !ids::is_well_formed(id) {
        return Err(AppError::NotFound("room"));
    }
    rooms::find(conn, id)?.ok_or(AppError::NotFound("room"))
}

/// Loads a room the user may read (see [`ensure_can_read`]).
pub fn find_readable_room(
    conn: &mut DbConnection,
    id: &str,
    user_id: &str,
) -> AppResult<RoomWithOwner> {
    let found = find_room(conn, id)?;
    ensure_can_read(conn, &found.0, user_id)?;
    Ok(found)
}

/// Loads a room and checks that `actor` owns it.
pub fn find_owned_room(conn: &mut DbConnection, id: &str, actor: &str) -> AppResult<Room> {
    let (room, _) = find_room(conn, id)?;
    if room.owner_id != actor {
        return Err(AppError::Forbidden(
            "only the room's owner may do that".into(),
        ));
    }
    Ok(room)
}

/// A user may read a room unless banned from it; a secret room only its
/// owner and those who joined it with the password.
pub fn ensure_can_read(conn: &mut DbConnection, room: &Room, user_id: &str) -> AppResult<()> {
    if rooms::is_banned(conn, &room.id, user_id)? {
        return Err(AppError::Banned);
    }
    if room.password_hash.is_some() && room.owner_id != user_id && !has_access(conn, room, user_id)?
    {
        return Err(AppError::Forbidden(
            "this room is secret: join it with its password first".into(),
        ));
    }
    Ok(())
}

/// Whether the user may enter without the password: the room is public, or
/// they own it or joined it with the password before. Bans are separate.
pub fn has_access(conn: &mut DbConnection, room: &Room, user_id: &str) -> AppResult<bool> {
    Ok(room.password_hash.is_none()
        || room.owner_id == user_id
        || rooms::has_access(conn, &room.id, user_id)?)
}

/// Refuses a banned user.
pub fn ensure_not_banned(conn: &mut DbConnection, room: &Room, user_id: &str) -> AppResult<()> {
    if rooms::is_banned(conn, &room.id, user_id)? {
        return Err(AppError::Banned);
    }
    Ok(())
}

/// Checks that a whisper's recipient exists, is not the sender, and may read
/// the room. `known` says the caller already knows the recipient is stored.
pub fn check_recipient(
    conn: &mut DbConnection,
    room: &Room,
    from: &str,
    to: &str,
    known: bool,
) -> AppResult<()> {
    if to == from {
        return Err(AppError::field("to", "you cannot whisper to yourself"));
    }
    if !ids::is_well_formed(to) || (!known && users::find(conn, to)?.is_none()) {
        return Err(AppError::field("to", "no such user"));
    }
    ensure_can_read(conn, room, to)
        .map_err(|_| AppError::field("to", "that user cannot read this room"))
}

/// Checks what a post answers: a chat at `seq` in the room that the poster
/// can see. A reply shows its original's excerpt to everyone who sees the
/// reply, so a whisper is answered only by a whisper between the same two.
pub fn check_reply(
    conn: &mut DbConnection,
    room: &Room,
    poster: &str,
    to: Option<&str>,
    seq: i64,
) -> AppResult<()> {
    let original =
        crate::db::chats::find_visible(conn, &room.id, seq, poster)?.ok_or_else(|| {
            AppError::field("reply_to", "no chat with that seq you can see in this room")
        })?;
    if let Some(whispered_to) = &original.to_user_id {
        let parties = |a: &str, b: &str| {
            let mut p = [a.to_owned(), b.to_owned()];
            p.sort();
            p
        };
        let theirs = parties(
            original.user_id.as_deref().unwrap_or_default(),
            whispered_to,
        );
        let same = to.is_some_and(|to| parties(poster, to) == theirs);
        if !same {
            return Err(AppError::field(
                "reply_to",
                "a whisper can only be answered by a whisper between the same two people",
            ));
        }
    }
    Ok(())
}
