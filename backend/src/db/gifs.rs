use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text};

use std::collections::HashMap;

use diesel::sql_types::{Bool, Nullable};

use super::models::{Gif, GifVariant};
use super::schema::{chats, gif_variants, gifs, room_access, room_bans, rooms};
use super::DbConnection;

/// A stored GIF with its renditions, smallest first.
#[derive(Debug, Clone)]
pub struct StoredGif {
    pub row: Gif,
    pub variants: Vec<GifVariant>,
}

/// Records a stored file; the same bytes uploaded again keep the first
/// row, and its poster if the first had none.
pub fn insert_if_missing(conn: &mut DbConnection, gif: &Gif) -> QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO gifs (file, width, height, bytes, created_at, poster, processed) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (file) DO UPDATE SET poster = COALESCE(gifs.poster, excluded.poster)",
    )
    .bind::<Text, _>(&gif.file)
    .bind::<Integer, _>(gif.width)
    .bind::<Integer, _>(gif.height)
    .bind::<BigInt, _>(gif.bytes)
    .bind::<BigInt, _>(gif.created_at)
    .bind::<Nullable<Text>, _>(&gif.poster)
    .bind::<Bool, _>(gif.processed)
    .execute(conn)
    .map(drop)
}

pub fn find(conn: &mut DbConnection, file: &str) -> QueryResult<Option<Gif>> {
    gifs::table
        .find(file)
        .select(Gif::as_select())
        .first(conn)
        .optional()
}

pub fn set_poster(conn: &mut DbConnection, file: &str, poster: &str) -> QueryResult<()> {
    diesel::update(gifs::table.find(file))
        .set(gifs::poster.eq(poster))
        .execute(conn)
        .map(drop)
}

/// Records a rendition (once) and that renditions were tried.
pub fn finish_processing(
    conn: &mut DbConnection,
    file: &str,
    made: &[GifVariant],
) -> QueryResult<()> {
    for variant in made {
        diesel::sql_query(
            "INSERT INTO gif_variants (file, gif_file, type, width, height, bytes) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (file) DO NOTHING",
        )
        .bind::<Text, _>(&variant.file)
        .bind::<Text, _>(&variant.gif_file)
        .bind::<Text, _>(&variant.kind)
        .bind::<Integer, _>(variant.width)
        .bind::<Integer, _>(variant.height)
        .bind::<BigInt, _>(variant.bytes)
        .execute(conn)?;
    }
    diesel::update(gifs::table.find(file))
        .set(gifs::processed.eq(true))
        .execute(conn)
        .map(drop)
}

/// Up to `limit` GIFs still waiting for a poster or renditions, oldest first.
pub fn unprocessed(conn: &mut DbConnection, limit: i64) -> QueryResult<Vec<Gif>> {
    gifs::table
        .filter(gifs::processed.eq(false))
        .order(gifs::created_at.asc())
        .select(Gif::as_select())
        .limit(limit)
        .load(conn)
}

/// The newest `limit` chats that show this GIF now: `(room_id, seq, author)`.
pub fn chats_showing(
    conn: &mut DbConnection,
    file: &str,
    limit: i64,
) -> QueryResult<Vec<(String, i64, Option<String>)>> {
    chats::table
        .filter(chats::gif_file.eq(file))
        .order(chats::id.desc())
        .limit(limit)
        .select((chats::room_id, chats::seq, chats::user_id))
        .load(conn)
}

pub fn exists(conn: &mut DbConnection, file: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(gifs::table.find(file))).get_result(conn)
}

/// These GIFs with their renditions, by file name.
pub fn find_many(
    conn: &mut DbConnection,
    files: &[&str],
) -> QueryResult<HashMap<String, StoredGif>> {
    if files.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<Gif> = gifs::table
        .filter(gifs::file.eq_any(files))
        .select(Gif::as_select())
        .load(conn)?;
    let processed: Vec<&str> = rows
        .iter()
        .filter(|g| g.processed)
        .map(|g| g.file.as_str())
        .collect();
    let mut variants: HashMap<String, Vec<GifVariant>> = HashMap::new();
    if !processed.is_empty() {
        let found: Vec<GifVariant> = gif_variants::table
            .filter(gif_variants::gif_file.eq_any(&processed))
            .order((gif_variants::gif_file, gif_variants::bytes.asc()))
            .select(GifVariant::as_select())
            .load(conn)?;
        for variant in found {
            variants
                .entry(variant.gif_file.clone())
                .or_default()
                .push(variant);
        }
    }
    Ok(rows
        .into_iter()
        .map(|row| {
            let variants = variants.remove(&row.file).unwrap_or_default();
            (row.file.clone(), StoredGif { row, variants })
        })
        .collect())
}

