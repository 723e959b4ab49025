//! A connection's writer: frames are encoded straight into one buffer,
//! which the connection's [`Flusher`] writes to the socket whole.
//!
//! actix-ws sends through a 32-slot channel to a body that pulls every
//! message into a queue of its own before encoding it. Each socket then
//! holds that channel's blocks and the queue at its largest burst for good,
//! and every frame passes through both. Here the connection's task encodes
//! each frame (with actix-http's [`Parser`]) into a buffer shared with the
//! flusher, which takes the whole buffer each time it has written the last.
//! The client's frames are read by [`crate::realtime::inbound`].
//!
//! The task and the flusher run on the same worker thread (actix-web serves
//! a connection and the tasks its handler spawns on one single-threaded
//! runtime), so the buffer sits in an `Rc<RefCell<_>>`.

use std::cell::RefCell;
use std::future::{poll_fn, Future};
use std::io;
use std::net::Shutdown;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{ready, Context, Poll, Waker};

use actix_http::ws::{CloseReason, OpCode, Parser};
use actix_web::body::BoxBody;
use actix_web::web::{Bytes, BytesMut};
use actix_web::HttpResponse;
use bytes::Buf;
use tokio::net::TcpStream;

use crate::realtime::transport::OpenSocket;

/// The most bytes the writer buffers while the flusher is still writing
/// what it took before: a burst waits for the socket instead of growing the
/// buffer without bound.
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
    /// Encoded frames the flusher has not taken yet.
    buf: BytesMut,
    /// The flusher, waiting for frames.
    flusher: Option<Waker>,
    /// The writer, waiting for the flusher to take the buffer.
    writer: Option<Waker>,
    /// No frame follows what is in `buf`: the flusher ends once it is written.
    closing: bool,
    /// The flusher was dropped: the connection is closed.
    gone: bool,
}

/// The connection task's end.
pub struct Writer(Rc<RefCell<Shared>>);

/// Writes what the writer encodes to the socket, once the connection is
/// handed over ([`crate::realtime::transport`]). Dropped unused, it closes
/// the writer.
pub struct Flusher {
    shared: Rc<RefCell<Shared>>,
    /// The body of the handshake response, held, never polled, for as long
    /// as the connection is written to: actix-ws's message stream (which
    /// the benchmark ceiling reads with) ends when its body is dropped.
    _stream_open: BoxBody,
    _open: OpenSocket,
}

/// Takes the body of a handshake response: the response left goes out with
/// no body, and the writer's frames follow it through the flusher.
pub fn attach(handshake: HttpResponse, open: OpenSocket) -> (Writer, Flusher, HttpResponse) {
    let (head, stream_open) = handshake.into_parts();
    let shared = Rc::new(RefCell::new(Shared::default()));
    let flusher = Flusher {
        shared: shared.clone(),
        _stream_open: stream_open,
        _open: open,
    };
    (Writer(shared), flusher, head.set_body(BoxBody::new(())))
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

    /// A whole binary frame. gifchat's own frames are all text; this is for
    /// the conformance build's echo (`examples/ws_echo.rs`).
    pub async fn binary(&self, payload: &[u8]) -> Result<(), Closed> {
        self.turn(payload.len()).await?;
        self.encode(|buf| Parser::write_message(buf, payload, OpCode::Binary, true, false))
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

    /// Waits until the flusher has taken the buffer, if `len` more bytes would
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
            if let Some(flusher) = &shared.flusher {
                flusher.wake_by_ref();
            }
        }
        Ok(())
    }
}

impl Drop for Writer {
    /// Without a close frame (the task was dropped), the flusher still
    /// ends after what was written.
    fn drop(&mut self) {
        let mut shared = self.0.borrow_mut();
        shared.closing = true;
        if let Some(flusher) = shared.flusher.take() {
            flusher.wake();
        }
    }
}

impl Flusher {
    /// Writes every buffer the writer fills to `io` until the writer is
    /// done, then ends the connection's sending side. A failed write ends it
    /// at once, and the writer's next frame fails.
    pub fn run(self, io: Rc<TcpStream>) -> Flushing {
        Flushing {
            flusher: self,
            io,
            chunk: Bytes::new(),
        }
    }

    /// The whole buffer, once it holds anything; `None` once the writer is
    /// done and everything is taken.
    fn poll_take(&self, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        let mut shared = self.shared.borrow_mut();
        if !shared.buf.is_empty() {
            // Taken whole, not split: the next frame starts a small buffer
            // rather than keeping this one's allocation alive.
            let chunk = std::mem::take(&mut shared.buf).freeze();
            if let Some(writer) = shared.writer.take() {
                writer.wake();
            }
            return Poll::Ready(Some(chunk));
        }
        if shared.closing {
            return Poll::Ready(None);
        }
        if !shared
            .flusher
            .as_ref()
            .is_some_and(|w| w.will_wake(cx.waker()))
        {
            shared.flusher = Some(cx.waker().clone());
        }
        Poll::Pending
    }
}

