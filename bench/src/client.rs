//! Speaking each server's protocol the same way: sessions, rooms, posts and
//! joined WebSocket members that count (and time) the chats they receive.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use tokio::net::TcpSocket;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

use crate::servers::{Kind, Protocol};

/// Every chat a benchmark posts reads `bench<N>x`, so receivers can find N
/// in any protocol's frame without parsing it.
pub fn chat_text(n: u64) -> String {
    format!("bench{n}x")
}

/// What the ceiling broadcasts for a chat: a frame of the shape and length
/// of gifchat's `chat` envelope (ids are 32 hex digits there), so the
/// transport carries the same bytes per delivery for both. The envelope
/// around the text is serialized once: into 10 the ceiling is bounded by
/// how fast the one load core posts.
fn ceiling_frame(text: &str) -> String {
    static AROUND: LazyLock<(String, String)> = LazyLock::new(|| {
        const ID: &str = "0123456789abcdef0123456789abcdef";
        let whole = json!({"type": "chat", "data": {"chat": {
            "id": 1, "room_id": ID, "seq": 1, "kind": "text",
            "user": {"id": ID, "name": "#d27829", "color": "#d27829"},
            "text": "", "created_at": "2026-11-26T10:29:01.542Z",
        }}})
        .to_string();
        let (before, after) = whole
            .split_once(r#""text":"""#)
            .expect("the envelope has an empty text");
        (format!(r#"{before}"text":"#), after.to_owned())
    });
    let (before, after) = &*AROUND;
    format!("{before}{}{after}", Value::from(text))
}

fn chat_number(frame: &str) -> Option<u64> {
    let at = frame.find("bench")? + 5;
    let digits = &frame[at..];
    let end = digits.find('x')?;
    digits[..end].parse().ok()
}

/// A histogram of times in microseconds, from 1 µs to a minute at three
/// significant digits.
pub fn micros_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("histogram bounds")
}

/// Each member's read buffer: a few of any server's chat frames.
const READ_BUFFER: usize = 4096;

#[derive(Clone)]
pub struct Target {
    pub kind: Kind,
    pub base: String,
    /// Where every other member connects: a second instance in a cluster,
    /// else the same server.
    pub second_base: String,
    pub http: reqwest::Client,
}

/// One person: a session cookie (empty where the server has none).
#[derive(Clone, Default)]
pub struct Person {
    pub cookie: String,
}

/// Source addresses for client sockets: each batch of connections uses
/// fresh 127.x.y.z addresses, so earlier runs' TIME_WAIT ports never run out.
static NEXT_IP: AtomicU64 = AtomicU64::new(0);

pub fn fresh_ip() -> Ipv4Addr {
    let n = NEXT_IP.fetch_add(1, Ordering::Relaxed);
    Ipv4Addr::new(
        127,
        1 + (n / 62500) as u8,
        ((n / 250) % 250) as u8,
        (n % 250 + 1) as u8,
    )
}

impl Target {
    pub fn new(kind: Kind, port: u16, second_port: u16) -> Self {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .build()
            .expect("http client");
        Self {
            kind,
            base: format!("http://127.0.0.1:{port}"),
            second_base: format!("http://127.0.0.1:{second_port}"),
            http,
        }
    }

    /// The same people and rooms, through the second instance.
    pub fn second(&self) -> Self {
        Self {
            base: self.second_base.clone(),
            ..self.clone()
        }
    }

    pub async fn person(&self) -> anyhow::Result<Person> {
        let path = match self.kind.protocol() {
            Protocol::Gifchat => "/api/me",
            Protocol::SocketIo => "/room",
            Protocol::Raw => return Ok(Person::default()),
        };
        let res = self.http.get(format!("{}{path}", self.base)).send().await?;
        let cookie = res
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .unwrap_or_default()
            .to_owned();
        Ok(Person { cookie })
    }

    pub async fn create_room(&self, who: &Person, title: &str, max: u32) -> anyhow::Result<String> {
        static CEILING_ROOMS: AtomicUsize = AtomicUsize::new(0);
        let (path, body) = match self.kind.protocol() {
            Protocol::Gifchat => ("/api/rooms", json!({"title": title, "max_members": max})),
            Protocol::SocketIo => ("/room", json!({"title": title, "max": max})),
            Protocol::Raw => {
                return Ok(format!(
                    "r{}",
                    CEILING_ROOMS.fetch_add(1, Ordering::Relaxed)
                ))
            }
        };
        let res: Value = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", &who.cookie)
            .json(&body)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let id = res["room"]["id"]
            .as_str()
            .or_else(|| res["room"]["_id"].as_str());
        id.map(str::to_owned)
            .ok_or_else(|| anyhow!("no room id in {res}"))
    }

    /// Posts one chat; true when the server accepted it.
    pub async fn post(&self, who: &Person, room: &str, text: &str) -> bool {
        let req = match self.kind.protocol() {
            Protocol::Gifchat => self
                .http
                .post(format!("{}/api/rooms/{room}/chats", self.base))
                .json(&json!({ "text": text })),
            Protocol::SocketIo => self
                .http
                .post(format!("{}/room/{room}/chat", self.base))
                .json(&json!({ "chat": text })),
            Protocol::Raw => self
                .http
                .post(format!("{}/rooms/{room}/chat", self.base))
                .body(ceiling_frame(text)),
        };
        match req.header("cookie", &who.cookie).send().await {
            Ok(res) => {
                let ok = res.status().is_success();
                let _ = res.bytes().await;
                ok
            }
            Err(_) => false,
        }
    }

    pub fn list_path(&self) -> Option<String> {
        match self.kind.protocol() {
            Protocol::Gifchat => Some("/api/rooms".into()),
            Protocol::SocketIo => Some("/room".into()),
            Protocol::Raw => None,
        }
    }

    pub fn history_path(&self, room: &str) -> Option<String> {
        match self.kind.protocol() {
            Protocol::Gifchat => Some(format!("/api/rooms/{room}/chats?limit=50")),
            Protocol::SocketIo => Some(format!("/room/{room}/chats")),
            Protocol::Raw => None,
        }
    }

    /// The last seq of a gifchat room: how many chats were committed.
    pub async fn last_seq(&self, who: &Person, room: &str) -> anyhow::Result<i64> {
        let res: Value = self
            .http
            .get(format!("{}/api/rooms/{room}/chats?limit=1", self.base))
            .header("cookie", &who.cookie)
            .send()
            .await?
            .json()
            .await?;
        Ok(res["chats"][0]["seq"].as_i64().unwrap_or(0))
    }

    /// Opens a socket from `local`, joins `room`, and returns once joined.
    pub async fn member(
        &self,
        who: &Person,
        room: &str,
        local: Ipv4Addr,
    ) -> anyhow::Result<Member> {
        let port: u16 = self
            .base
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .context("port")?;
        let url = match self.kind.protocol() {
            Protocol::Gifchat => {
                format!("ws://127.0.0.1:{port}/api/ws")
            }
            Protocol::SocketIo => {
                format!("ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket&roomId={room}")
            }
            Protocol::Raw => format!("ws://127.0.0.1:{port}/ws?room={room}"),
        };
        let mut req = url.into_client_request()?;
        if !who.cookie.is_empty() {
            req.headers_mut()
                .insert("cookie", HeaderValue::from_str(&who.cookie)?);
        }
        let socket = TcpSocket::new_v4()?;
        socket.bind(SocketAddr::new(IpAddr::V4(local), 0))?;
        let stream = socket
            .connect(SocketAddr::from(([127, 0, 0, 1], port)))
            .await?;
        stream.set_nodelay(true)?;
        // tungstenite zeroes its whole read buffer before every read; at the
        // default 128 KiB that memset, not the server, would bound how fast
        // one core reads a thousand sockets.
        let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER);
        let (mut ws, _) =
            tokio_tungstenite::client_async_with_config(req, stream, Some(config)).await?;
        match self.kind.protocol() {
            Protocol::Gifchat => {
                let join = json!({"type": "join", "data": {"room_id": room}});
                ws.send(Message::text(join.to_string())).await?;
                wait_for(&mut ws, |t| {
                    t.starts_with(r#"{"type":"joined""#) || t.starts_with(r#"{"type":"error""#)
                })
                .await?;
            }
            Protocol::SocketIo => {
                wait_for(&mut ws, |t| t.starts_with('0')).await?;
                ws.send(Message::text("40/chat,")).await?;
                wait_for(&mut ws, |t| t.starts_with("40/chat")).await?;
            }
            Protocol::Raw => {}
        }
        Ok(Member {
            ws,
            peer: self.kind.protocol() == Protocol::SocketIo,
        })
    }
}

type Ws = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

async fn wait_for(ws: &mut Ws, done: impl Fn(&str) -> bool) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let msg = tokio::time::timeout_at(deadline, ws.next())
            .await
            .context("handshake timed out")?;
        match msg {
            Some(Ok(Message::Text(t))) if t.starts_with(r#"{"type":"error""#) => {
                bail!("refused: {t}")
            }
            Some(Ok(Message::Text(t))) if done(&t) => return Ok(()),
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(e.into()),
            None => bail!("closed during handshake"),
        }
    }
}

