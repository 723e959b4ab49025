use std::collections::BTreeSet;

use serde_json::json;

use crate::on_both_databases;

on_both_databases! {
    async fn two_users_chat_and_history_shows_both(app) {
        let (alice, bob) = (app.user(), app.user());
        alice.patch("/api/me", json!({"nickname": "alice"})).await;
        let id = alice.public_room().await;
        let res = alice.say(&id, "  hi bob  ").await;
        assert_eq!(res.status, 201, "{}", res.body);
        let chat = &res.body["chat"];
        assert_eq!(chat["seq"], 1);
        assert_eq!(chat["kind"], "text");
        assert_eq!(chat["text"], "hi bob");
        assert_eq!(chat["user"]["name"], "alice");
        assert_eq!(chat["room_id"], id.as_str());
        assert!(chat.get("to").is_none() && chat.get("gif").is_none());
        bob.say(&id, "hi <b>alice</b>").await;
        let page = bob.history(&id, "").await;
        let chats = page.body["chats"].as_array().unwrap();
        assert_eq!(chats.iter().map(|c| c["text"].as_str().unwrap()).collect::<Vec<_>>(), ["hi bob", "hi <b>alice</b>"]);
        assert_eq!(page.body["meta"]["has_more"], false);
    }

    async fn concurrent_posts_get_gapless_unique_seqs(app) {
        let id = app.user().public_room().await;
        let posters: Vec<_> = (0..10).map(|_| app.user()).collect();
        let mut tasks = Vec::new();
        for i in 0..200 {
            let (poster, id) = (posters[i % posters.len()].clone(), id.clone());
            tasks.push(tokio::spawn(async move { poster.say(&id, &format!("message {i}")).await }));
        }
        let mut seqs = Vec::new();
        for t in tasks {
            let res = t.await.unwrap();
            assert_eq!(res.status, 201, "{}", res.body);
            seqs.push(res.body["chat"]["seq"].as_i64().unwrap());
        }
        seqs.sort_unstable();
        assert_eq!(seqs, (1..=200).collect::<Vec<_>>());
        assert_eq!(app.count("SELECT COUNT(DISTINCT seq) AS n FROM chats").await, 200);
    }

    async fn a_bad_post_among_many_concurrent_ones_fails_alone(app) {
        let id = app.user().public_room().await;
        let posters: Vec<_> = (0..8).map(|_| app.user()).collect();
        let mut tasks = Vec::new();
        for i in 0..160 {
            let (poster, id) = (posters[i % posters.len()].clone(), id.clone());
            tasks.push(tokio::spawn(async move {
                // Every fourth is a whisper to a user who does not exist.
                let to = (i % 4 == 0).then_some("0123456789abcdef0123456789abcdef");
                poster.post(&format!("/api/rooms/{id}/chats"), json!({"text": format!("m{i}"), "to": to})).await
            }));
        }
        let mut seqs = Vec::new();
        for (i, t) in tasks.into_iter().enumerate() {
            let res = t.await.unwrap();
            if i % 4 == 0 {
                assert_eq!((res.status, res.code()), (422, "validation_failed"), "{}", res.body);
            } else {
                assert_eq!(res.status, 201, "{}", res.body);
                seqs.push(res.body["chat"]["seq"].as_i64().unwrap());
            }
        }
        seqs.sort_unstable();
        assert_eq!(seqs, (1..=120).collect::<Vec<_>>());
    }

    async fn history_pages_back_and_forth(app) {
        let alice = app.user();
        let id = alice.public_room().await;
        for i in 1..=120 {
            assert_eq!(alice.say(&id, &format!("m{i}")).await.status, 201);
        }
        let seqs = |res: &crate::helpers::Res| -> Vec<i64> {
            res.body["chats"].as_array().unwrap().iter().map(|c| c["seq"].as_i64().unwrap()).collect()
        };
        let latest = alice.history(&id, "").await;
        assert_eq!(seqs(&latest), (71..=120).collect::<Vec<_>>());
        assert_eq!(latest.body["meta"]["has_more"], true);
        let back = alice.history(&id, "?before_seq=71&limit=60").await;
        assert_eq!(seqs(&back), (11..=70).collect::<Vec<_>>());
        assert_eq!(back.body["meta"]["has_more"], true);
        let first = alice.history(&id, "?before_seq=11").await;
        assert_eq!(seqs(&first), (1..=10).collect::<Vec<_>>());
        assert_eq!(first.body["meta"]["has_more"], false);
        let forward = alice.history(&id, "?after_seq=100&limit=15").await;
        assert_eq!(seqs(&forward), (101..=115).collect::<Vec<_>>());
        assert_eq!(forward.body["meta"]["has_more"], true);
        let tail = alice.history(&id, "?after_seq=115").await;
        assert_eq!(seqs(&tail), (116..=120).collect::<Vec<_>>());
        assert_eq!(tail.body["meta"]["has_more"], false);
        assert_eq!(seqs(&alice.history(&id, "?limit=200").await).len(), 120);
    }

    async fn bad_paging_parameters_are_refused(app) {
        let alice = app.user();
        let id = alice.public_room().await;
        for q in ["?limit=0", "?limit=201", "?before_seq=-1", "?after_seq=-5"] {
            let res = alice.history(&id, q).await;
            assert_eq!((res.status, res.code()), (422, "validation_failed"), "{q}");
        }
        for q in ["?limit=abc", "?before_seq=1.5", "?after_seq=99999999999999999999999"] {
            let res = alice.history(&id, q).await;
            assert_eq!((res.status, res.code()), (400, "bad_request"), "{q}");
        }
    }

    async fn chat_text_is_validated(app) {
        let alice = app.user();
        let id = alice.public_room().await;
        for text in ["", "   \n ", &"x".repeat(2001)] {
            let res = alice.say(&id, text).await;
            assert_eq!((res.status, res.code()), (422, "validation_failed"));
            assert!(res.body["error"]["fields"]["text"].is_string());
        }
        assert_eq!(alice.say(&id, &"가".repeat(2000)).await.status, 201, "2000 characters, not bytes");
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM chats").await, 1);
    }

    async fn a_whisper_is_seen_only_by_its_two_parties(app) {
        let (alice, bob, carol) = (app.user(), app.user(), app.user());
        let id = alice.public_room().await;
        bob.say(&id, "bob was here").await;
        carol.say(&id, "carol too").await;
        let bob_id = bob.me().await["id"].clone();
        let res = alice.post(&format!("/api/rooms/{id}/chats"), json!({"text": "psst", "to": bob_id})).await;
        assert_eq!(res.status, 201, "{}", res.body);
        assert_eq!(res.body["chat"]["to"]["id"], bob_id);
        alice.say(&id, "public again").await;
        let texts = |res: crate::helpers::Res| -> BTreeSet<String> {
            res.body["chats"].as_array().unwrap().iter().map(|c| c["text"].as_str().unwrap().to_owned()).collect()
        };
        assert!(texts(alice.history(&id, "").await).contains("psst"));
        assert!(texts(bob.history(&id, "").await).contains("psst"));
        let carols = texts(carol.history(&id, "").await);
        assert!(!carols.contains("psst"), "{carols:?}");
        assert!(carols.contains("public again"));
    }

    async fn the_latest_page_is_the_same_whether_cached_or_read(app) {
        let (alice, bob, carol) = (app.user(), app.user(), app.user());
        let id = alice.public_room().await;
        let bob_id = bob.id().await;
        for i in 0..30 {
            alice.say(&id, &format!("a{i}")).await;
            bob.say(&id, &format!("b{i}")).await;
            if i % 7 == 0 {
                let res = alice.post(&format!("/api/rooms/{id}/chats"), json!({"text": format!("w{i}"), "to": bob_id})).await;
                assert_eq!(res.status, 201);
            }
        }
        let last = alice.say(&id, "last").await.body["chat"]["seq"].as_i64().unwrap();
        for (who, limit) in [(&alice, 50), (&bob, 7), (&carol, 200), (&carol, 1)] {
            // `before_seq` past the end always reads the database.
            let latest = who.history(&id, &format!("?limit={limit}")).await;
            let read = who.history(&id, &format!("?limit={limit}&before_seq={}", last + 1)).await;
            assert_eq!(latest.status, 200);
            assert_eq!(latest.body, read.body, "limit {limit}");
        }
        // A new nickname shows in history at once.
        alice.patch("/api/me", json!({"nickname": "alice2"})).await;
        let page = carol.history(&id, "?limit=1").await;
        assert_eq!(page.body["chats"][0]["user"]["name"], "alice2");
    }

    async fn a_whisper_needs_a_recipient_who_can_read_the_room(app) {
        let alice = app.user();
        let outsider = app.user();
        let outsider_id = outsider.me().await["id"].clone();
        outsider.patch("/api/me", json!({"nickname": "outsider"})).await;
        let id = alice.create_room(json!({"title": "s", "password": "pw"})).await["id"].as_str().unwrap().to_owned();
        let alice_id = alice.me().await["id"].clone();
        for to in [json!("0123456789abcdef0123456789abcdef"), json!("garbage"), outsider_id, alice_id] {
            let res = alice.post(&format!("/api/rooms/{id}/chats"), json!({"text": "psst", "to": to})).await;
            assert_eq!((res.status, res.code()), (422, "validation_failed"), "{to}: {}", res.body);
        }
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM chats").await, 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posting_too_fast_is_rate_limited() {
    let app = crate::helpers::TestApp::spawn_with(crate::helpers::Backend::Sqlite, |s| {
        s.rate_limits = true;
        s.rate_chats_per_min = 5;
    })
    .await
    .unwrap();
    let alice = app.user();
    let id = alice.public_room().await;
    for _ in 0..5 {
        assert_eq!(alice.say(&id, "hi").await.status, 201);
    }
    assert_eq!(alice.say(&id, "hi").await.code(), "rate_limited");
    assert_eq!(
        app.user().say(&id, "me too").await.status,
        201,
        "limits are per user"
    );
}
