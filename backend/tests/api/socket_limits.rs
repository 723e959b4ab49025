//! The socket's limits and its conformance to RFC 6455, as a client on the
//! wire sees them: close codes for frames that break the rules.

use std::net::SocketAddr;
use std::time::Duration;

use actix_codec::Decoder;
use actix_http::ws::{Codec, Frame, OpCode, Parser};
use bytes::BytesMut;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::helpers::{Backend, Client, TestApp};

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
