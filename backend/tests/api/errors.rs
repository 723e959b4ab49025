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
}
