use serde_json::json;

use crate::on_both_databases;

on_both_databases! {
    async fn creating_a_room_returns_it_with_its_location(app) {
        let alice = app.user();
        let res = alice.post("/api/rooms", json!({"title": "  GIFs only  ", "max_members": 5})).await;
        assert_eq!(res.status, 201, "{}", res.body);
        let room = &res.body["room"];
        let id = room["id"].as_str().unwrap();
        assert_eq!(res.headers["location"], format!("/api/rooms/{id}").as_str());
        assert_eq!(room["title"], "GIFs only");
        assert_eq!(room["max_members"], 5);
        assert_eq!(room["secret"], false);
        assert_eq!(room["member_count"], 0);
        assert_eq!(room["owner"], alice.me().await);
        let created = room["created_at"].as_str().unwrap();
        assert!(created.ends_with('Z') && created.len() == 24, "RFC 3339 with millis: {created}");
        assert_eq!(alice.get(&format!("/api/rooms/{id}")).await.body["room"], *room);
    }

    async fn room_fields_are_validated_together(app) {
        let alice = app.user();
        let res = alice.post("/api/rooms", json!({"title": " ", "max_members": 1, "password": "p".repeat(129)})).await;
        assert_eq!((res.status, res.code()), (422, "validation_failed"));
        let fields = &res.body["error"]["fields"];
        for f in ["title", "max_members", "password"] {
            assert!(fields[f].is_string(), "{f} in {}", res.body);
        }
        for bad in [json!({"title": "x".repeat(101)}), json!({"title": "ok", "max_members": 1001}), json!({"max_members": 3})] {
            let res = alice.post("/api/rooms", bad.clone()).await;
            assert_eq!(res.status, 422, "{bad}: {}", res.body);
        }
        assert_eq!(alice.create_room(json!({"title": "x"})).await["max_members"], 10, "default capacity");
        assert_eq!(alice.create_room(json!({"title": "y", "max_members": 4.0})).await["max_members"], 4, "2.0 is an integer in JSON");
        let res = alice.post("/api/rooms", json!({"title": "z", "max_members": 4.5})).await;
        assert_eq!(res.code(), "validation_failed");
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM rooms").await, 2, "nothing half-created");
    }

    async fn rooms_are_listed_oldest_first(app) {
        let alice = app.user();
        let a = alice.create_room(json!({"title": "first"})).await;
        let b = alice.create_room(json!({"title": "second", "password": "pw"})).await;
        let res = app.user().get("/api/rooms").await;
        assert_eq!(res.status, 200);
        let rooms = res.body["rooms"].as_array().unwrap();
        assert_eq!(rooms.len(), 2);
        assert_eq!(rooms[0]["id"], a["id"]);
        assert_eq!(rooms[1]["id"], b["id"]);
        assert_eq!(rooms[1]["secret"], true);
    }

    async fn the_password_is_stored_only_as_an_argon2id_hash(app) {
        let alice = app.user();
        let res = alice.post("/api/rooms", json!({"title": "vault", "password": "hunter2-secret"})).await;
        assert!(!res.body.to_string().contains("hunter2"), "never in a response");
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM rooms WHERE password_hash LIKE '$argon2id$%'").await, 1);
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM rooms WHERE password_hash LIKE '%hunter2%'").await, 0);
    }

    async fn unknown_and_malformed_room_ids_are_not_found(app) {
        let alice = app.user();
        for id in ["0123456789abcdef0123456789abcdef", "nope", "%E2%9C%93", "0123456789ABCDEF0123456789ABCDEF"] {
            for res in [
                alice.get(&format!("/api/rooms/{id}")).await,
                alice.delete(&format!("/api/rooms/{id}")).await,
                alice.post(&format!("/api/rooms/{id}/join"), json!({})).await,
                alice.history(id, "").await,
                alice.say(id, "hi").await,
            ] {
                assert_eq!((res.status, res.code()), (404, "not_found"), "{id}: {}", res.body);
            }
        }
    }

    async fn only_the_owner_deletes_a_room_and_its_chats_go_with_it(app) {
        let owner = app.user();
        let id = owner.public_room().await;
        owner.say(&id, "hello").await;
        let res = app.user().delete(&format!("/api/rooms/{id}")).await;
        assert_eq!((res.status, res.code()), (403, "forbidden"));
        assert_eq!(owner.delete(&format!("/api/rooms/{id}")).await.status, 204);
        assert_eq!(owner.get(&format!("/api/rooms/{id}")).await.status, 404);
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM chats").await, 0);
        assert_eq!(owner.delete(&format!("/api/rooms/{id}")).await.status, 404);
    }

    async fn a_secret_room_needs_the_right_password(app) {
        let owner = app.user();
        let id = owner.create_room(json!({"title": "secret", "password": "open sesame"})).await["id"].as_str().unwrap().to_owned();
        let bob = app.user();
        let join = format!("/api/rooms/{id}/join");
        assert_eq!(bob.history(&id, "").await.code(), "forbidden");
        assert_eq!(bob.say(&id, "let me in").await.code(), "forbidden");
        for body in [json!({}), json!({"password": "wrong"}), json!({"password": ""})] {
            let res = bob.post(&join, body).await;
            assert_eq!((res.status, res.code()), (403, "wrong_password"));
        }
        let no_body = bob.send(bob.http.post(format!("{}{join}", bob.base))).await;
        assert_eq!(no_body.code(), "wrong_password");
        let res = bob.post(&join, json!({"password": "open sesame"})).await;
        assert_eq!(res.status, 200, "{}", res.body);
        assert_eq!(res.body["room"]["id"], id.as_str());
        assert_eq!(bob.say(&id, "in!").await.status, 201);
        assert_eq!(bob.post(&join, json!({})).await.status, 200, "access is remembered");
        assert_eq!(owner.post(&join, json!({})).await.status, 200, "the creator has access");
    }

    async fn a_public_room_can_be_joined_without_a_body(app) {
        let id = app.user().public_room().await;
        let bob = app.user();
        let res = bob.send(bob.http.post(format!("{}/api/rooms/{id}/join", bob.base))).await;
        assert_eq!(res.status, 200, "{}", res.body);
    }

    async fn joining_a_full_room_is_refused(app) {
        let owner = app.user();
        let room = owner.create_room(json!({"title": "pair", "max_members": 2})).await;
        let id = room["id"].as_str().unwrap().to_owned();
        let (a, b) = (app.user(), app.user());
        let (mut a_ws, mut b_ws) = (a.ws().await, b.ws().await);
        a_ws.join(&id).await;
        b_ws.join(&id).await;
        let res = app.user().post(&format!("/api/rooms/{id}/join"), json!({})).await;
        assert_eq!((res.status, res.code()), (409, "room_full"));
        assert_eq!(a.post(&format!("/api/rooms/{id}/join"), json!({})).await.status, 200, "a member keeps their seat");
        assert_eq!(owner.get(&format!("/api/rooms/{id}")).await.body["room"]["member_count"], 2);
    }

    async fn a_banned_user_cannot_join_or_read(app) {
        let owner = app.user();
        let id = owner.public_room().await;
        let bob = app.user();
        let bob_id = bob.me().await["id"].as_str().unwrap().to_owned();
        let room_id = id.clone();
        app.state.db.run(move |conn| { gifchat::db::users::ensure(conn, &bob_id)?; Ok(gifchat::db::rooms::ban(conn, &room_id, &bob_id)?) }).await.unwrap();
        assert_eq!(bob.post(&format!("/api/rooms/{id}/join"), json!({})).await.code(), "banned");
        assert_eq!(bob.history(&id, "").await.code(), "banned");
        assert_eq!(bob.say(&id, "hi").await.code(), "banned");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creating_rooms_too_fast_is_rate_limited() {
    let app = crate::helpers::TestApp::spawn_with(crate::helpers::Backend::Sqlite, |s| {
        s.rate_limits = true;
        s.rate_rooms_per_min = 3;
    })
    .await
    .unwrap();
    let alice = app.user();
    for _ in 0..3 {
        alice.create_room(json!({"title": "x"})).await;
    }
    let res = alice.post("/api/rooms", json!({"title": "x"})).await;
    assert_eq!((res.status, res.code()), (429, "rate_limited"));
    let retry: u64 = res.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_guessing_is_rate_limited() {
    let app = crate::helpers::TestApp::spawn_with(crate::helpers::Backend::Sqlite, |s| {
        s.rate_limits = true;
        s.rate_joins_per_min = 2;
    })
    .await
    .unwrap();
    let id = app
        .user()
        .create_room(json!({"title": "x", "password": "pw"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let guesser = app.user();
    for _ in 0..2 {
        assert_eq!(
            guesser
                .post(&format!("/api/rooms/{id}/join"), json!({"password": "no"}))
                .await
                .code(),
            "wrong_password"
        );
    }
    let res = guesser
        .post(&format!("/api/rooms/{id}/join"), json!({"password": "pw"}))
        .await;
    assert_eq!(res.code(), "rate_limited");
}
