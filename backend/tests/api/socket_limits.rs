//! The socket's limits and its conformance to RFC 6455, as a client on the
//! wire sees them: close codes for frames that break the rules, queues
//! bounded in bytes, connections of clients that stop reading dropped at
//! the TCP level, and caps on sockets per address and rooms per socket.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use actix_codec::Decoder;
use actix_http::ws::{Codec, Frame, OpCode, Parser};
use bytes::BytesMut;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::helpers::{Backend, Client, TestApp};
use crate::on_both_databases;

const WAIT: Duration = Duration::from_secs(10);

/// A socket client that writes frames as given, right or wrong, and reads
/// the server's frames only when asked.
struct Raw {
    tcp: TcpStream,
    buf: BytesMut,
    codec: Codec,
}

impl Raw {
    /// Opens the socket as `user`.
    async fn open(app: &TestApp, user: &Client) -> Raw {
        Self::open_with(app, user, None).await
    }

    /// Opens the socket with a receive buffer of `rcvbuf` bytes, so that a
    /// client that does not read is backed up soon.
    async fn open_with(app: &TestApp, user: &Client, rcvbuf: Option<u32>) -> Raw {
        user.me().await;
        let cookie = reqwest::cookie::CookieStore::cookies(&*user.jar, &app.base.parse().unwrap())
            .map(|c| c.to_str().unwrap().to_owned())
            .unwrap();
        let addr: SocketAddr = app.base.trim_start_matches("http://").parse().unwrap();
        let socket = TcpSocket::new_v4().unwrap();
        if let Some(size) = rcvbuf {
            socket.set_recv_buffer_size(size).unwrap();
        }
        let mut tcp = socket.connect(addr).await.unwrap();
        let request = format!(
            "GET /api/ws HTTP/1.1\r\nHost: {addr}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
             Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Cookie: {cookie}\r\n\r\n"
        );
        tcp.write_all(request.as_bytes()).await.unwrap();
        let mut buf = BytesMut::new();
        let end = loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break end;
            }
            let n = tokio::time::timeout(WAIT, tcp.read_buf(&mut buf))
                .await
                .unwrap()
                .unwrap();
            assert_ne!(n, 0, "the handshake is answered");
        };
        let head = buf.split_to(end + 4);
        assert!(head.starts_with(b"HTTP/1.1 101"), "{head:?}");
        Raw {
            tcp,
            buf,
            codec: Codec::new().client_mode().max_size(1 << 20),
        }
    }

    /// Sends one masked frame.
    async fn frame(&mut self, op: OpCode, fin: bool, payload: &[u8]) {
        let mut bytes = BytesMut::new();
        Parser::write_message(&mut bytes, payload, op, fin, true);
        self.tcp.write_all(&bytes).await.unwrap();
    }

    async fn text(&mut self, envelope: Value) {
        self.frame(OpCode::Text, true, envelope.to_string().as_bytes())
            .await;
    }

    /// The server's next frame; `None` when the connection ends.
    async fn next(&mut self) -> Option<Frame> {
        loop {
            if let Some(frame) = self.codec.decode(&mut self.buf).expect("valid frames") {
                return Some(frame);
            }
            let n = tokio::time::timeout(WAIT, self.tcp.read_buf(&mut self.buf))
                .await
                .expect("the server answers")
                .ok()?;
            if n == 0 {
                return None;
            }
        }
    }

    /// The next envelope with this `ref`.
    async fn answer(&mut self, reference: &str) -> Value {
        loop {
            match self.next().await {
                Some(Frame::Text(text)) => {
                    let envelope: Value = serde_json::from_slice(&text).unwrap();
                    if envelope["ref"] == reference {
                        return envelope;
                    }
                }
                Some(_) => {}
                None => panic!("the connection ended before the answer to {reference}"),
            }
        }
    }

    /// Reads until the server's close frame; returns its code.
    async fn close_code(&mut self) -> Option<u16> {
        loop {
            match self.next().await? {
                Frame::Close(reason) => return reason.map(|r| r.code.into()),
                _ => continue,
            }
        }
    }
}

