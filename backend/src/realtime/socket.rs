//! One task per WebSocket connection, `select!`-ing over an eviction
//! notice, its outbound queue, inbound frames and the heartbeat.
//!
//! Close codes: 1001 the server is shutting down; 1009 a frame over
//! `WS_MAX_FRAME_BYTES`; 1008 no heartbeat answer within two intervals;
//! 4008 too slow: the outbound queue (`WS_QUEUE` frames) filled up because
//! the client was not reading.

use std::future::Future;
use std::num::NonZeroU32;
use std::pin::Pin;
use std::time::{Duration, Instant};

use actix_web::web::{Bytes, Data};
use actix_ws::{AggregatedMessage, CloseCode, CloseReason, Item, Session};
use bytestring::ByteString;
use governor::{DefaultDirectRateLimiter, Quota};

use crate::api::UserResponse;
use crate::error::AppError;
use crate::realtime::envelope::{parse_client, ClientEnvelope, ServerEnvelope};
use crate::realtime::hub::{Arrival, ConnId, Eviction, Registration};
use crate::realtime::service;
use crate::state::AppState;

#[derive(Default)]
struct LastSent(Vec<(Box<str>, i64)>);

impl LastSent {
    fn get(&self, room: &str) -> Option<i64> {
        self.0.iter().find(|(r, _)| &**r == room).map(|(_, s)| *s)
    }

    fn set(&mut self, room: &str, seq: i64) {
        match self.0.iter_mut().find(|(r, _)| &**r == room) {
            Some((_, s)) => *s = seq,
            None => self.0.push((room.into(), seq)),
        }
    }

    fn remove(&mut self, room: &str) {
        self.0.retain(|(r, _)| &**r != room);
    }
}

/// The most bytes of frames handed to a connection's writer between two of
/// its turns, each frame counted with the 4-byte header it gets (the
/// payload of a frame this size needs no more). The writer copies all it
/// was handed into a buffer that starts at 8 KiB and keeps its largest size
/// for the socket's life; this keeps it at 8 KiB.
const WRITE_TURN: usize = 8000;

/// The longest text frame sent whole; a longer message is fragmented into
/// pieces at most this long, cut between characters.
const PIECE: usize = 4000;

/// A frame's header, as counted against `WRITE_TURN`.
const FRAME_HEADER: usize = 4;

/// Bytes handed to a connection's writer since it last took what it was
/// handed, frame headers included.
#[derive(Default)]
struct Handed(usize);

impl Handed {
    /// Whether the writer must take its turn before `len` more bytes.
    fn full_with(&self, len: usize) -> bool {
        self.0 + len > WRITE_TURN
    }

    /// The writer took everything handed over so far.
    fn taken(&mut self) {
        self.0 = 0;
    }

    /// `len` bytes were handed over. If that had to wait for room in the
    /// writer's channel, the writer took everything before them meanwhile.
    fn add(&mut self, len: usize, waited: bool) {
        if waited {
            self.taken();
        }
        self.0 += len;
    }
}

/// Runs `send` and tells whether it had to wait (for room in the writer's
/// channel, which the writer makes by taking all that is queued). It takes
/// the send pinned where it was made, so the send is not held twice in the
/// connection's task.
fn waits<F>(mut send: Pin<&mut F>) -> impl Future<Output = Result<bool, actix_ws::Closed>> + '_
where
    F: Future<Output = Result<(), actix_ws::Closed>>,
{
    let mut waited = false;
    std::future::poll_fn(move |cx| {
        let poll = send.as_mut().poll(cx);
        waited |= poll.is_pending();
        poll.map(|out| out.map(|()| waited))
    })
}

/// Puts the task back at the end of its worker's run queue, so that the
/// tasks already woken (this connection's writer among them) run first.
/// Unlike `tokio::task::yield_now`, it does not wait for the next poll of
/// the I/O driver.
async fn requeue() {
    let mut queued = false;
    std::future::poll_fn(|cx| {
        if std::mem::replace(&mut queued, true) {
            return std::task::Poll::Ready(());
        }
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    })
    .await
}