/// Deletes the rows of these GIFs and of their renditions.
fn delete_rows(conn: &mut DbConnection, orphans: &[String]) -> QueryResult<()> {
    if orphans.is_empty() {
        return Ok(());
    }
    diesel::delete(gif_variants::table.filter(gif_variants::gif_file.eq_any(orphans)))
        .execute(conn)?;
    diesel::delete(gifs::table.filter(gifs::file.eq_any(orphans))).execute(conn)?;
    Ok(())
}

/// Deletes the rows of GIFs no chat refers to (and of their renditions)
/// and returns their names.
pub fn delete_unreferenced(conn: &mut DbConnection) -> QueryResult<Vec<String>> {
    conn.transaction(|conn| {
        let referenced = chats::table
            .filter(chats::gif_file.eq(gifs::file.nullable()))
            .select(chats::id);
        let orphans: Vec<String> = gifs::table
            .filter(diesel::dsl::not(diesel::dsl::exists(referenced)))
            .select(gifs::file)
            .load(conn)?;
        delete_rows(conn, &orphans)?;
        Ok(orphans)
    })
}

/// [`delete_unreferenced`] for these files only.
pub fn delete_unreferenced_among(
    conn: &mut DbConnection,
    files: &[String],
) -> QueryResult<Vec<String>> {
    if files.is_empty() {
        return Ok(Vec::new());
    }
    let referenced = chats::table
        .filter(chats::gif_file.eq(gifs::file.nullable()))
        .select(chats::id);
    let orphans: Vec<String> = gifs::table
        .filter(gifs::file.eq_any(files))
        .filter(diesel::dsl::not(diesel::dsl::exists(referenced)))
        .select(gifs::file)
        .load(conn)?;
    delete_rows(conn, &orphans)?;
    Ok(orphans)
}

/// Rooms `viewer` may read: public ones, and secret ones they own or have
/// access to, where they are not banned.
#[diesel::dsl::auto_type]
fn readable_room<'a>(viewer: &'a str) -> _ {
    rooms::password_hash
        .is_null()
        .or(rooms::owner_id.eq(viewer))
        .or(diesel::dsl::exists(
            room_access::table
                .filter(room_access::room_id.eq(rooms::id))
                .filter(room_access::user_id.eq(viewer)),
        ))
        .and(diesel::dsl::not(diesel::dsl::exists(
            room_bans::table
                .filter(room_bans::room_id.eq(rooms::id))
                .filter(room_bans::user_id.eq(viewer)),
        )))
}

/// The full-text predicate's opening for this connection's backend; the
/// query (see [`full_text_query`]) is bound after it, then `)`.
fn match_opening(conn: &DbConnection) -> &'static str {
    match conn {
        DbConnection::Sqlite(_) => {
            "chats.id IN (SELECT rowid FROM chat_alts WHERE chat_alts MATCH "
        }
        DbConnection::Pg(_) => {
            "chats.gif_alt IS NOT NULL AND to_tsvector('simple', chats.gif_alt) @@ to_tsquery('simple', "
        }
    }
}

/// The newest chat of each GIF among those `viewer` can see (in rooms they
/// may read, not deleted, a whisper only to its parties), showing one of
/// `files` if given, with a description if `described`, and with `words`
/// (a [`full_text_query`]) only those whose description matches:
/// `(file, chat id)`, newest first, at most `limit`. One row per GIF
/// however often it was posted.
fn newest_per_gif(
    conn: &mut DbConnection,
    viewer: &str,
    words: Option<&str>,
    described: bool,
    files: Option<&[String]>,
    limit: i64,
) -> QueryResult<Vec<(Option<String>, Option<i64>)>> {
    use diesel::dsl::max;
    let readable = rooms::table.filter(readable_room(viewer)).select(rooms::id);
    let mut query = chats::table
        .filter(chats::gif_file.is_not_null())
        .filter(chats::deleted.eq(false))
        .filter(super::chats::visible_to(viewer))
        .filter(chats::room_id.eq_any(readable))
        .group_by(chats::gif_file)
        .select((chats::gif_file, max(chats::id)))
        .order(max(chats::id).desc())
        .limit(limit)
        .into_boxed();
    if described {
        query = query.filter(chats::gif_alt.is_not_null());
    }
    if let Some(files) = files {
        query = query.filter(chats::gif_file.eq_any(files));
    }
    if let Some(words) = words {
        let opening = match_opening(conn);
        query = query.filter(
            diesel::dsl::sql::<Bool>(opening)
                .bind::<Text, _>(words.to_owned())
                .sql(")"),
        );
    }
    query.load(conn)
}