/// [`Flusher::run`]'s future, written out by hand: it is a task of its own
/// for every socket, and this holds only what it needs.
pub struct Flushing {
    flusher: Flusher,
    io: Rc<TcpStream>,
    /// What is left to write of the buffer taken last.
    chunk: Bytes,
}

impl Future for Flushing {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        loop {
            if this.chunk.is_empty() {
                match ready!(this.flusher.poll_take(cx)) {
                    Some(chunk) => this.chunk = chunk,
                    None => {
                        // The close frame (or the last frame) is out: a FIN
                        // after it tells the client nothing more comes.
                        let _ = socket2::SockRef::from(&*this.io).shutdown(Shutdown::Write);
                        return Poll::Ready(());
                    }
                }
            }
            let written = match ready!(this.io.poll_write_ready(cx)) {
                Ok(()) => this.io.try_write(&this.chunk),
                Err(e) => Err(e),
            };
            match written {
                Ok(0) => return Poll::Ready(()),
                // Let go of the buffer once it is all written: an idle
                // socket should hold none.
                Ok(n) if n == this.chunk.len() => this.chunk = Bytes::new(),
                Ok(n) => this.chunk.advance(n),
                // Readiness was stale: poll again, which waits.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => {
                    log::debug!("a socket's connection failed: {e}");
                    return Poll::Ready(());
                }
            }
        }
    }
}

impl Drop for Flusher {
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
    use futures_util::FutureExt;

    use crate::realtime::transport::OpenSockets;

    fn writer() -> (Writer, Flusher) {
        let handshake = HttpResponse::SwitchingProtocols().finish();
        let (writer, flusher, _) = attach(handshake, OpenSockets::default().open());
        (writer, flusher)
    }

    /// What the flusher has to write now: `Some(chunk)`, or `None` once the
    /// writer is done.
    fn poll(flusher: &mut Flusher) -> Poll<Option<Bytes>> {
        flusher.poll_take(&mut Context::from_waker(Waker::noop()))
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
    fn frames_reach_the_client_in_order_and_the_close_ends_the_flushing() {
        let (writer, mut flusher) = writer();
        assert_eq!(poll(&mut flusher), Poll::Pending);
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

        let Poll::Ready(Some(chunk)) = poll(&mut flusher) else {
            panic!("the frames are ready")
        };
        assert_eq!(poll(&mut flusher), Poll::Ready(None));
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
    fn the_writer_waits_for_the_flusher_rather_than_buffer_more_than_a_turn() {
        let (writer, mut flusher) = writer();
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
                    let Poll::Ready(Some(chunk)) = poll(&mut flusher) else {
                        panic!("a full turn is ready")
                    };
                    assert!(chunk.len() <= WRITE_TURN);
                    received.extend_from_slice(&chunk);
                }
            }
        }
        drop(writer);
        while let Poll::Ready(Some(chunk)) = poll(&mut flusher) {
            assert!(chunk.len() <= WRITE_TURN);
            received.extend_from_slice(&chunk);
        }
        assert_eq!(
            poll(&mut flusher),
            Poll::Ready(None),
            "ends without a close frame"
        );
        let frames = frames(&received);
        assert_eq!(frames.len(), 10);
        assert!(frames.iter().all(|f| text(f).len() == 3000));
    }

    #[test]
    fn a_fragmented_message_is_sent_as_pieces() {
        let (writer, mut flusher) = writer();
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
        let Poll::Ready(Some(chunk)) = poll(&mut flusher) else {
            panic!("the pieces are ready")
        };
        let frames = frames(&chunk);
        assert!(matches!(&frames[0], Frame::Continuation(Item::FirstText(b)) if &b[..] == b"ab"));
        assert!(matches!(&frames[1], Frame::Continuation(Item::Continue(b)) if &b[..] == b"cd"));
        assert!(matches!(&frames[2], Frame::Continuation(Item::Last(b)) if &b[..] == b"e"));
    }

    #[test]
    fn once_the_socket_is_gone_writing_fails_even_while_waiting() {
        let (writer, flusher) = writer();
        let piece = vec![b'a'; 5000];
        writer
            .text(&piece, true, true)
            .now_or_never()
            .unwrap()
            .unwrap();
        let mut waiting = Box::pin(writer.text(&piece, true, true));
        assert!((&mut waiting).now_or_never().is_none());
        drop(flusher);
        assert_eq!(waiting.now_or_never(), Some(Err(Closed)));
        assert_eq!(writer.ping(b""), Err(Closed));
    }
}
