//! Wire types: what the JSON API and the socket send and accept. Kept apart
//! from the row structs in `db::models`, which mirror the tables, and built
//! from them by pure conversions; loading the rows a response needs is the
//! database layer's (`db::chats::load_responses`, `db::users::load_responses`).
//!
//! The limits in the schema attributes below are the domain's
//! (`domain::validation`, `domain::ids`). utoipa takes only literals for
//! `min_length`, `max_length`, `minimum`, `maximum` and `pattern`, so they
//! are written out here, and the test `the_documents_limits_are_the_domains`
//! in `openapi.rs` checks every one of them against the domain's constant.

use std::collections::HashMap;

use serde::{Deserialize, Serialize, Serializer};
use utoipa::{IntoParams, ToSchema};

use crate::db::gifs::StoredGif;
use crate::db::models::{Chat, Reaction, Room, User};
use crate::domain::user::{color_for, display_name};
use crate::domain::validation::{ChatText, GifAlt, MaxMembers, Nickname};

/// Serializes epoch milliseconds as RFC 3339 UTC with milliseconds.
pub fn serialize_millis<S: Serializer>(millis: &i64, s: S) -> Result<S::Ok, S::Error> {
    let dt = chrono::DateTime::from_timestamp_millis(*millis).unwrap_or_default();
    s.serialize_str(&dt.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

/// [`serialize_millis`], or null.
pub fn serialize_optional_millis<S: Serializer>(
    millis: &Option<i64>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match millis {
        Some(millis) => serialize_millis(millis, s),
        None => s.serialize_none(),
    }
}

/// An anonymous user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UserResponse {
    /// Opaque id, 32 hex digits.
    #[schema(example = "3f2b8c0e9d1a4b7c8e5f6a7b8c9d0e1f")]
    pub id: String,
    /// The nickname, or the colour when none is set.
    pub name: String,
    /// Stable `#rrggbb` colour derived from the id.
    #[schema(example = "#2a9d8f", pattern = "^#[0-9a-f]{6}$")]
    pub color: String,
}

impl UserResponse {
    pub fn new(id: &str, nickname: Option<&str>) -> Self {
        let color = color_for(id);
        Self {
            id: id.to_owned(),
            name: display_name(nickname, &color),
            color,
        }
    }

    pub fn from_row(user: &User) -> Self {
        Self::new(&user.id, user.nickname.as_deref())
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserEnvelope {
    pub user: UserResponse,
}

/// A chat room.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RoomResponse {
    /// Opaque, unguessable id.
    pub id: String,
    pub title: String,
    pub max_members: i32,
    /// Whether joining needs a password.
    pub secret: bool,
    pub owner: UserResponse,
    /// People in the room now (a person with several tabs counts once).
    pub member_count: u32,
    /// Never deleted for being empty. Otherwise a room is deleted once its
    /// last member, its owner, has left and it stayed empty for the grace.
    pub keep: bool,
    #[serde(serialize_with = "serialize_millis")]
    #[schema(value_type = String, format = DateTime, example = "2026-11-25T16:30:00.123Z")]
    pub created_at: i64,
}

impl RoomResponse {
    pub fn new(room: &Room, owner: &User, member_count: usize) -> Self {
        Self {
            id: room.id.clone(),
            title: room.title.clone(),
            max_members: room.max_members,
            secret: room.password_hash.is_some(),
            owner: UserResponse::from_row(owner),
            member_count: member_count as u32,
            keep: room.keep,
            created_at: room.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RoomEnvelope {
    pub room: RoomResponse,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RoomsEnvelope {
    pub rooms: Vec<RoomResponse>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChatKind {
    Text,
    Gif,
    System,
}

/// What a system chat records; clients render it in their own language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SystemEvent {
    Joined,
    Left,
    Kicked,
    OwnerChanged,
}

impl SystemEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            SystemEvent::Joined => "joined",
            SystemEvent::Left => "left",
            SystemEvent::Kicked => "kicked",
            SystemEvent::OwnerChanged => "owner_changed",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "joined" => SystemEvent::Joined,
            "left" => SystemEvent::Left,
            "kicked" => SystemEvent::Kicked,
            "owner_changed" => SystemEvent::OwnerChanged,
            _ => return None,
        })
    }
}

/// A stored GIF, with its size known up front so clients can lay it out.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GifResponse {
    /// Where to fetch it: `/gif/{sha256}.gif`.
    #[schema(
        example = "/gif/9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08.gif"
    )]
    pub url: String,
    pub width: i32,
    pub height: i32,
    pub bytes: i64,
    /// The uploader's description (0 to 300 characters), or null.
    #[schema(required = true, example = "a cat falling off a sofa")]
    pub alt: Option<String>,
    /// A still of the first frame (PNG, the GIF's size): for reduced
    /// motion, previews and slow links. Null only for a GIF stored before
    /// posters were made, until the media pass reaches it.
    #[schema(
        required = true,
        example = "/gif/9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08.png"
    )]
    pub poster: Option<String>,
    /// Lighter renditions, smallest first: made after upload (announced by
    /// `chat_updated`), only those smaller than the GIF; may be empty.
    pub variants: Vec<GifVariantResponse>,
}

