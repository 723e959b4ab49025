//! Living messages: replies, edits, deletions and reactions, live, in
//! history and on resume.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{json, Value};

use crate::helpers::{make_gif, Client, Res};
use crate::on_both_databases;
use crate::ws::WAIT;

fn seq_of(res: &Res) -> i64 {
    assert!(
        res.status == 201 || res.status == 200,
        "{} {}",
        res.status,
        res.body
    );
    res.body["chat"]["seq"].as_i64().expect("a chat")
}

async fn chat_at(user: &Client, room: &str, seq: i64) -> Value {
    let page = user
        .history(room, &format!("?after_seq={}&limit=1", seq - 1))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let chat = page.body["chats"][0].clone();
    assert_eq!(chat["seq"], seq, "{}", page.body);
    chat
}

/// The `data:` envelopes and `id:`s of an SSE stream, read until `until`
/// says there are enough.
async fn read_sse(
    user: &Client,
    room: &str,
    last_event_id: &str,
    until: impl Fn(&[(Option<String>, Value)]) -> bool,
) -> Vec<(Option<String>, Value)> {
    let res = user
        .http
        .get(format!("{}/api/rooms/{room}/events", user.base))
        .header("last-event-id", last_event_id)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let mut body = res.bytes_stream();
    let mut text = String::new();
    loop {
        let events: Vec<(Option<String>, Value)> = text
            .split("\n\n")
            .filter(|block| block.contains("data: "))
            .filter(|block| text.contains(&format!("{block}\n\n")))
            .map(|block| {
                let id = block
                    .lines()
                    .find_map(|l| l.strip_prefix("id: "))
                    .map(str::to_owned);
                let data = block
                    .lines()
                    .find_map(|l| l.strip_prefix("data: "))
                    .unwrap();
                (id, serde_json::from_str(data).unwrap())
            })
            .collect();
        if until(&events) {
            return events;
        }
        let chunk = tokio::time::timeout(WAIT, body.next())
            .await
            .expect("more events")
            .unwrap()
            .unwrap();
        text.push_str(std::str::from_utf8(&chunk).unwrap());
    }
}