pub struct Member {
    ws: Ws,
    peer: bool,
}

/// What every member's reader shares: when each chat was (meant to be)
/// sent, and the tallies.
pub struct Tally {
    pub start: Instant,
    /// Nanoseconds after `start` at which chat N was scheduled; 0 = not timed.
    pub sent_at: Vec<AtomicU64>,
    /// Nanoseconds after `start` at which chat N first reached a member.
    pub first_at: Vec<AtomicU64>,
    pub deliveries: AtomicU64,
    pub last_delivery_ns: AtomicU64,
    /// Every timed delivery's latency in microseconds. One histogram for all
    /// members: with one each (1 µs to 60 s at three significant digits is
    /// 17,408 counters, 136 KiB), every delivery touched a cold part of a
    /// different large table, 11% of the load generator's time at 50
    /// posts/s into 1000.
    pub latencies: Mutex<Histogram<u64>>,
}

impl Tally {
    pub fn new(capacity: usize) -> Arc<Self> {
        Arc::new(Self {
            start: Instant::now(),
            sent_at: (0..capacity).map(|_| AtomicU64::new(0)).collect(),
            first_at: (0..capacity).map(|_| AtomicU64::new(u64::MAX)).collect(),
            deliveries: AtomicU64::new(0),
            last_delivery_ns: AtomicU64::new(0),
            latencies: Mutex::new(micros_histogram()),
        })
    }

