//! A connection's writer: frames are encoded straight into the buffer the
//! socket's response body hands to actix-http.
//!
//! actix-ws sends through a 32-slot channel to a body that pulls every
//! message into a queue of its own before encoding it. Each socket then
//! holds that channel's blocks and the queue at its largest burst for good,
//! and every frame passes through both. Here the connection's task encodes
//! each frame (with actix-http's [`Parser`]) into one buffer shared with the
//! body, which takes the whole buffer each time actix-http asks for more.
//! actix-ws still does the handshake and reads the client's frames.
//!
//! The task and the body run on the same worker thread (actix-web serves a
//! connection and the tasks its handler spawns on one single-threaded
//! runtime), so the buffer sits in an `Rc<RefCell<_>>`.

use std::cell::RefCell;
use std::convert::Infallible;
use std::future::poll_fn;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use actix_http::ws::{CloseReason, OpCode, Parser};
use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::web::{Bytes, BytesMut};
use actix_web::HttpResponse;

/// The most bytes the body hands actix-http at once. actix-http copies each
/// piece of a body into its write buffer, which starts at 8 KiB and keeps
/// its largest size for the socket's life; this keeps it at 8 KiB.
pub const WRITE_TURN: usize = 8000;

/// A control frame's payload is at most 125 bytes (RFC 6455 §5.5); a close
/// frame's reason, after the 2-byte code, at most 123.
const MAX_CONTROL: usize = 125;
const MAX_CLOSE_REASON: usize = MAX_CONTROL - 2;

/// The connection is gone: the socket closed or the close frame was sent.
#[derive(Debug, PartialEq, Eq)]
pub struct Closed;

#[derive(Default)]
struct Shared {
    /// Encoded frames the body has not taken yet.
    buf: BytesMut,
    /// The body, waiting for frames.
    body: Option<Waker>,
    /// The writer, waiting for the body to take the buffer.
    writer: Option<Waker>,
    /// No frame follows what is in `buf`: the body ends once it is taken.
    closing: bool,
    /// The body was dropped: the connection is closed.
    gone: bool,
}

/// The connection task's end.
pub struct Writer(Rc<RefCell<Shared>>);

/// The socket's response body.
pub struct Body {
    shared: Rc<RefCell<Shared>>,
    /// The body actix-ws made. Its message stream ends when this is
    /// dropped, so it is held, never polled, for as long as the socket's
    /// body lives.
    _stream_open: BoxBody,
}

/// Puts a writer's body in place of the body of actix-ws's handshake
/// response.
pub fn attach(handshake: HttpResponse) -> (Writer, HttpResponse) {
    let (head, stream_open) = handshake.into_parts();
    let shared = Rc::new(RefCell::new(Shared::default()));
    let body = Body {
        shared: shared.clone(),
        _stream_open: stream_open,
    };
    (Writer(shared), head.set_body(body).map_into_boxed_body())
}

impl Writer {
    /// A text frame, or a piece of a fragmented text message: `first`
    /// starts the message, `fin` ends it.
    pub async fn text(&self, payload: &[u8], first: bool, fin: bool) -> Result<(), Closed> {
        self.turn(payload.len()).await?;
        let op = if first {
            OpCode::Text
        } else {
            OpCode::Continue
        };
        self.encode(|buf| Parser::write_message(buf, payload, op, fin, false))
    }

    pub fn ping(&self, payload: &[u8]) -> Result<(), Closed> {
        self.control(OpCode::Ping, payload)
    }

    pub fn pong(&self, payload: &[u8]) -> Result<(), Closed> {
        self.control(OpCode::Pong, payload)
    }

    /// A ping or a pong, its payload cut to what a control frame may carry.
    fn control(&self, op: OpCode, payload: &[u8]) -> Result<(), Closed> {
        let payload = &payload[..payload.len().min(MAX_CONTROL)];
        self.encode(|buf| Parser::write_message(buf, payload, op, true, false))
    }

