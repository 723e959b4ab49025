//! Posts written one at a time, each in its own savepoint of the batch's
//! transaction: GIFs (uploaded or posted again) and system chats.

use crate::access::{check_reply, find_readable_room};
use crate::db::chats;
use crate::db::models::{Chat, NewChat};
use crate::db::DbConnection;
use crate::error::AppResult;
use crate::storage::gifs::GifStore;

use super::posts::{GifPost, GifSource, SystemPost, Written};

pub(super) fn write_gif(
    conn: &mut DbConnection,
    post: &GifPost,
    gifs: &GifStore,
) -> AppResult<Written> {
    // Access is checked here, at commit: the room may have gone, or the
    // poster been banned, while the file arrived.
    let (room, _) = find_readable_room(conn, &post.room_id, &post.user_id)?;
    if let Some(key) = post.key() {
        if let Some(chat) = chats::find_one_posted(conn, key)? {
            return Ok(Written::repeat(chat));
        }
    }
    if let Some(seq) = post.reply_to {
        check_reply(conn, &room, &post.user_id, None, seq)?;
    }
    let record = |conn: &mut DbConnection, file: &str, alt: Option<String>| -> AppResult<Chat> {
        let new = NewChat {
            room_id: room.id.clone(),
            kind: "gif",
            user_id: Some(post.user_id.clone()),
            gif_file: Some(file.to_owned()),
            gif_alt: alt,
            client_id: post.client_id.clone(),
            reply_to_seq: post.reply_to,
            ..NewChat::default()
        };
        Ok(chats::append_in_tx(conn, &new)?)
    };
    let stored = match &post.source {
        GifSource::Upload(checked) => gifs.store(conn, checked, |conn, gif| {
            record(conn, &gif.file, post.alt.clone().flatten())
        }),
        GifSource::Stored(file) => gifs.reuse(conn, file, &post.user_id, &room.id, |conn, seen| {
            record(conn, file, post.alt.clone().unwrap_or(seen))
        }),
    };
    match (stored, post.key()) {
        // Another instance committed the same `client_id` meanwhile: the
        // unique index refused this chat, and the store undid its file.
        (Err(failed), Some(key)) if failed.is_unique_violation() => {
            match chats::find_one_posted(conn, key)? {
                Some(chat) => Ok(Written::repeat(chat)),
                None => Err(failed),
            }
        }
        (stored, _) => stored.map(Written::new),
    }
}

pub(super) fn write_system(conn: &mut DbConnection, post: &SystemPost) -> AppResult<Written> {
    let new = NewChat {
        room_id: post.room_id.clone(),
        kind: "system",
        event: Some(post.event.as_str()),
        subject_id: Some(post.subject_id.clone()),
        ..NewChat::default()
    };
    Ok(Written::new(chats::append(conn, &new)?))
}