/// A lighter rendition of a GIF.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GifVariantResponse {
    #[schema(
        example = "/gif/9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08.webp"
    )]
    pub url: String,
    /// Its media type: `image/webp` (animated WebP).
    #[serde(rename = "type")]
    #[schema(example = "image/webp")]
    pub kind: String,
    pub width: i32,
    pub height: i32,
    pub bytes: i64,
}

impl GifResponse {
    pub fn from_row(gif: &StoredGif, alt: Option<&str>) -> Self {
        let row = &gif.row;
        Self {
            url: format!("/gif/{}", row.file),
            width: row.width,
            height: row.height,
            bytes: row.bytes,
            alt: alt.map(str::to_owned),
            poster: row.poster.as_ref().map(|p| format!("/gif/{p}")),
            variants: gif
                .variants
                .iter()
                .map(|v| GifVariantResponse {
                    url: format!("/gif/{}", v.file),
                    kind: v.kind.clone(),
                    width: v.width,
                    height: v.height,
                    bytes: v.bytes,
                })
                .collect(),
        }
    }
}

/// The GIFs a picker offers.
#[derive(Debug, Serialize, ToSchema)]
pub struct GifsPage {
    pub gifs: Vec<GifResponse>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GifsQuery {
    /// Words of the description; each matches words starting with it, all
    /// must match. Without it: every GIF you can see.
    #[param(max_length = 200, example = "cat")]
    pub q: Option<String>,
    /// How many (default 30, at most 100).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

/// One message in a room's history.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChatResponse {
    pub id: i64,
    pub room_id: String,
    /// Position in the room: starts at 1, no gaps.
    pub seq: i64,
    pub kind: ChatKind,
    /// The author; null for system chats.
    pub user: Option<UserResponse>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gif: Option<GifResponse>,
    /// Set on a whisper: its recipient. Only the two parties ever see it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<UserResponse>,
    /// System chats only: what happened.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<SystemEvent>,
    /// System chats only: to whom it happened.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<UserResponse>,
    #[serde(serialize_with = "serialize_millis")]
    #[schema(value_type = String, format = DateTime, example = "2026-11-25T16:30:00.123Z")]
    pub created_at: i64,
    /// The `client_id` it was posted with, or null.
    #[schema(required = true, example = "k3v9-0001")]
    pub client_id: Option<String>,
    /// The chat this one answers, or null.
    #[schema(required = true)]
    pub reply_to: Option<ReplyResponse>,
    /// When its text was last edited, or null.
    #[serde(serialize_with = "serialize_optional_millis")]
    #[schema(value_type = Option<String>, format = DateTime, required = true, example = "2026-11-25T16:31:00.456Z")]
    pub edited_at: Option<i64>,
    /// A tombstone: `text`, `gif` and `reply_to` are gone, its place stays.
    pub deleted: bool,
    /// Reactions, in the order each emoji was first used.
    pub reactions: Vec<ReactionResponse>,
    /// The room's change counter at this chat's last change (its creation,
    /// an edit, its deletion, a reaction).
    pub rev: i64,
}

/// The chat a reply answers, as it is now.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReplyResponse {
    pub seq: i64,
    /// Its author; null for a system chat.
    #[schema(required = true)]
    pub user: Option<UserResponse>,
    pub kind: ChatKind,
    /// Up to the first 100 characters of its text; null for a GIF, a system
    /// chat or a deleted chat.
    #[schema(required = true)]
    pub excerpt: Option<String>,
}

/// One emoji on a chat: how many put it there, and who.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReactionResponse {
    #[schema(example = "👍")]
    pub emoji: String,
    pub count: u32,
    pub user_ids: Vec<String>,
}

/// The most characters of the answered chat's text a reply shows.
pub const EXCERPT_CHARS: usize = 100;

fn excerpt(text: &str) -> String {
    match text.char_indices().nth(EXCERPT_CHARS) {
        Some((end, _)) => text[..end].to_owned(),
        None => text.to_owned(),
    }
}

fn kind_of(kind: &str) -> ChatKind {
    match kind {
        "gif" => ChatKind::Gif,
        "system" => ChatKind::System,
        _ => ChatKind::Text,
    }
}

