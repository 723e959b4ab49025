use std::collections::HashMap;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};

use super::models::{Chat, NewChat, Reaction};
use super::schema::{chats, reactions, rooms};
use super::{gifs, now_millis, placeholders, users, DbConnection, Prepared, SqlBySize};
use crate::api::ChatResponse;

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
    let taken = take_seqs(conn, &chat.room_id, 1)?;
    for user in [&chat.user_id, &chat.to_user_id, &chat.subject_id]
        .into_iter()
        .flatten()
    {
        users::ensure(conn, user)?;
    }
    insert_many(conn, &[(chat.clone(), taken.last_seq, taken.last_rev)])?
        .pop()
        .ok_or(diesel::result::Error::NotFound)
}

/// The last seq and rev a room handed out.
#[derive(Debug, Clone, Copy, QueryableByName)]
pub struct Taken {
    #[diesel(sql_type = BigInt)]
    pub last_seq: i64,
    #[diesel(sql_type = BigInt)]
    pub last_rev: i64,
}

/// Takes the room's next `count` seqs, and as many revs (creating a chat is
/// a change), inside the caller's transaction, and returns the last of
/// each. Plain SQL with `RETURNING` (SQLite 3.35+ and PostgreSQL) bumps and
/// reads in one statement.
pub fn take_seqs(conn: &mut DbConnection, room_id: &str, count: i64) -> QueryResult<Taken> {
    Prepared(
        // SQLite numbers `$n` parameters in the order they appear, so they
        // must appear in the order they are bound.
        diesel::sql_query(
            "UPDATE rooms SET last_seq = last_seq + $1, last_rev = last_rev + $2 WHERE id = $3 \
             RETURNING last_seq, last_rev",
        )
        .bind::<BigInt, _>(count)
        .bind::<BigInt, _>(count)
        .bind::<Text, _>(room_id),
    )
    .get_result::<Taken>(conn)
}

/// Takes the room's next rev for a change to one of its chats, inside the
/// caller's transaction (which then holds the room's row, as [`take_seqs`]
/// does).
pub fn take_rev(conn: &mut DbConnection, room_id: &str) -> QueryResult<i64> {
    #[derive(QueryableByName)]
    struct Rev {
        #[diesel(sql_type = BigInt)]
        last_rev: i64,
    }
    Ok(Prepared(
        diesel::sql_query(
            "UPDATE rooms SET last_rev = last_rev + 1 WHERE id = $1 RETURNING last_rev",
        )
        .bind::<Text, _>(room_id),
    )
    .get_result::<Rev>(conn)?
    .last_rev)
}

