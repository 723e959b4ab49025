//! A connection's writer: frames are encoded straight into one buffer,
//! which the connection's [`Flusher`] writes to the socket whole.
//!
//! actix-ws sends through a 32-slot channel to a body that pulls every
//! message into a queue of its own before encoding it. Each socket then
//! holds that channel's blocks and the queue at its largest burst for good,
//! and every frame passes through both. Here the connection's task encodes
//! each frame (with actix-http's [`Parser`]) into a buffer shared with the
//! flusher, which takes the whole buffer each time it has written the last.
//! The client's frames are read by [`crate::realtime::transport::inbound`].
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
use std::time::Duration;

use actix_http::ws::{CloseReason, OpCode, Parser};
use actix_web::body::BoxBody;
use actix_web::web::{Bytes, BytesMut};
use actix_web::HttpResponse;
use bytes::Buf;
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

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
    /// as the connection is written to: a handshake whose reader watches
    /// its body (actix-ws's does) would otherwise end the reading.
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
        let mut shared = self.0.borrow_mut();
        shared.closing = true;
        // Even when it is still writing: from now on it has a deadline.
        if let Some(flusher) = &shared.flusher {
            flusher.wake_by_ref();
        }
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
    /// done, then ends the connection (see [`Flushing`]).
    pub fn run(self, io: Rc<TcpStream>) -> Flushing {
        Flushing {
            flusher: self,
            io,
            chunk: Bytes::new(),
            watch: Watch::Idle,
            timer: None,
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

    /// No frame follows what is buffered.
    fn closing(&self) -> bool {
        self.shared.borrow().closing
    }
}

/// How long a write may wait for the client to take any of it before the
/// connection is dropped: a client that stopped reading holds no socket.
pub const WRITE_STALL: Duration = Duration::from_secs(5);

/// How long a closing connection may take, from its close frame (or the end
/// of its writer) to the client's own end, before it is dropped: the close
/// frame may sit behind everything a slow client has not read.
pub const CLOSE_WITHIN: Duration = Duration::from_secs(5);

/// What the flusher's timer, if any, is timing.
#[derive(Debug, Clone, Copy)]
enum Watch {
    /// Nothing waits to be written: no timer.
    Idle,
    /// A write has waited for the socket; bytes last went out at `progress`.
    /// The timer fires `WRITE_STALL` after a wait began, and is moved on
    /// then if there was progress since.
    Waiting { progress: Instant },
    /// The writer is done: everything is written and the client has closed
    /// its end by the timer, or the connection is dropped.
    Closing,
    /// Everything is written and the sending side shut: the client's bytes
    /// are read and dropped until it closes its end, or the timer.
    Lingering,
}

/// [`Flusher::run`]'s future, written out by hand: it is a task of its own
/// for every socket, and this holds only what it needs.
///
/// Once the writer is done it writes what is left, shuts the sending side
/// (a FIN behind the close frame), and waits for the client to end its side
/// too, so the connection closes cleanly. A connection whose writes make no
/// progress for `WRITE_STALL`, or that has not closed `CLOSE_WITHIN` after
/// its writer was done, is reset instead: the kernel drops what the client
/// never read, and the socket's reader, if still there, ends.
pub struct Flushing {
    flusher: Flusher,
    io: Rc<TcpStream>,
    /// What is left to write of the buffer taken last.
    chunk: Bytes,
    watch: Watch,
    /// Made only once a write has had to wait or the writer is done: a
    /// socket whose client keeps up never has one.
    timer: Option<Pin<Box<Sleep>>>,
}

impl Flushing {
    fn arm(&mut self, at: Instant) {
        match &mut self.timer {
            Some(timer) => timer.as_mut().reset(at),
            None => self.timer = Some(Box::pin(tokio::time::sleep_until(at))),
        }
    }

    /// Whether the timer has fired; registers for it otherwise.
    fn poll_timer(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        match &mut self.timer {
            Some(timer) => timer.as_mut().poll(cx),
            None => Poll::Pending,
        }
    }

    /// A write waits for the socket: it must move within `WRITE_STALL`.
    fn poll_stalled(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if let Watch::Idle = self.watch {
            let now = Instant::now();
            self.watch = Watch::Waiting { progress: now };
            self.arm(now + WRITE_STALL);
        }
        loop {
            ready!(self.poll_timer(cx));
            match self.watch {
                Watch::Waiting { progress } if progress.elapsed() < WRITE_STALL => {
                    self.arm(progress + WRITE_STALL)
                }
                Watch::Waiting { .. } => {
                    log::debug!("a socket's client took nothing for {WRITE_STALL:?}: dropped");
                    return self.reset();
                }
                _ => {
                    log::debug!("a socket did not close within {CLOSE_WITHIN:?}: dropped");
                    return self.reset();
                }
            }
        }
    }

    /// Reads and drops what the client still sends until it closes its end.
    fn poll_linger(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            match self.io.poll_read_ready(cx) {
                Poll::Ready(Ok(())) => {
                    let mut sink = [0u8; 512];
                    match self.io.try_read(&mut sink) {
                        Ok(0) => return Poll::Ready(()),
                        Ok(_) => {}
                        // Readiness was stale: poll again, which waits.
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                        Err(_) => return Poll::Ready(()),
                    }
                }
                Poll::Ready(Err(_)) => return Poll::Ready(()),
                Poll::Pending => {
                    ready!(self.poll_timer(cx));
                    log::debug!("a socket's client did not close within {CLOSE_WITHIN:?}: dropped");
                    return self.reset();
                }
            }
        }
    }

    /// Drops the connection with a reset rather than a FIN once the last
    /// hold on it goes, discarding what the client never read, and ends the
    /// socket's reader.
    fn reset(&mut self) -> Poll<()> {
        let socket = socket2::SockRef::from(&*self.io);
        let _ = socket.set_linger(Some(Duration::ZERO));
        let _ = socket.shutdown(Shutdown::Read);
        Poll::Ready(())
    }
}

