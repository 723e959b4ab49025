//! What a client sends over its socket, as whole messages, and the close
//! code for anything that breaks RFC 6455.
//!
//! Frames are decoded by actix-http's codec; this joins fragmented
//! messages, checks text as UTF-8 while it arrives, and bounds every message
//! by `WS_MAX_FRAME_BYTES`. It replaces actix-ws's message stream, which
//! closed both an invalid UTF-8 text and an over-long fragmented message as
//! a protocol error (1002), and buffered a frame announced as over the limit
//! until all of it had arrived.
//!
//! | the client sends | the socket closes with |
//! |---|---|
//! | a text message, whole or fragmented, that is not UTF-8 | 1007 |
//! | a message, whole or fragmented, over the limit | 1009 |
//! | anything else against the protocol (bad opcode, reserved bits, an unmasked or misplaced frame, an over-long control frame, a close code no endpoint may send or a close reason that is not UTF-8) | 1002 |

use std::future::poll_fn;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use actix_codec::Decoder;
use actix_http::ws::{CloseCode, CloseReason, Codec, Frame, Item, ProtocolError};
use actix_web::dev::Payload;
use actix_web::web::{Bytes, BytesMut};
use bytestring::ByteString;
use futures_util::Stream;

/// A frame header is at most 14 bytes (RFC 6455 §5.2).
const MAX_HEADER: usize = 14;

/// One whole message from the client.
#[derive(Debug, PartialEq, Eq)]
pub enum Message {
    Text(ByteString),
    Binary(Bytes),
    Ping(Bytes),
    Pong(Bytes),
    /// The client's close; nothing is read after it.
    Close(Option<CloseReason>),
}

/// A fragmented message being joined.
struct Partial {
    text: bool,
    bytes: BytesMut,
    /// How much of `bytes` is known to be whole UTF-8 characters.
    checked: usize,
}

/// The client's messages, read from the socket's body.
pub struct Inbound {
    payload: Payload,
    buf: BytesMut,
    codec: Codec,
    /// The largest message, whole or joined.
    max: usize,
    // Boxed: most sockets never receive a fragmented message, and this
    // lives as long as the socket.
    partial: Option<Box<Partial>>,
    /// The client closed, broke the protocol or went: nothing more is read.
    done: bool,
}

/// How the socket closes when the client breaks the protocol.
fn broken(code: CloseCode, why: &str) -> CloseReason {
    CloseReason {
        code,
        description: Some(why.to_owned()),
    }
}

fn not_utf8() -> CloseReason {
    broken(CloseCode::Invalid, "text is not UTF-8")
}

fn too_large() -> CloseReason {
    broken(CloseCode::Size, "message too large")
}

fn protocol(e: &ProtocolError) -> CloseReason {
    match e {
        ProtocolError::Overflow => too_large(),
        // The codec answers a close code outside RFC 6455 §7.4, and a
        // close reason that is not UTF-8, with this one error.
        ProtocolError::BadOpCode => broken(
            CloseCode::Protocol,
            "bad close frame: its code is not one a client may send, or its reason is not UTF-8",
        ),
        other => broken(CloseCode::Protocol, &other.to_string()),
    }
}

/// Whether `bytes[*checked..]` can still be the rest of UTF-8 text: whole
/// characters, and, unless `complete`, the start of one more. Moves
/// `checked` past the whole characters, so text arriving in pieces is
/// checked once.
fn utf8_so_far(bytes: &[u8], checked: &mut usize, complete: bool) -> bool {
    match std::str::from_utf8(&bytes[*checked..]) {
        Ok(_) => {
            *checked = bytes.len();
            true
        }
        Err(e) => {
            *checked += e.valid_up_to();
            // No error length: the bytes end inside a character.
            e.error_len().is_none() && !complete
        }
    }
}

impl Inbound {
    /// Reads `payload`, the socket's body, taking messages of at most `max`
    /// bytes.
    pub fn new(payload: Payload, max: usize) -> Self {
        Self {
            payload,
            buf: BytesMut::new(),
            codec: Codec::new().max_size(max),
            max,
            partial: None,
            done: false,
        }
    }