/// Inserts chats under the seqs and revs taken with [`take_seqs`] in the
/// same transaction, in order; their users' rows must exist.
///
/// Rows go in as few statements as the statement cache allows: in groups
/// whose sizes are powers of two (21 rows: 16, 4 and 1), each size one
/// statement the connection keeps compiled. For PostgreSQL that is a few
/// round trips per batch of chats instead of one per chat.
pub fn insert_many(
    conn: &mut DbConnection,
    rows: &[(NewChat, i64, i64)],
) -> QueryResult<Vec<Chat>> {
    #[derive(QueryableByName)]
    struct Inserted {
        #[diesel(sql_type = BigInt)]
        id: i64,
        #[diesel(sql_type = Text)]
        room_id: String,
        #[diesel(sql_type = BigInt)]
        seq: i64,
    }
    const COLUMNS: usize = 14;
    static INSERT: SqlBySize = SqlBySize::new(|rows| {
        let values: Vec<String> = (0..rows)
            .map(|row| format!("({})", placeholders(row * COLUMNS + 1, COLUMNS)))
            .collect();
        format!(
            "INSERT INTO chats (room_id, seq, kind, user_id, body, gif_file, to_user_id, event, subject_id, created_at, client_id, rev, reply_to_seq, gif_alt) \
             VALUES {} RETURNING id, room_id, seq",
            values.join(", ")
        )
    });
    let created_at = now_millis();
    // Where each (room, seq), unique, sits in `rows`: `RETURNING` does not
    // promise the order of its rows.
    let position: HashMap<(&str, i64), usize> = rows
        .iter()
        .enumerate()
        .map(|(i, (chat, seq, _))| ((chat.room_id.as_str(), *seq), i))
        .collect();
    let mut ids: Vec<Option<i64>> = vec![None; rows.len()];
    let mut rest = rows;
    while !rest.is_empty() {
        let (group, tail) = rest.split_at(1 << rest.len().ilog2());
        let mut query = diesel::sql_query(INSERT.get(group.len())).into_boxed();
        for (chat, seq, rev) in group {
            query = query
                .bind::<Text, _>(&chat.room_id)
                .bind::<BigInt, _>(*seq)
                .bind::<Text, _>(chat.kind)
                .bind::<Nullable<Text>, _>(&chat.user_id)
                .bind::<Nullable<Text>, _>(&chat.body)
                .bind::<Nullable<Text>, _>(&chat.gif_file)
                .bind::<Nullable<Text>, _>(&chat.to_user_id)
                .bind::<Nullable<Text>, _>(chat.event)
                .bind::<Nullable<Text>, _>(&chat.subject_id)
                .bind::<BigInt, _>(created_at)
                .bind::<Nullable<Text>, _>(&chat.client_id)
                .bind::<BigInt, _>(*rev)
                .bind::<Nullable<BigInt>, _>(chat.reply_to_seq)
                .bind::<Nullable<Text>, _>(&chat.gif_alt);
        }
        for row in Prepared(query).load::<Inserted>(conn)? {
            if let Some(&i) = position.get(&(row.room_id.as_str(), row.seq)) {
                ids[i] = Some(row.id);
            }
        }
        rest = tail;
    }
    rows.iter()
        .zip(ids)
        .map(|((chat, seq, rev), id)| {
            Ok(Chat {
                id: id.ok_or(diesel::result::Error::NotFound)?,
                room_id: chat.room_id.clone(),
                seq: *seq,
                kind: chat.kind.to_owned(),
                user_id: chat.user_id.clone(),
                body: chat.body.clone(),
                gif_file: chat.gif_file.clone(),
                to_user_id: chat.to_user_id.clone(),
                event: chat.event.map(str::to_owned),
                subject_id: chat.subject_id.clone(),
                created_at,
                client_id: chat.client_id.clone(),
                rev: *rev,
                reply_to_seq: chat.reply_to_seq,
                edited_at: None,
                deleted: false,
                gif_alt: chat.gif_alt.clone(),
            })
        })
        .collect()
}

/// A post as its client named it: `client_id` in `room_id` by `user_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PostKey<'a> {
    pub room_id: &'a str,
    pub user_id: &'a str,
    pub client_id: &'a str,
}

/// The most keys one statement asks for.
const KEYS_AT_ONCE: usize = 64;