    pub fn now_ns(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }

    /// Counts chat `n`'s arrival at a member now, and times it if it was
    /// sent in a timed run.
    fn delivered(&self, n: u64) {
        let now = self.now_ns();
        self.deliveries.fetch_add(1, Ordering::Relaxed);
        self.last_delivery_ns.fetch_max(now, Ordering::Relaxed);
        if let Some(first) = self.first_at.get(n as usize) {
            first.fetch_min(now, Ordering::Relaxed);
        }
        let sent = self
            .sent_at
            .get(n as usize)
            .map_or(0, |s| s.load(Ordering::Relaxed));
        if sent > 0 && now > sent {
            let mut latencies = self
                .latencies
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let _ = latencies.record((now - sent) / 1000);
        }
    }
}

impl Member {
    /// Reads until `stop` turns true, counting chats and recording their
    /// latencies into `tally`.
    pub fn spawn(
        self,
        tally: Arc<Tally>,
        mut stop: watch::Receiver<bool>,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let Member { mut ws, peer } = self;
            // One wait for the stop, kept across reads: a new one per read
            // registered and dropped a waiter every time.
            let stopped = stop.changed();
            tokio::pin!(stopped);
            loop {
                tokio::select! {
                    biased;
                    _ = &mut stopped => break,
                    msg = ws.next() => {
                        let text = match msg {
                            Some(Ok(Message::Text(t))) => t,
                            Some(Ok(_)) => continue,
                            _ => break,
                        };
                        if peer && text.as_str() == "2" {
                            let _ = ws.send(Message::text("3")).await;
                            continue;
                        }
                        if let Some(n) = chat_number(&text) {
                            tally.delivered(n);
                        }
                    }
                }
            }
            let _ = ws.close(None).await;
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn chat_numbers_are_found_in_every_protocol() {
        assert_eq!(
            super::chat_number(r#"{"type":"chat","data":{"chat":{"text":"bench42x"}}}"#),
            Some(42)
        );
        assert_eq!(
            super::chat_number(r#"42/chat,["chat",{"chat":"bench7x"}]"#),
            Some(7)
        );
        assert_eq!(super::chat_number("bench0x"), Some(0));
        let frame = super::ceiling_frame(&super::chat_text(9));
        assert_eq!(super::chat_number(&frame), Some(9));
        let parsed: serde_json::Value = serde_json::from_str(&frame).expect("JSON");
        assert_eq!(parsed["data"]["chat"]["text"], "bench9x");
        assert_eq!(parsed["data"]["chat"]["user"]["color"], "#d27829");
        assert_eq!(super::chat_number(r#"{"type":"member_joined"}"#), None);
    }
}