impl Future for Flushing {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if matches!(this.watch, Watch::Idle | Watch::Waiting { .. }) && this.flusher.closing() {
            this.watch = Watch::Closing;
            this.arm(Instant::now() + CLOSE_WITHIN);
        }
        loop {
            if let Watch::Lingering = this.watch {
                return this.poll_linger(cx);
            }
            if this.chunk.is_empty() {
                match this.flusher.poll_take(cx) {
                    Poll::Ready(Some(chunk)) => this.chunk = chunk,
                    Poll::Ready(None) => {
                        // The close frame (or the last frame) is out: a FIN
                        // after it tells the client nothing more comes.
                        let _ = socket2::SockRef::from(&*this.io).shutdown(Shutdown::Write);
                        if !matches!(this.watch, Watch::Closing) {
                            this.arm(Instant::now() + CLOSE_WITHIN);
                        }
                        this.watch = Watch::Lingering;
                        continue;
                    }
                    Poll::Pending => {
                        if let Watch::Waiting { .. } = this.watch {
                            this.watch = Watch::Idle;
                            this.timer = None;
                        }
                        return Poll::Pending;
                    }
                }
            }
            let written = match this.io.poll_write_ready(cx) {
                Poll::Ready(Ok(())) => this.io.try_write(&this.chunk),
                Poll::Ready(Err(e)) => Err(e),
                Poll::Pending => return this.poll_stalled(cx),
            };
            match written {
                Ok(0) => return this.reset(),
                Ok(n) => {
                    // Let go of the buffer once it is all written: an idle
                    // socket should hold none.
                    if n == this.chunk.len() {
                        this.chunk = Bytes::new();
                    } else {
                        this.chunk.advance(n);
                    }
                    if let Watch::Waiting { progress } = &mut this.watch {
                        *progress = Instant::now();
                    }
                }
                // Readiness was stale: poll again, which waits.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => {
                    log::debug!("a socket's connection failed: {e}");
                    return this.reset();
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
mod tests;
