//! A nickname change reaches everyone who sees the user, and every later
//! frame and page shows the new name.

use std::time::Duration;

use serde_json::{json, Value};

use crate::on_both_databases;

fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap().to_owned())
        .collect()
}

on_both_databases! {
    async fn a_nickname_change_reaches_the_lobby_and_the_users_rooms(app) {
        let (alice, bob, carol, dave) = (app.user(), app.user(), app.user(), app.user());
        alice.rename("alice").await;
        let room = bob.public_room().await;
        let other = dave.public_room().await;
        let mut a = alice.ws().await;
        a.join(&room).await;
        let mut idle_tab = alice.ws().await;
        let mut b = bob.ws().await;
        b.join(&room).await;
        let mut lobby = carol.ws().await;
        lobby.subscribe_lobby().await;
        let mut elsewhere = dave.ws().await;
        elsewhere.join(&other).await;

        alice.rename("Alice 2").await;
        let id = alice.id().await;
        for ws in [&mut b, &mut lobby, &mut a, &mut idle_tab] {
            let updated = ws.recv_type("user_updated").await;
            assert_eq!(updated["data"]["user"], json!({"id": id, "name": "Alice 2", "color": alice.me().await["color"]}));
            ws.expect_none("user_updated", Duration::from_millis(200)).await;
        }
        elsewhere.expect_none("user_updated", Duration::from_millis(200)).await;
    }

    async fn after_a_nickname_change_every_frame_and_page_shows_it(app) {
        let (alice, bob, erin) = (app.user(), app.user(), app.user());
        alice.rename("before").await;
        let room = bob.public_room().await;
        let mut a = alice.ws().await;
        a.join(&room).await;
        let mut b = bob.ws().await;
        b.join(&room).await;
        assert_eq!(alice.say(&room, "said before").await.status, 201);
        // Read twice, so the latest page is served from memory too.
        for _ in 0..2 {
            let page = bob.history(&room, "").await;
            assert!(page.body.to_string().contains("\"before\""));
        }

        alice.rename("after").await;
        b.recv_type("user_updated").await;
        let members = bob.get(&format!("/api/rooms/{room}/members")).await;
        let bob_name = bob.me().await["name"].as_str().unwrap().to_owned();
        assert_eq!(names(&members.body["members"]), ["after".to_owned(), bob_name]);
        for query in ["", "?after_seq=0", "?limit=1"] {
            let page = bob.history(&room, query).await;
            let text = page.body.to_string();
            assert!(text.contains("\"after\"") && !text.contains("\"before\""), "{query}: {text}");
        }

        let mut e = erin.ws().await;
        let joined = e.join_since(&room, Some(0)).await;
        assert!(names(&joined["data"]["members"]).contains(&"after".to_owned()), "{joined}");
        let mut replayed = Vec::new();
        loop {
            let frame = e.recv().await;
            if frame["ref"] == "j" {
                break;
            }
            replayed.push(frame);
        }
        let replayed = Value::from(replayed).to_string();
        assert!(replayed.contains("said before") && !replayed.contains("\"before\""), "{replayed}");

        a.send(json!({"type": "typing", "data": {"room_id": room}})).await;
        let typing = b.recv_type("typing").await;
        assert_eq!(typing["data"]["user"]["name"], "after");
        let said = alice.say(&room, "said after").await;
        assert_eq!(said.body["chat"]["user"]["name"], "after");
    }

    async fn setting_the_same_nickname_again_sends_nothing(app) {
        let (alice, bob) = (app.user(), app.user());
        alice.rename("same").await;
        let room = bob.public_room().await;
        let mut a = alice.ws().await;
        a.join(&room).await;
        let mut b = bob.ws().await;
        b.join(&room).await;
        alice.rename("same").await;
        b.expect_none("user_updated", Duration::from_millis(300)).await;
    }

    async fn hello_states_the_limits_a_client_checks_before_sending(app) where |s: &mut gifchat::config::Settings| s.gif_max_bytes = 1_000_000; {
        let ws = app.user().ws().await;
        assert_eq!(
            ws.hello["data"]["limits"],
            json!({"gif_max_bytes": 1_000_000, "text_max_chars": 2000, "nickname_max_chars": 32, "alt_max_chars": 300, "chat_edit_secs": 900})
        );
    }
}