/// Where the piece of `text` starting at `start` ends: at most `PIECE`
/// bytes on, on a character boundary.
fn fragment_end(text: &[u8], start: usize) -> usize {
    let mut end = (start + PIECE).min(text.len());
    // A UTF-8 continuation byte (10xxxxxx) is never where a character starts.
    while end < text.len() && text[end] & 0xC0 == 0x80 {
        end -= 1;
    }
    end
}

/// Close code for a client that does not read fast enough.
pub const CLOSE_TOO_SLOW: u16 = 4008;

/// How long a closing connection waits for its close frame to be taken.
const CLOSE_WAIT: Duration = Duration::from_secs(10);

struct Connection {
    state: Data<AppState>,
    id: ConnId,
    user: UserResponse,
    session: Session,
    /// The highest chat seq sent per room, to drop live copies of replayed
    /// chats and to notice missed ones. A socket is in a few rooms at most,
    /// so a list beats hashing the room id on every delivery.
    last_sent: LastSent,
    handed: Handed,
    limiter: Option<DefaultDirectRateLimiter>,
}

/// Registers the connection and returns the task that serves it. Not an
/// `async fn`: an `async fn` keeps its arguments in the task beside what is
/// made from them, for the socket's whole life.
pub fn run(
    state: Data<AppState>,
    user: UserResponse,
    session: Session,
    stream: actix_ws::MessageStream,
) -> impl Future<Output = ()> {
    let settings = &state.settings;
    let heartbeat = Duration::from_secs(settings.ws_heartbeat_secs.max(1));
    let mut stream = stream
        .max_frame_size(settings.ws_max_frame_bytes)
        .aggregate_continuations()
        .max_continuation_size(settings.ws_max_frame_bytes);
    let Registration {
        id,
        mut rx,
        mut evicted,
    } = state.hub.connect(user.clone());
    let limiter = NonZeroU32::new(settings.rate_ws_frames_per_sec)
        .filter(|_| settings.rate_limits)
        .map(|n| {
            DefaultDirectRateLimiter::direct(
                Quota::per_second(n)
                    .allow_burst(n.saturating_mul(NonZeroU32::new(2).unwrap_or(NonZeroU32::MIN))),
            )
        });
    let mut conn = Connection {
        state: state.clone(),
        id,
        user,
        session,
        last_sent: LastSent::default(),
        handed: Handed::default(),
        limiter,
    };

    let hello = ServerEnvelope::Hello {
        user: conn.user.clone(),
        heartbeat_secs: heartbeat.as_secs(),
    }
    .frame();
    async move {
        // Eviction must win even while a send is blocked on a client that does
        // not read, so it races the whole serving loop rather than one branch.
        let reason = tokio::select! {
            biased;
            eviction = &mut evicted => Some(match eviction {
                Ok(Eviction::ShuttingDown) => CloseReason {
                    code: CloseCode::Away,
                    description: Some("the server is restarting".into()),
                },
                _ => CloseReason {
                    code: CloseCode::Other(CLOSE_TOO_SLOW),
                    description: Some("too slow: the outbound queue is full".into()),
                },
            }),
            reason = conn.serve(hello, &mut rx, &mut stream, heartbeat) => reason,
        };
        service::disconnect(&state, id);
        // The close frame waits behind what the client has not read yet; give up
        // on a client that never reads it.
        let _ = tokio::time::timeout(CLOSE_WAIT, conn.session.close(reason)).await;
    }
}