    /// The close frame, after everything written before it; nothing can be
    /// written after it.
    pub fn close(&self, reason: Option<CloseReason>) -> Result<(), Closed> {
        let reason = reason.map(|mut r| {
            if let Some(description) = r.description.as_mut() {
                let mut end = description.len().min(MAX_CLOSE_REASON);
                while !description.is_char_boundary(end) {
                    end -= 1;
                }
                description.truncate(end);
            }
            r
        });
        self.encode(|buf| Parser::write_close(buf, reason, false))?;
        self.0.borrow_mut().closing = true;
        Ok(())
    }

    /// Waits until the body has taken the buffer, if `len` more bytes would
    /// take it over `WRITE_TURN`.
    async fn turn(&self, len: usize) -> Result<(), Closed> {
        poll_fn(|cx| {
            let mut shared = self.0.borrow_mut();
            if shared.gone || shared.closing {
                return Poll::Ready(Err(Closed));
            }
            // A frame's header is at most 14 bytes; 4 for any this size.
            if shared.buf.is_empty() || shared.buf.len() + len + 4 <= WRITE_TURN {
                return Poll::Ready(Ok(()));
            }
            shared.writer = Some(cx.waker().clone());
            Poll::Pending
        })
        .await
    }

    fn encode(&self, write: impl FnOnce(&mut BytesMut)) -> Result<(), Closed> {
        let mut shared = self.0.borrow_mut();
        if shared.gone || shared.closing {
            return Err(Closed);
        }
        let was_empty = shared.buf.is_empty();
        write(&mut shared.buf);
        if was_empty {
            if let Some(body) = &shared.body {
                body.wake_by_ref();
            }
        }
        Ok(())
    }
}

impl Drop for Writer {
    /// Without a close frame (the task was dropped), the body still ends
    /// after what was written.
    fn drop(&mut self) {
        let mut shared = self.0.borrow_mut();
        shared.closing = true;
        if let Some(body) = shared.body.take() {
            body.wake();
        }
    }
}

impl MessageBody for Body {
    type Error = Infallible;

    fn size(&self) -> BodySize {
        BodySize::Stream
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        let mut shared = self.shared.borrow_mut();
        if !shared.buf.is_empty() {
            // Taken whole, not split: the next frame starts a small buffer
            // rather than keeping this one's allocation alive.
            let chunk = std::mem::take(&mut shared.buf).freeze();
            if let Some(writer) = shared.writer.take() {
                writer.wake();
            }
            return Poll::Ready(Some(Ok(chunk)));
        }
        if shared.closing {
            return Poll::Ready(None);
        }
        if !shared
            .body
            .as_ref()
            .is_some_and(|w| w.will_wake(cx.waker()))
        {
            shared.body = Some(cx.waker().clone());
        }
        Poll::Pending
    }
}