/// The chats already posted under these keys (each at most once: the
/// unique index on `(room_id, user_id, client_id)` says so), in one
/// statement for up to 64 keys.
///
/// As in `users::find_many`, the number of keys asked for is rounded up to
/// a power of two by repeating the last, so each size is one statement the
/// connection keeps compiled.
pub fn find_posted(conn: &mut DbConnection, keys: &[PostKey<'_>]) -> QueryResult<Vec<Chat>> {
    static FIND: SqlBySize = SqlBySize::new(|width| {
        let keys: Vec<String> = (0..width)
            .map(|i| {
                format!(
                    "(room_id = ${} AND user_id = ${} AND client_id = ${})",
                    3 * i + 1,
                    3 * i + 2,
                    3 * i + 3
                )
            })
            .collect();
        format!(
            "SELECT id, room_id, seq, kind, user_id, body, gif_file, to_user_id, event, subject_id, \
             created_at, client_id, rev, reply_to_seq, edited_at, deleted, gif_alt FROM chats WHERE {}",
            keys.join(" OR ")
        )
    });
    let mut keys = keys.to_vec();
    keys.sort_unstable();
    keys.dedup();
    let mut found = Vec::new();
    for chunk in keys.chunks(KEYS_AT_ONCE) {
        let width = chunk.len().next_power_of_two();
        let mut query = diesel::sql_query(FIND.get(width)).into_boxed();
        for i in 0..width {
            let key = chunk[i.min(chunk.len() - 1)];
            query = query
                .bind::<Text, _>(key.room_id)
                .bind::<Text, _>(key.user_id)
                .bind::<Text, _>(key.client_id);
        }
        found.extend(Prepared(query).load::<Chat>(conn)?);
    }
    Ok(found)
}

/// The chat already posted under `key`, if any.
pub fn find_one_posted(conn: &mut DbConnection, key: PostKey<'_>) -> QueryResult<Option<Chat>> {
    Ok(find_posted(conn, &[key])?.pop())
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
        .filter(visible_to(viewer))
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

/// Whether `viewer` may see a chat: a whisper only its two parties.
#[diesel::dsl::auto_type]
pub(super) fn visible_to<'a>(viewer: &'a str) -> _ {
    chats::to_user_id
        .is_null()
        .or(chats::to_user_id.eq(viewer))
        .or(chats::user_id.eq(viewer))
}

/// The chats `viewer` may see whose last change came after rev `after`
/// (and, with `seq_at_most`, only those up to that seq), in ascending rev,
/// at most `limit`, and whether more follow.
///
/// A chat never changed since it was posted still has the rev it was posted
/// with, and those grow with seq; only changed chats are indexed by rev
/// (`chats_changed`), so this reads them there and the unchanged ones by
/// seq. Each change took one rev without a seq, so an unchanged chat posted
/// after `after` has a seq above `after` less the room's changes.
pub fn changed_after(
    conn: &mut DbConnection,
    room_id: &str,
    viewer: &str,
    after: i64,
    seq_at_most: Option<i64>,
    limit: i64,
) -> QueryResult<(Vec<Chat>, bool)> {
    let (last_seq, last_rev): (i64, i64) = rooms::table
        .find(room_id)
        .select((rooms::last_seq, rooms::last_rev))
        .first(conn)
        .optional()?
        .unwrap_or_default();
    let most = seq_at_most.unwrap_or(i64::MAX);
    let changed: Vec<Chat> = chats::table
        .filter(chats::room_id.eq(room_id))
        // Literal, so both databases match the partial index's predicate.
        .filter(diesel::dsl::sql::<diesel::sql_types::Bool>("changed"))
        .filter(chats::rev.gt(after))
        .filter(chats::seq.le(most))
        .filter(visible_to(viewer))
        .select(Chat::as_select())
        .order(chats::rev.asc())
        .limit(limit + 1)
        .load(conn)?;
    let posted_after = after - (last_rev - last_seq);
    let unchanged: Vec<Chat> = chats::table
        .filter(chats::room_id.eq(room_id))
        .filter(chats::seq.gt(posted_after))
        .filter(chats::seq.le(most))
        .filter(chats::changed.eq(false))
        .filter(chats::rev.gt(after))
        .filter(visible_to(viewer))
        .select(Chat::as_select())
        .order(chats::seq.asc())
        .limit(limit + 1)
        .load(conn)?;
    let mut rows = changed;
    rows.extend(unchanged);
    rows.sort_unstable_by_key(|c| c.rev);
    let has_more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    Ok((rows, has_more))
}

/// The chat at `seq` in the room, if `viewer` may see it.
pub fn find_visible(
    conn: &mut DbConnection,
    room_id: &str,
    seq: i64,
    viewer: &str,
) -> QueryResult<Option<Chat>> {
    chats::table
        .filter(chats::room_id.eq(room_id))
        .filter(chats::seq.eq(seq))
        .filter(visible_to(viewer))
        .select(Chat::as_select())
        .first(conn)
        .optional()
}

/// A text chat's new text, as its change `rev`.
pub fn set_text(conn: &mut DbConnection, id: i64, text: &str, rev: i64) -> QueryResult<()> {
    diesel::update(chats::table.find(id))
        .set((
            chats::body.eq(text),
            chats::edited_at.eq(now_millis()),
            chats::rev.eq(rev),
            chats::changed.eq(true),
        ))
        .execute(conn)
        .map(drop)
}

/// Sets a GIF chat's description as change `rev`.
pub fn set_alt(conn: &mut DbConnection, id: i64, alt: Option<&str>, rev: i64) -> QueryResult<()> {
    diesel::update(chats::table.find(id))
        .set((
            chats::gif_alt.eq(alt),
            chats::edited_at.eq(now_millis()),
            chats::rev.eq(rev),
            chats::changed.eq(true),
        ))
        .execute(conn)
        .map(drop)
}

/// Makes a chat a tombstone as change `rev`: its text, GIF, reply and
/// reactions go; its seq, author and time stay.
pub fn tombstone(conn: &mut DbConnection, id: i64, rev: i64) -> QueryResult<()> {
    diesel::delete(reactions::table.filter(reactions::chat_id.eq(id))).execute(conn)?;
    diesel::update(chats::table.find(id))
        .set((
            chats::body.eq(None::<String>),
            chats::gif_file.eq(None::<String>),
            chats::gif_alt.eq(None::<String>),
            chats::reply_to_seq.eq(None::<i64>),
            chats::deleted.eq(true),
            chats::rev.eq(rev),
            chats::changed.eq(true),
        ))
        .execute(conn)
        .map(drop)
}

/// Records change `rev` of a chat whose content stayed (its reactions).
pub fn set_rev(conn: &mut DbConnection, id: i64, rev: i64) -> QueryResult<()> {
    diesel::update(chats::table.find(id))
        .set((chats::rev.eq(rev), chats::changed.eq(true)))
        .execute(conn)
        .map(drop)
}

/// Adds `user_id`'s `emoji` to a chat; false if it was there already.
pub fn add_reaction(
    conn: &mut DbConnection,
    chat_id: i64,
    emoji: &str,
    user_id: &str,
) -> QueryResult<bool> {
    let added = diesel::sql_query(
        "INSERT INTO reactions (chat_id, emoji, user_id, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (chat_id, emoji, user_id) DO NOTHING",
    )
    .bind::<BigInt, _>(chat_id)
    .bind::<Text, _>(emoji)
    .bind::<Text, _>(user_id)
    .bind::<BigInt, _>(now_millis())
    .execute(conn)?;
    Ok(added > 0)
}

/// Removes `user_id`'s `emoji` from a chat; false if it was not there.
pub fn remove_reaction(
    conn: &mut DbConnection,
    chat_id: i64,
    emoji: &str,
    user_id: &str,
) -> QueryResult<bool> {
    let removed = diesel::delete(
        reactions::table
            .filter(reactions::chat_id.eq(chat_id))
            .filter(reactions::emoji.eq(emoji))
            .filter(reactions::user_id.eq(user_id)),
    )
    .execute(conn)?;
    Ok(removed > 0)
}

/// The distinct emojis on a chat.
pub fn emojis_on(conn: &mut DbConnection, chat_id: i64) -> QueryResult<Vec<String>> {
    reactions::table
        .filter(reactions::chat_id.eq(chat_id))
        .select(reactions::emoji)
        .distinct()
        .load(conn)
}

/// The reactions on these chats, oldest first.
fn reactions_of(conn: &mut DbConnection, chat_ids: &[i64]) -> QueryResult<Vec<Reaction>> {
    if chat_ids.is_empty() {
        return Ok(Vec::new());
    }
    reactions::table
        .filter(reactions::chat_id.eq_any(chat_ids))
        .select(Reaction::as_select())
        .order(reactions::id.asc())
        .load(conn)
}

/// The chats that `rows` answer, by (room, seq).
fn answered(conn: &mut DbConnection, rows: &[Chat]) -> QueryResult<HashMap<(String, i64), Chat>> {
    let mut rooms: Vec<&str> = Vec::new();
    let mut seqs: Vec<i64> = Vec::new();
    for row in rows {
        if let Some(seq) = row.reply_to_seq {
            rooms.push(&row.room_id);
            seqs.push(seq);
        }
    }
    if seqs.is_empty() {
        return Ok(HashMap::new());
    }
    rooms.sort_unstable();
    rooms.dedup();
    seqs.sort_unstable();
    seqs.dedup();
    Ok(chats::table
        .filter(chats::room_id.eq_any(&rooms))
        .filter(chats::seq.eq_any(&seqs))
        .select(Chat::as_select())
        .load(conn)?
        .into_iter()
        .map(|c| ((c.room_id.clone(), c.seq), c))
        .collect())
}

/// The responses for `rows`, in their order, loading the users and GIFs they
/// mention in two queries.
pub fn load_responses(conn: &mut DbConnection, rows: &[Chat]) -> QueryResult<Vec<ChatResponse>> {
    load(conn, rows, |_| true)
}

/// [`load_responses`] for rows of which those that `is_new` says were just
/// created (and so have no reactions yet).
pub fn load_responses_of_new(
    conn: &mut DbConnection,
    rows: &[Chat],
    is_new: &[bool],
) -> QueryResult<Vec<ChatResponse>> {
    load(conn, rows, |i| !is_new.get(i).copied().unwrap_or(false))
}

fn load(
    conn: &mut DbConnection,
    rows: &[Chat],
    may_have_reactions: impl Fn(usize) -> bool,
) -> QueryResult<Vec<ChatResponse>> {
    let answered = answered(conn, rows)?;
    let mut user_ids: Vec<&str> = rows
        .iter()
        .flat_map(|c| [&c.user_id, &c.to_user_id, &c.subject_id])
        .chain(answered.values().map(|c| &c.user_id))
        .filter_map(|id| id.as_deref())
        .collect();
    let asked: Vec<i64> = rows
        .iter()
        .enumerate()
        .filter(|(i, c)| !c.deleted && may_have_reactions(*i))
        .map(|(_, c)| c.id)
        .collect();
    let reactions = reactions_of(conn, &asked)?;
    user_ids.extend(reactions.iter().map(|r| r.user_id.as_str()));
    user_ids.sort_unstable();
    user_ids.dedup();
    // Each user's response (and colour) is built once, then cloned per chat.
    let users = users::load_responses(conn, &user_ids)?;
    let files: Vec<&str> = rows.iter().filter_map(|c| c.gif_file.as_deref()).collect();
    let gifs = gifs::find_many(conn, &files)?;
    let mut by_chat: HashMap<i64, Vec<&Reaction>> = HashMap::new();
    for reaction in &reactions {
        by_chat.entry(reaction.chat_id).or_default().push(reaction);
    }
    Ok(rows
        .iter()
        .map(|c| {
            let gif = c.gif_file.as_deref().and_then(|f| gifs.get(f));
            let original = c
                .reply_to_seq
                .and_then(|seq| answered.get(&(c.room_id.clone(), seq)));
            let reactions = by_chat.get(&c.id).map(Vec::as_slice).unwrap_or_default();
            ChatResponse::from_row(c, &users, gif, original, reactions)
        })
        .collect())
}

/// [`load_responses`] for one chat.
pub fn load_response(conn: &mut DbConnection, row: Chat) -> QueryResult<ChatResponse> {
    load_responses(conn, std::slice::from_ref(&row))?
        .pop()
        .ok_or(diesel::result::Error::NotFound)
}
