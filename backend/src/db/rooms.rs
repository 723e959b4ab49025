use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use super::models::{Room, RoomBan, User};
use super::schema::{room_access, room_bans, rooms, users};
use super::{native, now_millis, users as user_rows, DbConnection};

/// A room with its owner, as every response shows it.
pub type RoomWithOwner = (Room, User);

pub fn list(conn: &mut DbConnection) -> QueryResult<Vec<RoomWithOwner>> {
    rooms::table
        .inner_join(users::table)
        .select((Room::as_select(), User::as_select()))
        .order((rooms::created_at.asc(), rooms::id.asc()))
        .load(conn)
}

/// Every room's id.
pub fn ids(conn: &mut DbConnection) -> QueryResult<Vec<String>> {
    rooms::table.select(rooms::id).load(conn)
}

/// A lookup by primary key, so without `LIMIT`: SQLite plans a bound
/// `LIMIT ?` with its value and recompiles the statement whenever it is bound
/// again, which would undo the statement cache on this, the hottest read.
pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<RoomWithOwner>> {
    native!(conn, |c| rooms::table
        .inner_join(users::table)
        .filter(rooms::id.eq(id))
        .select((Room::as_select(), User::as_select()))
        .get_result(c))
    .optional()
}

/// Inserts the room and gives its creator access, in one transaction.
pub fn create(conn: &mut DbConnection, room: &Room) -> QueryResult<RoomWithOwner> {
    conn.transaction(|conn| {
        user_rows::ensure(conn, &room.owner_id)?;
        diesel::insert_into(rooms::table)
            .values(room)
            .execute(conn)?;
        grant_access(conn, &room.id, &room.owner_id)?;
        find(conn, &room.id)?.ok_or(diesel::result::Error::NotFound)
    })
}

/// Deletes the room; its chats, access grants and bans cascade with it.
pub fn delete(conn: &mut DbConnection, id: &str) -> QueryResult<bool> {
    diesel::delete(rooms::table.find(id))
        .execute(conn)
        .map(|n| n > 0)
}

pub fn has_access(conn: &mut DbConnection, room_id: &str, user_id: &str) -> QueryResult<bool> {
    let query = diesel::select(diesel::dsl::exists(
        room_access::table.find((room_id, user_id)),
    ));
    native!(conn, |c| query.get_result(c))
}

pub fn grant_access(conn: &mut DbConnection, room_id: &str, user_id: &str) -> QueryResult<()> {
    user_rows::ensure(conn, user_id)?;
    diesel::sql_query(
        "INSERT INTO room_access (room_id, user_id, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (room_id, user_id) DO NOTHING",
    )
    .bind::<Text, _>(room_id)
    .bind::<Text, _>(user_id)
    .bind::<BigInt, _>(now_millis())
    .execute(conn)
    .map(drop)
}

pub fn is_banned(conn: &mut DbConnection, room_id: &str, user_id: &str) -> QueryResult<bool> {
    let query = diesel::select(diesel::dsl::exists(
        room_bans::table.find((room_id, user_id)),
    ));
    native!(conn, |c| query.get_result(c))
}

/// Bans the user (who must have a row) and withdraws any access they had,
/// so a kicked user cannot come back with the password either.
pub fn ban(conn: &mut DbConnection, room_id: &str, user_id: &str) -> QueryResult<()> {
    conn.transaction(|conn| {
        if !is_banned(conn, room_id, user_id)? {
            diesel::insert_into(room_bans::table)
                .values(RoomBan {
                    room_id,
                    user_id,
                    created_at: now_millis(),
                })
                .execute(conn)?;
        }
        diesel::delete(room_access::table.find((room_id, user_id))).execute(conn)?;
        Ok(())
    })
}

pub fn set_owner(conn: &mut DbConnection, room_id: &str, owner_id: &str) -> QueryResult<()> {
    user_rows::ensure(conn, owner_id)?;
    diesel::update(rooms::table.find(room_id))
        .set(rooms::owner_id.eq(owner_id))
        .execute(conn)
        .map(drop)
}

/// The owner's changes to a room, already checked; absent fields stay.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = rooms)]
pub struct RoomChanges {
    pub title: Option<String>,
    pub max_members: Option<i32>,
    /// `Some(None)` makes the room public.
    pub password_hash: Option<Option<String>>,
    pub keep: Option<bool>,
}

impl RoomChanges {
    fn is_empty(&self) -> bool {
        self.title.is_none()
            && self.max_members.is_none()
            && self.password_hash.is_none()
            && self.keep.is_none()
    }
}

/// Writes the changes in one statement.
pub fn update(conn: &mut DbConnection, room_id: &str, changes: RoomChanges) -> QueryResult<()> {
    if changes.is_empty() {
        return Ok(());
    }
    diesel::update(rooms::table.find(room_id))
        .set(changes)
        .execute(conn)
        .map(drop)
}

/// Whether a room left empty may be deleted now: it is not kept, and its
/// owner was in it and has left (their last membership event there is a
/// leave). Ownership passes to someone present when the owner leaves, so
/// the last to leave a room in use is its owner; a visitor who enters an
/// idle room and leaves again never is, so visiting cannot get a room
/// deleted with its history.
pub fn may_vanish(conn: &mut DbConnection, room_id: &str) -> QueryResult<bool> {
    use super::schema::chats;
    use crate::api::SystemEvent;
    let Some((keep, owner)) = rooms::table
        .find(room_id)
        .select((rooms::keep, rooms::owner_id))
        .get_result::<(bool, String)>(conn)
        .optional()?
    else {
        return Ok(false);
    };
    if keep {
        return Ok(false);
    }
    let owners_last: Option<Option<String>> = chats::table
        .filter(chats::room_id.eq(room_id))
        .filter(chats::kind.eq("system"))
        .filter(chats::subject_id.eq(&owner))
        .filter(chats::event.eq_any([SystemEvent::Joined.as_str(), SystemEvent::Left.as_str()]))
        .order(chats::seq.desc())
        .select(chats::event)
        .first(conn)
        .optional()?;
    Ok(owners_last.flatten().as_deref() == Some(SystemEvent::Left.as_str()))
}
