//! One task per WebSocket connection, `select!`-ing over an eviction
//! notice, its outbound queue, inbound frames and the heartbeat.
//!
//! Close codes: 1001 the server is shutting down; 1008 no heartbeat answer
//! within two intervals; 4008 too slow: the outbound queue (`WS_QUEUE`
//! frames or `WS_QUEUE_BYTES` bytes) filled up because the client was not
//! reading; 1002, 1007 and 1009 for frames that break the protocol
//! ([`crate::realtime::transport::inbound`]). The client's own close is answered with
//! its code.

use std::future::Future;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_http::ws::{CloseCode, CloseReason};
use actix_web::web::Data;
use bytestring::ByteString;
use governor::{DefaultDirectRateLimiter, Quota};

use crate::api::{ClientLimits, UserResponse};
use crate::error::AppError;
use crate::realtime::delivery::frame::Arrival;
use crate::realtime::delivery::hub::{ConnId, Eviction, Registration};
use crate::realtime::envelope::{parse_client, ClientEnvelope, ServerEnvelope};
use crate::realtime::service;
use crate::realtime::transport::inbound::{answer_to_close, Inbound, Message};
use crate::realtime::transport::writer::{Closed, Writer};
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

/// The longest text frame sent whole; a longer message is fragmented into
/// pieces at most this long, cut between characters.
const PIECE: usize = 4000;

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

struct Connection {
    state: Data<AppState>,
    id: ConnId,
    /// Who is connected, as at connecting. The id never changes; the name
    /// may, so frames that show it take the hub's copy (`Self::current_user`).
    user: Arc<UserResponse>,
    writer: Writer,
    /// The highest chat seq sent per room, to drop live copies of replayed
    /// chats and to notice missed ones. A socket is in a few rooms at most,
    /// so a list beats hashing the room id on every delivery.
    last_sent: LastSent,
    limiter: Option<DefaultDirectRateLimiter>,
}

/// Registers the connection and returns the task that serves it. Not an
/// `async fn`: an `async fn` keeps its arguments in the task beside what is
/// made from them, for the socket's whole life.
pub fn run(
    state: Data<AppState>,
    user: UserResponse,
    writer: Writer,
    mut stream: Inbound,
) -> impl Future<Output = ()> {
    let settings = &state.settings;
    let heartbeat = Duration::from_secs(settings.ws_heartbeat_secs.max(1));
    let user = Arc::new(user);
    let Registration {
        id,
        mut rx,
        mut evicted,
    } = state.realtime.hub.connect(user.clone());
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
        writer,
        last_sent: LastSent::default(),
        limiter,
    };

    let hello = ServerEnvelope::Hello {
        user: UserResponse::clone(&conn.user),
        heartbeat_secs: heartbeat.as_secs(),
        limits: ClientLimits::new(settings.gif_max_bytes, settings.chat_edit_secs),
    }
    .frame();
    let open = crate::metrics::OpenGuard::new(&crate::metrics::metrics().open_sockets);
    async move {
        let _open = open;
        // Eviction must win even while a send is blocked on a client that does
        // not read, so it races the whole serving loop rather than one branch.
        let reason = tokio::select! {
            biased;
            eviction = &mut evicted => Some(match eviction {
                Ok(Eviction::ShuttingDown) => CloseReason {
                    code: CloseCode::Away,
                    description: Some("the server is restarting".into()),
                },
                too_slow => {
                    if too_slow == Ok(Eviction::TooSlow) {
                        crate::metrics::metrics().slow_consumer_closes.inc();
                    }
                    CloseReason {
                    code: CloseCode::Other(CLOSE_TOO_SLOW),
                    description: Some("too slow: the outbound queue is full".into()),
                    }
                }
            }),
            reason = conn.serve(hello, &mut rx, &mut stream, heartbeat) => reason,
        };
        service::disconnect(&state, id);
        // Goes behind what the client has not read yet; fails only when the
        // socket is already closed.
        let _ = conn.writer.close(reason);
    }
}

