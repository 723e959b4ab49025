//! A post with a `client_id` is made once, however often it is sent.

use serde_json::{json, Value};

use crate::helpers::{make_gif, Res};
use crate::on_both_databases;

/// The parts of a chat that say which one it is.
fn identity(res: &Res) -> (Value, Value) {
    (
        res.body["chat"]["id"].clone(),
        res.body["chat"]["seq"].clone(),
    )
}

on_both_databases! {
    async fn a_repeated_client_id_answers_200_with_the_first_chat(app) {
        let alice = app.user();
        let room = alice.public_room().await;
        let first = alice.say_once(&room, "hello", "msg-1").await;
        assert_eq!(first.status, 201, "{}", first.body);
        assert_eq!(first.body["chat"]["client_id"], "msg-1");

        let again = alice.say_once(&room, "hello, edited meanwhile", "msg-1").await;
        assert_eq!(again.status, 200, "{}", again.body);
        assert_eq!(identity(&again), identity(&first));
        assert_eq!(again.body["chat"]["text"], "hello", "the first post's chat, not the new body");
        assert_eq!(again.body["chat"], first.body["chat"]);

        let next = alice.say(&room, "no client id").await;
        assert_eq!((next.status, next.body["chat"]["seq"].as_i64()), (201, Some(2)), "no seq was spent");
        assert_eq!(next.body["chat"]["client_id"], Value::Null);
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM chats").await, 2);
    }

    async fn racing_identical_posts_make_one_chat(app) {
        let alice = app.user();
        let room = alice.public_room().await;
        alice.say(&room, "before").await;
        let mut racing = Vec::new();
        for _ in 0..20 {
            let (alice, room) = (alice.clone(), room.clone());
            racing.push(tokio::spawn(async move { alice.say_once(&room, "once", "race-1").await }));
        }
        let mut statuses = Vec::new();
        let mut chats = Vec::new();
        for task in racing {
            let res = task.await.unwrap();
            statuses.push(res.status);
            chats.push(identity(&res));
        }
        statuses.sort_unstable();
        assert_eq!(statuses, [[200; 19].as_slice(), &[201]].concat());
        assert!(chats.iter().all(|c| *c == chats[0]), "{chats:?}");
        assert_eq!(chats[0].1, 2);
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM chats WHERE client_id = 'race-1'").await, 1);
        assert_eq!(alice.say(&room, "after").await.body["chat"]["seq"], 3, "no gap");
    }

    async fn a_client_id_belongs_to_one_user_in_one_room(app) {
        let (alice, bob) = (app.user(), app.user());
        let (here, there) = (alice.public_room().await, alice.public_room().await);
        let mine = alice.say_once(&here, "mine", "same").await;
        let his = bob.say_once(&here, "his", "same").await;
        let elsewhere = alice.say_once(&there, "elsewhere", "same").await;
        for res in [&mine, &his, &elsewhere] {
            assert_eq!(res.status, 201, "{}", res.body);
        }
        assert_ne!(identity(&mine), identity(&his));
        assert_eq!(his.body["chat"]["text"], "his");
        assert_eq!(elsewhere.body["chat"]["seq"], 1);
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM chats").await, 3);
    }

    async fn a_bad_client_id_is_refused_and_writes_nothing(app) {
        let alice = app.user();
        let room = alice.public_room().await;
        let long = "x".repeat(65);
        for bad in [json!(""), json!("two words"), json!(long), json!("é"), json!("a/b"), json!(7)] {
            let res = alice.post(&format!("/api/rooms/{room}/chats"), json!({"text": "hi", "client_id": bad})).await;
            assert_eq!((res.status, res.code()), (422, "validation_failed"), "{bad}: {}", res.body);
            assert!(res.body["error"]["fields"]["client_id"].is_string(), "{}", res.body);
            let res = alice.upload_once(&room, make_gif(4, 4, 1, 1), bad.as_str().unwrap_or("7 "), false).await;
            assert_eq!((res.status, res.code()), (422, "validation_failed"), "{bad}: {}", res.body);
            assert!(res.body["error"]["fields"]["client_id"].is_string(), "{}", res.body);
        }
        let fine = alice.say_once(&room, "hi", &"x".repeat(64)).await;
        assert_eq!(fine.status, 201, "{}", fine.body);
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM chats").await, 1);
        assert_eq!(app.stored_files(), Vec::<String>::new());
    }

    async fn a_gif_uploaded_again_with_its_client_id_is_one_chat_and_one_file(app) {
        let alice = app.user();
        let room = alice.public_room().await;
        let first = alice.upload_once(&room, make_gif(12, 12, 2, 1), "gif-1", false).await;
        assert_eq!(first.status, 201, "{}", first.body);
        assert_eq!(first.body["chat"]["client_id"], "gif-1");
        // Other bytes this time, and the id before the file: still a repeat.
        let again = alice.upload_once(&room, make_gif(9, 9, 1, 2), "gif-1", true).await;
        assert_eq!(again.status, 200, "{}", again.body);
        assert_eq!(again.body["chat"], first.body["chat"]);
        // One client id for all kinds of post.
        let as_text = alice.say_once(&room, "hi", "gif-1").await;
        assert_eq!((as_text.status, identity(&as_text)), (200, identity(&first)));

        assert_eq!(app.stored_gifs().len(), 1, "{:?}", app.stored_gifs());
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM gifs").await, 1);
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM chats").await, 1);
    }

    async fn racing_uploads_of_one_client_id_keep_one_file(app) {
        let alice = app.user();
        let room = alice.public_room().await;
        let mut racing = Vec::new();
        for seed in 0..4 {
            let (alice, room) = (alice.clone(), room.clone());
            // Each a different, new file: the losers' files must not stay.
            racing.push(tokio::spawn(async move {
                alice.upload_once(&room, make_gif(16, 16, 2, 10 + seed), "gif-race", seed % 2 == 0).await
            }));
        }
        let mut statuses = Vec::new();
        let mut urls = Vec::new();
        for task in racing {
            let res = task.await.unwrap();
            statuses.push(res.status);
            urls.push(res.body["chat"]["gif"]["url"].clone());
        }
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 200, 200, 201]);
        assert!(urls.iter().all(|u| *u == urls[0]), "{urls:?}");
        assert_eq!(app.stored_gifs().len(), 1, "{:?}", app.stored_gifs());
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM gifs").await, 1);
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM chats").await, 1);
        let served = reqwest::get(app.url(urls[0].as_str().unwrap())).await.unwrap();
        assert_eq!(served.status(), 200);
    }

    async fn a_client_id_is_remembered_across_a_restart(app) {
        let alice = app.user();
        let room = alice.public_room().await;
        let first = alice.say_once(&room, "before the restart", "kept").await;
        assert_eq!(first.status, 201);

        let app = app.restart().await;
        let alice = crate::helpers::Client { base: app.base.clone(), ..alice };
        let again = alice.say_once(&room, "after the restart", "kept").await;
        assert_eq!(again.status, 200, "{}", again.body);
        assert_eq!(identity(&again), identity(&first));
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM chats").await, 1);
    }

    async fn a_repeat_by_someone_since_banned_is_refused(app) {
        let (owner, guest) = (app.user(), app.user());
        let room = owner.public_room().await;
        assert_eq!(guest.say_once(&room, "hi", "g-1").await.status, 201);
        assert_eq!(guest.upload_once(&room, make_gif(4, 4, 1, 3), "g-2", false).await.status, 201);
        let kick = owner.post(&format!("/api/rooms/{room}/kick"), json!({"user_id": guest.id().await})).await;
        assert_eq!(kick.status, 204, "{}", kick.body);
        for res in [guest.say_once(&room, "hi", "g-1").await, guest.upload_once(&room, make_gif(4, 4, 1, 3), "g-2", true).await] {
            assert_eq!((res.status, res.code()), (403, "banned"), "{}", res.body);
        }
    }

    async fn a_repeat_is_not_sent_to_the_room_again(app) {
        let (alice, bob) = (app.user(), app.user());
        let room = alice.public_room().await;
        let mut watcher = bob.ws().await;
        watcher.join(&room).await;
        alice.say_once(&room, "once", "live-1").await;
        alice.say_once(&room, "once", "live-1").await;
        alice.say(&room, "next").await;
        let mut texts = Vec::new();
        while texts.last().map(String::as_str) != Some("next") {
            let chat = watcher.recv_type("chat").await;
            if let Some(text) = chat["data"]["chat"]["text"].as_str() {
                texts.push(text.to_owned());
            }
        }
        assert_eq!(texts, ["once", "next"]);
    }
}
