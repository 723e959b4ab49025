//! What goes to a connection: an event serialized once, shared by all its
//! recipients, and tagged with what kind of event it is, so receivers
//! decide by the tag and never by looking into the JSON.

use std::sync::Arc;

use bytestring::ByteString;

use crate::api::ChatResponse;
use crate::realtime::envelope::ServerEnvelope;

/// What kind of event a frame carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameKind {
    /// A chat, with its room and seq, so a connection that replayed history
    /// can drop live copies it already sent, and its rev.
    Chat { room: Arc<str>, seq: i64, rev: i64 },
    /// A chat as it now is after a change (`chat_updated`), with the rev of
    /// that change.
    ChatUpdated { room: Arc<str>, rev: i64 },
    /// The room is gone: a stream watching it ends.
    RoomDeleted,
    /// The receiver was removed from the room: its stream of it ends.
    Kicked,
    /// Any other event.
    Other,
}

impl FrameKind {
    /// The kind of a frame that is not a chat.
    pub fn of(envelope: &ServerEnvelope) -> Self {
        match envelope {
            ServerEnvelope::RoomDeleted { .. } => FrameKind::RoomDeleted,
            ServerEnvelope::Kicked { .. } => FrameKind::Kicked,
            _ => FrameKind::Other,
        }
    }
}

/// An event for connections: its text as sent, and its kind. A chat that
/// a receiver may not read (someone else's whisper) has empty text and
/// still its seq: a marker that the seq is taken.
#[derive(Debug)]
pub struct Frame {
    pub text: ByteString,
    pub kind: FrameKind,
}

impl Frame {
    /// The room and seq of a chat frame.
    pub fn chat(&self) -> Option<(&Arc<str>, i64)> {
        match &self.kind {
            FrameKind::Chat { room, seq, .. } => Some((room, *seq)),
            _ => None,
        }
    }

    /// The rev a chat or a change took.
    pub fn rev(&self) -> Option<i64> {
        match &self.kind {
            FrameKind::Chat { rev, .. } | FrameKind::ChatUpdated { rev, .. } => Some(*rev),
            _ => None,
        }
    }

    /// Whether a stream watching the frame's room ends with it.
    pub fn ends_watch(&self) -> bool {
        matches!(self.kind, FrameKind::RoomDeleted | FrameKind::Kicked)
    }

    /// A seq marker has no text to send.
    pub fn is_marker(&self) -> bool {
        self.text.is_empty()
    }
}

/// A [`Frame`] shared by all its recipients. A queued frame is one pointer,
/// which keeps every connection's queue small and a delivery one counter
/// increment.
#[derive(Debug, Clone)]
pub struct Outbound(Arc<Frame>);

impl std::ops::Deref for Outbound {
    type Target = Frame;

    fn deref(&self) -> &Frame {
        &self.0
    }
}

impl Outbound {
    pub fn new(text: ByteString, kind: FrameKind) -> Self {
        Self(Arc::new(Frame { text, kind }))
    }

    /// Any envelope but a chat.
    pub fn plain(envelope: ServerEnvelope) -> Self {
        let kind = FrameKind::of(&envelope);
        Self::new(envelope.frame(), kind)
    }

    /// The marker of this chat frame for those who may not read it.
    pub fn marker(&self) -> Option<Self> {
        matches!(self.kind, FrameKind::Chat { .. })
            .then(|| Self::new(ByteString::new(), self.kind.clone()))
    }

    /// A chat, marked with its room, seq and rev.
    pub fn chat(chat: ChatResponse) -> Self {
        Self::chat_json(&chat.room_id, chat.seq, chat.rev, &chat_json(&chat))
    }

    /// `chat_updated`: the chat as it is after a change.
    pub fn chat_updated(chat: &ChatResponse) -> Self {
        let kind = FrameKind::ChatUpdated {
            room: Arc::from(chat.room_id.as_str()),
            rev: chat.rev,
        };
        Self::new(
            ServerEnvelope::ChatUpdated { chat: chat.clone() }.frame(),
            kind,
        )
    }

    /// A chat already serialized by [`chat_json`].
    pub fn chat_json(room: &str, seq: i64, rev: i64, json: &[u8]) -> Self {
        let mut frame = Vec::with_capacity(CHAT_FRAME_PREFIX.len() + json.len() + 2);
        frame.extend_from_slice(CHAT_FRAME_PREFIX.as_bytes());
        frame.extend_from_slice(json);
        frame.extend_from_slice(b"}}");
        Self::new(
            ByteString::try_from(bytes::Bytes::from(frame)).expect("serde_json output is UTF-8"),
            FrameKind::Chat {
                room: Arc::from(room),
                seq,
                rev,
            },
        )
    }
}

/// What a live chat is to a reader whose last chat in the room had `last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// Already sent (a replayed chat, or a late copy): skip it.
    Duplicate,
    /// The next one, or the first since the reader joined.
    InOrder,
    /// Chats after `last` are missing: send them first.
    After(i64),
}

impl Arrival {
    pub fn of(last: Option<i64>, seq: i64) -> Self {
        match last {
            Some(last) if last >= seq => Arrival::Duplicate,
            Some(last) if seq > last + 1 => Arrival::After(last),
            _ => Arrival::InOrder,
        }
    }
}

/// How every chat frame starts: the chat's own JSON follows, then `}}`.
pub const CHAT_FRAME_PREFIX: &str = r#"{"type":"chat","data":{"chat":"#;

/// A chat as JSON, serialized once for its frame and for the history cache.
pub fn chat_json(chat: &ChatResponse) -> bytes::Bytes {
    bytes::Bytes::from(serde_json::to_vec(chat).expect("chats are plain data"))
}

/// The chat JSON inside a chat frame.
pub fn chat_json_of_frame(frame: &str) -> Option<&str> {
    frame.strip_prefix(CHAT_FRAME_PREFIX)?.strip_suffix("}}")
}
