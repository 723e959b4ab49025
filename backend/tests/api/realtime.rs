use std::time::Duration;

use futures_util::SinkExt;
use serde_json::json;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::on_both_databases;
use crate::ws::Ws;

on_both_databases! {
    async fn two_users_chat_over_the_socket(app) {
        let (alice, bob) = (app.user(), app.user());
        let id = alice.public_room().await;
        let (mut a, mut b) = (alice.ws().await, bob.ws().await);
        assert_eq!(a.hello["data"]["user"], alice.me().await);
        let joined = a.join(&id).await;
        assert_eq!(joined["data"]["room"]["member_count"], 1);
        b.join(&id).await;
        let seen = a.recv_type("member_joined").await;
        assert_eq!(seen["data"]["user"]["id"], bob.id().await.as_str());
        assert_eq!(seen["data"]["member_count"], 2);

        bob.say(&id, "hello alice").await;
        let chat = a.recv_type("chat").await;
        let chat = if chat["data"]["chat"]["kind"] == "system" { a.recv_type("chat").await } else { chat };
        assert_eq!(chat["data"]["chat"]["text"], "hello alice");
        alice.say(&id, "hi bob").await;
        loop {
            let c = b.recv_type("chat").await;
            if c["data"]["chat"]["text"] == "hi bob" { break; }
        }
        let members = alice.get(&format!("/api/rooms/{id}/members")).await;
        assert_eq!(members.body["members"].as_array().unwrap().len(), 2);
    }

    async fn long_messages_arrive_whole(app) {
        // Both frames are longer than one write turn, so each goes as a
        // fragmented message, cut between (three-byte) characters.
        let owner = app.user();
        let id = owner.create_room(json!({"title": "crowd", "max_members": 80})).await["id"].as_str().unwrap().to_owned();
        let mut members = Vec::new();
        for _ in 0..70 {
            let user = app.user();
            let mut ws = user.ws().await;
            ws.join(&id).await;
            members.push((user, ws));
        }
        let mut last = owner.ws().await;
        let joined = last.join(&id).await;
        let listed = joined["data"]["members"].as_array().unwrap();
        assert_eq!(listed.len(), 71);
        assert!(joined.to_string().len() > 4000, "the member list fills more than one piece");
        for (user, _) in &members {
            let id = user.id().await;
            assert!(listed.iter().any(|m| m["id"] == id.as_str()));
        }

        let text: String = "가나다라마바사아자차".chars().cycle().take(2000).collect();
        assert_eq!(owner.say(&id, &text).await.status, 201);
        let (_, ws) = &mut members[0];
        let chat = loop {
            let c = ws.recv_type("chat").await;
            if c["data"]["chat"]["kind"] != "system" { break c; }
        };
        assert_eq!(chat["data"]["chat"]["text"], text.as_str());
    }

    async fn the_same_user_in_two_tabs_counts_once(app) {
        let (alice, bob) = (app.user(), app.user());
        let id = alice.public_room().await;
        let mut watcher = alice.ws().await;
        watcher.join(&id).await;
        let (mut tab1, mut tab2) = (bob.ws().await, bob.ws().await);
        tab1.join(&id).await;
        let second = tab2.join(&id).await;
        assert_eq!(second["data"]["room"]["member_count"], 2);
        assert_eq!(watcher.recv_type("member_joined").await["data"]["member_count"], 2);
        watcher.expect_none("member_joined", Duration::from_millis(300)).await;
        assert_eq!(alice.get(&format!("/api/rooms/{id}")).await.body["room"]["member_count"], 2);
        let joined_chats = alice.history(&id, "").await.body["chats"].as_array().unwrap().iter().filter(|c| c["event"] == "joined").count();
        assert_eq!(joined_chats, 2, "one system chat per person");
    }

    async fn the_user_who_would_exceed_capacity_gets_room_full(app) {
        let owner = app.user();
        let id = owner.create_room(json!({"title": "duo", "max_members": 2})).await["id"].as_str().unwrap().to_owned();
        let mut o = owner.ws().await;
        o.join(&id).await;
        let mut b = app.user().ws().await;
        b.join(&id).await;
        let mut c = app.user().ws().await;
        assert_eq!(c.try_join(&id).await, "room_full");
        c.send(json!({"type": "ping", "ref": "p"})).await;
        assert_eq!(c.recv_type("pong").await["ref"], "p", "the connection survives");
    }

    async fn a_race_for_the_last_seat_has_one_winner(app) {
        let owner = app.user();
        let id = owner.create_room(json!({"title": "last seat", "max_members": 2})).await["id"].as_str().unwrap().to_owned();
        let mut o = owner.ws().await;
        o.join(&id).await;
        let mut sockets = Vec::new();
        for _ in 0..12 {
            sockets.push(app.user().ws().await);
        }
        let tasks: Vec<_> = sockets.into_iter().map(|mut ws| {
            let id = id.clone();
            tokio::spawn(async move { let r = ws.try_join(&id).await; (r, ws) })
        }).collect();
        let mut outcomes = Vec::new();
        let mut keep = Vec::new();
        for t in tasks {
            let (r, ws) = t.await.unwrap();
            outcomes.push(r);
            keep.push(ws);
        }
        assert_eq!(outcomes.iter().filter(|r| *r == "ok").count(), 1, "{outcomes:?}");
        assert_eq!(outcomes.iter().filter(|r| *r == "room_full").count(), 11, "{outcomes:?}");
        assert_eq!(owner.get(&format!("/api/rooms/{id}")).await.body["room"]["member_count"], 2);
    }

    async fn a_secret_room_without_access_is_forbidden(app) {
        let owner = app.user();
        let id = owner.create_room(json!({"title": "s", "password": "pw"})).await["id"].as_str().unwrap().to_owned();
        let bob = app.user();
        let mut b = bob.ws().await;
        assert_eq!(b.try_join(&id).await, "forbidden");
        bob.post(&format!("/api/rooms/{id}/join"), json!({"password": "pw"})).await;
        assert_eq!(b.try_join(&id).await, "ok");
        assert_eq!(b.try_join("0123456789abcdef0123456789abcdef").await, "not_found");
    }

    async fn a_kick_delivers_kicked_and_bans(app) {
        let (owner, bob) = (app.user(), app.user());
        let id = owner.public_room().await;
        let mut o = owner.ws().await;
        o.join(&id).await;
        let (mut b1, mut b2) = (bob.ws().await, bob.ws().await);
        b1.join(&id).await;
        b2.join(&id).await;
        let bob_id = bob.id().await;
        let res = bob.post(&format!("/api/rooms/{id}/kick"), json!({"user_id": owner.id().await})).await;
        assert_eq!(res.code(), "forbidden", "only the owner kicks");
        let res = owner.post(&format!("/api/rooms/{id}/kick"), json!({"user_id": bob_id})).await;
        assert_eq!(res.status, 204, "{}", res.body);
        assert_eq!(b1.recv_type("kicked").await["data"]["room_id"], id.as_str());
        assert_eq!(b2.recv_type("kicked").await["data"]["room_id"], id.as_str());
        let left = o.recv_type("member_left").await;
        assert_eq!((left["data"]["user"]["id"].as_str(), left["data"]["member_count"].as_i64()), (Some(bob_id.as_str()), Some(1)));
        assert_eq!(b1.try_join(&id).await, "banned");
        assert_eq!(bob.post(&format!("/api/rooms/{id}/join"), json!({})).await.code(), "banned");
        assert_eq!(bob.say(&id, "let me back").await.code(), "banned");
        let history = owner.history(&id, "").await;
        let kicked = history.body["chats"].as_array().unwrap().iter().find(|c| c["event"] == "kicked").cloned().expect("a kicked system chat");
        assert_eq!(kicked["subject"]["id"], bob_id.as_str());
        assert!(kicked["user"].is_null());
    }

    async fn ownership_is_handed_over_explicitly(app) {
        let (owner, bob, carol) = (app.user(), app.user(), app.user());
        let id = owner.public_room().await;
        let (mut o, mut b) = (owner.ws().await, bob.ws().await);
        o.join(&id).await;
        b.join(&id).await;
        let res = owner.send(owner.http.put(format!("{}/api/rooms/{id}/owner", owner.base)).json(&json!({"user_id": carol.id().await}))).await;
        assert_eq!(res.code(), "validation_failed", "carol is not in the room");
        let res = bob.send(bob.http.put(format!("{}/api/rooms/{id}/owner", bob.base)).json(&json!({"user_id": bob.id().await}))).await;
        assert_eq!(res.code(), "forbidden");
        let res = owner.send(owner.http.put(format!("{}/api/rooms/{id}/owner", owner.base)).json(&json!({"user_id": bob.id().await}))).await;
        assert_eq!(res.status, 200, "{}", res.body);
        assert_eq!(res.body["room"]["owner"]["id"], bob.id().await.as_str());
        loop {
            let c = o.recv_type("chat").await;
            if c["data"]["chat"]["event"] == "owner_changed" {
                assert_eq!(c["data"]["chat"]["subject"]["id"], bob.id().await.as_str());
                break;
            }
        }
        assert_eq!(owner.delete(&format!("/api/rooms/{id}")).await.code(), "forbidden", "no longer the owner");
    }

    async fn ownership_passes_to_the_longest_present_member_when_the_owner_leaves(app) {
        let (owner, first, second) = (app.user(), app.user(), app.user());
        let id = owner.public_room().await;
        let mut o = owner.ws().await;
        o.join(&id).await;
        let mut f = first.ws().await;
        f.join(&id).await;
        let mut s = second.ws().await;
        s.join(&id).await;
        o.send(json!({"type": "leave", "data": {"room_id": id}, "ref": "bye"})).await;
        assert_eq!(o.recv_ref("bye").await["type"], "ack");
        let left = s.recv_type("member_left").await;
        assert_eq!(left["data"]["user"]["id"], owner.id().await.as_str());
        while s.recv_type("chat").await["data"]["chat"]["event"] != "owner_changed" {}
        let room = app.user().get(&format!("/api/rooms/{id}")).await.body["room"].clone();
        assert_eq!(room["owner"]["id"], first.id().await.as_str());
        assert_eq!(room["member_count"], 2);
        assert_eq!(owner.events(&id).await, ["joined", "joined", "joined", "left", "owner_changed"]);
    }

    async fn typing_is_not_echoed_to_its_sender(app) {
        let (alice, bob) = (app.user(), app.user());
        let id = alice.public_room().await;
        let (mut a1, mut a2, mut b) = (alice.ws().await, alice.ws().await, bob.ws().await);
        for ws in [&mut a1, &mut a2, &mut b] {
            ws.join(&id).await;
        }
        a1.send(json!({"type": "typing", "data": {"room_id": id}})).await;
        let t = b.recv_type("typing").await;
        assert_eq!(t["data"]["user"]["id"], alice.id().await.as_str());
        a1.expect_none("typing", Duration::from_millis(300)).await;
        a2.expect_none("typing", Duration::from_millis(100)).await;
        let mut outsider = app.user().ws().await;
        outsider.send(json!({"type": "typing", "data": {"room_id": id}, "ref": "t"})).await;
        assert_eq!(outsider.recv_type("error").await["data"]["code"], "forbidden");
    }

    async fn a_whisper_reaches_only_its_two_parties_on_all_their_connections(app) {
        let (alice, bob, carol) = (app.user(), app.user(), app.user());
        let id = alice.public_room().await;
        let mut sockets = Vec::new();
        for who in [&alice, &alice, &bob, &bob, &carol] {
            let mut ws = who.ws().await;
            ws.join(&id).await;
            sockets.push(ws);
        }
        let res = alice.post(&format!("/api/rooms/{id}/chats"), json!({"text": "psst", "to": bob.id().await})).await;
        assert_eq!(res.status, 201);
        alice.say(&id, "everyone").await;
        for (i, ws) in sockets.iter_mut().enumerate() {
            let mut texts = Vec::new();
            while texts.last().map(String::as_str) != Some("everyone") {
                let c = ws.recv_type("chat").await;
                if let Some(t) = c["data"]["chat"]["text"].as_str() { texts.push(t.to_owned()); }
            }
            assert_eq!(texts.contains(&"psst".to_owned()), i < 4, "socket {i}: {texts:?}");
        }
    }

    async fn a_resumed_connection_gets_exactly_the_missed_chats(app) {
        let (alice, bob) = (app.user(), app.user());
        let id = alice.public_room().await;
        let mut b = bob.ws().await;
        let joined = b.join(&id).await;
        let since = joined["data"]["last_seq"].as_i64().unwrap();
        drop(b);
        for i in 0..50 {
            alice.say(&id, &format!("missed {i}")).await;
        }
        let mut b = bob.ws().await;
        let joined = b.join_since(&id, Some(since)).await;
        assert_eq!(joined["data"]["replay_truncated"], false);
        let mut texts = Vec::new();
        let mut seqs = Vec::new();
        while texts.len() < 50 {
            let c = b.recv_type("chat").await;
            seqs.push(c["data"]["chat"]["seq"].as_i64().unwrap());
            if c["data"]["chat"]["kind"] == "text" { texts.push(c["data"]["chat"]["text"].as_str().unwrap().to_owned()); }
        }
        assert_eq!(texts, (0..50).map(|i| format!("missed {i}")).collect::<Vec<_>>());
        assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "in order, no gap: {seqs:?}");
        b.expect_none("chat", Duration::from_millis(300)).await;
    }

    async fn a_resume_while_chats_are_posted_has_no_gap_and_no_duplicate(app) {
        let (alice, bob) = (app.user(), app.user());
        let id = alice.public_room().await;
        for i in 0..50 {
            alice.say(&id, &format!("before {i}")).await;
        }
        let poster = {
            let (alice, id) = (alice.clone(), id.clone());
            tokio::spawn(async move {
                for i in 0..60 {
                    assert_eq!(alice.say(&id, &format!("during {i}")).await.status, 201);
                }
            })
        };
        let mut b = bob.ws().await;
        b.join_since(&id, Some(0)).await;
        let mut seqs = Vec::new();
        // 50 + 60 text chats, plus bob's own `joined` system chat.
        while seqs.len() < 111 {
            let c = b.recv_type("chat").await;
            seqs.push(c["data"]["chat"]["seq"].as_i64().unwrap());
        }
        poster.await.unwrap();
        assert_eq!(seqs, (1..=111).collect::<Vec<_>>());
        b.expect_none("chat", Duration::from_millis(300)).await;
    }

    async fn concurrent_posts_reach_every_member_once_and_in_order(app) {
        // Six members, connected to both of the server's workers, each
        // posting while the others do: the chat writer commits several posts
        // a batch and wakes each worker once for all its deliveries and
        // answers.
        let owner = app.user();
        let id = owner.public_room().await;
        let users: Vec<_> = (0..6).map(|_| app.user()).collect();
        let mut sockets = Vec::new();
        for u in &users {
            let mut ws = u.ws().await;
            ws.join(&id).await;
            sockets.push(ws);
        }
        let per_user = 25;
        let posters: Vec<_> = users
            .iter()
            .enumerate()
            .map(|(n, u)| {
                let (u, id) = (u.clone(), id.clone());
                tokio::spawn(async move {
                    for i in 0..per_user {
                        assert_eq!(u.say(&id, &format!("{n}:{i}")).await.status, 201);
                    }
                })
            })
            .collect();
        let total = users.len() * per_user;
        for ws in &mut sockets {
            let mut texts = Vec::new();
            let mut last_seq = 0;
            while texts.len() < total {
                let c = ws.recv_type("chat").await;
                let seq = c["data"]["chat"]["seq"].as_i64().unwrap();
                assert!(seq > last_seq, "seq {seq} after {last_seq}");
                last_seq = seq;
                if c["data"]["chat"]["kind"] == "text" {
                    texts.push(c["data"]["chat"]["text"].as_str().unwrap().to_owned());
                }
            }
            texts.sort();
            let mut expected: Vec<_> = (0..users.len())
                .flat_map(|n| (0..per_user).map(move |i| format!("{n}:{i}")))
                .collect();
            expected.sort();
            assert_eq!(texts, expected);
            ws.expect_none("chat", Duration::from_millis(200)).await;
        }
        for p in posters {
            p.await.unwrap();
        }
    }

    async fn a_bad_envelope_gets_an_error_and_the_connection_survives(app) {
        let mut ws = app.user().ws().await;
        ws.stream.send(tokio_tungstenite::tungstenite::Message::text("not json")).await.unwrap();
        assert_eq!(ws.recv().await["data"]["code"], "bad_request");
        ws.send(json!({"type": "fly", "ref": "r1"})).await;
        let e = ws.recv().await;
        assert_eq!((e["type"].as_str(), e["ref"].as_str()), (Some("error"), Some("r1")));
        ws.send(json!({"type": "join", "data": {"since_seq": "x"}, "ref": "r2"})).await;
        assert_eq!(ws.recv().await["ref"], "r2");
        ws.stream.send(tokio_tungstenite::tungstenite::Message::binary(vec![1, 2, 3])).await.unwrap();
        assert_eq!(ws.recv().await["type"], "error");
        ws.send(json!({"type": "ping", "ref": "alive"})).await;
        let pong = ws.recv().await;
        assert_eq!((pong["type"].as_str(), pong["ref"].as_str()), (Some("pong"), Some("alive")));
    }

    async fn an_oversized_frame_closes_with_1009(app) {
        let mut ws = app.user().ws().await;
        ws.send(json!({"type": "ping", "pad": "x".repeat(100_000)})).await;
        assert_eq!(ws.close_code().await, Some(CloseCode::Size));
    }

    async fn a_foreign_origin_is_refused(app) {
        let user = app.user();
        user.me().await;
        let cookie = reqwest::cookie::CookieStore::cookies(&*user.jar, &app.base.parse().unwrap()).map(|c| c.to_str().unwrap().to_owned());
        assert!(Ws::connect(&app.base, cookie.clone(), Some("https://evil.example")).await.is_err());
        let own = app.base.clone();
        assert!(Ws::connect(&app.base, cookie, Some(&own)).await.is_ok(), "the service's own origin is fine");
    }

    async fn the_lobby_hears_rooms_come_change_and_go(app) {
        let (alice, bob) = (app.user(), app.user());
        let mut lobby = bob.ws().await;
        lobby.subscribe_lobby().await;
        let id = alice.public_room().await;
        assert_eq!(lobby.recv_type("room_created").await["data"]["room"]["id"], id.as_str());
        let mut a = alice.ws().await;
        a.join(&id).await;
        let updated = lobby.recv_type("room_updated").await;
        assert_eq!(updated["data"]["room"]["member_count"], 1);
        alice.delete(&format!("/api/rooms/{id}")).await;
        assert_eq!(a.recv_type("room_deleted").await["data"]["room_id"], id.as_str());
        assert_eq!(lobby.recv_type("room_deleted").await["data"]["room_id"], id.as_str());
    }

    async fn a_reload_within_the_grace_is_not_a_leave(app) where |s: &mut gifchat::config::Settings| s.leave_grace_secs = 2; {
        let (alice, bob) = (app.user(), app.user());
        let id = alice.public_room().await;
        let mut a = alice.ws().await;
        a.join(&id).await;
        let mut b = bob.ws().await;
        b.join(&id).await;
        drop(b);
        let mut b = bob.ws().await;
        b.join(&id).await;
        a.expect_none("member_left", Duration::from_millis(2500)).await;
        drop(b);
        let left = a.recv_type("member_left").await;
        assert_eq!(left["data"]["member_count"], 1);
    }

    async fn a_clean_restart_is_neither_a_leave_nor_a_join(app) where |s: &mut gifchat::config::Settings| { s.leave_grace_secs = 0; s.restart_grace_secs = 3; }; {
        let (owner, guest, third) = (app.user(), app.user(), app.user());
        let id = owner.public_room().await;
        let mut before = Vec::new();
        for user in [&owner, &guest, &third] {
            let mut ws = user.ws().await;
            ws.join(&id).await;
            before.push(ws);
        }
        let app = app.restart_cleanly().await;
        drop(before);
        let again = |c: &crate::helpers::Client| crate::helpers::Client { base: app.base.clone(), ..c.clone() };
        let (owner, guest, third) = (again(&owner), again(&guest), again(&third));
        // The guest and the third are back; the owner is not, yet.
        let mut g = guest.ws().await;
        let joined = g.join(&id).await;
        assert_eq!(joined["data"]["room"]["member_count"], 3, "every seat is held: {joined}");
        assert_eq!(joined["data"]["room"]["owner"]["id"], owner.id().await.as_str());
        let mut t = third.ws().await;
        t.join(&id).await;
        g.expect_none("member_joined", Duration::from_millis(300)).await;
        // The owner's seat runs out after RESTART_GRACE_SECS: gone, and the
        // longest-present member who came back owns the room.
        let left = g.recv_type("member_left").await;
        assert_eq!(left["data"]["user"]["id"], owner.id().await.as_str());
        assert_eq!(left["data"]["member_count"], 2);
        while g.recv_type("chat").await["data"]["chat"]["event"] != "owner_changed" {}
        let room = guest.get(&format!("/api/rooms/{id}")).await.body["room"].clone();
        assert_eq!(room["owner"]["id"], guest.id().await.as_str());
        assert_eq!(guest.events(&id).await, ["joined", "joined", "joined", "left", "owner_changed"]);
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM held_seats").await, 0, "taken at start");
    }

    async fn a_seat_held_in_one_room_keeps_its_name_while_its_holder_leaves_another(app) where |s: &mut gifchat::config::Settings| { s.leave_grace_secs = 0; s.restart_grace_secs = 3; }; {
        let (host, ida, kicked) = (app.user(), app.user(), app.user());
        ida.rename("Ida").await;
        let (first, second) = (host.public_room().await, host.public_room().await);
        let mut before = Vec::new();
        for (user, room) in [(&host, &first), (&ida, &first), (&ida, &second), (&kicked, &second)] {
            let mut ws = user.ws().await;
            ws.join(room).await;
            before.push(ws);
        }
        let app = app.restart_cleanly().await;
        drop(before);
        let again = |c: &crate::helpers::Client| crate::helpers::Client { base: app.base.clone(), ..c.clone() };
        let (host, ida, kicked) = (again(&host), again(&ida), again(&kicked));
        // A held seat can be taken away: a kick ends it at once.
        let kicked_id = kicked.id().await;
        assert_eq!(host.post(&format!("/api/rooms/{second}/kick"), json!({"user_id": kicked_id})).await.status, 204);
        // Ida comes back to the first room only, then leaves it at once.
        let mut i = ida.ws().await;
        i.join(&first).await;
        i.send(json!({"type": "leave", "data": {"room_id": first}, "ref": "bye"})).await;
        assert_eq!(i.recv_ref("bye").await["type"], "ack");
        // Her seat in the second room is still held, under her name.
        let mut h = host.ws().await;
        let joined = h.join(&second).await;
        let members = joined["data"]["members"].as_array().unwrap().clone();
        let names: Vec<&str> = members.iter().filter_map(|m| m["name"].as_str()).collect();
        assert!(names.contains(&"Ida"), "{joined}");
        assert!(!members.iter().any(|m| m["id"] == kicked_id.as_str()), "a kicked user holds no seat: {joined}");
        // When it runs out she is announced gone by that name.
        let left = h.recv_type("member_left").await;
        assert_eq!(left["data"]["user"]["name"], "Ida");
    }

    async fn a_leave_grace_running_at_the_stop_ends_once_after_the_start(app) where |s: &mut gifchat::config::Settings| { s.leave_grace_secs = 1; s.restart_grace_secs = 3; }; {
        let (stays, goes) = (app.user(), app.user());
        let goes_id = goes.id().await;
        let id = stays.public_room().await;
        let mut s = stays.ws().await;
        s.join(&id).await;
        let mut g = goes.ws().await;
        g.join(&id).await;
        // Gone just before the stop: their grace is still running.
        drop(g);
        tokio::time::sleep(Duration::from_millis(200)).await;
        let app = app.restart_cleanly().await;
        drop(s);
        let stays = crate::helpers::Client { base: app.base.clone(), ..stays };
        let mut s = stays.ws().await;
        s.join(&id).await;
        // Announced gone once, by the new start when the held seat runs
        // out; never by the stopped instance's grace.
        let left = s.recv_type("member_left").await;
        assert_eq!(left["data"]["user"]["id"], goes_id.as_str());
        s.expect_none("member_left", Duration::from_millis(1500)).await;
        assert_eq!(stays.events(&id).await, ["joined", "joined", "left"]);
    }

    async fn an_empty_room_is_deleted_after_its_grace(app) where |s: &mut gifchat::config::Settings| { s.leave_grace_secs = 0; s.room_empty_grace_secs = 1; }; {
        let (alice, bob) = (app.user(), app.user());
        let id = alice.public_room().await;
        let never_joined = alice.public_room().await;
        let mut lobby = bob.ws().await;
        lobby.send(json!({"type": "subscribe_lobby"})).await;
        let mut a = alice.ws().await;
        a.join(&id).await;
        drop(a);
        let deleted = lobby.recv_type("room_deleted").await;
        assert_eq!(deleted["data"]["room_id"], id.as_str());
        assert_eq!(bob.get(&format!("/api/rooms/{id}")).await.status, 404);
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM chats").await, 0);
        assert_eq!(bob.get(&format!("/api/rooms/{never_joined}")).await.status, 200, "a room that never had members stays");
    }

    async fn a_dead_peer_is_dropped_within_two_heartbeats(app) where |s: &mut gifchat::config::Settings| { s.ws_heartbeat_secs = 1; s.leave_grace_secs = 0; }; {
        let (alice, bob) = (app.user(), app.user());
        let id = alice.public_room().await;
        let mut a = alice.ws().await;
        a.join(&id).await;
        let mut silent = bob.ws().await;
        silent.join(&id).await;
        // `silent` never reads again, so it never answers a ping.
        let left = a.recv_type("member_left").await;
        assert_eq!(left["data"]["user"]["id"], bob.id().await.as_str());
        drop(silent);
    }

    async fn sse_streams_a_room_and_resumes_from_last_event_id(app) {
        let alice = app.user();
        let id = alice.public_room().await;
        for i in 1..=5 {
            alice.say(&id, &format!("m{i}")).await;
        }
        let res = alice.http.get(format!("{}/api/rooms/{id}/events", alice.base)).header("last-event-id", "2").send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "text/event-stream");
        let mut body = res.bytes_stream();
        let mut text = String::new();
        let next_ids = |text: &str| -> Vec<i64> { text.lines().filter_map(|l| l.strip_prefix("id: ")).map(|s| s.split('.').next().unwrap().parse().unwrap()).collect() };
        use futures_util::StreamExt;
        while next_ids(&text).len() < 3 {
            let chunk = tokio::time::timeout(crate::ws::WAIT, body.next()).await.unwrap().unwrap().unwrap();
            text.push_str(std::str::from_utf8(&chunk).unwrap());
        }
        assert_eq!(next_ids(&text), [3, 4, 5]);
        alice.say(&id, "m6").await;
        while next_ids(&text).len() < 4 {
            let chunk = tokio::time::timeout(crate::ws::WAIT, body.next()).await.unwrap().unwrap().unwrap();
            text.push_str(std::str::from_utf8(&chunk).unwrap());
        }
        assert_eq!(next_ids(&text), [3, 4, 5, 6]);
        assert!(text.contains("\"text\":\"m6\""));
        let bad = alice.send(alice.http.get(format!("{}/api/rooms/{id}/events", alice.base)).header("last-event-id", "abc")).await;
        assert_eq!(bad.code(), "bad_request");
    }

    async fn a_negative_cursor_is_refused_as_over_http(app) {
        let alice = app.user();
        let id = alice.public_room().await;
        let mut ws = alice.ws().await;
        for (field, reference) in [("since_seq", "s"), ("since_rev", "r")] {
            ws.send(json!({"type": "join", "ref": reference, "data": {"room_id": id, field: -5}})).await;
            let e = ws.recv_ref(reference).await;
            assert_eq!((e["type"].as_str(), e["data"]["code"].as_str()), (Some("error"), Some("validation_failed")), "{e}");
            assert!(e["data"]["message"].as_str().unwrap().contains(field), "{e}");
        }
        // Not a member: a chat posted now does not reach this socket.
        alice.say(&id, "m1").await;
        ws.expect_none("chat", Duration::from_millis(300)).await;
        let res = alice.get(&format!("/api/rooms/{id}/chats?after_seq=-5")).await;
        assert_eq!((res.status, res.code()), (422, "validation_failed"));
    }

    async fn a_cursor_past_the_rooms_latest_holds_nothing_back(app) {
        let alice = app.user();
        let id = alice.public_room().await;
        alice.say(&id, "m1").await;
        // SSE: a Last-Event-ID from nowhere this room has been.
        let res = alice.http.get(format!("{}/api/rooms/{id}/events", alice.base)).header("last-event-id", "999.999").send().await.unwrap();
        assert_eq!(res.status(), 200);
        let mut body = res.bytes_stream();
        // The socket: a since_seq from nowhere too.
        let mut ws = alice.ws().await;
        ws.send(json!({"type": "join", "ref": "j", "data": {"room_id": id, "since_seq": 999}})).await;
        ws.recv_ref("j").await;
        alice.say(&id, "m2").await;
        let chat = ws.recv_type("chat").await;
        assert_eq!(chat["data"]["chat"]["text"], "m2");
        use futures_util::StreamExt;
        let mut text = String::new();
        while !text.contains("\"text\":\"m2\"") {
            let chunk = tokio::time::timeout(crate::ws::WAIT, body.next()).await.expect("m2 arrives on the stream").unwrap().unwrap();
            text.push_str(std::str::from_utf8(&chunk).unwrap());
        }
        assert!(text.contains("id: 3."), "{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_is_closed_without_delaying_others() {
    let app =
        crate::helpers::TestApp::spawn_with(crate::helpers::Backend::Sqlite, |s| s.ws_queue = 64)
            .await
            .unwrap();
    let (alice, reader, sleeper) = (app.user(), app.user(), app.user());
    let id = alice.public_room().await;
    let mut fast = reader.ws().await;
    fast.join(&id).await;
    let mut slow = sleeper.ws().await;
    slow.join(&id).await;
    let before = app.state.realtime.connections_here();
    let text = "z".repeat(1900);
    let mut posted = 0;
    let mut received = 0;
    // Post until the hub gives up on the sleeper; the reader keeps up throughout.
    while app.state.realtime.connections_here() == before {
        assert!(posted < 20_000, "the slow client was never closed");
        let batch: Vec<_> = (0..32)
            .map(|_| {
                let (a, id, t) = (alice.clone(), id.clone(), text.clone());
                tokio::spawn(async move { a.say(&id, &t).await.status })
            })
            .collect();
        for t in batch {
            assert_eq!(t.await.unwrap(), 201);
            posted += 1;
        }
        while received < posted {
            let c = fast.recv_type("chat").await;
            if c["data"]["chat"]["kind"] == "text" {
                received += 1;
            }
        }
    }
    assert_eq!(received, posted, "the reader got every chat");
    assert_eq!(slow.close_code().await, Some(CloseCode::Library(4008)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutting_down_closes_sockets_with_going_away() {
    let app = crate::helpers::TestApp::spawn(crate::helpers::Backend::Sqlite)
        .await
        .unwrap();
    let mut ws = app.user().ws().await;
    app.state.realtime.close_all();
    assert_eq!(ws.close_code().await, Some(CloseCode::Away));
    assert_eq!(app.state.realtime.connections_here(), 0);
}