impl Connection {
    /// Serves until the client goes or breaks a rule; returns how to close.
    async fn serve(
        &mut self,
        hello: ByteString,
        rx: &mut crate::realtime::queue::Receiver,
        stream: &mut actix_ws::AggregatedMessageStream,
        heartbeat: Duration,
    ) -> Option<CloseReason> {
        self.send_frame(hello).await.ok()?;
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + heartbeat, heartbeat);
        let mut last_heard = Instant::now();
        loop {
            tokio::select! {
                out = rx.recv() => {
                    let out = out?;
                    if rx.waited() {
                        // The writer has had its turn since this task last sent.
                        self.handed.taken();
                    }
                    if let Some((room, seq)) = &out.chat {
                        match Arrival::of(self.last_sent.get(room), *seq) {
                            Arrival::Duplicate => continue,
                            Arrival::After(last) => Box::pin(self.fill_gap(room, last, *seq)).await.ok()?,
                            Arrival::InOrder => {}
                        }
                        self.last_sent.set(room, *seq);
                    }
                    // A seq marker (someone else's whisper) has no frame.
                    if !out.frame.is_empty() {
                        self.send_frame(out.frame.clone()).await.ok()?;
                    }
                }
                msg = stream.recv() => {
                    last_heard = Instant::now();
                    match msg {
                        Some(Ok(AggregatedMessage::Text(text))) => {
                            // Boxed: handling a command (a join above all) takes a large
                            // future, and this task lives as long as the socket.
                            Box::pin(self.handle_text(&text)).await.ok()?
                        },
                        Some(Ok(AggregatedMessage::Binary(_))) => {
                            self.send_error(None, &AppError::BadRequest("frames must be JSON text".into())).await.ok()?
                        }
                        Some(Ok(AggregatedMessage::Ping(bytes))) => self.session.pong(&bytes).await.ok()?,
                        Some(Ok(AggregatedMessage::Pong(_))) => {}
                        Some(Ok(AggregatedMessage::Close(_))) | None => return None,
                        Some(Err(actix_ws::ProtocolError::Overflow)) => {
                            return Some(CloseReason { code: CloseCode::Size, description: Some("frame too large".into()) })
                        }
                        Some(Err(_)) => return Some(CloseCode::Protocol.into()),
                    }
                }
                _ = tick.tick() => {
                    if last_heard.elapsed() > heartbeat * 2 {
                        return Some(CloseReason { code: CloseCode::Policy, description: Some("heartbeat timeout".into()) });
                    }
                    self.session.ping(b"").await.ok()?;
                }
            }
        }
    }

    /// Sends the chats between `last` and `next` that never arrived live.
    /// When the database cannot say, the client still has `since_seq`.
    async fn fill_gap(&mut self, room: &str, last: i64, next: i64) -> Result<(), actix_ws::Closed> {
        match service::missed(&self.state, room, &self.user.id, last, next).await {
            Ok(chats) => {
                for chat in chats {
                    self.send(ServerEnvelope::Chat { chat }, None).await?;
                }
            }
            Err(e) => log::warn!("could not fill a gap in room {room} ({last}..{next}): {e}"),
        }
        Ok(())
    }

    /// Sends an envelope. Not an `async fn`: the envelope is serialized
    /// before the returned future exists, so that future (part of every
    /// connection's task) holds the frame, not the envelope.
    fn send(
        &mut self,
        envelope: ServerEnvelope,
        reference: Option<&str>,
    ) -> impl Future<Output = Result<(), actix_ws::Closed>> + '_ {
        self.send_frame(envelope.frame_with_ref(reference))
    }

    /// Sends one text frame. The connection's writer copies every frame
    /// handed to it since its last turn into its buffer before flushing
    /// that to the socket, and keeps the buffer at its largest size for the
    /// socket's life. So a message longer than `PIECE` goes as a fragmented
    /// one, and a frame waits for the writer's turn when it would not fit
    /// in `WRITE_TURN` beside what was handed over since. A room of 1,000
    /// sends each joiner a member list of about 70 KB, and while a room
    /// fills every member gets a burst of `joined` chats and
    /// `member_joined` frames; either would leave every member's socket
    /// holding a larger buffer for good.
    async fn send_frame(&mut self, frame: ByteString) -> Result<(), actix_ws::Closed> {
        if frame.len() > PIECE {
            // Boxed: rare, and its state would otherwise sit in every
            // connection's task.
            return Box::pin(self.send_pieces(frame.into_bytes())).await;
        }
        let len = self.take_turn(frame.len()).await;
        let waited = {
            let send = std::pin::pin!(self.session.text(frame));
            waits(send).await?
        };
        self.handed.add(len, waited);
        Ok(())
    }

    /// Sends a long text message as a fragmented one.
    async fn send_pieces(&mut self, bytes: Bytes) -> Result<(), actix_ws::Closed> {
        let mut start = 0;
        while start < bytes.len() {
            let end = fragment_end(&bytes, start);
            let piece = bytes.slice(start..end);
            let item = match (start, end == bytes.len()) {
                (0, _) => Item::FirstText(piece),
                (_, true) => Item::Last(piece),
                _ => Item::Continue(piece),
            };
            let len = self.take_turn(end - start).await;
            let waited = {
                let send = std::pin::pin!(self.session.continuation(item));
                waits(send).await?
            };
            self.handed.add(len, waited);
            start = end;
        }
        Ok(())
    }

    /// Lets the writer take its turn first when a frame of `len` bytes would
    /// take what it was handed since its last turn over `WRITE_TURN`.
    /// Returns the frame's length as counted, header included.
    async fn take_turn(&mut self, len: usize) -> usize {
        let len = len + FRAME_HEADER;
        if self.handed.full_with(len) {
            requeue().await;
            self.handed.taken();
        }
        len
    }

    /// Sends an error envelope; serialized up front, as in [`Self::send`].
    fn send_error(
        &mut self,
        reference: Option<&str>,
        err: &AppError,
    ) -> impl Future<Output = Result<(), actix_ws::Closed>> + '_ {
        if let AppError::Internal(cause) = err {
            log::error!("socket command failed: {cause:#}");
        }
        let message = err.to_string();
        self.send(ServerEnvelope::error(err.code(), message), reference)
    }

    async fn handle_text(&mut self, text: &str) -> Result<(), actix_ws::Closed> {
        if let Some(limiter) = &self.limiter {
            if limiter.check().is_err() {
                return self
                    .send_error(
                        None,
                        &AppError::RateLimited {
                            retry_after_secs: 1,
                        },
                    )
                    .await;
            }
        }
        let (command, reference) = match parse_client(text) {
            Ok(parsed) => parsed,
            Err(bad) => {
                return self
                    .send(
                        ServerEnvelope::error("bad_request", bad.message),
                        bad.reference.as_deref(),
                    )
                    .await
            }
        };
        let reference = reference.as_deref();
        let state = self.state.clone();
        match command {
            ClientEnvelope::Ping {} => self.send(ServerEnvelope::Pong {}, reference).await,
            ClientEnvelope::SubscribeLobby {} => {
                state.hub.set_lobby(self.id, true);
                self.send(ServerEnvelope::Ack {}, reference).await
            }
            ClientEnvelope::UnsubscribeLobby {} => {
                state.hub.set_lobby(self.id, false);
                self.send(ServerEnvelope::Ack {}, reference).await
            }
            ClientEnvelope::Join { room_id, since_seq } => {
                match service::join(&state, self.id, &self.user, &room_id, since_seq).await {
                    Ok(reply) => {
                        self.send(reply.joined, None).await?;
                        let mut last = since_seq.unwrap_or(0);
                        for chat in reply.replay {
                            last = last.max(chat.seq);
                            self.send(ServerEnvelope::Chat { chat }, None).await?;
                        }
                        if since_seq.is_some() {
                            self.last_sent.set(&room_id, last);
                        }
                        self.send(ServerEnvelope::Ack {}, reference).await
                    }
                    Err(e) => self.send_error(reference, &e).await,
                }
            }
            ClientEnvelope::Leave { room_id } => {
                self.last_sent.remove(&room_id);
                if service::leave(&state, self.id, &room_id) {
                    self.send(ServerEnvelope::Ack {}, reference).await
                } else {
                    self.send_error(
                        reference,
                        &AppError::BadRequest("you have not joined that room".into()),
                    )
                    .await
                }
            }
            ClientEnvelope::Typing { room_id } => {
                if !state.hub.is_in(self.id, &room_id) {
                    return self
                        .send_error(
                            reference,
                            &AppError::Forbidden("join the room first".into()),
                        )
                        .await;
                }
                let typing = ServerEnvelope::Typing {
                    room_id: room_id.clone(),
                    user: self.user.clone(),
                };
                let out = crate::realtime::hub::Outbound::plain(typing);
                state.to_room_except_user(&room_id, &self.user.id, &out);
                match reference {
                    Some(r) => self.send(ServerEnvelope::Ack {}, Some(r)).await,
                    None => Ok(()),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(text: &str) -> Vec<&str> {
        let bytes = text.as_bytes();
        let mut out = Vec::new();
        let mut start = 0;
        while start < bytes.len() {
            let end = fragment_end(bytes, start);
            out.push(std::str::from_utf8(&bytes[start..end]).expect("cut between characters"));
            start = end;
        }
        out
    }

    #[test]
    fn long_text_is_cut_between_characters_into_pieces() {
        for text in [
            "a".repeat(PIECE * 2 + 5),
            "가".repeat(PIECE),
            format!("{}😀", "a".repeat(PIECE - 2)).repeat(3),
        ] {
            let pieces = pieces(&text);
            assert!(pieces.len() > 1);
            assert!(pieces.iter().all(|p| !p.is_empty() && p.len() <= PIECE));
            assert_eq!(pieces.concat(), text);
        }
        assert_eq!(pieces("short"), ["short"]);
    }

    /// Hands over a burst of frames the way `send_frame` does and returns
    /// the bytes the writer is handed at each of its turns.
    fn turns(frames: &[(usize, bool)]) -> Vec<usize> {
        let mut handed = Handed::default();
        let mut turns = vec![0];
        for &(len, waited) in frames {
            let len = len + FRAME_HEADER;
            if handed.full_with(len) {
                handed.taken();
                turns.push(0);
            }
            if waited {
                turns.push(0);
            }
            handed.add(len, waited);
            *turns.last_mut().unwrap() += len;
            assert_eq!(handed.0, *turns.last().unwrap());
        }
        turns
    }

    #[test]
    fn a_burst_reaches_the_writer_in_turns_that_fit_its_buffer() {
        // A room filling up: each join sends a `joined` chat and a
        // `member_joined` frame to every member.
        let burst: Vec<(usize, bool)> = [(268, false), (180, false)].repeat(60);
        let turns = turns(&burst);
        assert!(turns.len() > 1);
        let (last, full) = turns.split_last().unwrap();
        assert!(*last <= WRITE_TURN);
        // No turn is taken while the next frame would still fit.
        assert!(full
            .iter()
            .all(|&t| t <= WRITE_TURN && t + 272 > WRITE_TURN));
        assert_eq!(turns.iter().sum::<usize>(), 60 * (272 + 184));
    }

    #[test]
    fn a_send_that_waited_for_the_writer_starts_a_new_turn() {
        let mut burst = vec![(900, false); 7];
        burst.push((900, true));
        burst.extend([(900, false); 7]);
        // Without the wait the writer would be handed eight frames, then
        // seven; after it, the waiting frame starts a turn of eight.
        assert_eq!(turns(&burst), [7 * 904, 8 * 904]);
        assert_eq!(turns(&[(900, false); 15]), [8 * 904, 7 * 904]);
    }
}