async fn spawn(tweak: impl FnOnce(&mut gifchat::config::Settings)) -> TestApp {
    TestApp::spawn_with(Backend::Sqlite, tweak)
        .await
        .expect("sqlite app")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_text_frame_that_is_not_utf8_closes_with_1007() {
    let app = spawn(|_| {}).await;
    let mut ws = Raw::open(&app, &app.user()).await;
    // A lone surrogate (ED A0 80) inside otherwise valid text.
    ws.frame(
        OpCode::Text,
        true,
        b"{\"type\":\"ping\",\"ref\":\"\xed\xa0\x80\"}",
    )
    .await;
    assert_eq!(ws.close_code().await, Some(1007));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fragmented_text_that_is_not_utf8_closes_with_1007_at_the_bad_piece() {
    let app = spawn(|_| {}).await;
    let mut ws = Raw::open(&app, &app.user()).await;
    ws.frame(OpCode::Text, false, b"{\"type\":\"ping\",").await;
    // 0xC0 never starts a character: refused before the message ends.
    ws.frame(OpCode::Continue, false, b"\"ref\":\"\xc0\xaf")
        .await;
    assert_eq!(ws.close_code().await, Some(1007));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_character_split_between_pieces_is_whole_text() {
    let app = spawn(|_| {}).await;
    let mut ws = Raw::open(&app, &app.user()).await;
    let text = json!({"type": "ping", "ref": "가나"}).to_string();
    let bytes = text.as_bytes();
    let inside = text.find('가').unwrap() + 1;
    ws.frame(OpCode::Text, false, &bytes[..inside]).await;
    ws.frame(OpCode::Ping, true, b"between").await;
    ws.frame(OpCode::Continue, false, &bytes[inside..inside + 3])
        .await;
    ws.frame(OpCode::Continue, true, &bytes[inside + 3..]).await;
    assert!(matches!(ws.next().await, Some(Frame::Text(_))), "hello");
    assert!(matches!(ws.next().await, Some(Frame::Pong(p)) if &p[..] == b"between"));
    let pong = ws.answer("가나").await;
    assert_eq!(pong["type"], "pong");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fragmented_message_over_the_limit_closes_with_1009() {
    let app = spawn(|s| s.ws_max_frame_bytes = 1000).await;
    let mut ws = Raw::open(&app, &app.user()).await;
    // Every piece is under the limit; together they are over it.
    ws.frame(OpCode::Text, false, &[b' '; 600]).await;
    ws.frame(OpCode::Continue, false, &[b' '; 600]).await;
    assert_eq!(ws.close_code().await, Some(1009));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frame_announced_over_the_limit_closes_with_1009_before_it_is_all_sent() {
    let app = spawn(|_| {}).await;
    let mut ws = Raw::open(&app, &app.user()).await;
    let mut bytes = BytesMut::new();
    Parser::write_message(&mut bytes, vec![b' '; 1 << 20], OpCode::Text, true, true);
    // A twentieth of the megabyte the header announces.
    ws.tcp.write_all(&bytes[..50_000]).await.unwrap();
    assert_eq!(ws.close_code().await, Some(1009));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_against_the_protocol_close_with_1002() {
    let app = spawn(|_| {}).await;
    let user = app.user();
    // A continuation with nothing to continue.
    let mut ws = Raw::open(&app, &user).await;
    ws.frame(OpCode::Continue, true, b"x").await;
    assert_eq!(ws.close_code().await, Some(1002));
    // A ping longer than a control frame may be.
    let mut ws = Raw::open(&app, &user).await;
    ws.frame(OpCode::Ping, true, &[0; 126]).await;
    assert_eq!(ws.close_code().await, Some(1002));
    // A close code no endpoint may send (1005 means "none").
    let mut ws = Raw::open(&app, &user).await;
    ws.frame(OpCode::Close, true, &1005u16.to_be_bytes()).await;
    assert_eq!(ws.close_code().await, Some(1002));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clients_close_code_is_echoed_and_the_connection_ends() {
    let app = spawn(|_| {}).await;
    let mut ws = Raw::open(&app, &app.user()).await;
    let mut close = 4001u16.to_be_bytes().to_vec();
    close.extend_from_slice(b"bye");
    ws.frame(OpCode::Close, true, &close).await;
    assert_eq!(ws.close_code().await, Some(4001));
    assert!(ws.next().await.is_none(), "the server ends the connection");
    drop(ws);
    assert!(app.state.sockets.all_closed(WAIT).await);
}

/// Whether the server still holds its end of the connection from `client`:
/// listed by the kernel in any state but TIME_WAIT.
fn server_end_open(server_port: u16, client: SocketAddr) -> bool {
    let hex = |port: u16| format!("0100007F:{port:04X}");
    let (local, remote) = (hex(server_port), hex(client.port()));
    std::fs::read_to_string("/proc/net/tcp")
        .unwrap()
        .lines()
        .skip(1)
        .any(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            cols[1] == local && cols[2] == remote && cols[3] != "06"
        })
}

/// Waits up to `limit` for the server to let go of the connection from
/// `client`; returns how long that took.
async fn server_end_gone_within(app: &TestApp, client: SocketAddr, limit: Duration) -> Duration {
    let port: u16 = app.base.rsplit(':').next().unwrap().parse().unwrap();
    let start = Instant::now();
    while server_end_open(port, client) {
        assert!(
            start.elapsed() < limit,
            "the server still holds the connection after {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    start.elapsed()
}

/// Posts `n` chats of about 6 KB each to `room`, 32 at a time.
async fn post_big_chats(poster: &Client, room: &str, n: usize) {
    let text: String = "가".repeat(2000);
    for _ in 0..n / 32 {
        let batch: Vec<_> = (0..32)
            .map(|_| {
                let (p, r, t) = (poster.clone(), room.to_owned(), text.clone());
                tokio::spawn(async move { p.say(&r, &t).await.status })
            })
            .collect();
        for t in batch {
            assert_eq!(t.await.unwrap(), 201);
        }
    }
}

/// A joined socket that will never read again, with a small receive buffer.
async fn sleeper(app: &TestApp, room: &str) -> Raw {
    let user = app.user();
    let mut ws = Raw::open_with(app, &user, Some(4096)).await;
    ws.text(json!({"type": "join", "data": {"room_id": room}}))
        .await;
    let id = user.id().await;
    let start = Instant::now();
    while !app.state.realtime.is_member_here(room, &id) {
        assert!(start.elapsed() < WAIT, "the join went through");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    ws
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_over_its_bytes_closes_the_socket_as_too_slow() {
    // Far more frames than it takes are allowed: only bytes can fill it.
    let app = spawn(|s| {
        s.ws_queue = 1_000_000;
        s.ws_queue_bytes = 64 * 1024;
    })
    .await;
    let alice = app.user();
    let room = alice.public_room().await;
    let mut slow = sleeper(&app, &room).await;
    let before = app.state.realtime.connections_here();
    let mut posted = 0;
    while app.state.realtime.connections_here() == before {
        assert!(posted < 3000, "the slow socket was never closed");
        post_big_chats(&alice, &room, 32).await;
        posted += 32;
    }
    assert_eq!(slow.close_code().await, Some(4008));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_loses_its_connection_within_seconds() {
    // Neither bound of the queue is reached: the writes alone stall.
    let app = spawn(|s| {
        s.ws_queue = 1_000_000;
        s.ws_queue_bytes = 1 << 30;
        s.ws_heartbeat_secs = 3600;
    })
    .await;
    let alice = app.user();
    let room = alice.public_room().await;
    let slow = sleeper(&app, &room).await;
    let client = slow.tcp.local_addr().unwrap();
    // About 9 MB: more than the kernel buffers both ends hold.
    post_big_chats(&alice, &room, 1504).await;
    let took = server_end_gone_within(&app, client, Duration::from_secs(12)).await;
    eprintln!("the stalled connection went {took:?} after the last post");
    assert!(app.state.sockets.all_closed(WAIT).await);
    assert_eq!(app.state.realtime.connections_here(), 0);
    drop(slow);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_4008_the_connection_closes_even_if_the_client_never_reads() {
    let app = spawn(|s| s.ws_queue = 64).await;
    let alice = app.user();
    let room = alice.public_room().await;
    let slow_closes = metric(&app, "gifchat_slow_consumer_closes_total").await;
    let slow = sleeper(&app, &room).await;
    let client = slow.tcp.local_addr().unwrap();
    let before = app.state.realtime.connections_here();
    let mut posted = 0;
    while app.state.realtime.connections_here() == before {
        assert!(posted < 3000, "the slow socket was never closed");
        post_big_chats(&alice, &room, 32).await;
        posted += 32;
    }
    let took = server_end_gone_within(&app, client, Duration::from_secs(8)).await;
    eprintln!("the connection went {took:?} after the 4008");
    // Metrics are the process's, and other tests run beside this one.
    assert!(metric(&app, "gifchat_slow_consumer_closes_total").await > slow_closes);
    assert!(app.state.sockets.all_closed(WAIT).await);
    drop(slow);
}

/// The value of a metric without labels, as `GET /metrics` has it now.
async fn metric(app: &TestApp, name: &str) -> f64 {
    crate::helpers::sample(&app.metrics().await, name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metrics_count_open_sockets_and_deliveries() {
    let app = spawn(|_| {}).await;
    let alice = app.user();
    let room = alice.public_room().await;
    let deliveries = metric(&app, "gifchat_deliveries_total").await;
    let mut ws = alice.ws().await;
    ws.join(&room).await;
    assert!(metric(&app, "gifchat_open_sockets").await >= 1.0);
    alice.say(&room, "counted").await;
    loop {
        if ws.recv_type("chat").await["data"]["chat"]["text"] == "counted" {
            break;
        }
    }
    assert!(metric(&app, "gifchat_deliveries_total").await > deliveries);
}

/// Opens the socket as `user` from `address` behind the trusted proxy:
/// `Ok` once `hello` arrives, or the refusal's status, `Retry-After` and body.
async fn open_from(
    app: &TestApp,
    user: &Client,
    address: &str,
) -> Result<crate::ws::Ws, (u16, Option<String>, Value)> {
    user.me().await;
    let url = format!("{}/api/ws", app.base.replacen("http", "ws", 1));
    let mut req = url.into_client_request().unwrap();
    let cookie = reqwest::cookie::CookieStore::cookies(&*user.jar, &app.base.parse().unwrap());
    let cookie = cookie.unwrap();
    req.headers_mut().insert(
        "cookie",
        HeaderValue::from_str(cookie.to_str().unwrap()).unwrap(),
    );
    req.headers_mut()
        .insert("x-forwarded-for", HeaderValue::from_str(address).unwrap());
    match tokio_tungstenite::connect_async(req).await {
        Ok((stream, _)) => {
            let mut ws = crate::ws::Ws {
                stream,
                hello: Value::Null,
            };
            ws.hello = ws.recv().await;
            Ok(ws)
        }
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => {
            let retry = res
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned());
            let body = serde_json::from_slice(res.body().as_deref().unwrap_or(b"null")).unwrap();
            Err((res.status().as_u16(), retry, body))
        }
        Err(e) => panic!("neither a socket nor an answer: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_may_open_only_its_share_of_sockets() {
    let app = spawn(|s| {
        s.rate_limits = true;
        s.ws_max_per_ip = 3;
        s.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    let (alice, bob) = (app.user(), app.user());
    let mut open = Vec::new();
    for user in [&alice, &alice, &bob] {
        open.push(
            open_from(&app, user, "203.0.113.7")
                .await
                .expect("under the cap"),
        );
    }
    let (status, retry, body) = open_from(&app, &bob, "203.0.113.7")
        .await
        .err()
        .expect("over the cap");
    assert_eq!(status, 429);
    assert_eq!(body["error"]["code"], "rate_limited", "{body}");
    assert!(retry.is_some(), "Retry-After");
    assert_eq!(
        app.state.sockets.count(),
        3,
        "the refused one was never a socket"
    );

    // Another address behind the same proxy has a share of its own.
    let other = open_from(&app, &bob, "198.51.100.4").await;
    assert!(other.is_ok(), "another client address");

    let mut closing = open.pop().unwrap();
    closing.stream.close(None).await.unwrap();
    drop(closing);
    let ip = "203.0.113.7".parse().unwrap();
    let start = Instant::now();
    while app.state.sockets.open_from_count(ip) != 2 {
        assert!(start.elapsed() < WAIT, "a closed socket stops counting");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        open_from(&app, &alice, "203.0.113.7").await.is_ok(),
        "a place was freed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_may_hold_only_its_share_of_event_streams() {
    let app = spawn(|s| {
        s.rate_limits = true;
        s.sse_max_per_ip = 2;
        s.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    let alice = app.user();
    let room = alice.public_room().await;
    let watch = |from: &'static str| {
        alice
            .http
            .get(format!("{}/api/rooms/{room}/events", app.base))
            .header("x-forwarded-for", from)
            .send()
    };
    let mut open = Vec::new();
    for _ in 0..2 {
        let res = watch("203.0.113.7").await.unwrap();
        assert_eq!(res.status(), 200);
        open.push(res);
    }
    let refused = watch("203.0.113.7").await.unwrap();
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited", "{body}");
    let other = watch("198.51.100.4").await.unwrap();
    assert_eq!(
        other.status(),
        200,
        "another client address has a share of its own"
    );

    // Each stream counts until it ends (a client that has gone is found
    // by the stream's next writes, its keep-alive comments at the latest;
    // the count is given back as a socket's is).
    let ip = "203.0.113.7".parse().unwrap();
    assert_eq!(app.state.streams.count(ip), 2);
    drop(open);
}

on_both_databases! {
    async fn a_socket_joins_at_most_ws_max_rooms(app) where |s: &mut gifchat::config::Settings| s.ws_max_rooms = 3; {
        let alice = app.user();
        let mut rooms = Vec::new();
        for _ in 0..4 {
            rooms.push(alice.public_room().await);
        }
        let mut ws = alice.ws().await;
        for room in &rooms[..3] {
            ws.join(room).await;
        }
        ws.send(json!({"type": "join", "data": {"room_id": rooms[3]}, "ref": "fourth"})).await;
        let refused = ws.recv_ref("fourth").await;
        assert_eq!(refused["type"], "error");
        assert_eq!(refused["data"]["code"], "validation_failed");
        assert!(refused["data"]["message"].as_str().unwrap().contains('3'), "{refused}");
        assert_eq!(app.state.realtime.member_count_here(&rooms[3]), 0);
        // Joining a room it is in already still answers.
        ws.join(&rooms[0]).await;

        ws.send(json!({"type": "leave", "data": {"room_id": rooms[1]}, "ref": "leave"})).await;
        assert_eq!(ws.recv_ref("leave").await["type"], "ack");
        let joined = ws.join(&rooms[3]).await;
        assert_eq!(joined["data"]["room"]["id"], rooms[3].as_str());
    }
}