impl Drop for Body {
    fn drop(&mut self) {
        let mut shared = self.shared.borrow_mut();
        shared.gone = true;
        if let Some(writer) = shared.writer.take() {
            writer.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_codec::Decoder;
    use actix_http::ws::{Codec, Frame, Item};
    use actix_web::body::BoxBody;
    use futures_util::FutureExt;

    fn writer() -> (Writer, BoxBody) {
        let handshake = HttpResponse::SwitchingProtocols().finish();
        let (writer, response) = attach(handshake);
        (writer, response.into_body())
    }

    /// What the body has to give now: `Some(chunk)`, or `None` once it ended.
    fn poll(body: &mut BoxBody) -> Poll<Option<Bytes>> {
        let mut cx = Context::from_waker(Waker::noop());
        Pin::new(body)
            .poll_next(&mut cx)
            .map(|c| c.map(|c| c.expect("the body never fails")))
    }

    /// The frames in `bytes`, as a client reads them.
    fn frames(bytes: &[u8]) -> Vec<Frame> {
        let mut codec = Codec::new().client_mode();
        let mut buf = BytesMut::from(bytes);
        let mut out = Vec::new();
        while let Some(frame) = codec.decode(&mut buf).expect("valid frames") {
            out.push(frame);
        }
        assert!(buf.is_empty(), "no partial frame left");
        out
    }

    fn text(frame: &Frame) -> String {
        match frame {
            Frame::Text(b) => String::from_utf8(b.to_vec()).unwrap(),
            other => panic!("not a text frame: {other:?}"),
        }
    }

    #[test]
    fn frames_reach_the_client_in_order_and_the_close_ends_the_body() {
        let (writer, mut body) = writer();
        assert_eq!(poll(&mut body), Poll::Pending);
        writer
            .text(b"one", true, true)
            .now_or_never()
            .unwrap()
            .unwrap();
        writer.ping(b"").unwrap();
        writer
            .text(b"two", true, true)
            .now_or_never()
            .unwrap()
            .unwrap();
        let long = "x".repeat(200);
        writer
            .close(Some(CloseReason {
                code: actix_http::ws::CloseCode::Away,
                description: Some(long),
            }))
            .unwrap();
        assert_eq!(writer.pong(b"late"), Err(Closed));

        let Poll::Ready(Some(chunk)) = poll(&mut body) else {
            panic!("the frames are ready")
        };
        assert_eq!(poll(&mut body), Poll::Ready(None));
        let frames = frames(&chunk);
        assert_eq!(frames.len(), 4);
        assert_eq!(text(&frames[0]), "one");
        assert!(matches!(&frames[1], Frame::Ping(p) if p.is_empty()));
        assert_eq!(text(&frames[2]), "two");
        match &frames[3] {
            Frame::Close(Some(reason)) => {
                assert_eq!(reason.code, actix_http::ws::CloseCode::Away);
                // Cut to fit a control frame.
                assert_eq!(
                    reason.description.as_deref().map(str::len),
                    Some(MAX_CLOSE_REASON)
                );
            }
            other => panic!("not a close frame: {other:?}"),
        }
    }

    #[test]
    fn the_writer_waits_for_the_body_rather_than_hand_over_more_than_a_turn() {
        let (writer, mut body) = writer();
        let piece = vec![b'a'; 3000];
        let mut sent = 0;
        let mut received = Vec::new();
        while sent < 10 {
            match writer.text(&piece, true, true).now_or_never() {
                Some(result) => {
                    result.unwrap();
                    sent += 1;
                }
                None => {
                    // Two pieces fit in a turn, a third does not.
                    let Poll::Ready(Some(chunk)) = poll(&mut body) else {
                        panic!("a full turn is ready")
                    };
                    assert!(chunk.len() <= WRITE_TURN);
                    received.extend_from_slice(&chunk);
                }
            }
        }
        drop(writer);
        while let Poll::Ready(Some(chunk)) = poll(&mut body) {
            assert!(chunk.len() <= WRITE_TURN);
            received.extend_from_slice(&chunk);
        }
        assert_eq!(
            poll(&mut body),
            Poll::Ready(None),
            "ends without a close frame"
        );
        let frames = frames(&received);
        assert_eq!(frames.len(), 10);
        assert!(frames.iter().all(|f| text(f).len() == 3000));
    }

    #[test]
    fn a_fragmented_message_is_sent_as_pieces() {
        let (writer, mut body) = writer();
        for (piece, first, fin) in [
            ("ab", true, false),
            ("cd", false, false),
            ("e", false, true),
        ] {
            writer
                .text(piece.as_bytes(), first, fin)
                .now_or_never()
                .unwrap()
                .unwrap();
        }
        let Poll::Ready(Some(chunk)) = poll(&mut body) else {
            panic!("the pieces are ready")
        };
        let frames = frames(&chunk);
        assert!(matches!(&frames[0], Frame::Continuation(Item::FirstText(b)) if &b[..] == b"ab"));
        assert!(matches!(&frames[1], Frame::Continuation(Item::Continue(b)) if &b[..] == b"cd"));
        assert!(matches!(&frames[2], Frame::Continuation(Item::Last(b)) if &b[..] == b"e"));
    }

    #[test]
    fn once_the_socket_is_gone_writing_fails_even_while_waiting() {
        let (writer, body) = writer();
        let piece = vec![b'a'; 5000];
        writer
            .text(&piece, true, true)
            .now_or_never()
            .unwrap()
            .unwrap();
        let mut waiting = Box::pin(writer.text(&piece, true, true));
        assert!((&mut waiting).now_or_never().is_none());
        drop(body);
        assert_eq!(waiting.now_or_never(), Some(Err(Closed)));
        assert_eq!(writer.ping(b""), Err(Closed));
    }
}
