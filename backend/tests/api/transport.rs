//! The socket's connection as the wire carries it: upgrade requests the
//! application refuses, or that are not for the socket, and bytes a client
//! sends before it has seen the handshake's answer.

use std::time::Duration;

use actix_codec::Decoder;
use actix_http::ws::{Codec, Frame, OpCode, Parser};
use bytes::BytesMut;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{Backend, TestApp};

const WAIT: Duration = Duration::from_secs(10);

fn upgrade_request(host: &str, path: &str, extra: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n{extra}\r\n"
    )
}

async fn connect(app: &TestApp) -> (TcpStream, String) {
    let host = app.base.trim_start_matches("http://").to_owned();
    (TcpStream::connect(&host).await.unwrap(), host)
}

/// Sends an upgrade request for `path` and reads everything the server
/// sends until it closes the connection: the head, lower-cased, and the
/// body as JSON.
async fn answered(app: &TestApp, path: &str, extra: &str) -> (String, Value) {
    let (mut tcp, host) = connect(app).await;
    let request = upgrade_request(&host, path, extra);
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(WAIT, tcp.read_to_end(&mut out))
        .await
        .expect("the server closes the connection")
        .unwrap();
    let text = String::from_utf8(out).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").expect("a whole response");
    let body = serde_json::from_str(body).unwrap_or_else(|e| panic!("JSON ({e}): {body}"));
    (head.to_ascii_lowercase(), body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgrade_request_for_another_path_is_answered_then_closed() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let (head, rooms) = answered(&app, "/api/rooms", "").await;
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("connection: close"), "{head}");
    assert!(rooms["rooms"].is_array(), "the room list: {rooms}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_socket_gets_its_error_and_the_connection_closes() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let (head, error) = answered(&app, "/api/ws", "Origin: https://evil.example\r\n").await;
    assert!(head.starts_with("http/1.1 403"), "{head}");
    assert_eq!(error["error"]["code"], "forbidden");
    assert_eq!(app.state.sockets.count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_sent_right_behind_the_handshake_are_read() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let (mut tcp, host) = connect(&app).await;
    // The request and a ping in one write, before any answer.
    let mut bytes = BytesMut::from(upgrade_request(&host, "/api/ws", "").as_bytes());
    let ping = br#"{"type":"ping","ref":"early"}"#;
    Parser::write_message(&mut bytes, ping, OpCode::Text, true, true);
    tcp.write_all(&bytes).await.unwrap();

    let mut buf = BytesMut::new();
    let mut codec = Codec::new().client_mode();
    let mut handshake = None;
    let mut envelopes = Vec::new();
    while envelopes.len() < 2 {
        let n = tokio::time::timeout(WAIT, tcp.read_buf(&mut buf))
            .await
            .expect("the server answers")
            .unwrap();
        assert_ne!(n, 0, "the connection stays open");
        if handshake.is_none() {
            let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                continue;
            };
            handshake = Some(String::from_utf8(buf.split_to(end + 4).to_vec()).unwrap());
        }
        while let Some(frame) = codec.decode(&mut buf).unwrap() {
            match frame {
                Frame::Text(text) => {
                    envelopes.push(serde_json::from_slice::<Value>(&text).unwrap())
                }
                other => panic!("only text frames so far: {other:?}"),
            }
        }
    }
    assert!(handshake.unwrap().starts_with("HTTP/1.1 101"));
    assert_eq!(envelopes[0]["type"], "hello");
    assert_eq!(envelopes[1]["type"], "pong");
    assert_eq!(envelopes[1]["ref"], "early");
    assert_eq!(app.state.sockets.count(), 1);

    // Closing from the client's side ends the socket on the server's.
    drop(tcp);
    assert!(app.state.sockets.all_closed(WAIT).await, "the socket ends");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_shutting_down_a_new_socket_is_refused() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    app.state.sockets.refuse_new();
    let (head, error) = answered(&app, "/api/ws", "").await;
    assert!(head.starts_with("http/1.1 503"), "{head}");
    assert_eq!(error["error"]["code"], "unavailable");
    assert_eq!(app.state.sockets.count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgrade_with_a_chunked_body_is_not_a_socket() {
    // actix-http serves it as a plain request: there is no connection to
    // hand over, so no `101` may be sent.
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let (mut tcp, host) = connect(&app).await;
    let request = upgrade_request(&host, "/api/ws", "Transfer-Encoding: chunked\r\n");
    tcp.write_all(format!("{request}0\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        let n = tokio::time::timeout(WAIT, tcp.read(&mut byte))
            .await
            .expect("an answer")
            .unwrap();
        assert_eq!(n, 1, "a whole head");
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    assert!(head.starts_with("HTTP/1.1 400"), "{head}");
    assert_eq!(app.state.sockets.count(), 0);
}
