//! What enters a room's timeline: the kinds of [`Post`], and what became
//! of one.

use crate::api::{ChatResponse, SystemEvent};
use crate::db::chats::PostKey;
use crate::db::models::{Chat, NewChat};
use crate::storage::gifs::Checked;

/// A text chat (or whisper) someone posted.
pub struct TextPost {
    pub room_id: String,
    pub user_id: String,
    pub text: String,
    pub to: Option<String>,
    /// The client's name for the post, checked (`ClientId`).
    pub client_id: Option<String>,
}

impl TextPost {
    pub(super) fn key(&self) -> Option<PostKey<'_>> {
        Some(PostKey {
            room_id: &self.room_id,
            user_id: &self.user_id,
            client_id: self.client_id.as_deref()?,
        })
    }
}

/// A checked GIF someone uploaded.
pub struct GifPost {
    pub room_id: String,
    pub user_id: String,
    pub checked: Checked,
    /// The client's name for the post, checked (`ClientId`).
    pub client_id: Option<String>,
}

impl GifPost {
    pub(super) fn key(&self) -> Option<PostKey<'_>> {
        Some(PostKey {
            room_id: &self.room_id,
            user_id: &self.user_id,
            client_id: self.client_id.as_deref()?,
        })
    }
}

/// A notice the service writes into a room: a join, a leave, a new owner.
pub struct SystemPost {
    pub room_id: String,
    pub event: SystemEvent,
    pub subject_id: String,
}

/// Anything that enters a room's timeline.
pub enum Post {
    Text(TextPost),
    Gif(GifPost),
    System(SystemPost),
}

impl Post {
    pub(super) fn room_id(&self) -> &str {
        match self {
            Post::Text(p) => &p.room_id,
            Post::Gif(p) => &p.room_id,
            Post::System(p) => &p.room_id,
        }
    }

    pub(super) fn as_text(&self) -> Option<&TextPost> {
        match self {
            Post::Text(p) => Some(p),
            _ => None,
        }
    }

    /// Users whose rows the post's chat refers to.
    pub(super) fn users(&self) -> impl Iterator<Item = &str> {
        let (first, second) = match self {
            Post::Text(p) => (&p.user_id, p.to.as_ref()),
            Post::Gif(p) => (&p.user_id, None),
            Post::System(p) => (&p.subject_id, None),
        };
        std::iter::once(first.as_str()).chain(second.map(String::as_str))
    }
}

/// What became of a post: its chat, new or the one an earlier post with
/// the same `client_id` made.
#[derive(Debug)]
pub struct Posted {
    pub chat: ChatResponse,
    /// False when the post repeated a `client_id`: nothing was written.
    pub created: bool,
}

/// A post's row: the chat it made, or the one it repeats.
pub(super) struct Written {
    pub(super) chat: Chat,
    pub(super) created: bool,
}

impl Written {
    pub(super) fn new(chat: Chat) -> Self {
        Self {
            chat,
            created: true,
        }
    }

    pub(super) fn repeat(chat: Chat) -> Self {
        Self {
            chat,
            created: false,
        }
    }
}

/// The row a text post becomes.
pub(super) fn new_chat(post: &TextPost) -> NewChat {
    NewChat {
        room_id: post.room_id.clone(),
        kind: "text",
        user_id: Some(post.user_id.clone()),
        body: Some(post.text.clone()),
        to_user_id: post.to.clone(),
        client_id: post.client_id.clone(),
        ..NewChat::default()
    }
}