on_both_databases! {
    async fn a_reply_quotes_its_original_as_it_now_is(app) {
        let (alice, bob) = (app.user(), app.user());
        let room = alice.public_room().await;
        let original = seq_of(&alice.say(&room, &format!("{} and more", "x".repeat(120))).await);
        let reply = bob
            .post(&format!("/api/rooms/{room}/chats"), json!({"text": "agreed", "reply_to": original}))
            .await;
        let reply_seq = seq_of(&reply);
        let quoted = &reply.body["chat"]["reply_to"];
        assert_eq!(quoted["seq"], original);
        assert_eq!(quoted["kind"], "text");
        assert_eq!(quoted["user"]["id"], alice.id().await.as_str());
        assert_eq!(quoted["excerpt"].as_str().unwrap().chars().count(), 100, "{quoted}");

        assert_eq!(alice.edit(&room, original, "fixed").await.status, 200);
        assert_eq!(chat_at(&bob, &room, reply_seq).await["reply_to"]["excerpt"], "fixed");
        assert_eq!(alice.delete_chat(&room, original).await.status, 204);
        let after = chat_at(&bob, &room, reply_seq).await;
        assert_eq!(after["reply_to"]["seq"], original, "the reply still says what it answered");
        assert_eq!(after["reply_to"]["excerpt"], Value::Null);

        for bad in [json!(0), json!(99), json!("one")] {
            let res = bob.post(&format!("/api/rooms/{room}/chats"), json!({"text": "?", "reply_to": bad})).await;
            assert!(res.status == 422 || res.status == 400, "{bad}: {} {}", res.status, res.body);
        }
        // A whisper is answered only by a whisper between the same two.
        let carol = app.user();
        carol.say(&room, "here").await;
        let whisper = seq_of(&alice.post(&format!("/api/rooms/{room}/chats"), json!({"text": "psst", "to": bob.id().await})).await);
        let public = bob.post(&format!("/api/rooms/{room}/chats"), json!({"text": "out loud", "reply_to": whisper})).await;
        assert_eq!((public.status, public.code()), (422, "validation_failed"), "{}", public.body);
        let private = bob.post(&format!("/api/rooms/{room}/chats"), json!({"text": "back", "to": alice.id().await, "reply_to": whisper})).await;
        assert_eq!(private.status, 201, "{}", private.body);
        let snoop = carol.post(&format!("/api/rooms/{room}/chats"), json!({"text": "?", "reply_to": whisper})).await;
        assert_eq!(snoop.status, 422, "someone else's whisper is no chat to reply to");
    }

    async fn only_the_author_edits_and_only_text(app) {
        let (alice, bob) = (app.user(), app.user());
        let room = alice.public_room().await;
        let seq = seq_of(&alice.say(&room, "tpyo").await);
        let before = chat_at(&alice, &room, seq).await;
        assert_eq!(before["edited_at"], Value::Null);

        let theirs = bob.edit(&room, seq, "mine now").await;
        assert_eq!((theirs.status, theirs.code()), (403, "forbidden"));
        let bad = alice.edit(&room, seq, "   ").await;
        assert_eq!((bad.status, bad.code()), (422, "validation_failed"));
        let edited = alice.edit(&room, seq, "typo").await;
        assert_eq!(edited.status, 200, "{}", edited.body);
        let chat = &edited.body["chat"];
        assert_eq!(chat["text"], "typo");
        assert!(chat["edited_at"].is_string());
        assert!(chat["rev"].as_i64() > before["rev"].as_i64());
        let same = alice.edit(&room, seq, "typo").await;
        assert_eq!(same.body["chat"]["rev"], chat["rev"], "the same text is no change");

        let gif = seq_of(&alice.upload(&room, make_gif(4, 4, 2, 1), "a.gif", "image/gif").await);
        assert_eq!(alice.edit(&room, gif, "text").await.status, 422);
        assert_eq!(alice.edit(&room, 999, "text").await.status, 404);
        let system = app.count("SELECT COUNT(*) AS n FROM chats WHERE kind = 'system'").await;
        assert_eq!(system, 0, "no one joined over the socket");
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM chats WHERE body = 'mine now'").await, 0);
    }

    async fn an_edit_is_refused_after_the_window(app) where |s: &mut gifchat::config::Settings| s.chat_edit_secs = 1; {
        let alice = app.user();
        let room = alice.public_room().await;
        let seq = seq_of(&alice.say(&room, "soon too late").await);
        tokio::time::sleep(Duration::from_millis(1300)).await;
        let late = alice.edit(&room, seq, "changed").await;
        assert_eq!((late.status, late.code()), (403, "forbidden"), "{}", late.body);
        assert!(late.body["error"]["message"].as_str().unwrap().contains("CHAT_EDIT_SECS"));
        assert_eq!(chat_at(&alice, &room, seq).await["text"], "soon too late");
    }

    async fn the_author_or_the_owner_deletes_and_a_tombstone_stays(app) {
        let (owner, alice, bob) = (app.user(), app.user(), app.user());
        let room = owner.public_room().await;
        let first = seq_of(&alice.say(&room, "one").await);
        let second = seq_of(&alice.say(&room, "two").await);
        alice.react(&room, second, "👍").await;

        let stranger = bob.delete_chat(&room, first).await;
        assert_eq!((stranger.status, stranger.code()), (403, "forbidden"));
        assert_eq!(alice.delete_chat(&room, first).await.status, 204);
        assert_eq!(alice.delete_chat(&room, first).await.status, 204, "deleting again is no error");
        assert_eq!(owner.delete_chat(&room, second).await.status, 204, "the owner may");

        let tomb = chat_at(&bob, &room, first).await;
        assert_eq!(tomb["deleted"], true);
        assert_eq!(tomb["text"], Value::Null);
        assert_eq!(tomb["user"]["id"], alice.id().await.as_str(), "its author stays");
        assert!(tomb["created_at"].is_string());
        let second = chat_at(&bob, &room, second).await;
        assert_eq!(second["reactions"], json!([]), "a deleted chat's reactions go");
        assert_eq!(alice.edit(&room, first, "back").await.status, 404);
        assert_eq!(bob.react(&room, first, "👍").await.status, 404);

        let page = bob.history(&room, "").await;
        let seqs: Vec<i64> = page.body["chats"].as_array().unwrap().iter().map(|c| c["seq"].as_i64().unwrap()).collect();
        assert_eq!(seqs, [1, 2], "tombstones keep their places");
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM reactions").await, 0);
    }

    async fn system_chats_cannot_be_deleted(app) {
        let (owner, bob) = (app.user(), app.user());
        let room = owner.public_room().await;
        let mut ws = bob.ws().await;
        ws.join(&room).await;
        let joined = ws.recv_type("chat").await;
        assert_eq!(joined["data"]["chat"]["kind"], "system");
        let seq = joined["data"]["chat"]["seq"].as_i64().unwrap();
        for who in [&owner, &bob] {
            let res = who.delete_chat(&room, seq).await;
            assert_eq!((res.status, res.code()), (403, "forbidden"), "{}", res.body);
        }
    }

    async fn deleting_the_last_chat_that_uses_a_gif_removes_the_file(app) {
        let alice = app.user();
        let (here, there) = (alice.public_room().await, alice.public_room().await);
        let bytes = make_gif(6, 6, 2, 42);
        let first = alice.upload(&here, bytes.clone(), "a.gif", "image/gif").await;
        let file = first.gif_file();
        let url = format!("/gif/{file}");
        let again = alice.post(&format!("/api/rooms/{there}/chats"), json!({"gif": file})).await;
        assert_eq!(again.status, 201, "{}", again.body);
        assert_eq!(again.body["chat"]["gif"]["url"], url.as_str());
        let stored = app.stored_gifs();
        assert_eq!(stored, vec![file.clone()], "posting again copies nothing");

        assert_eq!(alice.delete_chat(&here, seq_of(&first)).await.status, 204);
        assert_eq!(app.stored_gifs(), vec![file.clone()], "still used in the other room");
        assert_eq!(reqwest::get(app.url(&url)).await.unwrap().status(), 200);
        assert_eq!(alice.delete_chat(&there, seq_of(&again)).await.status, 204);
        assert!(app.stored_files().is_empty(), "{:?}", app.stored_files());
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM gifs").await, 0);
        assert_eq!(reqwest::get(app.url(&url)).await.unwrap().status(), 404);
        let gone = alice.post(&format!("/api/rooms/{there}/chats"), json!({"gif": file})).await;
        assert_eq!((gone.status, gone.code()), (404, "not_found"));
    }

    async fn a_gif_from_a_secret_room_is_not_postable_by_an_outsider(app) {
        let (alice, mallory) = (app.user(), app.user());
        let secret = alice.create_room(json!({"title": "s", "password": "hunter22"})).await["id"].as_str().unwrap().to_owned();
        let open = mallory.public_room().await;
        let up = alice.upload(&secret, make_gif(5, 5, 2, 9), "s.gif", "image/gif").await;
        let file = up.gif_file();
        let rows = app.count("SELECT COUNT(*) AS n FROM chats").await;
        for gif in [json!(file), json!("../etc/passwd"), json!(format!("{}.gif", "0".repeat(64)))] {
            let res = mallory.post(&format!("/api/rooms/{open}/chats"), json!({"gif": gif, "client_id": "steal"})).await;
            assert_eq!((res.status, res.code()), (404, "not_found"), "{gif}: {}", res.body);
        }
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM chats").await, rows, "nothing written");
        let both = alice.post(&format!("/api/rooms/{secret}/chats"), json!({"gif": file, "text": "x"})).await;
        assert_eq!(both.status, 422);
        let mine = alice.post(&format!("/api/rooms/{secret}/chats"), json!({"gif": file})).await;
        assert_eq!(mine.status, 201, "{}", mine.body);
    }

    async fn an_upload_may_answer_a_chat(app) {
        let alice = app.user();
        let room = alice.public_room().await;
        let seq = seq_of(&alice.say(&room, "send me a cat").await);
        let form = |reply: &str| {
            let part = reqwest::multipart::Part::bytes(make_gif(4, 4, 2, 11)).file_name("a.gif").mime_str("image/gif").unwrap();
            reqwest::multipart::Form::new().text("reply_to", reply.to_owned()).part("gif", part)
        };
        let url = format!("{}/api/rooms/{room}/gifs", alice.base);
        let bad = alice.send(alice.http.post(&url).multipart(form("0"))).await;
        assert_eq!((bad.status, bad.code()), (422, "validation_failed"));
        let missing = alice.send(alice.http.post(&url).multipart(form("99"))).await;
        assert_eq!(missing.status, 422, "{}", missing.body);
        assert!(app.stored_files().is_empty(), "a refused upload leaves nothing: {:?}", app.stored_files());
        let ok = alice.send(alice.http.post(&url).multipart(form(&seq.to_string()))).await;
        assert_eq!(ok.status, 201, "{}", ok.body);
        assert_eq!(ok.body["chat"]["reply_to"]["excerpt"], "send me a cat");
    }

    async fn a_repost_with_a_client_id_is_made_once(app) {
        let alice = app.user();
        let room = alice.public_room().await;
        let up = alice.upload(&room, make_gif(4, 4, 2, 3), "a.gif", "image/gif").await;
        let file = up.gif_file();
        let mut racing = Vec::new();
        for _ in 0..20 {
            let (alice, room, file) = (alice.clone(), room.clone(), file.clone());
            racing.push(tokio::spawn(async move {
                alice.post(&format!("/api/rooms/{room}/chats"), json!({"gif": file, "client_id": "again-1"})).await
            }));
        }
        let mut statuses = Vec::new();
        let mut ids = Vec::new();
        for task in racing {
            let res = task.await.unwrap();
            statuses.push(res.status);
            ids.push(res.body["chat"]["id"].clone());
        }
        statuses.sort_unstable();
        assert_eq!(statuses, [[200; 19].as_slice(), &[201]].concat());
        assert!(ids.iter().all(|id| *id == ids[0]));
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM chats WHERE client_id = 'again-1'").await, 1);
        let text = alice.say_once(&room, "a text with the same id", "again-1").await;
        assert_eq!((text.status, &text.body["chat"]["id"]), (200, &ids[0]), "a client_id is one post, whatever its kind");
    }

    async fn reactions_count_once_per_person_and_emoji(app) {
        let (alice, bob) = (app.user(), app.user());
        let room = alice.public_room().await;
        let seq = seq_of(&alice.say(&room, "react to me").await);
        let first = bob.react(&room, seq, "👍").await;
        assert_eq!(first.status, 200, "{}", first.body);
        let twice = bob.react(&room, seq, "👍").await;
        assert_eq!(twice.body["chat"]["rev"], first.body["chat"]["rev"], "again is no change");
        alice.react(&room, seq, "👍").await;
        let last = alice.react(&room, seq, "🎉").await;
        let (a, b) = (alice.id().await, bob.id().await);
        assert_eq!(
            last.body["chat"]["reactions"],
            json!([{"emoji": "👍", "count": 2, "user_ids": [b, a]}, {"emoji": "🎉", "count": 1, "user_ids": [a]}])
        );
        let removed = bob.unreact(&room, seq, "👍").await;
        assert_eq!(removed.body["chat"]["reactions"][0]["user_ids"], json!([a]));
        assert_eq!(bob.unreact(&room, seq, "👍").await.status, 200, "removing again is no error");
        // Skin tones are emojis of their own.
        assert_eq!(bob.react(&room, seq, "👍🏽").await.status, 200);

        for bad in ["a", "👍👍", "%20", "❤x"] {
            let res = bob.react(&room, seq, bad).await;
            assert_eq!((res.status, res.code()), (422, "validation_failed"), "{bad}: {}", res.body);
        }
        let many = ["😀", "😃", "😄", "😁", "😆", "😅", "🤣", "😂", "🙂", "🙃", "😉", "😊", "😇", "🥰", "😍", "🤩", "😘"];
        for emoji in many {
            assert_eq!(bob.react(&room, seq, emoji).await.status, 200, "{emoji}");
        }
        let count = app.count("SELECT COUNT(DISTINCT emoji) AS n FROM reactions").await;
        assert_eq!(count, 20);
        let over = alice.react(&room, seq, "🚀").await;
        assert_eq!((over.status, over.code()), (422, "validation_failed"), "{}", over.body);
        assert_eq!(alice.react(&room, seq, "🎉").await.status, 200, "an emoji already there still counts");
        assert_eq!(app.count("SELECT COUNT(DISTINCT emoji) AS n FROM reactions").await, 20);
    }

    async fn changes_are_rate_limited_and_a_refusal_writes_nothing(app) where |s: &mut gifchat::config::Settings| { s.rate_limits = true; s.rate_changes_per_min = 3; }; {
        let alice = app.user();
        let room = alice.public_room().await;
        let seq = seq_of(&alice.say(&room, "hi").await);
        for emoji in ["😀", "😃", "😄"] {
            assert_eq!(alice.react(&room, seq, emoji).await.status, 200);
        }
        let limited = alice.react(&room, seq, "😁").await;
        assert_eq!((limited.status, limited.code()), (429, "rate_limited"));
        assert!(limited.headers.contains_key("retry-after"));
        assert_eq!(alice.edit(&room, seq, "edited").await.status, 429);
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM reactions").await, 3);
        assert_eq!(app.count("SELECT COUNT(*) AS n FROM chats WHERE body = 'edited'").await, 0);
    }

    async fn a_whispers_changes_reach_only_its_two_parties(app) {
        let (alice, bob, carol) = (app.user(), app.user(), app.user());
        let room = alice.public_room().await;
        let (mut a, mut b, mut c) = (alice.ws().await, bob.ws().await, carol.ws().await);
        let mut carols_rev = 0;
        for ws in [&mut a, &mut b, &mut c] {
            carols_rev = ws.join(&room).await["data"]["last_rev"].as_i64().unwrap();
        }
        let whisper = seq_of(&alice.post(&format!("/api/rooms/{room}/chats"), json!({"text": "psst", "to": bob.id().await})).await);
        assert_eq!(bob.react(&room, whisper, "🤫").await.status, 200);
        assert_eq!(alice.edit(&room, whisper, "psst!").await.status, 200);
        let nosy = carol.react(&room, whisper, "👀").await;
        assert_eq!((nosy.status, nosy.code()), (404, "not_found"));
        assert_eq!(carol.edit(&room, whisper, "x").await.status, 404);
        assert_eq!(alice.delete_chat(&room, whisper).await.status, 204);
        for ws in [&mut a, &mut b] {
            let updates = [ws.recv_type("chat_updated").await, ws.recv_type("chat_updated").await, ws.recv_type("chat_updated").await];
            assert_eq!(updates[1]["data"]["chat"]["text"], "psst!");
            assert_eq!(updates[2]["data"]["chat"]["deleted"], true);
            assert_eq!(updates[2]["data"]["chat"]["to"]["id"], bob.id().await.as_str(), "a tombstone stays a whisper");
        }
        c.expect_none("chat_updated", Duration::from_millis(500)).await;
        let theirs = carol.history(&room, "?after_rev=0").await;
        assert!(theirs.body["chats"].as_array().unwrap().iter().all(|c| c["seq"] != whisper), "{}", theirs.body);
        let mine = bob.history(&room, "?after_rev=0").await;
        assert!(mine.body["chats"].as_array().unwrap().iter().any(|c| c["seq"] == whisper && c["deleted"] == true));
        // On resume too.
        let mut c2 = carol.ws().await;
        c2.join_resuming(&room, Some(whisper), Some(carols_rev)).await;
        c2.expect_none("chat_updated", Duration::from_millis(500)).await;
    }

    async fn after_rev_gives_changed_and_newly_posted_chats_in_rev_order(app) {
        let alice = app.user();
        let room = alice.public_room().await;
        for i in 1..=3 {
            alice.say(&room, &format!("m{i}")).await;
        }
        let rev_of = |res: &Res| res.body["chat"]["rev"].as_i64().unwrap();
        let cut = rev_of(&alice.react(&room, 1, "👍").await);
        // After the cut: two chats posted, one older chat edited between them,
        // a change of a chat posted after the cut, and a reaction taken back.
        let four = seq_of(&alice.say(&room, "m4").await);
        alice.edit(&room, 2, "m2, edited").await;
        let five = seq_of(&alice.say(&room, "m5").await);
        alice.react(&room, four, "🔥").await;
        alice.react(&room, 3, "🎉").await;
        alice.unreact(&room, 3, "🎉").await;
        let page = alice.history(&room, &format!("?after_rev={cut}")).await;
        let got: Vec<(i64, i64)> = page.body["chats"].as_array().unwrap().iter().map(|c| (c["seq"].as_i64().unwrap(), c["rev"].as_i64().unwrap())).collect();
        assert_eq!(got.iter().map(|g| g.0).collect::<Vec<_>>(), [2, five, four, 3], "{got:?}");
        assert!(got.windows(2).all(|w| w[0].1 < w[1].1), "{got:?}");
        // Paged, the two kinds interleave without a gap or a repeat.
        let mut seen = Vec::new();
        let mut after = cut;
        loop {
            let page = alice.history(&room, &format!("?after_rev={after}&limit=1")).await;
            let chats = page.body["chats"].as_array().unwrap().clone();
            seen.extend(chats.iter().map(|c| c["seq"].as_i64().unwrap()));
            after = chats.last().map_or(after, |c| c["rev"].as_i64().unwrap());
            if page.body["meta"]["has_more"] != true {
                break;
            }
        }
        assert_eq!(seen, [2, five, four, 3]);
        // A resume whose since_rev is behind its since_seq gets every chat
        // posted after that rev as well.
        let mut ws = alice.ws().await;
        ws.join_resuming(&room, Some(five), Some(cut)).await;
        let mut updated = Vec::new();
        while let Some(env) = ws.try_recv(Duration::from_millis(500)).await {
            if env["type"] == "chat_updated" {
                updated.push(env["data"]["chat"]["seq"].as_i64().unwrap());
            }
        }
        assert_eq!(updated, [2, five, four, 3]);
    }

    async fn a_resumed_socket_gets_the_new_chats_then_one_update_per_changed_older_chat(app) {
        let (alice, bob) = (app.user(), app.user());
        let room = alice.public_room().await;
        for i in 1..=4 {
            alice.say(&room, &format!("m{i}")).await;
        }
        let mut ws = bob.ws().await;
        let joined = ws.join(&room).await;
        let (last_seq, last_rev) = (joined["data"]["last_seq"].as_i64().unwrap(), joined["data"]["last_rev"].as_i64().unwrap());
        // `joined` counts bob's own join notice.
        drop(ws);

        let new = seq_of(&alice.say(&room, "while you were away").await);
        alice.edit(&room, 1, "m1, edited").await;
        alice.react(&room, 2, "🔥").await;
        alice.react(&room, 1, "🔥").await;
        alice.delete_chat(&room, 3).await;
        alice.edit(&room, new, "new, edited").await;

        let mut ws = bob.ws().await;
        let joined = ws.join_resuming(&room, Some(last_seq), Some(last_rev)).await;
        let now_rev = joined["data"]["last_rev"].as_i64().unwrap();
        assert!(now_rev > last_rev + 5, "{joined}");
        let mut got = Vec::new();
        while let Some(env) = ws.try_recv(Duration::from_millis(700)).await {
            let notice = env["data"]["chat"]["kind"] == "system";
            if (env["type"] == "chat" || env["type"] == "chat_updated") && !notice {
                got.push((env["type"].as_str().unwrap().to_owned(), env["data"]["chat"]["seq"].as_i64().unwrap(), env["data"]["chat"].clone()));
            }
        }
        let kinds: Vec<(&str, i64)> = got.iter().map(|(t, s, _)| (t.as_str(), *s)).collect();
        // The new chat as it is now, then the older ones in the order of
        // their last change: 2 (reacted), 1 (edited, then reacted), 3.
        assert_eq!(kinds, [("chat", new), ("chat_updated", 2), ("chat_updated", 1), ("chat_updated", 3)], "{got:?}");
        assert_eq!(got[0].2["text"], "new, edited");
        assert_eq!(got[2].2["text"], "m1, edited");
        assert_eq!(got[2].2["reactions"][0]["emoji"], "🔥");
        assert_eq!(got[3].2["deleted"], true);
        let revs: Vec<i64> = got[1..].iter().map(|(_, _, c)| c["rev"].as_i64().unwrap()).collect();
        assert!(revs.windows(2).all(|w| w[0] < w[1]), "{revs:?}");

        // Live: one change, one chat_updated.
        alice.react(&room, new, "👍").await;
        let live = ws.recv_type("chat_updated").await;
        assert_eq!(live["data"]["chat"]["reactions"][0]["count"], 1);

        // The same over HTTP, paged by rev.
        let page = bob.history(&room, &format!("?after_rev={last_rev}&limit=2")).await;
        assert_eq!(page.body["meta"]["has_more"], true);
        let page_seqs: Vec<i64> = page.body["chats"].as_array().unwrap().iter().map(|c| c["seq"].as_i64().unwrap()).collect();
        assert_eq!(page_seqs, [2, 1]);
        assert_eq!(bob.history(&room, "?after_rev=1&after_seq=2").await.status, 422);
    }

    async fn sse_ids_carry_both_cursors_and_resume_both(app) {
        let alice = app.user();
        let room = alice.public_room().await;
        for i in 1..=3 {
            alice.say(&room, &format!("m{i}")).await;
        }
        let events = read_sse(&alice, &room, "0", |e| e.len() >= 3).await;
        let last_id = events[2].0.clone().unwrap();
        let (seq, rev) = last_id.split_once('.').expect("{seq}.{rev}");
        assert_eq!(seq, "3");
        let rev: i64 = rev.parse().unwrap();

        let new = seq_of(&alice.say(&room, "m4").await);
        alice.edit(&room, 2, "m2, edited").await;
        alice.react(&room, 1, "👍").await;

        let events = read_sse(&alice, &room, &last_id, |e| e.len() >= 3).await;
        let summary: Vec<(String, i64)> = events
            .iter()
            .map(|(_, env)| (env["type"].as_str().unwrap().to_owned(), env["data"]["chat"]["seq"].as_i64().unwrap()))
            .collect();
        assert_eq!(summary, [("chat".to_owned(), new), ("chat_updated".to_owned(), 2), ("chat_updated".to_owned(), 1)]);
        let ids: Vec<String> = events.iter().map(|(id, _)| id.clone().unwrap()).collect();
        assert_eq!(ids, [format!("4.{}", rev + 1), format!("4.{}", rev + 2), format!("4.{}", rev + 3)]);

        // Resuming from the last id replays nothing.
        let final_id = ids[2].clone();
        alice.say(&room, "m5").await;
        let events = read_sse(&alice, &room, &final_id, |e| !e.is_empty()).await;
        assert_eq!(events[0].1["data"]["chat"]["text"], "m5");
        assert_eq!(events[0].0.as_deref(), Some(format!("5.{}", rev + 4).as_str()));
        for bad in ["1.", "x.1", "1.-1"] {
            let res = alice.send(alice.http.get(format!("{}/api/rooms/{room}/events", alice.base)).header("last-event-id", bad)).await;
            assert_eq!(res.code(), "bad_request", "{bad}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_id_holds_across_a_restart() {
    let app = crate::helpers::TestApp::spawn(crate::helpers::Backend::Sqlite)
        .await
        .unwrap();
    let alice = app.user();
    let room = alice.public_room().await;
    let up = alice
        .upload(&room, make_gif(4, 4, 2, 5), "a.gif", "image/gif")
        .await;
    let file = up.gif_file();
    let first = alice
        .post(
            &format!("/api/rooms/{room}/chats"),
            json!({"gif": file, "client_id": "r-1"}),
        )
        .await;
    assert_eq!(first.status, 201);
    let app = app.restart().await;
    let alice = Client {
        base: app.url(""),
        ..alice
    };
    let again = alice
        .post(
            &format!("/api/rooms/{room}/chats"),
            json!({"gif": file, "client_id": "r-1"}),
        )
        .await;
    assert_eq!(
        (again.status, &again.body["chat"]["id"]),
        (200, &first.body["chat"]["id"]),
        "{}",
        again.body
    );
}
