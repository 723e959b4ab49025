//! What users of a multi-instance deployment rely on.

use std::time::Duration;

use serde_json::{json, Value};

use crate::fixture::{Cluster, Instance};
use crate::helpers::{make_gif, Client};
use crate::ws::Ws;

async fn room_json(inst: &Instance, user: &Client, room: &str) -> Value {
    let res = inst.as_user(user).get(&format!("/api/rooms/{room}")).await;
    assert_eq!(res.status, 200, "{}", res.body);
    res.body["room"].clone()
}

/// Waits until `check` holds, polling; fails with `what` after `limit`.
async fn eventually<F, Fut>(limit: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Reads chats from `ws` until one with `seq`, returning every chat seq seen.
async fn chats_until(ws: &mut Ws, seq: i64) -> Vec<(i64, String)> {
    let mut seen = Vec::new();
    loop {
        let env = ws.recv().await;
        if env["type"] == "chat" {
            let chat = &env["data"]["chat"];
            let s = chat["seq"].as_i64().unwrap();
            let text = chat["text"].as_str().unwrap_or("").to_owned();
            seen.push((s, text));
            if s >= seq {
                return seen;
            }
        }
    }
}

fn text_seqs(seen: &[(i64, String)]) -> Vec<i64> {
    seen.iter().map(|(s, _)| *s).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_cookie_works_on_every_instance() {
    let Some(cluster) = Cluster::new(&[]) else {
        return;
    };
    let (a, b, c) = tokio::join!(cluster.instance(), cluster.instance(), cluster.instance());
    let alice = a.user();
    let id = alice.id().await;
    let res = alice.patch("/api/me", json!({"nickname": "alice"})).await;
    assert_eq!(res.status, 200, "{}", res.body);
    for inst in [&b, &c] {
        let me = inst.as_user(&alice).me().await;
        assert_eq!(me["id"], id.as_str(), "same person on {}", inst.base);
        assert_eq!(me["name"], "alice");
    }
    // A room made on one instance is owned by the same person on another.
    let room = alice.public_room().await;
    let res = c
        .as_user(&alice)
        .delete(&format!("/api/rooms/{room}"))
        .await;
    assert_eq!(res.status, 204, "{}", res.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_cross_instances_both_ways() {
    let Some(cluster) = Cluster::new(&[]) else {
        return;
    };
    let (one, two) = tokio::join!(cluster.instance(), cluster.instance());
    let (alice, bob, carol) = (one.user(), two.user(), two.user());
    let (alice_id, bob_id) = (alice.id().await, bob.id().await);

    let mut lobby = carol.ws().await;
    lobby.subscribe_lobby().await;
    let room = alice.public_room().await;
    let created = lobby.recv_type("room_created").await;
    assert_eq!(
        created["data"]["room"]["id"],
        room.as_str(),
        "lobby on the other instance"
    );

    let mut a = alice.ws().await;
    a.join(&room).await;
    let mut b = bob.ws().await;
    let joined = b.join(&room).await;
    assert_eq!(joined["data"]["room"]["member_count"], 2);
    let ids: Vec<&str> = joined["data"]["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [alice_id.as_str(), bob_id.as_str()],
        "members in arrival order"
    );
    let announced = a.recv_type("member_joined").await;
    assert_eq!(announced["data"]["user"]["id"], bob_id.as_str());
    assert_eq!(announced["data"]["member_count"], 2);

    // The same count everywhere.
    for inst in [&one, &two] {
        assert_eq!(room_json(inst, &carol, &room).await["member_count"], 2);
        let members = inst
            .as_user(&carol)
            .get(&format!("/api/rooms/{room}/members"))
            .await;
        assert_eq!(members.body["members"].as_array().unwrap().len(), 2);
    }

    // Chats, one way and the other.
    let sent = alice.say(&room, "from one").await;
    assert_eq!(sent.status, 201);
    let seq = sent.body["chat"]["seq"].as_i64().unwrap();
    let seen = chats_until(&mut b, seq).await;
    assert_eq!(seen.last().unwrap().1, "from one");
    let sent = bob.say(&room, "from two").await;
    let seq = sent.body["chat"]["seq"].as_i64().unwrap();
    let seen = chats_until(&mut a, seq).await;
    assert_eq!(seen.last().unwrap().1, "from two");

    // Typing is relayed, and never to its sender.
    b.send(json!({"type": "typing", "data": {"room_id": room}}))
        .await;
    let typing = a.recv_type("typing").await;
    assert_eq!(typing["data"]["user"]["id"], bob_id.as_str());
    b.expect_none("typing", Duration::from_millis(300)).await;

    // A whisper reaches its recipient on the other instance, and nobody else.
    let carol_in_room = two.as_user(&carol);
    let mut c = carol_in_room.ws().await;
    c.join(&room).await;
    let res = alice
        .post(
            &format!("/api/rooms/{room}/chats"),
            json!({"text": "psst", "to": bob_id}),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.body);
    let whisper_seq = res.body["chat"]["seq"].as_i64().unwrap();
    let seen = chats_until(&mut b, whisper_seq).await;
    assert_eq!(seen.last().unwrap().1, "psst");
    let after = alice.say(&room, "after the whisper").await.body["chat"]["seq"]
        .as_i64()
        .unwrap();
    let seen = chats_until(&mut c, after).await;
    assert!(
        seen.iter().all(|(_, t)| t != "psst"),
        "carol never sees the whisper: {seen:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_seat_has_one_winner_across_instances() {
    let Some(cluster) = Cluster::new(&[]) else {
        return;
    };
    let (one, two, three) =
        tokio::join!(cluster.instance(), cluster.instance(), cluster.instance());
    let owner = one.user();
    let room = owner
        .create_room(json!({"title": "two seats", "max_members": 2}))
        .await;
    let room = room["id"].as_str().unwrap().to_owned();
    let mut first = owner.ws().await;
    first.join(&room).await;

    // Nine people on three instances race for the one seat left.
    let mut sockets = Vec::new();
    for inst in [&one, &two, &three] {
        for _ in 0..3 {
            sockets.push(inst.user().ws().await);
        }
    }
    let outcomes = futures_util::future::join_all(sockets.iter_mut().map(|ws| {
        let room = room.clone();
        async move { ws.try_join(&room).await }
    }))
    .await;
    let winners = outcomes.iter().filter(|o| *o == "ok").count();
    let full = outcomes.iter().filter(|o| *o == "room_full").count();
    assert_eq!((winners, full), (1, 8), "{outcomes:?}");
    for inst in [&one, &two, &three] {
        assert_eq!(room_json(inst, &owner, &room).await["member_count"], 2);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_kill_9_clients_resume_elsewhere_and_presence_heals() {
    let Some(cluster) = Cluster::new(&[]) else {
        return;
    };
    let (mut doomed, survivor) = tokio::join!(cluster.instance(), cluster.instance());
    let (poster, reader, leaver) = (survivor.user(), doomed.user(), doomed.user());
    let leaver_id = leaver.id().await;
    let room = poster.public_room().await;
    let mut p = poster.ws().await;
    p.join(&room).await;
    let mut r = reader.ws().await;
    r.join_since(&room, Some(0)).await;
    let mut l = leaver.ws().await;
    l.join(&room).await;
    assert_eq!(
        room_json(&survivor, &poster, &room).await["member_count"],
        3
    );

    // Chats keep coming while one instance dies.
    let posting = {
        let poster = poster.clone();
        let room = room.clone();
        tokio::spawn(async move {
            let mut last = 0;
            for i in 0..60 {
                let res = poster.say(&room, &format!("chat {i}")).await;
                assert_eq!(res.status, 201, "{}", res.body);
                last = res.body["chat"]["seq"].as_i64().unwrap();
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            last
        })
    };
    let mut seen: Vec<(i64, String)> = Vec::new();
    let kill_at = tokio::time::Instant::now() + Duration::from_millis(400);
    while let Some(env) = r
        .try_recv(kill_at.saturating_duration_since(tokio::time::Instant::now()))
        .await
    {
        if env["type"] == "chat" {
            let chat = &env["data"]["chat"];
            seen.push((
                chat["seq"].as_i64().unwrap(),
                chat["text"].as_str().unwrap_or("").into(),
            ));
        }
    }
    doomed.kill();
    let last_seen = seen.last().map_or(0, |(s, _)| *s);

    // The reader reconnects to the survivor and resumes by seq.
    let mut r = survivor.as_user(&reader).ws().await;
    r.join_since(&room, Some(last_seen)).await;
    let last = posting.await.unwrap();
    seen.extend(chats_until(&mut r, last).await);
    let seqs = text_seqs(&seen);
    let expected: Vec<i64> = (1..=last).collect();
    assert_eq!(seqs, expected, "every chat once, in order");

    // The one who did not come back is gone once the lease (2 s) and the
    // leave grace (1 s) have run out; the reader kept their seat.
    eventually(
        Duration::from_secs(10),
        "the dead instance's member leaves",
        || async { room_json(&survivor, &poster, &room).await["member_count"] == 2 },
    )
    .await;
    // The departure is announced (by whichever instance's sweep found it).
    let departures = || async {
        let history = survivor.as_user(&poster).history(&room, "?limit=200").await;
        history.body["chats"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["event"] == "left")
            .cloned()
            .collect::<Vec<Value>>()
    };
    eventually(
        Duration::from_secs(5),
        "the departure is announced",
        || async { !departures().await.is_empty() },
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let left = departures().await;
    assert_eq!(left.len(), 1, "one departure: {left:?}");
    assert_eq!(left[0]["subject"]["id"], leaver_id.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_stopped_and_restarted_loses_nothing() {
    let Some(mut cluster) = Cluster::new(&[]) else {
        return;
    };
    let (one, two) = tokio::join!(cluster.instance(), cluster.instance());
    let (alice, bob) = (one.user(), two.user());
    let room = alice.public_room().await;
    let mut a = alice.ws().await;
    a.join(&room).await;
    let mut b = bob.ws().await;
    b.join_since(&room, Some(0)).await;
    let before = alice.say(&room, "before").await.body["chat"]["seq"]
        .as_i64()
        .unwrap();
    chats_until(&mut b, before).await;

    cluster.redis.stop();
    for inst in [&one, &two] {
        let inst_ref = inst;
        eventually(
            Duration::from_secs(10),
            "not ready without Redis",
            || async move { inst_ref.ready_status().await == 503 },
        )
        .await;
    }
    // HTTP keeps working; the chat is committed though Bob is not told yet.
    // Seats cannot be checked, so a join is refused as unavailable.
    assert_eq!(alice.get("/api/rooms").await.status, 200);
    let other = alice.public_room().await;
    assert_eq!(a.try_join(&other).await, "unavailable");
    let during = alice.say(&room, "during").await;
    assert_eq!(during.status, 201, "{}", during.body);

    cluster.redis.resume().unwrap();
    for inst in [&one, &two] {
        let inst_ref = inst;
        eventually(Duration::from_secs(15), "ready again", || async move {
            inst_ref.ready_status().await == 200
        })
        .await;
    }
    // Presence is restored from the instances themselves.
    eventually(Duration::from_secs(10), "presence restored", || async {
        room_json(&one, &alice, &room).await["member_count"] == 2
            && room_json(&two, &alice, &room).await["member_count"] == 2
    })
    .await;
    // The next chat reaches Bob, and the one he missed comes first.
    let after = alice.say(&room, "after").await.body["chat"]["seq"]
        .as_i64()
        .unwrap();
    let seen = chats_until(&mut b, after).await;
    let texts: Vec<&str> = seen.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(texts, ["during", "after"], "{seen:?}");
    assert_eq!(text_seqs(&seen), [before + 1, before + 2]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_emptied_across_instances_is_deleted_once() {
    let Some(cluster) = Cluster::new(&[("ROOM_EMPTY_GRACE_SECS", "1")]) else {
        return;
    };
    let (one, two, three) =
        tokio::join!(cluster.instance(), cluster.instance(), cluster.instance());
    let owner = one.user();
    let room = owner.public_room().await;
    let mut watchers = Vec::new();
    for inst in [&one, &two, &three] {
        let mut lobby = inst.user().ws().await;
        lobby.subscribe_lobby().await;
        watchers.push(lobby);
    }
    let mut members = Vec::new();
    for (inst, user) in [
        (&one, owner.clone()),
        (&two, two.user()),
        (&three, three.user()),
    ] {
        let mut ws = inst.as_user(&user).ws().await;
        ws.join(&room).await;
        members.push(ws);
    }
    assert_eq!(room_json(&two, &owner, &room).await["member_count"], 3);
    drop(members);

    // Leave grace 1 s, then empty grace 1 s, then exactly one deletion.
    for lobby in &mut watchers {
        let deleted = lobby.recv_type("room_deleted").await;
        assert_eq!(deleted["data"]["room_id"], room.as_str());
        lobby
            .expect_none("room_deleted", Duration::from_secs(2))
            .await;
    }
    for inst in [&one, &two, &three] {
        let res = inst
            .as_user(&owner)
            .get(&format!("/api/rooms/{room}"))
            .await;
        assert_eq!(res.status, 404);
    }
    let deletions = [&one, &two, &three]
        .iter()
        .map(|i| i.logs().matches(&format!("deleted room {room}")).count())
        .sum::<usize>();
    assert_eq!(deletions, 1, "exactly one instance deleted it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gifs_and_kicks_work_across_instances() {
    let Some(cluster) = Cluster::new(&[]) else {
        return;
    };
    let (one, two) = tokio::join!(cluster.instance(), cluster.instance());
    let (owner, guest) = (one.user(), two.user());
    let guest_id = guest.id().await;
    let room = owner.public_room().await;

    // Uploaded through one instance, served by the other.
    let gif = make_gif(8, 8, 2, 42);
    let res = owner.upload(&room, gif.clone(), "a.gif", "image/gif").await;
    assert_eq!(res.status, 201, "{}", res.body);
    let url = res.body["chat"]["gif"]["url"].as_str().unwrap().to_owned();
    let served = reqwest::get(two.url(&url)).await.unwrap();
    assert_eq!(served.status(), 200);
    assert_eq!(served.bytes().await.unwrap().to_vec(), gif);

    // A kick on one instance reaches the guest's socket on the other.
    let mut g = guest.ws().await;
    g.join(&room).await;
    let res = owner
        .post(
            &format!("/api/rooms/{room}/kick"),
            json!({"user_id": guest_id}),
        )
        .await;
    assert_eq!(res.status, 204, "{}", res.body);
    let kicked = g.recv_type("kicked").await;
    assert_eq!(kicked["data"]["room_id"], room.as_str());
    let mut again = one.as_user(&guest).ws().await;
    assert_eq!(again.try_join(&room).await, "banned");
    assert_eq!(room_json(&two, &owner, &room).await["member_count"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leave_grace_and_owner_hand_over_span_instances() {
    let Some(cluster) = Cluster::new(&[]) else {
        return;
    };
    let (one, two) = tokio::join!(cluster.instance(), cluster.instance());
    let (owner, heir, late) = (one.user(), two.user(), one.user());
    let heir_id = heir.id().await;
    let room = owner.public_room().await;
    let mut o = owner.ws().await;
    o.join(&room).await;
    let mut h = heir.ws().await;
    h.join(&room).await;
    let mut l = late.ws().await;
    l.join(&room).await;

    // The heir has a second tab on the other instance; closing one is not a leave.
    let mut h2 = one.as_user(&heir).ws().await;
    h2.join(&room).await;
    drop(h);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(room_json(&one, &owner, &room).await["member_count"], 3);

    // The owner goes; after the grace the longest-present member owns the room.
    drop(o);
    eventually(Duration::from_secs(10), "ownership handed over", || async {
        let (a, b) = (
            room_json(&one, &late, &room).await,
            room_json(&two, &late, &room).await,
        );
        a["owner"]["id"] == heir_id.as_str() && b["owner"]["id"] == heir_id.as_str()
    })
    .await;
    assert_eq!(room_json(&two, &late, &room).await["member_count"], 2);
    let events = || async {
        let history = two.as_user(&late).history(&room, "").await;
        history.body["chats"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| c["event"].as_str().map(str::to_owned))
            .collect::<Vec<String>>()
    };
    let expected = ["joined", "joined", "joined", "left", "owner_changed"];
    eventually(
        Duration::from_secs(5),
        "the hand-over is announced",
        || async { events().await.len() >= expected.len() },
    )
    .await;
    assert_eq!(events().await, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_client_id_posted_to_two_instances_at_once_is_one_chat() {
    let Some(cluster) = Cluster::new(&[]) else {
        return;
    };
    let (one, two) = tokio::join!(cluster.instance(), cluster.instance());
    let alice = one.user();
    let room = alice.public_room().await;
    let (bob, carol) = (one.user(), two.user());

    // The same post, sent to both instances at once, among others' posts
    // that share its batches.
    let mut repeats = Vec::new();
    let mut others = Vec::new();
    for i in 0..10 {
        for poster in [alice.clone(), two.as_user(&alice)] {
            let room = room.clone();
            repeats.push(tokio::spawn(async move {
                poster.say_once(&room, "once", "everywhere-1").await
            }));
        }
        for poster in [bob.clone(), carol.clone()] {
            let room = room.clone();
            others.push(tokio::spawn(async move {
                poster.say(&room, &format!("other {i}")).await
            }));
        }
    }
    let mut created = 0;
    let mut chats = Vec::new();
    for task in repeats {
        let res = task.await.unwrap();
        assert!(matches!(res.status, 200 | 201), "{}", res.body);
        created += usize::from(res.status == 201);
        chats.push((
            res.body["chat"]["id"].clone(),
            res.body["chat"]["seq"].clone(),
        ));
    }
    assert_eq!(created, 1);
    assert!(chats.iter().all(|c| *c == chats[0]), "{chats:?}");
    let mut seqs = vec![chats[0].1.as_i64().unwrap()];
    for task in others {
        let res = task.await.unwrap();
        assert_eq!(res.status, 201, "a post beside the repeats: {}", res.body);
        seqs.push(res.body["chat"]["seq"].as_i64().unwrap());
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=21).collect::<Vec<_>>(), "one chat each, no gap");

    // GIF uploads too: one chat and one file, whichever instance wins.
    let mut uploads = Vec::new();
    for seed in 0..3 {
        for poster in [alice.clone(), two.as_user(&alice)] {
            let room = room.clone();
            uploads.push(tokio::spawn(async move {
                poster
                    .upload_once(&room, make_gif(8, 8, 1, 60 + seed), "gif-everywhere", false)
                    .await
            }));
        }
    }
    let mut answers = Vec::new();
    for task in uploads {
        let res = task.await.unwrap();
        answers.push((res.status, res.body["chat"]["seq"].clone()));
    }
    assert_eq!(
        answers.iter().filter(|(s, _)| *s == 201).count(),
        1,
        "{answers:?}"
    );
    assert!(
        answers
            .iter()
            .all(|(s, seq)| *s != 500 && *seq == json!(22)),
        "{answers:?}"
    );
    // The winner's GIF, with its poster and perhaps its rendition by now.
    let files: Vec<String> = std::fs::read_dir(cluster.uploads.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let gifs: Vec<&String> = files.iter().filter(|f| f.ends_with(".gif")).collect();
    assert_eq!(gifs.len(), 1, "the losers' files are gone: {files:?}");
    let winner = gifs[0].trim_end_matches(".gif");
    assert!(
        files.iter().all(|f| f.starts_with(winner)),
        "the losers' posters are gone: {files:?}"
    );
    assert!(files.contains(&format!("{winner}.png")), "{files:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rename_on_one_instance_shows_on_the_other() {
    let Some(cluster) = Cluster::new(&[]) else {
        return;
    };
    let (one, two) = tokio::join!(cluster.instance(), cluster.instance());
    let (alice, bob, carol, erin) = (one.user(), two.user(), two.user(), two.user());
    alice.rename("before").await;
    let room = alice.public_room().await;
    let mut a = alice.ws().await;
    a.join(&room).await;
    let mut b = bob.ws().await;
    b.join(&room).await;
    let mut lobby = carol.ws().await;
    lobby.subscribe_lobby().await;
    assert_eq!(alice.say(&room, "said before").await.status, 201);
    b.recv_type("chat").await;
    for _ in 0..2 {
        let page = bob.history(&room, "").await;
        assert!(
            page.body.to_string().contains("\"before\""),
            "{}",
            page.body
        );
    }

    alice.rename("after").await;
    for ws in [&mut b, &mut lobby] {
        let updated = ws.recv_type("user_updated").await;
        assert_eq!(updated["data"]["user"]["name"], "after", "{updated}");
    }
    let page = bob.history(&room, "").await.body.to_string();
    assert!(
        page.contains("\"after\"") && !page.contains("\"before\""),
        "{page}"
    );
    let members = bob.get(&format!("/api/rooms/{room}/members")).await;
    assert_eq!(members.body["members"][0]["name"], "after");
    let mut e = erin.ws().await;
    let joined = e.join(&room).await;
    assert_eq!(joined["data"]["members"][0]["name"], "after", "{joined}");
    a.send(json!({"type": "typing", "data": {"room_id": room}}))
        .await;
    assert_eq!(b.recv_type("typing").await["data"]["user"]["name"], "after");
}

/// Living messages across instances: a re-post raced on two instances is
/// one chat, changes made on one reach a socket on the other live, and a
/// reader whose instance is killed resumes on another with `since_seq` and
/// `since_rev` and gets exactly what it missed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_cross_instances_and_resume_after_kill_9() {
    let Some(cluster) = Cluster::new(&[]) else {
        return;
    };
    let (mut doomed, survivor) = tokio::join!(cluster.instance(), cluster.instance());
    let alice = survivor.user();
    let reader = doomed.user();
    let room = alice.public_room().await;
    for i in 1..=3 {
        alice.say(&room, &format!("m{i}")).await;
    }
    let up = alice
        .upload(
            &room,
            crate::helpers::make_gif(4, 4, 2, 7),
            "a.gif",
            "image/gif",
        )
        .await;
    let file = up.gif_file();
    let mut racing = Vec::new();
    for poster in [alice.clone(), doomed.as_user(&alice)] {
        for _ in 0..5 {
            let (poster, room, file) = (poster.clone(), room.clone(), file.clone());
            racing.push(tokio::spawn(async move {
                poster
                    .post(
                        &format!("/api/rooms/{room}/chats"),
                        serde_json::json!({"gif": file, "client_id": "re-1"}),
                    )
                    .await
            }));
        }
    }
    let mut created = 0;
    let mut ids = Vec::new();
    for task in racing {
        let res = task.await.unwrap();
        assert!(matches!(res.status, 200 | 201), "{}", res.body);
        created += usize::from(res.status == 201);
        ids.push(res.body["chat"]["id"].clone());
    }
    assert_eq!(created, 1);
    assert!(ids.iter().all(|id| *id == ids[0]));

    // Live across instances.
    let mut r = reader.ws().await;
    let joined = r.join(&room).await;
    let (since_seq, since_rev) = (
        joined["data"]["last_seq"].as_i64().unwrap(),
        joined["data"]["last_rev"].as_i64().unwrap(),
    );
    alice.react(&room, 1, "👍").await;
    let live = r.recv_type("chat_updated").await;
    assert_eq!(live["data"]["chat"]["seq"], 1);
    let since_rev = since_rev.max(live["data"]["chat"]["rev"].as_i64().unwrap());

    // The reader's instance dies; changes go on on the other.
    doomed.kill();
    let new = alice.say(&room, "while you were gone").await.body["chat"]["seq"]
        .as_i64()
        .unwrap();
    alice.edit(&room, 2, "m2, edited").await;
    alice.delete_chat(&room, 3).await;

    let mut r = survivor.as_user(&reader).ws().await;
    r.join_resuming(&room, Some(since_seq), Some(since_rev))
        .await;
    let mut got = Vec::new();
    while let Some(env) = r.try_recv(Duration::from_millis(800)).await {
        let chat = &env["data"]["chat"];
        if (env["type"] == "chat" || env["type"] == "chat_updated") && chat["kind"] != "system" {
            got.push((
                env["type"].as_str().unwrap().to_owned(),
                chat["seq"].as_i64().unwrap(),
            ));
        }
    }
    let got: Vec<(&str, i64)> = got.iter().map(|(t, s)| (t.as_str(), *s)).collect();
    assert_eq!(
        got,
        [("chat", new), ("chat_updated", 2), ("chat_updated", 3)]
    );
}
