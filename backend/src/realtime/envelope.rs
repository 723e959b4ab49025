//! The socket's typed envelopes: `{"type": "...", "data": {...}}`, with an
//! optional top-level `ref` that the server echoes on the `ack` or `error`
//! a client frame causes.

use actix_web::web::Bytes;
use bytestring::ByteString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::{ChatResponse, ClientLimits, RoomResponse, UserResponse};

/// What the server sends.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum ServerEnvelope {
    /// First frame after connecting: who you are, and what the server
    /// accepts, so that a client can refuse a GIF that is too large before
    /// uploading it.
    Hello {
        user: UserResponse,
        heartbeat_secs: u64,
        limits: ClientLimits,
    },
    /// A client frame succeeded (carries its `ref`).
    Ack {},
    /// A client frame failed (carries its `ref`); the connection stays open.
    Error {
        code: String,
        message: String,
    },
    RoomCreated {
        room: RoomResponse,
    },
    /// Member count, owner or anything else about a room changed.
    RoomUpdated {
        room: RoomResponse,
    },
    RoomDeleted {
        room_id: String,
    },
    /// You are in the room. Replayed `chat`s (after `since_seq`) follow in
    /// seq order, then, with `since_rev`, a `chat_updated` for each older
    /// chat changed after that rev, in rev order; then live events. When
    /// more was missed than one replay carries, `replay_truncated` is true
    /// and the replay holds the latest of it: page the rest over HTTP with
    /// `after_seq` and `after_rev`.
    Joined {
        room: RoomResponse,
        members: Vec<UserResponse>,
        last_seq: i64,
        /// The room's change counter now.
        last_rev: i64,
        replay_truncated: bool,
    },
    Chat {
        chat: ChatResponse,
    },
    /// A chat was edited, deleted or had its reactions changed: the whole
    /// chat as it now is, to everyone who can see it.
    ChatUpdated {
        chat: ChatResponse,
    },
    MemberJoined {
        room_id: String,
        user: UserResponse,
        member_count: u32,
    },
    MemberLeft {
        room_id: String,
        user: UserResponse,
        member_count: u32,
    },
    /// Someone else is typing (never sent back to its sender).
    Typing {
        room_id: String,
        user: UserResponse,
    },
    /// You were removed from the room and are banned from it.
    Kicked {
        room_id: String,
    },
    /// A user's nickname changed. Sent to the lobby, to every room the user
    /// is a member of and to the user's own sockets, each socket once.
    /// Wherever the user appears (members, chats, a room's owner), show the
    /// new name; every later frame and page already does.
    UserUpdated {
        user: UserResponse,
    },
    Pong {},
}

/// What a client sends.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(
    tag = "type",
    content = "data",
    rename_all = "snake_case",
    deny_unknown_fields
)]
pub enum ClientEnvelope {
    /// Receive `room_created`, `room_updated` and `room_deleted`.
    SubscribeLobby {},
    UnsubscribeLobby {},
    /// Become a member; with `since_seq`, first replay the chats after it,
    /// and with `since_rev`, the changes to older chats after that rev.
    Join {
        room_id: String,
        since_seq: Option<i64>,
        #[serde(default)]
        since_rev: Option<i64>,
    },
    /// Stop being a member through this connection.
    Leave {
        room_id: String,
    },
    /// Tell the room's other members you are typing.
    Typing {
        room_id: String,
    },
    Ping {},
}

#[derive(Serialize)]
struct WithRef<'a> {
    #[serde(flatten)]
    envelope: &'a ServerEnvelope,
    #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
    reference: Option<&'a str>,
}

impl ServerEnvelope {
    /// Serializes once; the result is shared by every recipient.
    pub fn frame(&self) -> ByteString {
        self.frame_with_ref(None)
    }

    pub fn frame_with_ref(&self, reference: Option<&str>) -> ByteString {
        let json = serde_json::to_vec(&WithRef {
            envelope: self,
            reference,
        })
        .expect("envelopes contain only strings, numbers and plain structs");
        // serde_json writes valid UTF-8.
        ByteString::try_from(Bytes::from(json)).expect("serde_json output is UTF-8")
    }

    pub fn error(code: &str, message: impl Into<String>) -> Self {
        ServerEnvelope::Error {
            code: code.to_owned(),
            message: message.into(),
        }
    }
}

/// Why a client frame could not be understood.
#[derive(Debug)]
pub struct BadFrame {
    pub reference: Option<String>,
    pub message: String,
}

/// Parses a client frame. `data` may be omitted for types that carry none.
pub fn parse_client(text: &str) -> Result<(ClientEnvelope, Option<String>), BadFrame> {
    #[derive(Deserialize)]
    struct Raw {
        #[serde(rename = "type")]
        kind: String,
        #[serde(default)]
        data: Option<serde_json::Value>,
        #[serde(rename = "ref", default)]
        reference: Option<serde_json::Value>,
    }
    let raw: Raw = serde_json::from_str(text).map_err(|e| BadFrame {
        reference: None,
        message: format!("not an envelope: {e}"),
    })?;
    let reference = match raw.reference {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) if s.len() <= 64 => Some(s),
        Some(_) => {
            return Err(BadFrame {
                reference: None,
                message: "`ref` must be a string of at most 64 characters".into(),
            })
        }
    };
    let data = raw.data.unwrap_or_else(|| serde_json::json!({}));
    let envelope = serde_json::from_value(serde_json::json!({ "type": raw.kind, "data": data }))
        .map_err(|e| BadFrame {
            reference: reference.clone(),
            message: format!("bad `{}` envelope: {e}", raw.kind),
        })?;
    Ok((envelope, reference))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_adjacently_tagged_with_a_top_level_ref() {
        let frame = ServerEnvelope::Ack {}.frame_with_ref(Some("r1"));
        assert_eq!(&*frame, r#"{"type":"ack","data":{},"ref":"r1"}"#);
        assert_eq!(
            &*ServerEnvelope::Pong {}.frame(),
            r#"{"type":"pong","data":{}}"#
        );
    }

    #[test]
    fn client_frames_parse_with_or_without_data() {
        let (env, r) = parse_client(r#"{"type":"ping"}"#).unwrap();
        assert!(matches!(env, ClientEnvelope::Ping {}) && r.is_none());
        let (env, r) =
            parse_client(r#"{"type":"join","data":{"room_id":"x","since_seq":4},"ref":"a"}"#)
                .unwrap();
        assert!(matches!(
            env,
            ClientEnvelope::Join {
                since_seq: Some(4),
                ..
            }
        ));
        assert_eq!(r.as_deref(), Some("a"));
    }

    #[test]
    fn bad_frames_keep_their_ref_when_it_can_be_read() {
        assert!(parse_client("nope").unwrap_err().reference.is_none());
        let err = parse_client(r#"{"type":"fly","ref":"z"}"#).unwrap_err();
        assert_eq!(err.reference.as_deref(), Some("z"));
        assert!(parse_client(r#"{"type":"join","data":{}}"#).is_err());
    }
}