impl ChatResponse {
    /// The response for `chat`, with the users it names taken from `users`
    /// (built once each, cloned per chat; one missing from it is left out)
    /// and its GIF's row, if it has one.
    pub fn from_row(
        chat: &Chat,
        users: &HashMap<String, UserResponse>,
        gif: Option<&StoredGif>,
        original: Option<&Chat>,
        reactions: &[&Reaction],
    ) -> ChatResponse {
        let user = |id: &Option<String>| id.as_deref().and_then(|id| users.get(id).cloned());
        let mut grouped: Vec<ReactionResponse> = Vec::new();
        for reaction in reactions {
            match grouped.iter_mut().find(|r| r.emoji == reaction.emoji) {
                Some(r) => {
                    r.count += 1;
                    r.user_ids.push(reaction.user_id.clone());
                }
                None => grouped.push(ReactionResponse {
                    emoji: reaction.emoji.clone(),
                    count: 1,
                    user_ids: vec![reaction.user_id.clone()],
                }),
            }
        }
        ChatResponse {
            id: chat.id,
            room_id: chat.room_id.clone(),
            seq: chat.seq,
            kind: kind_of(&chat.kind),
            user: user(&chat.user_id),
            text: chat.body.clone(),
            gif: gif.map(|g| GifResponse::from_row(g, chat.gif_alt.as_deref())),
            to: user(&chat.to_user_id),
            event: chat.event.as_deref().and_then(SystemEvent::parse),
            subject: user(&chat.subject_id),
            created_at: chat.created_at,
            client_id: chat.client_id.clone(),
            reply_to: chat.reply_to_seq.map(|seq| ReplyResponse {
                seq,
                user: original.and_then(|o| user(&o.user_id)),
                kind: original.map_or(ChatKind::Text, |o| kind_of(&o.kind)),
                excerpt: original
                    .filter(|o| !o.deleted)
                    .and_then(|o| o.body.as_deref())
                    .map(excerpt),
            }),
            edited_at: chat.edited_at,
            deleted: chat.deleted,
            reactions: grouped,
            rev: chat.rev,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChatEnvelope {
    pub chat: ChatResponse,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PageMeta {
    /// Whether more chats lie beyond this page: earlier ones when reading the
    /// latest or paging back with `before_seq`, later ones with `after_seq`.
    pub has_more: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChatsPage {
    pub chats: Vec<ChatResponse>,
    pub meta: PageMeta,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdateMeRequest {
    /// 1 to 32 characters after trimming, on one line.
    #[schema(
        example = "kim",
        min_length = 1,
        max_length = 32,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub nickname: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateRoomRequest {
    /// 1 to 100 characters after trimming, on one line.
    #[schema(
        example = "GIFs only",
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub title: String,
    /// 2 to `ROOM_MAX_MEMBERS` (default 1000); 10 when omitted.
    #[schema(minimum = 2, maximum = 1000, example = json!(MaxMembers::DEFAULT))]
    #[serde(default, deserialize_with = "integral")]
    pub max_members: Option<i64>,
    /// Makes the room secret. Absent or empty: a public room. At most 128 characters.
    #[schema(max_length = 128)]
    pub password: Option<String>,
    /// Keep the room when it is empty. Default false.
    #[serde(default)]
    pub keep: bool,
}

/// What the owner changes; every field is optional and absent ones stay.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct UpdateRoomRequest {
    /// 1 to 100 characters after trimming, on one line.
    #[schema(
        example = "GIFs only",
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*$"
    )]
    pub title: Option<String>,
    /// 2 to `ROOM_MAX_MEMBERS`, and never below the people in the room now.
    #[schema(minimum = 2, maximum = 1000, example = json!(MaxMembers::DEFAULT))]
    #[serde(default, deserialize_with = "integral")]
    pub max_members: Option<i64>,
    /// A new password (at most 128 characters); `""` makes the room public.
    /// People who already have access keep it.
    #[schema(max_length = 128)]
    pub password: Option<String>,
    pub keep: Option<bool>,
}

/// JSON has one number type: `2.0` is the integer 2, and is accepted as such.
fn integral<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match Option::<serde_json::Number>::deserialize(d)? {
        None => Ok(None),
        Some(n) => n
            .as_i64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 1e15)
                    .map(|f| f as i64)
            })
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom("expected an integer")),
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct JoinRoomRequest {
    /// Needed for a secret room (unless you already have access).
    pub password: Option<String>,
}

/// Names a user: whom to kick, or who becomes owner.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UserIdRequest {
    #[schema(pattern = "^[0-9a-f]{32}$")]
    pub user_id: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MembersEnvelope {
    /// Longest-present first.
    pub members: Vec<UserResponse>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PostChatRequest {
    /// 1 to 2000 characters after trimming; newlines and tabs allowed, other control characters not.
    /// Either `text` or `gif`.
    #[schema(
        example = "hello!",
        min_length = 1,
        max_length = 2000,
        pattern = r"^[^\u0000-\u0008\u000B-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u0008\u000B-\u001F\u007F-\u009F]*$"
    )]
    pub text: Option<String>,
    /// Posts again a stored GIF, by its file name (as in its `url`), which
    /// you can see in some room; no upload, no copy. Either `text` or `gif`.
    #[schema(
        example = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08.gif",
        pattern = "^[0-9a-f]{64}\\.gif$"
    )]
    pub gif: Option<String>,
    /// With `gif`: its description here (0 to 300 characters; empty for
    /// none). Left out, the chat takes the description of the newest chat
    /// showing that GIF that you can see.
    #[schema(max_length = 300, example = "a cat falling off a sofa")]
    pub alt: Option<String>,
    /// The seq of the chat (in this room, one you can see) this one answers.
    #[schema(minimum = 1)]
    pub reply_to: Option<i64>,
    /// A user id: makes the chat a whisper to that user, who must be able to read the room.
    #[schema(pattern = "^[0-9a-f]{32}$")]
    pub to: Option<String>,
    /// The client's name for this post, so that sending it again makes no
    /// second chat: a post whose `client_id` you already used in this room
    /// creates nothing and answers `200` with the chat the first one made,
    /// whatever its text or `to` say now.
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = "^[A-Za-z0-9_-]{1,64}$",
        example = "k3v9-0001"
    )]
    pub client_id: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChatsQuery {
    /// Only chats with a smaller seq (page back).
    #[param(minimum = 0)]
    pub before_seq: Option<i64>,
    /// Only chats with a larger seq (page forward).
    #[param(minimum = 0)]
    pub after_seq: Option<i64>,
    /// Only chats whose last change came after this rev, in ascending
    /// `rev` instead of `seq` (catching up on edits, deletions and
    /// reactions); not with the seq cursors.
    #[param(minimum = 0)]
    pub after_rev: Option<i64>,
    /// Page size: 1 to 200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

/// An edit: new `text` for a text chat, or a new `alt` for a GIF chat.
#[derive(Debug, Deserialize, ToSchema)]
pub struct EditChatRequest {
    /// As in `PostChatRequest`. Either `text` or `alt`.
    #[schema(
        example = "hello, fixed",
        min_length = 1,
        max_length = 2000,
        pattern = r"^[^\u0000-\u0008\u000B-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u0008\u000B-\u001F\u007F-\u009F]*$"
    )]
    pub text: Option<String>,
    /// A GIF chat's new description (0 to 300 characters; empty removes it).
    #[schema(max_length = 300, example = "a cat, falling")]
    pub alt: Option<String>,
}

