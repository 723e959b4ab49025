//! What an operator sees: `/metrics` and request ids.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::{sample, Backend, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_by_route_and_what_the_service_does() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.rate_limits = true;
        s.rate_chats_per_min = 3;
    })
    .await
    .unwrap();
    let before = app.metrics().await;
    let alice = app.user();
    let id = alice.public_room().await;
    for i in 0..4 {
        alice.say(&id, &format!("hi {i}")).await;
    }
    let sse = reqwest::Client::new()
        .get(app.url(&format!("/api/rooms/{id}/events")))
        .header("Last-Event-ID", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(sse.status(), 200);
    let during = app.metrics().await;
    drop(sse);

    let posts =
        r#"gifchat_http_requests_total{endpoint="/api/rooms/{id}/chats",method="POST",status="#;
    // Metrics are the process's, and other tests run beside this one.
    let delta = |status: &str| {
        let series = format!(r#"{posts}"{status}"}}"#);
        sample(&during, &series) - sample(&before, &series)
    };
    assert!(delta("201") >= 3.0, "{during}");
    assert!(delta("429") >= 1.0, "{during}");
    assert!(during.contains(
        r#"gifchat_http_requests_duration_seconds_bucket{endpoint="/api/rooms/{id}/chats""#
    ));
    assert!(!during.contains(&id), "never a room id in a label");
    assert!(sample(&during, r#"gifchat_rate_limited_total{route="chats"}"#) >= 1.0);
    assert!(sample(&during, "gifchat_chat_commit_batch_size_count") >= 3.0);
    assert!(sample(&during, "gifchat_chat_commit_duration_seconds_count") >= 3.0);
    assert!(sample(&during, r#"gifchat_resumes_total{result="complete"}"#) >= 1.0);
    assert!(sample(&during, "gifchat_open_sse_streams") >= 1.0);
    assert!(sample(&during, "process_resident_memory_bytes") > 0.0);
    assert!(sample(&during, "process_open_fds") > 0.0);
    for name in [
        "gifchat_open_sockets",
        "gifchat_deliveries_total",
        "gifchat_slow_consumer_closes_total",
        "gifchat_gif_uploads_total",
        "gifchat_media_total",
        "gifchat_media_duration_seconds",
    ] {
        assert!(
            during.contains(&format!("# TYPE {name} ")),
            "{name} is exported"
        );
    }
    // GIF uploads, by result.
    let before_gifs = app.metrics().await;
    let (gifs, junk) = (app.user(), app.user());
    let res = gifs
        .upload(
            &id,
            crate::helpers::make_gif(4, 4, 1, 9),
            "a.gif",
            "image/gif",
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.body);
    let res = junk
        .upload(&id, b"not a gif".to_vec(), "b.gif", "image/gif")
        .await;
    assert_eq!(res.status, 415);
    let after_gifs = app.metrics().await;
    for result in ["created", "refused"] {
        let series = format!(r#"gifchat_gif_uploads_total{{result="{result}"}}"#);
        assert!(
            sample(&after_gifs, &series) - sample(&before_gifs, &series) >= 1.0,
            "{result}"
        );
    }
    // The media pipeline counts the GIF it finished, whatever it made.
    let finished = |text: &str| {
        ["kept", "not_smaller", "over_budget", "failed"]
            .iter()
            .map(|r| sample(text, &format!(r#"gifchat_media_total{{result="{r}"}}"#)))
            .sum::<f64>()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let now = app.metrics().await;
        if finished(&now) > finished(&before_gifs) {
            assert!(sample(&now, "gifchat_media_duration_seconds_count") >= 1.0);
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the media pipeline counted nothing"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // Paths no route takes are one series, whatever they are.
    app.user().get("/api/no/such/thing/42").await;
    let after = app.metrics().await;
    assert!(after.contains(r#"endpoint="unmatched""#));
    assert!(!after.contains("/api/no/such"));
}

#[tokio::test]
async fn metrics_can_be_turned_off() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.metrics = false)
        .await
        .unwrap();
    let text = reqwest::get(app.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!text.contains("gifchat_http_requests_total"));
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let alice = app.user();
    let mut seen = std::collections::HashSet::new();
    for res in [
        alice.get("/api/rooms").await,
        alice
            .get("/api/rooms/0123456789abcdef0123456789abcdef")
            .await,
        alice.post("/api/rooms", json!({"title": ""})).await,
    ] {
        let id = res.headers["x-request-id"].to_str().unwrap().to_owned();
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
        assert!(seen.insert(id), "a new id for each request");
    }
    // An id the client sends is not taken: it could be anything.
    let res = reqwest::Client::new()
        .get(app.url("/api/rooms"))
        .header("X-Request-Id", "forged-id-1")
        .send()
        .await
        .unwrap();
    assert_ne!(res.headers()["x-request-id"], "forged-id-1");
}

/// The real binary, as an operator runs it: each log line written while a
/// request is handled names the request's id.
#[test]
fn log_lines_name_their_request() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_gifchat"))
        .arg("serve")
        .env("PORT", "0")
        .env("BIND_ADDR", "127.0.0.1")
        .env("DATA_DIR", dir.path())
        .env("RUST_LOG", "info,gifchat=debug")
        .env_remove("DATABASE_URL")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    let next = || {
        rx.recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .ok()
    };
    let port: u16 = loop {
        let line = next().expect("the server logs its port");
        if let Some(rest) = line.split("listening on port ").nth(1) {
            break rest.trim().parse().unwrap();
        }
    };
    let res = reqwest::blocking::get(format!(
        "http://127.0.0.1:{port}/api/rooms/0123456789abcdef0123456789abcdef"
    ))
    .unwrap();
    assert_eq!(res.status(), 404);
    let id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    let (mut refused, mut access) = (false, false);
    while !(refused && access) {
        let Some(line) = next() else { break };
        if line.contains(&format!("req={id}")) {
            refused |= line.contains("refused: not_found");
            access |= line.contains("\"GET /api/rooms/");
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(refused, "the handler's line carries the id");
    assert!(access, "the access log line carries the id");
}
