//! Request bodies: read within a deadline, counted whole however they are
//! framed, and JSON refused when anything follows it or answered without
//! quoting what it was sent.

use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

use crate::helpers::{make_gif, temp_files};
use crate::on_both_databases;
use crate::process::{data_dir, Server};

/// A client speaking HTTP/1.1 by hand, to send a body as slowly as it likes.
struct Raw {
    read: OwnedReadHalf,
    write: OwnedWriteHalf,
    answer: Vec<u8>,
}

impl Raw {
    async fn open(addr: &str) -> Raw {
        let (read, write) = TcpStream::connect(addr).await.unwrap().into_split();
        Raw {
            read,
            write,
            answer: Vec::new(),
        }
    }

    async fn send(&mut self, bytes: &[u8]) {
        self.write.write_all(bytes).await.unwrap();
    }

    /// Sends `bytes` one at a time, `every` apart, until the server starts
    /// answering (then stops sending). Returns how long that took.
    async fn trickle_until_answered(&mut self, bytes: &[u8], every: Duration) -> Duration {
        let started = Instant::now();
        let mut left = bytes.iter();
        let mut buf = [0u8; 4096];
        let mut tick = tokio::time::interval(every);
        loop {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "no answer after 30 s"
            );
            tokio::select! {
                read = self.read.read(&mut buf) => {
                    let n = read.unwrap_or(0);
                    assert!(n > 0, "closed without an answer");
                    self.answer.extend_from_slice(&buf[..n]);
                    return started.elapsed();
                }
                _ = tick.tick() => {
                    if let Some(b) = left.next() {
                        // The server may have stopped reading; its answer tells why.
                        let _ = self.write.write_all(&[*b]).await;
                    }
                }
            }
        }
    }

    /// Reads the rest of the answer. True when the server then closed the connection.
    async fn rest_and_closed(&mut self) -> (String, bool) {
        let mut buf = [0u8; 4096];
        let closed = loop {
            match tokio::time::timeout(Duration::from_secs(5), self.read.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => break true,
                Ok(Ok(n)) => self.answer.extend_from_slice(&buf[..n]),
                Err(_) => break false,
            }
        };
        (String::from_utf8_lossy(&self.answer).into_owned(), closed)
    }

    /// Goes on sending `chunk` every `every` after the answer, as a client
    /// that ignores it would, reading meanwhile. The bytes it could send
    /// before the server closed the connection, or None if it was still
    /// open after `within`.
    async fn send_until_closed(
        &mut self,
        chunk: &[u8],
        every: Duration,
        within: Duration,
    ) -> Option<usize> {
        let started = Instant::now();
        let mut sent = 0;
        let mut buf = [0u8; 4096];
        let mut tick = tokio::time::interval(every);
        while started.elapsed() < within {
            tokio::select! {
                read = self.read.read(&mut buf) => match read {
                    Ok(0) | Err(_) => return Some(sent),
                    Ok(n) => self.answer.extend_from_slice(&buf[..n]),
                },
                _ = tick.tick() => {
                    if self.write.write_all(chunk).await.is_err() {
                        return Some(sent);
                    }
                    sent += chunk.len();
                }
            }
        }
        None
    }

    /// Reads one whole answer (head and `Content-Length` body) on a
    /// connection that stays open, and forgets it.
    async fn one_answer(&mut self) -> String {
        let mut buf = [0u8; 8192];
        loop {
            let text = self.answer();
            if let Some(end) = text.find("\r\n\r\n") {
                let length = text[..end]
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().unwrap())
                    })
                    .unwrap_or(0);
                if self.answer.len() >= end + 4 + length {
                    let whole =
                        String::from_utf8_lossy(&self.answer[..end + 4 + length]).into_owned();
                    self.answer.drain(..end + 4 + length);
                    return whole;
                }
            }
            let n = tokio::time::timeout(Duration::from_secs(5), self.read.read(&mut buf))
                .await
                .expect("an answer")
                .unwrap();
            assert!(n > 0, "closed before a whole answer: {}", self.answer());
            self.answer.extend_from_slice(&buf[..n]);
        }
    }

    fn answer(&self) -> String {
        String::from_utf8_lossy(&self.answer).into_owned()
    }
}