impl Connection {
    /// Serves until the client goes or breaks a rule; returns how to close.
    async fn serve(
        &mut self,
        hello: ByteString,
        rx: &mut crate::realtime::delivery::queue::Receiver,
        stream: &mut Inbound,
        heartbeat: Duration,
    ) -> Option<CloseReason> {
        self.send_frame(&hello).await.ok()?;
        // Not kept in this future for the socket's life.
        drop(hello);
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + heartbeat, heartbeat);
        let mut last_heard = Instant::now();
        loop {
            tokio::select! {
                out = rx.recv() => {
                    let out = out?;
                    if let Some((room, seq)) = out.chat() {
                        match Arrival::of(self.last_sent.get(room), seq) {
                            Arrival::Duplicate => continue,
                            Arrival::After(last) => Box::pin(self.fill_gap(room, last, seq)).await.ok()?,
                            Arrival::InOrder => {}
                        }
                        self.last_sent.set(room, seq);
                    }
                    if !out.is_marker() {
                        self.send_frame(&out.text).await.ok()?;
                    }
                }
                msg = stream.recv() => {
                    last_heard = Instant::now();
                    match msg {
                        Some(Ok(Message::Text(text))) => {
                            // Boxed: handling a command (a join above all) takes a large
                            // future, and this task lives as long as the socket.
                            Box::pin(self.handle_text(&text)).await.ok()?
                        },
                        Some(Ok(Message::Binary(_))) => {
                            self.send_error(None, &AppError::BadRequest("frames must be JSON text".into())).await.ok()?
                        }
                        Some(Ok(Message::Ping(bytes))) => self.writer.pong(&bytes).ok()?,
                        Some(Ok(Message::Pong(_))) => {}
                        Some(Ok(Message::Close(theirs))) => return answer_to_close(theirs),
                        None => return None,
                        Some(Err(broken)) => return Some(broken),
                    }
                }
                _ = tick.tick() => {
                    if last_heard.elapsed() > heartbeat * 2 {
                        return Some(CloseReason { code: CloseCode::Policy, description: Some("heartbeat timeout".into()) });
                    }
                    self.writer.ping(b"").ok()?;
                }
            }
        }
    }

    /// Sends the chats between `last` and `next` that never arrived live.
    /// When the database cannot say, the connection ends before `next` is
    /// sent, so the client's last seq is still `last`: it reconnects and
    /// resumes from there with `since_seq`.
    async fn fill_gap(&mut self, room: &str, last: i64, next: i64) -> Result<(), Closed> {
        match service::missed(&self.state, room, &self.user.id, last, next).await {
            Ok(chats) => {
                for chat in chats {
                    self.send(ServerEnvelope::Chat { chat }, None).await?;
                }
                Ok(())
            }
            Err(e) => {
                log::warn!("could not fill a gap in room {room} ({last}..{next}), closing: {e}");
                Err(Closed)
            }
        }
    }

    /// Sends an envelope. Not an `async fn`: the envelope is serialized
    /// before the returned future exists, so that future (part of every
    /// connection's task) holds the frame, not the envelope.
    fn send(
        &mut self,
        envelope: ServerEnvelope,
        reference: Option<&str>,
    ) -> impl Future<Output = Result<(), Closed>> + '_ {
        let frame = envelope.frame_with_ref(reference);
        async move { self.send_frame(&frame).await }
    }

    /// Sends one text frame. A message longer than `PIECE` goes as a
    /// fragmented one: a room of 1,000 sends each joiner a member list of
    /// about 70 KB, which whole would be handed to actix-http at once and
    /// leave the socket's write buffer that large for good.
    async fn send_frame(&self, frame: &str) -> Result<(), Closed> {
        if frame.len() > PIECE {
            // Boxed: rare, and its state would otherwise sit in every
            // connection's task.
            return Box::pin(self.send_pieces(frame.as_bytes())).await;
        }
        self.writer.text(frame.as_bytes(), true, true).await
    }

    /// Sends a long text message as a fragmented one.
    async fn send_pieces(&self, bytes: &[u8]) -> Result<(), Closed> {
        let mut start = 0;
        while start < bytes.len() {
            let end = fragment_end(bytes, start);
            self.writer
                .text(&bytes[start..end], start == 0, end == bytes.len())
                .await?;
            start = end;
        }
        Ok(())
    }

    /// Sends an error envelope; serialized up front, as in [`Self::send`].
    fn send_error(
        &mut self,
        reference: Option<&str>,
        err: &AppError,
    ) -> impl Future<Output = Result<(), Closed>> + '_ {
        if let AppError::Internal(cause) = err {
            log::error!("socket command failed: {cause:#}");
        }
        let message = err.to_string();
        self.send(ServerEnvelope::error(err.code(), message), reference)
    }

    /// The connected user with their name as it is now: the hub follows
    /// nickname changes.
    fn current_user(&self) -> Arc<UserResponse> {
        self.state
            .realtime
            .hub
            .user(self.id)
            .unwrap_or_else(|| self.user.clone())
    }

    async fn handle_text(&mut self, text: &str) -> Result<(), Closed> {
        if let Some(limiter) = &self.limiter {
            if limiter.check().is_err() {
                crate::metrics::metrics()
                    .rate_limited
                    .with_label_values(&["ws_frames"])
                    .inc();
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
                state.realtime.hub.set_lobby(self.id, true);
                self.send(ServerEnvelope::Ack {}, reference).await
            }
            ClientEnvelope::UnsubscribeLobby {} => {
                state.realtime.hub.set_lobby(self.id, false);
                self.send(ServerEnvelope::Ack {}, reference).await
            }
            ClientEnvelope::Join {
                room_id,
                since_seq,
                since_rev,
            } => {
                // As the HTTP cursors: a negative one is a mistake, not "from the start".
                for (name, cursor) in [("since_seq", since_seq), ("since_rev", since_rev)] {
                    if cursor.is_some_and(|c| c < 0) {
                        let message = format!("{name} must not be negative");
                        return self
                            .send(
                                ServerEnvelope::error("validation_failed", message),
                                reference,
                            )
                            .await;
                    }
                }
                let max_rooms = state.settings.ws_max_rooms;
                if !state.realtime.hub.may_join(self.id, &room_id, max_rooms) {
                    let message = format!(
                        "a socket may be in at most {max_rooms} rooms at once (WS_MAX_ROOMS); leave one first"
                    );
                    return self
                        .send(
                            ServerEnvelope::error("validation_failed", message),
                            reference,
                        )
                        .await;
                }
                let user = self.current_user();
                let joined = service::join(&state, self.id, &user, &room_id, since_seq, since_rev);
                match joined.await {
                    Ok(reply) => {
                        self.send(reply.joined, None).await?;
                        // A since_seq past the room's latest would hold back
                        // every live chat up to it.
                        let mut last = since_seq.unwrap_or(0).min(reply.last_seq);
                        for chat in reply.replay {
                            last = last.max(chat.seq);
                            self.send(ServerEnvelope::Chat { chat }, None).await?;
                        }
                        for chat in reply.updates {
                            self.send(ServerEnvelope::ChatUpdated { chat }, None)
                                .await?;
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
                if !state.realtime.hub.is_in(self.id, &room_id) {
                    return self
                        .send_error(
                            reference,
                            &AppError::Forbidden("join the room first".into()),
                        )
                        .await;
                }
                let typing = ServerEnvelope::Typing {
                    room_id: room_id.clone(),
                    user: UserResponse::clone(&self.current_user()),
                };
                let out = crate::realtime::delivery::frame::Outbound::plain(typing);
                state
                    .realtime
                    .to_room_except_user(&room_id, &self.user.id, &out);
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
}
