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
    /// The seq of the chat it answers.
    pub reply_to: Option<i64>,
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

/// Where a GIF post's file comes from.
pub enum GifSource {
    /// An upload, checked.
    Upload(Checked),
    /// A stored GIF, by its file name, posted again.
    Stored(String),
}

/// A GIF someone posted.
pub struct GifPost {
    pub room_id: String,
    pub user_id: String,
    pub source: GifSource,
    /// The client's name for the post, checked (`ClientId`).
    pub client_id: Option<String>,
    /// The seq of the chat it answers.
    pub reply_to: Option<i64>,
    /// Its description, checked (`GifAlt`); `None` when none was given,
    /// which for a GIF posted again means the one its viewer can see.
    pub alt: Option<Option<String>>,
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

/// What a change does to a chat.
pub enum Change {
    /// New text, checked (`ChatText`).
    Edit(String),
    Delete,
    /// Adds the user's emoji, checked (`Emoji`).
    React(String),
    /// Removes it.
    Unreact(String),
    /// A new description of a GIF chat, checked (`GifAlt`); None removes it.
    EditAlt(Option<String>),
    /// The chat's GIF has new renditions or a poster: the chat takes a rev
    /// so its readers are sent it again. Written for the media pipeline,
    /// with the chat's author as `user_id`.
    Media,
}

/// A change to the chat at `seq`, by `user_id`.
pub struct ChangePost {
    pub room_id: String,
    pub user_id: String,
    pub seq: i64,
    pub change: Change,
}

/// Anything that enters a room's timeline: a new chat, or a change to one.
pub enum Post {
    Text(TextPost),
    Gif(GifPost),
    System(SystemPost),
    Change(ChangePost),
}

impl Post {
    pub(super) fn room_id(&self) -> &str {
        match self {
            Post::Text(p) => &p.room_id,
            Post::Gif(p) => &p.room_id,
            Post::System(p) => &p.room_id,
            Post::Change(p) => &p.room_id,
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
            Post::Change(p) => (&p.user_id, None),
        };
        std::iter::once(first.as_str()).chain(second.map(String::as_str))
    }
}

/// What a post did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// A new chat.
    Created,
    /// Nothing: its `client_id` was used before, for this chat.
    Repeated,
    /// The chat changed (an edit, a deletion, a reaction).
    Changed,
    /// Nothing: the chat was already so (the same text, a reaction that
    /// was there, a chat already deleted).
    Unchanged,
}

/// What became of a post: its chat as it now is.
#[derive(Debug)]
pub struct Posted {
    pub chat: ChatResponse,
    pub effect: Effect,
}

impl Posted {
    /// Whether the post made a chat (else it repeated a `client_id`).
    pub fn created(&self) -> bool {
        self.effect == Effect::Created
    }
}

/// A post's row: the chat it made, changed or repeats.
pub(super) struct Written {
    pub(super) chat: Chat,
    pub(super) effect: Effect,
    /// GIFs whose rows it deleted: their files go once the batch commits.
    pub(super) released: Vec<String>,
}

impl Written {
    pub(super) fn new(chat: Chat) -> Self {
        Self::with(chat, Effect::Created)
    }

    pub(super) fn repeat(chat: Chat) -> Self {
        Self::with(chat, Effect::Repeated)
    }

    pub(super) fn with(chat: Chat, effect: Effect) -> Self {
        Self {
            chat,
            effect,
            released: Vec::new(),
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
        reply_to_seq: post.reply_to,
        ..NewChat::default()
    }
}
