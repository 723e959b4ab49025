use diesel::prelude::*;

use super::models::{Chat, NewChat};
use super::schema::{chats, rooms};
use super::{now_millis, users, DbConnection};

/// Appends a chat with the room's next `seq`.
///
/// The transaction starts by bumping `rooms.last_seq`, a write: PostgreSQL
/// then holds the room's row lock and SQLite its write lock until commit, so
/// concurrent posters queue up and a rolled-back insert gives its seq back.
/// Seqs are therefore gapless and unique on both backends.
pub fn append(conn: &mut DbConnection, chat: &NewChat) -> QueryResult<Chat> {
    conn.transaction(|conn| append_in_tx(conn, chat))
}

/// As [`append`], for a caller that already holds a transaction.
pub fn append_in_tx(conn: &mut DbConnection, chat: &NewChat) -> QueryResult<Chat> {
    let bumped = diesel::update(rooms::table.find(&chat.room_id))
        .set(rooms::last_seq.eq(rooms::last_seq + 1))
        .execute(conn)?;
    if bumped == 0 {
        return Err(diesel::result::Error::NotFound);
    }
    let seq: i64 = rooms::table
        .find(&chat.room_id)
        .select(rooms::last_seq)
        .first(conn)?;
    for user in [&chat.user_id, &chat.to_user_id, &chat.subject_id]
        .into_iter()
        .flatten()
    {
        users::ensure(conn, user)?;
    }
    diesel::insert_into(chats::table)
        .values((
            chats::room_id.eq(&chat.room_id),
            chats::seq.eq(seq),
            chats::kind.eq(chat.kind),
            chats::user_id.eq(&chat.user_id),
            chats::body.eq(&chat.body),
            chats::gif_file.eq(&chat.gif_file),
            chats::to_user_id.eq(&chat.to_user_id),
            chats::event.eq(chat.event),
            chats::subject_id.eq(&chat.subject_id),
            chats::created_at.eq(now_millis()),
        ))
        .execute(conn)?;
    chats::table
        .filter(chats::room_id.eq(&chat.room_id).and(chats::seq.eq(seq)))
        .select(Chat::as_select())
        .first(conn)
}

/// The latest `limit` chats after `after` visible to `viewer`, ascending,
/// and whether older ones after `after` were left out.
pub fn latest_after(
    conn: &mut DbConnection,
    room_id: &str,
    viewer: &str,
    after: i64,
    limit: i64,
) -> QueryResult<(Vec<Chat>, bool)> {
    let q = PageQuery {
        before_seq: None,
        after_seq: None,
        limit,
    };
    page(conn, room_id, viewer, q, Some(after))
}

/// Which slice of a room's history to read.
#[derive(Debug, Clone, Copy)]
pub struct PageQuery {
    pub before_seq: Option<i64>,
    pub after_seq: Option<i64>,
    pub limit: i64,
}

/// A page of history as `viewer` may see it (whispers only to their two
/// parties), in ascending seq, and whether more lies beyond it: earlier
/// chats when paging back or reading the latest, later ones when paging on.
pub fn page(
    conn: &mut DbConnection,
    room_id: &str,
    viewer: &str,
    q: PageQuery,
    floor: Option<i64>,
) -> QueryResult<(Vec<Chat>, bool)> {
    let mut query = chats::table
        .filter(chats::room_id.eq(room_id))
        .filter(
            chats::to_user_id
                .is_null()
                .or(chats::to_user_id.eq(viewer))
                .or(chats::user_id.eq(viewer)),
        )
        .select(Chat::as_select())
        .limit(q.limit + 1)
        .into_boxed();
    if let Some(before) = q.before_seq {
        query = query.filter(chats::seq.lt(before));
    }
    if let Some(after) = q.after_seq {
        query = query.filter(chats::seq.gt(after));
    }
    if let Some(floor) = floor {
        query = query.filter(chats::seq.gt(floor));
    }
    let forward = q.after_seq.is_some();
    query = if forward {
        query.order(chats::seq.asc())
    } else {
        query.order(chats::seq.desc())
    };
    let mut rows = query.load(conn)?;
    let has_more = rows.len() as i64 > q.limit;
    rows.truncate(q.limit as usize);
    if !forward {
        rows.reverse();
    }
    Ok((rows, has_more))
}