/// `bytes` as one chunk of a chunked body.
fn chunk(bytes: &[u8]) -> Vec<u8> {
    let mut out = format!("{:x}\r\n", bytes.len()).into_bytes();
    out.extend_from_slice(bytes);
    out.extend_from_slice(b"\r\n");
    out
}

fn multipart_head(room: &str, addr: &str, length: usize) -> String {
    format!(
        "POST /api/rooms/{room}/gifs HTTP/1.1\r\nHost: {addr}\r\n\
         Content-Type: multipart/form-data; boundary=b0und\r\nContent-Length: {length}\r\n\r\n"
    )
}

fn gif_part(gif: &[u8]) -> Vec<u8> {
    let mut part =
        b"--b0und\r\nContent-Disposition: form-data; name=\"gif\"; filename=\"a.gif\"\r\n\
                     Content-Type: image/gif\r\n\r\n"
            .to_vec();
    part.extend_from_slice(gif);
    part.extend_from_slice(b"\r\n");
    part
}

/// A multipart body sent chunked: `before` junk parts of `junk_bytes`
/// each, the GIF, then `after` junk parts.
fn chunked_junk(gif: Vec<u8>, before: usize, after: usize, junk_bytes: usize) -> reqwest::Body {
    let junk = format!(
        "--b0und\r\nContent-Disposition: form-data; name=\"junk\"\r\n\r\n{}\r\n",
        "j".repeat(junk_bytes)
    )
    .into_bytes();
    let parts = std::iter::repeat_n(junk.clone(), before)
        .chain(std::iter::once(gif_part(&gif)))
        .chain(std::iter::repeat_n(junk, after))
        .chain(std::iter::once(b"--b0und--\r\n".to_vec()))
        .map(Ok::<_, std::io::Error>);
    reqwest::Body::wrap_stream(futures_util::stream::iter(parts))
}

