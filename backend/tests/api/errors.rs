use serde_json::json;

use crate::on_both_databases;

on_both_databases! {
    async fn unknown_routes_and_methods_answer_in_the_error_format(app) {
        let alice = app.user();
        let res = alice.get("/api/nothing-here").await;
        assert_eq!((res.status, res.code()), (404, "not_found"));
        let res = alice.send(alice.http.put(app.url("/api/rooms"))).await;
        assert_eq!((res.status, res.code()), (405, "method_not_allowed"));
        assert_eq!(res.headers["allow"], "GET, POST");
        let res = alice.send(alice.http.put(app.url("/api/rooms/0123456789abcdef0123456789abcdef"))).await;
        assert_eq!(res.status, 405);
    }

    async fn bad_bodies_get_the_right_status(app) {
        let alice = app.user();
        let post = |body: &'static str, ct: &'static str| {
            alice.send(alice.http.post(app.url("/api/rooms")).header("content-type", ct).body(body))
        };
        assert_eq!(post("{\"title\":", "application/json").await.code(), "bad_request");
        assert_eq!(post("[1,2]", "application/json").await.code(), "bad_request");
        assert_eq!(post("{\"title\": 5}", "application/json").await.code(), "validation_failed");
        assert_eq!(post("title=x", "application/x-www-form-urlencoded").await.code(), "unsupported_media_type");
        assert_eq!(post("{\"title\":\"x\"}", "text/plain").await.code(), "unsupported_media_type");
        let res = alice.send(alice.http.post(app.url("/api/rooms")).body("{\"title\":\"x\"}")).await;
        assert_eq!(res.code(), "unsupported_media_type", "no content type");
        let big = json!({"title": "x", "pad": "y".repeat(100_000)});
        let res = alice.post("/api/rooms", big).await;
        assert_eq!((res.status, res.code()), (413, "payload_too_large"));
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM rooms").await, 0);
    }

    async fn health_probes_answer(app) {
        let anyone = app.user();
        assert_eq!(anyone.get("/healthz").await.body["status"], "ok");
        let ready = anyone.get("/readyz").await;
        assert_eq!((ready.status, ready.body["status"].as_str()), (200, Some("ready")));
    }

    async fn a_path_too_long_to_read_is_answered_in_the_error_format(app) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = app.base.trim_start_matches("http://").to_owned();
        for (len, status, code) in [(100_000, "414", "uri_too_long"), (20_000, "404", "not_found")] {
            let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
            let request = format!("GET /api/{} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n", "a".repeat(len));
            conn.write_all(request.as_bytes()).await.unwrap();
            let mut answer = Vec::new();
            tokio::time::timeout(std::time::Duration::from_secs(5), conn.read_to_end(&mut answer))
                .await
                .expect("answered and closed")
                .unwrap();
            let answer = String::from_utf8_lossy(&answer);
            assert!(answer.starts_with(&format!("HTTP/1.1 {status}")), "{len}: {answer}");
            assert!(answer.contains(&format!(r#"{{"error":{{"code":"{code}""#)), "{len}: {answer}");
        }
    }
}
