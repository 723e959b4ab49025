//! A WebSocket test client speaking the envelope protocol.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const WAIT: Duration = Duration::from_secs(10);

pub struct Ws {
    pub stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub hello: Value,
}

impl Ws {
    pub async fn connect(
        base: &str,
        cookie: Option<String>,
        origin: Option<&str>,
    ) -> Result<Ws, String> {
        let url = format!("{}/api/ws", base.replacen("http", "ws", 1));
        let mut req = url.into_client_request().unwrap();
        if let Some(c) = cookie {
            req.headers_mut()
                .insert("cookie", HeaderValue::from_str(&c).unwrap());
        }
        if let Some(o) = origin {
            req.headers_mut()
                .insert("origin", HeaderValue::from_str(o).unwrap());
        }
        let (stream, _) = tokio_tungstenite::connect_async(req)
            .await
            .map_err(|e| e.to_string())?;
        let mut ws = Ws {
            stream,
            hello: Value::Null,
        };
        ws.hello = ws.recv().await;
        assert_eq!(ws.hello["type"], "hello", "{}", ws.hello);
        Ok(ws)
    }

    pub async fn send(&mut self, frame: Value) {
        self.stream
            .send(Message::text(frame.to_string()))
            .await
            .unwrap();
    }

    /// The next envelope, whatever its type.
    pub async fn recv(&mut self) -> Value {
        self.try_recv(WAIT)
            .await
            .expect("an envelope within the wait")
    }

    pub async fn try_recv(&mut self, wait: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let msg = tokio::time::timeout_at(deadline, self.stream.next())
                .await
                .ok()??
                .ok()?;
            match msg {
                Message::Text(t) => return Some(serde_json::from_str(&t).unwrap()),
                Message::Close(_) => return None,
                _ => continue,
            }
        }
    }

    /// The next envelope of type `ty`, skipping others.
    pub async fn recv_type(&mut self, ty: &str) -> Value {
        loop {
            let env = self.recv().await;
            if env["type"] == ty {
                return env;
            }
        }
    }

    /// The next envelope answering the client frame with this `ref`.
    pub async fn recv_ref(&mut self, reference: &str) -> Value {
        loop {
            let env = self.recv().await;
            if env["ref"] == reference {
                return env;
            }
        }
    }

    /// Asserts no envelope of type `ty` arrives within `wait`.
    pub async fn expect_none(&mut self, ty: &str, wait: Duration) {
        let deadline = tokio::time::Instant::now() + wait;
        while let Some(env) = self
            .try_recv(deadline.saturating_duration_since(tokio::time::Instant::now()))
            .await
        {
            assert_ne!(env["type"], ty, "unexpected {env}");
        }
    }

    /// Subscribes to lobby events and waits for the answer.
    pub async fn subscribe_lobby(&mut self) {
        self.send(json!({"type": "subscribe_lobby", "data": {}, "ref": "lobby"}))
            .await;
        let answer = self.recv_ref("lobby").await;
        assert_eq!(answer["type"], "ack", "{answer}");
    }

    /// Joins and returns `joined`; fails on an error.
    pub async fn join(&mut self, room: &str) -> Value {
        self.join_since(room, None).await
    }

    pub async fn join_since(&mut self, room: &str, since: Option<i64>) -> Value {
        self.join_resuming(room, since, None).await
    }

    /// Joins with both cursors and returns `joined`; what it replays follows.
    pub async fn join_resuming(
        &mut self,
        room: &str,
        since_seq: Option<i64>,
        since_rev: Option<i64>,
    ) -> Value {
        self.send(json!({"type": "join", "data": {"room_id": room, "since_seq": since_seq, "since_rev": since_rev}, "ref": "j"}))
            .await;
        loop {
            let env = self.recv().await;
            match env["type"].as_str() {
                Some("joined") => return env,
                Some("error") => panic!("join failed: {env}"),
                _ => continue,
            }
        }
    }

    /// Sends a join and returns the `error` code, or "ok".
    pub async fn try_join(&mut self, room: &str) -> String {
        self.send(json!({"type": "join", "data": {"room_id": room}, "ref": "t"}))
            .await;
        loop {
            let env = self.recv().await;
            if env["ref"] == "t" {
                return if env["type"] == "error" {
                    env["data"]["code"].as_str().unwrap().to_owned()
                } else {
                    "ok".into()
                };
            }
        }
    }

    /// Reads until the server closes; returns its close code.
    pub async fn close_code(&mut self) -> Option<CloseCode> {
        loop {
            match tokio::time::timeout(WAIT, self.stream.next()).await.ok()? {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| f.code),
                Some(Ok(_)) => continue,
                _ => return None,
            }
        }
    }
}