    /// The next message; `Err` with the close reason when the client broke
    /// the protocol; `None` once the client has closed or gone.
    pub async fn recv(&mut self) -> Option<Result<Message, CloseReason>> {
        poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }

    /// What a decoded frame makes: a message, nothing yet (a piece of a
    /// fragmented one), or a close reason.
    fn frame(&mut self, frame: Frame) -> Option<Result<Message, CloseReason>> {
        let message = match frame {
            Frame::Text(bytes) => match ByteString::try_from(bytes) {
                Ok(text) => Message::Text(text),
                Err(_) => return Some(Err(not_utf8())),
            },
            Frame::Binary(bytes) => Message::Binary(bytes),
            Frame::Ping(bytes) => Message::Ping(bytes),
            Frame::Pong(bytes) => Message::Pong(bytes),
            Frame::Close(reason) => {
                self.done = true;
                Message::Close(reason)
            }
            Frame::Continuation(item) => return self.piece(item),
        };
        Some(Ok(message))
    }

    /// Starts a fragmented message with `first`, its first piece.
    fn start(&mut self, first: Bytes, text: bool) -> Bytes {
        self.partial = Some(Box::new(Partial {
            text,
            bytes: BytesMut::new(),
            checked: 0,
        }));
        first
    }

    /// A piece of a fragmented message; the codec has checked their order.
    fn piece(&mut self, item: Item) -> Option<Result<Message, CloseReason>> {
        let (bytes, last) = match item {
            Item::FirstText(bytes) => (self.start(bytes, true), false),
            Item::FirstBinary(bytes) => (self.start(bytes, false), false),
            Item::Continue(bytes) => (bytes, false),
            Item::Last(bytes) => (bytes, true),
        };
        let partial = self.partial.as_mut()?;
        if partial.bytes.len() + bytes.len() > self.max {
            return Some(Err(too_large()));
        }
        partial.bytes.extend_from_slice(&bytes);
        if partial.text && !utf8_so_far(&partial.bytes, &mut partial.checked, last) {
            return Some(Err(not_utf8()));
        }
        if !last {
            return None;
        }
        let Partial { text, bytes, .. } = *self.partial.take()?;
        let bytes = bytes.freeze();
        Some(Ok(if text {
            match ByteString::try_from(bytes) {
                Ok(text) => Message::Text(text),
                Err(_) => return Some(Err(not_utf8())),
            }
        } else {
            Message::Binary(bytes)
        }))
    }
}

impl Stream for Inbound {
    type Item = Result<Message, CloseReason>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if this.done {
                return Poll::Ready(None);
            }
            match this.codec.decode(&mut this.buf) {
                Ok(Some(frame)) => {
                    if this.buf.is_empty() {
                        // Let go of the read's allocation: an idle socket
                        // holds no buffer.
                        this.buf = BytesMut::new();
                    }
                    match this.frame(frame) {
                        Some(Err(reason)) => {
                            this.done = true;
                            return Poll::Ready(Some(Err(reason)));
                        }
                        Some(Ok(message)) => return Poll::Ready(Some(Ok(message))),
                        None => continue,
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    this.done = true;
                    return Poll::Ready(Some(Err(protocol(&e))));
                }
            }
            // What is buffered starts a frame the codec cannot finish yet.
            // One longer than the limit is refused now, not once it has all
            // arrived.
            if this.buf.len() > this.max + MAX_HEADER {
                this.done = true;
                return Poll::Ready(Some(Err(too_large())));
            }
            match ready!(Pin::new(&mut this.payload).poll_next(cx)) {
                Some(Ok(bytes)) => {
                    if this.buf.is_empty() {
                        this.buf = BytesMut::from(bytes);
                    } else {
                        this.buf.extend_from_slice(&bytes);
                    }
                }
                // The connection broke or ended: there is no one to tell.
                Some(Err(_)) | None => this.done = true,
            }
        }
    }
}

/// The close frame that answers the client's: its code echoed, as RFC 6455
/// §5.5.1 suggests, without a reason.
pub fn answer_to_close(theirs: Option<CloseReason>) -> Option<CloseReason> {
    theirs.map(|r| CloseReason {
        code: r.code,
        description: None,
    })
}
