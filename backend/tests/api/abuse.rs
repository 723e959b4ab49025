//! What a hostile visitor could do cheaply, and the answer each now gets:
//! rooms that cannot be wiped by visiting them, limits per client address,
//! names that show what they are, and refusals that write nothing.

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::Client;
use crate::on_both_databases;

/// A client that never keeps a cookie: every request is a new person.
fn cookieless() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

async fn post_as(
    http: &reqwest::Client,
    url: &str,
    body: Value,
    forwarded_for: Option<&str>,
) -> u16 {
    let mut req = http.post(url).json(&body);
    if let Some(ip) = forwarded_for {
        req = req.header("X-Forwarded-For", ip);
    }
    req.send().await.unwrap().status().as_u16()
}

on_both_databases! {
    async fn the_owner_changes_a_room_and_everyone_sees_it(app) {
        let (alice, bob, carol) = (app.user(), app.user(), app.user());
        let room = alice.create_room(json!({"title": "first", "max_members": 5})).await;
        assert_eq!(room["keep"], false);
        let id = room["id"].as_str().unwrap().to_owned();
        let mut a = alice.ws().await;
        a.join(&id).await;
        let mut b = bob.ws().await;
        b.join(&id).await;
        let mut lobby = carol.ws().await;
        lobby.subscribe_lobby().await;
        let path = format!("/api/rooms/{id}");

        let res = bob.patch(&path, json!({"title": "mine now"})).await;
        assert_eq!((res.status, res.code()), (403, "forbidden"));

        let res = alice.patch(&path, json!({"title": "  second  ", "max_members": 3, "keep": true})).await;
        assert_eq!(res.status, 200, "{}", res.body);
        let room = &res.body["room"];
        assert_eq!((room["title"].as_str(), room["max_members"].as_i64(), room["keep"].as_bool()), (Some("second"), Some(3), Some(true)));
        for ws in [&mut b, &mut lobby] {
            let updated = ws.recv_type("room_updated").await;
            assert_eq!(updated["data"]["room"]["title"], "second");
            assert_eq!(updated["data"]["room"]["keep"], true);
        }

        let res = alice.patch(&path, json!({"max_members": 1})).await;
        assert_eq!((res.status, res.code()), (422, "validation_failed"));
        let res = alice.patch(&path, json!({"max_members": 2, "title": "third"})).await;
        assert_eq!(res.status, 200, "two people fit in two seats: {}", res.body);
        let res = app.user().post(&format!("{path}/join"), json!({})).await;
        assert_eq!((res.status, res.code()), (409, "room_full"));
        let res = alice.patch(&path, json!({"max_members": 1, "title": "never"})).await;
        assert_eq!(res.status, 422, "{}", res.body);
        let res = alice.patch(&path, json!({"title": "\u{202E}evil"})).await;
        assert_eq!((res.status, res.code()), (422, "validation_failed"));
        assert_eq!(alice.get(&path).await.body["room"]["title"], "third", "refused changes change nothing");
    }

    async fn a_room_can_be_shrunk_only_to_the_people_in_it(app) {
        let (alice, bob, carol) = (app.user(), app.user(), app.user());
        let id = alice.public_room().await;
        let mut sockets = Vec::new();
        for who in [&alice, &bob, &carol] {
            let mut ws = who.ws().await;
            ws.join(&id).await;
            sockets.push(ws);
        }
        let path = format!("/api/rooms/{id}");
        let res = alice.patch(&path, json!({"max_members": 2})).await;
        assert_eq!((res.status, res.code()), (409, "room_full"));
        assert_eq!(alice.get(&path).await.body["room"]["max_members"], 10);
        let res = alice.patch(&path, json!({"max_members": 3})).await;
        assert_eq!(res.status, 200, "{}", res.body);
    }

    async fn locking_a_room_keeps_the_people_in_it_and_unlocking_opens_it(app) {
        let (alice, bob, eve) = (app.user(), app.user(), app.user());
        let id = alice.public_room().await;
        let path = format!("/api/rooms/{id}");
        alice.say(&id, "before the lock").await;
        let mut b = bob.ws().await;
        b.join(&id).await;
        let res = alice.patch(&path, json!({"password": "sesame"})).await;
        assert_eq!(res.status, 200, "{}", res.body);
        assert_eq!(res.body["room"]["secret"], true);
        assert!(!res.body.to_string().contains("sesame"));
        assert_eq!(bob.history(&id, "").await.status, 200, "bob was in the room: he keeps access");
        assert_eq!(eve.history(&id, "").await.status, 403, "eve was not");
        assert_eq!(eve.post(&format!("{path}/join"), json!({"password": "wrong"})).await.code(), "wrong_password");
        assert_eq!(eve.post(&format!("{path}/join"), json!({"password": "sesame"})).await.status, 200);
        let res = alice.patch(&path, json!({"password": ""})).await;
        assert_eq!(res.body["room"]["secret"], false);
        assert_eq!(app.user().history(&id, "").await.status, 200);
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM rooms WHERE password_hash IS NULL").await, 1);
    }

    async fn a_kept_room_outlives_being_empty(app) where |s: &mut gifchat::config::Settings| { s.leave_grace_secs = 0; s.room_empty_grace_secs = 1; }; {
        let alice = app.user();
        let kept = alice.create_room(json!({"title": "kept", "keep": true})).await;
        let kept = kept["id"].as_str().unwrap().to_owned();
        let plain = alice.public_room().await;
        let mut lobby = app.user().ws().await;
        lobby.subscribe_lobby().await;
        let mut a = alice.ws().await;
        a.join(&kept).await;
        a.join(&plain).await;
        drop(a);
        let deleted = lobby.recv_type("room_deleted").await;
        assert_eq!(deleted["data"]["room_id"], plain.as_str(), "the room that is not kept goes");
        lobby.expect_none("room_deleted", Duration::from_secs(2)).await;
        assert_eq!(alice.get(&format!("/api/rooms/{kept}")).await.status, 200);
    }

    async fn visiting_an_idle_room_and_leaving_does_not_delete_it(app) where |s: &mut gifchat::config::Settings| { s.leave_grace_secs = 0; s.room_empty_grace_secs = 1; }; {
        // The README's curl session: a room used over HTTP only.
        let (alice, mallory) = (app.user(), app.user());
        let id = alice.public_room().await;
        assert_eq!(alice.say(&id, "posted with curl").await.status, 201);
        let mut lobby = app.user().ws().await;
        lobby.subscribe_lobby().await;
        let mut m = mallory.ws().await;
        for _ in 0..2 {
            m.join(&id).await;
            m.send(json!({"type": "leave", "data": {"room_id": id}})).await;
        }
        drop(m);
        lobby.expect_none("room_deleted", Duration::from_secs(3)).await;
        let res = alice.history(&id, "").await;
        assert_eq!(res.status, 200);
        let texts: Vec<&str> = res.body["chats"].as_array().unwrap().iter().filter_map(|c| c["text"].as_str()).collect();
        assert_eq!(texts, ["posted with curl"], "the history is all there");
        // Its owner coming and going is the room in use ending: it goes.
        let mut a = alice.ws().await;
        a.join(&id).await;
        drop(a);
        assert_eq!(lobby.recv_type("room_deleted").await["data"]["room_id"], id.as_str());
    }

    async fn posting_without_a_cookie_is_limited_per_address_and_refusals_write_nothing(app) where |s: &mut gifchat::config::Settings| {
        s.rate_limits = true;
        s.rate_chats_per_min = 1000;
        s.rate_chats_per_ip_per_min = 5;
        s.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    }; {
        let alice = app.user();
        let id = alice.public_room().await;
        let url = app.url(&format!("/api/rooms/{id}/chats"));
        let users_before = app.count("SELECT COUNT(*) AS n FROM users").await;
        let http = cookieless();
        let mut statuses = Vec::new();
        for i in 0..8 {
            statuses.push(post_as(&http, &url, json!({"text": format!("hi {i}")}), Some("198.51.100.7")).await);
        }
        assert_eq!(statuses, [201, 201, 201, 201, 201, 429, 429, 429]);
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM users").await, users_before + 5, "no user row for a refused post");
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM chats WHERE kind = 'text'").await, 5);
        // Another address behind the same trusted proxy has its own budget,
        // as does an IPv6 client in another /64; the same /64 does not.
        assert_eq!(post_as(&http, &url, json!({"text": "me too"}), Some("198.51.100.8")).await, 201);
        for _ in 0..5 {
            assert_eq!(post_as(&http, &url, json!({"text": "v6"}), Some("2001:db8:1:2::1")).await, 201);
        }
        assert_eq!(post_as(&http, &url, json!({"text": "v6"}), Some("2001:db8:1:2:ffff::9")).await, 429);
        assert_eq!(post_as(&http, &url, json!({"text": "v6"}), Some("2001:db8:1:3::1")).await, 201);
        // A GIF upload counts against the same budget.
        let res = Client::new(&app.base)
            .send(
                cookieless()
                    .post(app.url(&format!("/api/rooms/{id}/gifs")))
                    .header("X-Forwarded-For", "198.51.100.7")
                    .multipart(reqwest::multipart::Form::new().part(
                        "gif",
                        reqwest::multipart::Part::bytes(crate::helpers::make_gif(8, 8, 1, 1)).file_name("a.gif").mime_str("image/gif").unwrap(),
                    )),
            )
            .await;
        assert_eq!((res.status, res.code()), (429, "rate_limited"));
        assert!(res.headers.contains_key("retry-after"));
        assert_eq!(app.stored_files().len(), 0);
    }

    async fn names_must_show_what_they_are(app) {
        let alice = app.user();
        let before = app.count("SELECT COUNT(*) AS n FROM users").await;
        for bad in ["\u{200B}", "\u{200B}\u{2060}\u{FEFF}", "\u{3164}", "ab\u{202E}cd", "a\tb", "#2b40b1", "＃２Ｂ４０ｂ１", "zz\u{301}\u{301}\u{301}\u{301}\u{301}"] {
            let res = alice.patch("/api/me", json!({"nickname": bad})).await;
            assert_eq!((res.status, res.code()), (422, "validation_failed"), "nickname {bad:?}: {}", res.body);
            assert!(res.body["error"]["fields"]["nickname"].is_string());
        }
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM users").await, before, "no user row for a refused rename");
        for bad in ["\u{200B}\u{200B}", "\u{2066}title", "tab\there"] {
            let res = alice.post("/api/rooms", json!({"title": bad})).await;
            assert_eq!((res.status, res.code()), (422, "validation_failed"), "title {bad:?}");
        }
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM rooms").await, 0);
        for good in ["Zoë", "김민지", "שלום", "👩\u{200D}💻 dev", "#general"] {
            let res = alice.patch("/api/me", json!({"nickname": good})).await;
            assert_eq!(res.status, 200, "nickname {good:?}: {}", res.body);
        }
        let id = alice.public_room().await;
        let res = alice.say(&id, "\u{200B}\u{200B}").await;
        assert_eq!(res.code(), "validation_failed", "a chat of nothing visible");
    }

    async fn kicking_someone_who_does_not_exist_is_refused_and_writes_nothing(app) {
        let alice = app.user();
        let id = alice.public_room().await;
        let users = app.count("SELECT COUNT(*) AS n FROM users").await;
        let res = alice.post(&format!("/api/rooms/{id}/kick"), json!({"user_id": "0123456789abcdef0123456789abcdef"})).await;
        assert_eq!((res.status, res.code()), (422, "validation_failed"), "{}", res.body);
        assert!(res.body["error"]["fields"]["user_id"].is_string());
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM users").await, users);
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM room_bans").await, 0);
        // Someone who exists and was never in the room can still be banned.
        let bob = app.user();
        bob.rename("bob").await;
        let res = alice.post(&format!("/api/rooms/{id}/kick"), json!({"user_id": bob.id().await})).await;
        assert_eq!(res.status, 204, "{}", res.body);
        assert_eq!(bob.history(&id, "").await.code(), "banned");
    }

    async fn the_api_reference_has_a_content_security_policy(app) {
        let res = app.user().get("/api/docs/").await;
        assert_eq!(res.status, 200);
        let csp = res.headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(!csp.contains("unsafe-eval"));
    }
}

#[tokio::test]
async fn the_sqlite_database_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let app = crate::helpers::TestApp::spawn(crate::helpers::Backend::Sqlite)
        .await
        .unwrap();
    app.user().public_room().await;
    for suffix in ["", "-wal", "-shm"] {
        let path = app.data_dir.path().join(format!("test.db{suffix}"));
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", path.display());
    }
    let key = app.data_dir.path().join("session.key");
    assert_eq!(
        std::fs::metadata(key).unwrap().permissions().mode() & 0o777,
        0o600
    );
}
