//! What goes to a connection: an event serialized once, shared by all its
//! recipients, and marked with its room and seq when it is a chat.

use bytestring::ByteString;

use crate::api::ChatResponse;
use crate::realtime::envelope::ServerEnvelope;

/// A frame for one connection. `seq` marks a chat, so a connection that
/// replayed history can drop live copies it already sent.
#[derive(Debug)]
pub struct Frame {
    pub frame: ByteString,
    pub chat: Option<(std::sync::Arc<str>, i64)>,
}

/// A [`Frame`] shared by all its recipients. A queued frame is one pointer,
/// which keeps every connection's queue small and a delivery one counter
/// increment.
#[derive(Debug, Clone)]
pub struct Outbound(std::sync::Arc<Frame>);

impl std::ops::Deref for Outbound {
    type Target = Frame;

    fn deref(&self) -> &Frame {
        &self.0
    }
}

impl Outbound {
    pub fn new(frame: ByteString, chat: Option<(std::sync::Arc<str>, i64)>) -> Self {
        Self(std::sync::Arc::new(Frame { frame, chat }))
    }

    /// Any envelope but a chat.
    pub fn plain(envelope: ServerEnvelope) -> Self {
        Self::new(envelope.frame(), None)
    }

    /// A chat, marked with its room and seq.
    pub fn chat(chat: ChatResponse) -> Self {
        Self::chat_json(&chat.room_id, chat.seq, &chat_json(&chat))
    }

    /// A chat already serialized by [`chat_json`].
    pub fn chat_json(room: &str, seq: i64, json: &[u8]) -> Self {
        let mut frame = Vec::with_capacity(CHAT_FRAME_PREFIX.len() + json.len() + 2);
        frame.extend_from_slice(CHAT_FRAME_PREFIX.as_bytes());
        frame.extend_from_slice(json);
        frame.extend_from_slice(b"}}");
        Self::new(
            ByteString::try_from(bytes::Bytes::from(frame)).expect("serde_json output is UTF-8"),
            Some((std::sync::Arc::from(room), seq)),
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
