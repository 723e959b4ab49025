use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text};

use super::models::Gif;
use super::schema::{chats, gifs};
use super::DbConnection;

/// Records a stored file; the same bytes uploaded again keep the first row.
pub fn insert_if_missing(conn: &mut DbConnection, gif: &Gif) -> QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO gifs (file, width, height, bytes, created_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (file) DO NOTHING",
    )
    .bind::<Text, _>(&gif.file)
    .bind::<Integer, _>(gif.width)
    .bind::<Integer, _>(gif.height)
    .bind::<BigInt, _>(gif.bytes)
    .bind::<BigInt, _>(gif.created_at)
    .execute(conn)
    .map(drop)
}

pub fn exists(conn: &mut DbConnection, file: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(gifs::table.find(file))).get_result(conn)
}

pub fn find_many(conn: &mut DbConnection, files: &[&str]) -> QueryResult<Vec<Gif>> {
    if files.is_empty() {
        return Ok(Vec::new());
    }
    gifs::table
        .filter(gifs::file.eq_any(files))
        .select(Gif::as_select())
        .load(conn)
}

/// Deletes the rows of GIFs no chat refers to and returns their file names.
pub fn delete_unreferenced(conn: &mut DbConnection) -> QueryResult<Vec<String>> {
    conn.transaction(|conn| {
        let referenced = chats::table
            .filter(chats::gif_file.eq(gifs::file.nullable()))
            .select(chats::id);
        let orphans: Vec<String> = gifs::table
            .filter(diesel::dsl::not(diesel::dsl::exists(referenced)))
            .select(gifs::file)
            .load(conn)?;
        if !orphans.is_empty() {
            diesel::delete(gifs::table.filter(gifs::file.eq_any(&orphans))).execute(conn)?;
        }
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
    if !orphans.is_empty() {
        diesel::delete(gifs::table.filter(gifs::file.eq_any(&orphans))).execute(conn)?;
    }
    Ok(orphans)
}

/// Whether `viewer` can see a chat that shows this GIF, in a room they may
/// read: a public room, or a secret one they have access to, where they
/// are not banned; a whisper only if they are one of its parties.
pub fn visible_to(conn: &mut DbConnection, file: &str, viewer: &str) -> QueryResult<bool> {
    use super::schema::{room_access, room_bans, rooms};
    let readable_rooms = rooms::table
        .filter(
            rooms::password_hash
                .is_null()
                .or(rooms::owner_id.eq(viewer))
                .or(diesel::dsl::exists(
                    room_access::table
                        .filter(room_access::room_id.eq(rooms::id))
                        .filter(room_access::user_id.eq(viewer)),
                )),
        )
        .filter(diesel::dsl::not(diesel::dsl::exists(
            room_bans::table
                .filter(room_bans::room_id.eq(rooms::id))
                .filter(room_bans::user_id.eq(viewer)),
        )))
        .select(rooms::id);
    diesel::select(diesel::dsl::exists(
        chats::table
            .filter(chats::gif_file.eq(file))
            .filter(chats::deleted.eq(false))
            .filter(super::chats::visible_to(viewer))
            .filter(chats::room_id.eq_any(readable_rooms)),
    ))
    .get_result(conn)
}