/// Whether `viewer` can see a chat that shows this GIF.
pub fn visible_to(conn: &mut DbConnection, file: &str, viewer: &str) -> QueryResult<bool> {
    let files = [file.to_owned()];
    Ok(!newest_per_gif(conn, viewer, None, false, Some(&files), 1)?.is_empty())
}

/// The description a re-post of `file` into `room_id` takes when it gives
/// none: that of the newest chat showing it that every reader of the room
/// can read too, so in a public room (not a whisper) or in that room itself
/// (not a whisper). A description written in a secret room never leaves it.
pub fn inheritable_alt(
    conn: &mut DbConnection,
    file: &str,
    room_id: &str,
) -> QueryResult<Option<String>> {
    let public = rooms::table
        .filter(rooms::password_hash.is_null())
        .select(rooms::id);
    chats::table
        .filter(chats::gif_file.eq(file))
        .filter(chats::deleted.eq(false))
        .filter(chats::to_user_id.is_null())
        .filter(chats::gif_alt.is_not_null())
        .filter(chats::room_id.eq(room_id).or(chats::room_id.eq_any(public)))
        .order(chats::id.desc())
        .select(chats::gif_alt)
        .first::<Option<String>>(conn)
        .optional()
        .map(Option::flatten)
}

/// The library: distinct GIFs `viewer` can see, newest use first, each
/// with the description of its newest visible chat that has one; with
/// `words`, only GIFs whose description matches (see [`full_text_query`]).
pub fn library(
    conn: &mut DbConnection,
    viewer: &str,
    words: Option<&str>,
    limit: usize,
) -> QueryResult<Vec<(String, Option<String>)>> {
    let limit = limit as i64;
    let files: Vec<String> = newest_per_gif(conn, viewer, words, false, None, limit)?
        .into_iter()
        .filter_map(|(file, _)| file)
        .collect();
    if files.is_empty() {
        return Ok(Vec::new());
    }
    let described: Vec<i64> = newest_per_gif(conn, viewer, words, true, Some(&files), limit)?
        .into_iter()
        .filter_map(|(_, id)| id)
        .collect();
    let alts: HashMap<String, String> = chats::table
        .filter(chats::id.eq_any(&described))
        .select((chats::gif_file, chats::gif_alt))
        .load::<(Option<String>, Option<String>)>(conn)?
        .into_iter()
        .filter_map(|(file, alt)| Some((file?, alt?)))
        .collect();
    Ok(files
        .into_iter()
        .map(|file| {
            let alt = alts.get(&file).cloned();
            (file, alt)
        })
        .collect())
}

/// The full-text query for `q` on this connection's backend: each word a
/// prefix, all of them required (the first 8); `None` when `q` has no
/// word. Words are runs of letters and digits, so no query syntax reaches
/// the database.
pub fn full_text_query(conn: &DbConnection, q: &str) -> Option<String> {
    use unicode_normalization::UnicodeNormalization;
    // Compatibility forms and decomposed accents read as what they show:
    // `ｚｅｂｒａ` is `zebra`, `que\u{301}bec` is `québec`.
    let q: String = q.nfkc().collect();
    let words: Vec<String> = q
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(8)
        .map(str::to_lowercase)
        .collect();
    if words.is_empty() {
        return None;
    }
    Some(match conn {
        DbConnection::Sqlite(_) => words
            .iter()
            .map(|w| format!("\"{w}\"*"))
            .collect::<Vec<_>>()
            .join(" "),
        DbConnection::Pg(_) => words
            .iter()
            .map(|w| format!("'{w}':*"))
            .collect::<Vec<_>>()
            .join(" & "),
    })
}
