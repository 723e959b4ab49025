//! One task per WebSocket connection, `select!`-ing over an eviction
//! notice, its outbound queue, inbound frames and the heartbeat.
//!
//! Close codes: 1001 the server is shutting down; 1009 a frame over
//! `WS_MAX_FRAME_BYTES`; 1008 no heartbeat answer within two intervals;
//! 4008 too slow: the outbound queue (`WS_QUEUE` frames) filled up because
//! the client was not reading.

use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use actix_web::web::Data;
use actix_ws::{AggregatedMessage, CloseCode, CloseReason, Session};
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
    limiter: Option<DefaultDirectRateLimiter>,
}

pub async fn run(
    state: Data<AppState>,
    user: UserResponse,
    session: Session,
    stream: actix_ws::MessageStream,
) {
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
        limiter,
    };

    let hello = ServerEnvelope::Hello {
        user: conn.user.clone(),
        heartbeat_secs: heartbeat.as_secs(),
    };
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

impl Connection {
    /// Serves until the client goes or breaks a rule; returns how to close.
    async fn serve(
        &mut self,
        hello: ServerEnvelope,
        rx: &mut crate::realtime::queue::Receiver,
        stream: &mut actix_ws::AggregatedMessageStream,
        heartbeat: Duration,
    ) -> Option<CloseReason> {
        self.send(hello, None).await.ok()?;
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + heartbeat, heartbeat);
        let mut last_heard = Instant::now();
        loop {
            tokio::select! {
                out = rx.recv() => {
                    let out = out?;
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
                        self.session.text(out.frame.clone()).await.ok()?;
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

    async fn send(
        &mut self,
        envelope: ServerEnvelope,
        reference: Option<&str>,
    ) -> Result<(), actix_ws::Closed> {
        self.session.text(envelope.frame_with_ref(reference)).await
    }

    async fn send_error(
        &mut self,
        reference: Option<&str>,
        err: &AppError,
    ) -> Result<(), actix_ws::Closed> {
        if let AppError::Internal(cause) = err {
            log::error!("socket command failed: {cause:#}");
        }
        let message = err.to_string();
        self.send(ServerEnvelope::error(err.code(), message), reference)
            .await
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