/// The multipart body of a GIF upload.
#[derive(Debug, ToSchema)]
#[allow(
    dead_code,
    reason = "only the OpenAPI document reads it: the handler streams the parts"
)]
pub struct GifUpload {
    /// The GIF file (at most `GIF_MAX_BYTES`, default 5 MiB).
    #[schema(value_type = String, format = Binary, content_media_type = "image/gif")]
    pub gif: Vec<u8>,
    /// As in `PostChatRequest`: an upload whose `client_id` you already used
    /// in this room stores nothing and answers `200` with the chat the first
    /// one made. The part may come before or after `gif`.
    #[schema(min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9_-]{1,64}$")]
    pub client_id: Option<String>,
    /// The seq of the chat (in this room, one you can see) this GIF answers.
    #[schema(minimum = 1)]
    pub reply_to: Option<i64>,
    /// A description of the GIF (0 to 300 characters, as chat text is
    /// checked), shown as its alternative text and searched by the library.
    #[schema(max_length = 300, example = "a cat falling off a sofa")]
    pub alt: Option<String>,
}

/// What the server accepts, so a client can check before sending and say
/// what the limit is.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct ClientLimits {
    /// The largest GIF upload, in bytes (`GIF_MAX_BYTES`).
    #[schema(example = 5242880)]
    pub gif_max_bytes: u64,
    /// The longest chat text, in characters after trimming.
    #[schema(example = json!(ChatText::MAX))]
    pub text_max_chars: u32,
    /// The longest nickname, in characters after trimming.
    #[schema(example = json!(Nickname::MAX))]
    pub nickname_max_chars: u32,
    /// The longest GIF description, in characters after trimming.
    #[schema(example = json!(GifAlt::MAX))]
    pub alt_max_chars: u32,
    /// Seconds after posting that its author may still edit a chat
    /// (`CHAT_EDIT_SECS`); 0 means always.
    #[schema(example = 900)]
    pub chat_edit_secs: u64,
}

impl ClientLimits {
    pub fn new(gif_max_bytes: u64, chat_edit_secs: u64) -> Self {
        Self {
            gif_max_bytes,
            chat_edit_secs,
            text_max_chars: ChatText::MAX as u32,
            nickname_max_chars: Nickname::MAX as u32,
            alt_max_chars: GifAlt::MAX as u32,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HealthResponse {
    #[schema(example = "ok")]
    pub status: &'static str,
}
