//! The event bus between instances: one Redis pub/sub channel.
//!
//! A message is a one-line JSON header (origin and route), a newline, and
//! the envelope's frame exactly as sockets receive it, so the frame is
//! serialized once, by the instance where the event happened.

use std::sync::{Arc, Weak};
use std::time::Duration;

use bytestring::ByteString;
use futures_util::{FutureExt, StreamExt};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::{Cluster, Host};
use crate::api::UserResponse;
use crate::realtime::transport::wakes;

/// Events waiting to be published (Redis slow or away).
pub const QUEUE: usize = 65_536;
/// Published together in one pipeline.
const BATCH: usize = 256;
/// Received messages delivered under one batching of wake-ups.
const GATHER_AT_MOST: usize = 256;

/// Which sockets an event is for.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "to", rename_all = "snake_case")]
pub enum Route {
    /// Everyone receiving the room's events. A chat carries its seq and
    /// rev, a change (`chat_updated`) its rev alone; a whisper names its two
    /// parties, and everyone else only learns a whisper's seq.
    Room {
        room: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seq: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rev: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        parties: Option<[String; 2]>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        except_user: Option<String>,
    },
    Lobby,
    /// The user's sockets leave the room and get the frame (`kicked`).
    Kick {
        room: String,
        user: String,
    },
    /// The room is gone: its sockets and the lobby get the frame.
    RoomDeleted {
        room: String,
    },
    /// A user's nickname changed (`user_updated`): copies of their name go
    /// stale, and the frame is for the lobby, the user's own sockets and
    /// the rooms where they are a member.
    Renamed {
        user: UserResponse,
        #[serde(default)]
        rooms: Vec<String>,
    },
}

#[derive(Serialize, Deserialize)]
struct Header {
    from: String,
    #[serde(flatten)]
    route: Route,
}

pub struct Message(String);

impl Message {
    pub fn new(from: &str, route: Route, frame: &str) -> Self {
        let header = Header {
            from: from.to_owned(),
            route,
        };
        let mut text = serde_json::to_string(&header).expect("headers are plain strings");
        text.push('\n');
        text.push_str(frame);
        Self(text)
    }
}

fn parse(payload: &[u8]) -> Option<(Header, ByteString)> {
    let text = std::str::from_utf8(payload).ok()?;
    let (header, frame) = text.split_once('\n')?;
    let header: Header = serde_json::from_str(header).ok()?;
    Some((header, ByteString::from(frame.to_owned())))
}

/// Publishes queued events in order, a pipeline at a time.
pub async fn publish_loop(cluster: Arc<Cluster>, mut rx: mpsc::Receiver<Message>) {
    let channel = cluster.channel();
    let mut redis = cluster.redis.clone();
    let mut dropped = 0u64;
    let mut batch = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        let mut pipe = redis::pipe();
        for Message(text) in batch.drain(..) {
            pipe.publish(&channel, text).ignore();
        }
        match pipe.query_async::<()>(&mut redis).await {
            Ok(()) if dropped > 0 => {
                log::info!("event bus is back; {dropped} events were not published");
                dropped = 0;
            }
            Ok(()) => {}
            Err(e) => {
                if dropped == 0 {
                    log::warn!("cannot publish to the event bus: {e}");
                }
                dropped += 1;
            }
        }
    }
}

/// Receives other instances' events until the host goes, resubscribing
/// after any loss of the connection.
pub async fn subscribe_loop(cluster: Arc<Cluster>, host: Weak<dyn Host>) {
    let channel = cluster.channel();
    let mut backoff = Duration::from_millis(100);
    loop {
        if host.strong_count() == 0 {
            return;
        }
        let subscribed = async {
            let mut pubsub = cluster.client.get_async_pubsub().await?;
            pubsub.subscribe(&channel).await?;
            Ok::<_, redis::RedisError>(pubsub)
        };
        let pubsub = match tokio::time::timeout(super::REDIS_TIMEOUT, subscribed).await {
            Ok(Ok(p)) => p,
            Ok(Err(e)) => {
                log::debug!("event bus: cannot subscribe: {e}");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(2));
                continue;
            }
            Err(_) => {
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(2));
                continue;
            }
        };
        log::info!("event bus subscribed ({channel})");
        cluster
            .subscribed
            .store(true, std::sync::atomic::Ordering::Relaxed);
        backoff = Duration::from_millis(100);
        let mut messages = pubsub.into_on_message();
        let mut ended = false;
        while let Some(msg) = messages.next().await {
            let Some(host) = host.upgrade() else { return };
            // The messages already received are delivered together, so that
            // each worker thread is woken once for all of them (`wakes`).
            wakes::batch_wakeups(|| {
                let mut next = Some(msg);
                let mut taken = 0;
                while let Some(msg) = next.take() {
                    match parse(msg.get_payload_bytes()) {
                        Some((header, frame)) if header.from != cluster.instance => {
                            host.deliver(header.route, frame);
                        }
                        Some(_) => {}
                        None => log::warn!("event bus: ignoring a malformed message"),
                    }
                    taken += 1;
                    if taken < GATHER_AT_MOST {
                        match messages.next().now_or_never() {
                            Some(Some(msg)) => next = Some(msg),
                            Some(None) => ended = true,
                            None => {}
                        }
                    }
                }
            });
            if ended {
                break;
            }
        }
        cluster
            .subscribed
            .store(false, std::sync::atomic::Ordering::Relaxed);
        log::warn!("event bus connection lost; resubscribing");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_carries_its_route_and_the_frame_untouched() {
        let frame = r#"{"type":"chat","data":{"chat":{"text":"a\nb"}}}"#;
        let route = Route::Room {
            room: "r1".into(),
            seq: Some(7),
            rev: Some(9),
            parties: None,
            except_user: None,
        };
        let Message(text) = Message::new("i1", route, frame);
        let (header, got) = parse(text.as_bytes()).unwrap();
        assert_eq!(header.from, "i1");
        assert_eq!(&*got, frame);
        assert!(matches!(header.route, Route::Room { seq: Some(7), .. }));
    }
}
