//! Changes to chats already in a timeline: edits, deletions, reactions.
//! Each takes the room's next rev, as a new chat does, so that readers
//! catch up on changes by the same counter and in the same order.

use crate::access::find_readable_room;
use crate::db::models::Chat;
use crate::db::{chats, now_millis, users, DbConnection};
use crate::domain::validation::Emoji;
use crate::error::{AppError, AppResult};
use crate::storage::gifs::GifStore;

use super::posts::{Change, ChangePost, Effect, Written};

/// Writes one change in its own savepoint (the caller's transaction).
/// `edit_secs` is `CHAT_EDIT_SECS`.
pub(super) fn write_change(
    conn: &mut DbConnection,
    post: &ChangePost,
    gifs: &GifStore,
    edit_secs: u64,
) -> AppResult<Written> {
    if let Change::Media = post.change {
        return media_changed(conn, post);
    }
    let (room, _) = find_readable_room(conn, &post.room_id, &post.user_id)?;
    // Someone else's whisper is no chat to this user.
    let chat = chats::find_visible(conn, &room.id, post.seq, &post.user_id)?
        .ok_or(AppError::NotFound("chat"))?;
    let authored = chat.user_id.as_deref() == Some(post.user_id.as_str());
    let mut released = Vec::new();
    let changed = match &post.change {
        Change::Edit(text) => {
            may_edit(&chat, "text", authored, edit_secs)?;
            if chat.body.as_deref() == Some(text.as_str()) {
                false
            } else {
                let rev = chats::take_rev(conn, &room.id)?;
                chats::set_text(conn, chat.id, text, rev)?;
                true
            }
        }
        Change::EditAlt(alt) => {
            may_edit(&chat, "gif", authored, edit_secs)?;
            if chat.gif_alt == *alt {
                false
            } else {
                let rev = chats::take_rev(conn, &room.id)?;
                chats::set_alt(conn, chat.id, alt.as_deref(), rev)?;
                true
            }
        }
        Change::Media => false,
        Change::Delete => {
            if chat.kind == "system" {
                return Err(AppError::Forbidden(
                    "a system chat cannot be deleted".into(),
                ));
            }
            if !authored && room.owner_id != post.user_id {
                return Err(AppError::Forbidden(
                    "only its author or the room's owner may delete a chat".into(),
                ));
            }
            if chat.deleted {
                false
            } else {
                let rev = chats::take_rev(conn, &room.id)?;
                let files: Vec<String> = chat.gif_file.iter().cloned().collect();
                ((), released) = gifs.release(conn, &files, |conn| {
                    Ok(chats::tombstone(conn, chat.id, rev)?)
                })?;
                true
            }
        }
        Change::React(emoji) => {
            if chat.deleted {
                return Err(AppError::NotFound("chat"));
            }
            let on = chats::emojis_on(conn, chat.id)?;
            if !on.contains(emoji) && on.len() >= Emoji::MAX_PER_CHAT {
                return Err(AppError::field(
                    "emoji",
                    format!(
                        "a chat carries at most {} different emojis",
                        Emoji::MAX_PER_CHAT
                    ),
                ));
            }
            users::ensure(conn, &post.user_id)?;
            if chats::add_reaction(conn, chat.id, emoji, &post.user_id)? {
                let rev = chats::take_rev(conn, &room.id)?;
                chats::set_rev(conn, chat.id, rev)?;
                true
            } else {
                false
            }
        }
        Change::Unreact(emoji) => {
            if chats::remove_reaction(conn, chat.id, emoji, &post.user_id)? {
                let rev = chats::take_rev(conn, &room.id)?;
                chats::set_rev(conn, chat.id, rev)?;
                true
            } else {
                false
            }
        }
    };
    let chat: Chat = if changed {
        chats::find_visible(conn, &room.id, post.seq, &post.user_id)?
            .ok_or(AppError::NotFound("chat"))?
    } else {
        chat
    };
    let effect = if changed {
        Effect::Changed
    } else {
        Effect::Unchanged
    };
    Ok(Written {
        released,
        ..Written::with(chat, effect)
    })
}

/// Whether the author may edit this chat's `field` (`text` of a text chat,
/// `alt` of a GIF chat) now, within `CHAT_EDIT_SECS`.
fn may_edit(chat: &Chat, kind: &str, authored: bool, edit_secs: u64) -> AppResult<()> {
    if chat.deleted {
        return Err(AppError::NotFound("chat"));
    }
    if chat.kind != kind {
        return Err(match kind {
            "gif" => AppError::field("alt", "only a GIF chat has a description"),
            _ => AppError::field("text", "only a text chat can be edited"),
        });
    }
    if !authored {
        return Err(AppError::Forbidden(
            "only its author may edit a chat".into(),
        ));
    }
    let age_ms = now_millis().saturating_sub(chat.created_at);
    if edit_secs > 0 && age_ms > (edit_secs as i64).saturating_mul(1000) {
        return Err(AppError::Forbidden(format!(
            "a chat can be edited for {edit_secs} seconds after it was posted (CHAT_EDIT_SECS)"
        )));
    }
    Ok(())
}

/// [`Change::Media`]: the chat, if it still shows a GIF, takes the room's
/// next rev. No access is checked: the service writes it, not a user.
fn media_changed(conn: &mut DbConnection, post: &ChangePost) -> AppResult<Written> {
    let chat = chats::find_visible(conn, &post.room_id, post.seq, &post.user_id)?
        .filter(|c| c.gif_file.is_some() && !c.deleted)
        .ok_or(AppError::NotFound("chat"))?;
    let rev = chats::take_rev(conn, &post.room_id)?;
    chats::set_rev(conn, chat.id, rev)?;
    let chat = chats::find_visible(conn, &post.room_id, post.seq, &post.user_id)?
        .ok_or(AppError::NotFound("chat"))?;
    Ok(Written::with(chat, Effect::Changed))
}