on_both_databases! {
    async fn a_json_body_that_trickles_gets_408_and_its_connection_closed(app)
    where |s: &mut gifchat::config::Settings| s.body_read_timeout_secs = 2; {
        let addr = app.base.trim_start_matches("http://").to_owned();
        let mut raw = Raw::open(&addr).await;
        let body = br#"{"title":"a room that never quite arrives"}"#;
        raw.send(format!(
            "POST /api/rooms HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        ).as_bytes()).await;
        // A byte every 400 ms: never silent for long, never finished in time.
        let took = raw.trickle_until_answered(body, Duration::from_millis(400)).await;
        let (answer, closed) = raw.rest_and_closed().await;
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(answer.contains(r#""code":"request_timeout""#), "{answer}");
        assert!(took >= Duration::from_millis(1900) && took < Duration::from_secs(5), "{took:?}");
        assert!(closed, "the connection stayed open");
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM rooms").await, 0);
    }

    async fn an_upload_that_stalls_gets_408_and_leaves_no_temporary_file(app)
    where |s: &mut gifchat::config::Settings| s.body_read_timeout_secs = 2; {
        let room = app.user().public_room().await;
        let addr = app.base.trim_start_matches("http://").to_owned();
        let part = gif_part(&make_gif(64, 64, 4, 2));
        let mut raw = Raw::open(&addr).await;
        raw.send(multipart_head(&room, &addr, part.len() + 11).as_bytes()).await;
        raw.send(&part[..200]).await;
        tokio::time::sleep(Duration::from_millis(700)).await;
        assert_eq!(temp_files(&app.settings.upload_dir()).len(), 1, "the upload is being received");
        let took = raw.trickle_until_answered(&part[200..], Duration::from_millis(400)).await;
        let (answer, closed) = raw.rest_and_closed().await;
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(answer.contains(r#""code":"request_timeout""#), "{answer}");
        assert!(took < Duration::from_secs(4), "{took:?}");
        assert!(closed, "the connection stayed open");
        assert_eq!(app.stored_files(), Vec::<String>::new());
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM gifs").await, 0);
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM chats").await, 0);
    }

    async fn a_body_in_time_is_not_cut_off(app)
    where |s: &mut gifchat::config::Settings| s.body_read_timeout_secs = 2; {
        let addr = app.base.trim_start_matches("http://").to_owned();
        let mut raw = Raw::open(&addr).await;
        let body = br#"{"title":"slow but in time"}"#;
        raw.send(format!(
            "POST /api/rooms HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        ).as_bytes()).await;
        raw.trickle_until_answered(body, Duration::from_millis(30)).await;
        let (answer, _) = raw.rest_and_closed().await;
        assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    }

    async fn every_part_of_a_chunked_upload_counts_toward_one_limit(app) {
        // 96 MB of small junk parts with a GIF, no Content-Length: each part
        // is small, but together they pass GIF_MAX_BYTES.
        let alice = app.user();
        let room = alice.public_room().await;
        for (before, after) in [(0, 12_000), (12_000, 0)] {
            let body = chunked_junk(make_gif(8, 8, 1, 4), before, after, 8000);
            let res = alice
                .send(
                    alice.http.post(app.url(&format!("/api/rooms/{room}/gifs")))
                        .header("content-type", "multipart/form-data; boundary=b0und")
                        .body(body),
                )
                .await;
            assert_eq!((res.status, res.code()), (413, "payload_too_large"), "{}", res.body);
        }
        assert_eq!(app.stored_files(), Vec::<String>::new());
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM gifs").await, 0);
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM chats").await, 0);

        // A few small parts beside the GIF are still fine.
        let body = chunked_junk(make_gif(8, 8, 1, 4), 2, 2, 8000);
        let res = alice
            .send(
                alice.http.post(app.url(&format!("/api/rooms/{room}/gifs")))
                    .header("content-type", "multipart/form-data; boundary=b0und")
                    .body(body),
            )
            .await;
        assert_eq!(res.status, 201, "{}", res.body);
    }

    async fn a_chunked_body_that_trickles_gets_408_and_its_connection_closed(app)
    where |s: &mut gifchat::config::Settings| s.body_read_timeout_secs = 2; {
        let addr = app.base.trim_start_matches("http://").to_owned();
        let mut raw = Raw::open(&addr).await;
        raw.send(format!(
            "POST /api/rooms HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        ).as_bytes()).await;
        // A chunk of one byte every 100 ms, before the answer and after it:
        // a client that goes on sending is not read for ever.
        let started = Instant::now();
        let sent = raw.send_until_closed(&chunk(b"a"), Duration::from_millis(100), Duration::from_secs(10)).await;
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(1900) && took < Duration::from_secs(6), "{took:?}");
        let answer = raw.answer();
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(answer.contains(r#""code":"request_timeout""#), "{answer}");
        assert!(sent.is_some(), "the connection stayed open: {answer}");
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM rooms").await, 0);
    }

    async fn a_chunked_body_over_the_limit_is_refused_and_not_drained(app) {
        let alice = app.user();
        let room = alice.public_room().await;
        let addr = app.base.trim_start_matches("http://").to_owned();
        let piece = chunk(&[b'j'; 60_000]);
        for head in [
            "POST /api/rooms HTTP/1.1\r\nContent-Type: application/json\r\n".to_owned(),
            format!("POST /api/rooms/{room}/gifs HTTP/1.1\r\nContent-Type: multipart/form-data; boundary=b0und\r\n"),
        ] {
            let mut raw = Raw::open(&addr).await;
            raw.send(format!("{head}Host: {addr}\r\nCookie: {}\r\nTransfer-Encoding: chunked\r\n\r\n", alice.cookie().expect("a session")).as_bytes()).await;
            if head.contains("multipart") {
                raw.send(&chunk(b"--b0und\r\nContent-Disposition: form-data; name=\"junk\"\r\n\r\n")).await;
            }
            // As fast as the server reads: it answers 413 and closes, where
            // draining would read on as long as the client sends.
            let sent = raw.send_until_closed(&piece, Duration::from_millis(1), Duration::from_secs(10)).await;
            let answer = raw.answer();
            assert!(answer.starts_with("HTTP/1.1 413"), "{head}: {answer}");
            assert!(answer.contains(r#""code":"payload_too_large""#), "{answer}");
            let sent = sent.unwrap_or_else(|| panic!("{head}: the connection stayed open"));
            assert!(sent < 64 << 20, "{head}: {sent} bytes were read after the answer");
        }
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM rooms").await, 1);
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM gifs").await, 0);
        assert_eq!(app.stored_files(), Vec::<String>::new());
    }

    async fn a_chunked_body_read_whole_keeps_its_connection(app) {
        let alice = app.user();
        let room = alice.public_room().await;
        let addr = app.base.trim_start_matches("http://").to_owned();
        let mut raw = Raw::open(&addr).await;
        let cookie = alice.cookie().expect("a session");
        let gif = gif_part(&make_gif(8, 8, 1, 4));
        let mut body = chunk(&gif);
        body.extend_from_slice(&chunk(b"--b0und--\r\n"));
        body.extend_from_slice(b"0\r\n\r\n");
        for path in [format!("/api/rooms/{room}/gifs"), format!("/api/rooms/{room}/gifs")] {
            raw.send(format!(
                "POST {path} HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\n\
                 Content-Type: multipart/form-data; boundary=b0und\r\nTransfer-Encoding: chunked\r\n\r\n"
            ).as_bytes()).await;
            raw.send(&body).await;
            let answer = raw.one_answer().await;
            assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
        }
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM chats WHERE gif_file IS NOT NULL").await, 2);
    }

    async fn json_followed_by_anything_is_malformed(app) {
        let alice = app.user();
        let room = alice.public_room().await;
        let post = |path: String, body: &'static str| {
            alice.send(alice.http.post(app.url(&path)).header("content-type", "application/json").body(body))
        };
        for body in [r#"{"text":"a"} xyz"#, r#"{"text":"a"}{"text":"b"}"#, r#"{"text":"a"},"#] {
            let res = post(format!("/api/rooms/{room}/chats"), body).await;
            assert_eq!((res.status, res.code()), (400, "bad_request"), "{body}: {}", res.body);
        }
        let res = post(format!("/api/rooms/{room}/chats"), "{\"text\":\"a\"} \n\t ").await;
        assert_eq!(res.status, 201, "trailing whitespace is fine: {}", res.body);
        let res = post("/api/rooms".into(), r#"{"title":"x"} trailing"#).await;
        assert_eq!((res.status, res.code()), (400, "bad_request"));
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM rooms").await, 1);
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM chats").await, 1);
    }

    async fn a_field_of_the_wrong_type_is_named_but_its_value_is_not_repeated(app) {
        let alice = app.user();
        for (body, field) in [
            (json!({"title": "x", "password": 123456}), "password"),
            (json!({"title": "x", "password": ["hunter2"]}), "password"),
            (json!({"title": "x", "max_members": "hunter2"}), "max_members"),
            (json!({"title": "x", "max_members": 2.5}), "max_members"),
            (json!({"title": true}), "title"),
        ] {
            let res = alice.post("/api/rooms", body.clone()).await;
            assert_eq!((res.status, res.code()), (422, "validation_failed"), "{body}");
            let problem = res.body["error"]["fields"][field].as_str().unwrap_or_default().to_owned();
            assert!(problem.contains("expected"), "{body}: {}", res.body);
            let answer = res.body.to_string();
            for secret in ["123456", "hunter2", "2.5", "true"] {
                assert!(!answer.contains(secret), "{body} echoed: {answer}");
            }
        }
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM rooms").await, 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_debug_log_does_not_repeat_a_refused_value() {
    let (_dir, path) = data_dir();
    let server = Server::start(&path, &[("RUST_LOG", "debug")]);
    let alice = server.user();
    let res = alice
        .post("/api/rooms", json!({"title": "x", "password": 987654321}))
        .await;
    assert_eq!((res.status, res.code()), (422, "validation_failed"));
    let res = alice
        .send(
            alice
                .http
                .post(format!("{}/api/rooms", server.base))
                .header("content-type", "application/json")
                .body(r#"{"title":"x","password":"x"} 555444333"#),
        )
        .await;
    assert_eq!((res.status, res.code()), (400, "bad_request"));
    // The access log line is written once the response is; give it a moment.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let log = server.log();
    assert!(
        log.contains("Error in response"),
        "errors are logged at debug: {log}"
    );
    assert!(!log.contains("987654321"), "{log}");
    assert!(!log.contains("555444333"), "{log}");
}
