//! Row types, mirroring the tables. The wire types are built from them in
//! the `api` module, which depends on these and not the other way round.

use diesel::prelude::*;

use super::schema::{chats, gif_variants, gifs, reactions, room_access, room_bans, rooms, users};

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: String,
    pub nickname: Option<String>,
    pub created_at: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = rooms)]
pub struct Room {
    pub id: String,
    pub title: String,
    pub max_members: i32,
    pub password_hash: Option<String>,
    pub owner_id: String,
    pub last_seq: i64,
    pub created_at: i64,
    /// Never deleted for being empty.
    pub keep: bool,
    /// The room's change counter: the last rev handed out.
    pub last_rev: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = gifs)]
pub struct Gif {
    pub file: String,
    pub width: i32,
    pub height: i32,
    pub bytes: i64,
    pub created_at: i64,
    /// The still of its first frame, once made.
    pub poster: Option<String>,
    /// Whether renditions were tried (made or found not worth keeping).
    pub processed: bool,
}

/// A lighter rendition of a stored GIF.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = gif_variants)]
pub struct GifVariant {
    pub file: String,
    pub gif_file: String,
    /// Its media type, e.g. `image/webp`.
    pub kind: String,
    pub width: i32,
    pub height: i32,
    pub bytes: i64,
}

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = chats)]
pub struct Chat {
    pub id: i64,
    pub room_id: String,
    pub seq: i64,
    pub kind: String,
    pub user_id: Option<String>,
    pub body: Option<String>,
    pub gif_file: Option<String>,
    pub to_user_id: Option<String>,
    pub event: Option<String>,
    pub subject_id: Option<String>,
    pub created_at: i64,
    /// What its author's client called the post (see `db::chats::find_posted`).
    pub client_id: Option<String>,
    /// The room's rev of the chat's last change (its creation at first).
    pub rev: i64,
    /// The seq of the chat this one answers, in the same room.
    pub reply_to_seq: Option<i64>,
    pub edited_at: Option<i64>,
    /// A tombstone: its content is gone, its place stays.
    pub deleted: bool,
    /// A GIF chat's description, as its author wrote it.
    pub gif_alt: Option<String>,
}

/// A chat before it has an id and a seq; `db::chats::append` assigns both.
#[derive(Debug, Clone, Default)]
pub struct NewChat {
    pub room_id: String,
    pub kind: &'static str,
    pub user_id: Option<String>,
    pub body: Option<String>,
    pub gif_file: Option<String>,
    pub gif_alt: Option<String>,
    pub to_user_id: Option<String>,
    pub event: Option<&'static str>,
    pub subject_id: Option<String>,
    pub client_id: Option<String>,
    pub reply_to_seq: Option<i64>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = reactions)]
pub struct Reaction {
    pub id: i64,
    pub chat_id: i64,
    pub emoji: String,
    pub user_id: String,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = room_access)]
pub struct RoomAccess<'a> {
    pub room_id: &'a str,
    pub user_id: &'a str,
    pub created_at: i64,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = room_bans)]
pub struct RoomBan<'a> {
    pub room_id: &'a str,
    pub user_id: &'a str,
    pub created_at: i64,
}
