//! Chaos: posters and readers keep going through three instances while the
//! test kills and restarts instances, restarts Redis empty and cuts
//! PostgreSQL connections. Afterwards every post is in history exactly
//! once, seqs have no gap, and every reader's resumed stream is history.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use diesel::{Connection, PgConnection, RunQueryDsl};
use futures_util::{SinkExt, StreamExt};
use rand::seq::SliceRandom;
use rand::Rng;
use serde_json::{json, Value};
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

use crate::fixture::{Cluster, Instance};
use crate::helpers::{admin_url, Client};

const POSTERS: usize = 8;
const POSTS_EACH: usize = 300;
const READERS: usize = 2;

fn cookie_of(client: &Client) -> String {
    let url = client.base.parse().unwrap();
    reqwest::cookie::CookieStore::cookies(&*client.jar, &url)
        .expect("the client has a session")
        .to_str()
        .unwrap()
        .to_owned()
}

/// Posts `text` with `client_id` until some instance answers 201 or 200,
/// trying a random instance each time. Returns the chat's seq and whether
/// it was the answer to a repeat.
async fn post_until_answered(
    http: &reqwest::Client,
    bases: &[String],
    room: &str,
    text: &str,
    client_id: &str,
) -> (i64, bool) {
    for attempt in 0.. {
        assert!(attempt < 400, "{client_id} was never answered");
        let base = bases.choose(&mut rand::thread_rng()).unwrap();
        let sent = http
            .post(format!("{base}/api/rooms/{room}/chats"))
            .json(&json!({"text": text, "client_id": client_id}))
            .timeout(Duration::from_secs(5))
            .send()
            .await;
        if let Ok(res) = sent {
            let status = res.status().as_u16();
            if status == 201 || status == 200 {
                if let Ok(body) = res.json::<Value>().await {
                    let chat = &body["chat"];
                    assert_eq!(chat["client_id"], client_id);
                    assert_eq!(chat["text"], text);
                    return (chat["seq"].as_i64().unwrap(), status == 200);
                }
            } else {
                assert!(
                    status >= 500 || status == 429,
                    "{client_id}: a refusal that is not the chaos: {status}"
                );
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    unreachable!()
}

/// A reader that stays in the room whatever happens: on any break it
/// reconnects to a random instance and joins with `since_seq`. Returns the
/// seqs it was sent, in order, once it has seen `until` (set at the end).
async fn read_through_chaos(
    cookie: String,
    bases: Vec<String>,
    room: String,
    until: Arc<Mutex<Option<i64>>>,
) -> Vec<i64> {
    let mut seen: Vec<i64> = Vec::new();
    loop {
        let last = seen.last().copied().unwrap_or(0);
        if until.lock().await.is_some_and(|u| last >= u) {
            return seen;
        }
        let base = bases.choose(&mut rand::thread_rng()).unwrap().clone();
        let url = format!("{}/api/ws", base.replacen("http", "ws", 1));
        let mut req = url.into_client_request().unwrap();
        req.headers_mut()
            .insert("cookie", HeaderValue::from_str(&cookie).unwrap());
        let Ok(Ok((mut ws, _))) = tokio::time::timeout(
            Duration::from_secs(3),
            tokio_tungstenite::connect_async(req),
        )
        .await
        else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let join =
            json!({"type": "join", "data": {"room_id": room, "since_seq": last}, "ref": "j"});
        if ws.send(Message::text(join.to_string())).await.is_err() {
            continue;
        }
        let mut joined = false;
        loop {
            if joined
                && until
                    .lock()
                    .await
                    .is_some_and(|u| seen.last().copied().unwrap_or(0) >= u)
            {
                return seen;
            }
            let next = tokio::time::timeout(Duration::from_secs(2), ws.next()).await;
            let msg = match next {
                Err(_) if joined => continue,
                Err(_) => break,
                Ok(Some(Ok(Message::Text(t)))) => t,
                Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Ok(Some(Err(_))) => break,
                Ok(Some(Ok(_))) => continue,
            };
            let env: Value = serde_json::from_str(&msg).unwrap();
            match env["type"].as_str() {
                Some("joined") => joined = true,
                // Unavailable while Redis is away: try again.
                Some("error") if env["ref"] == "j" => break,
                Some("chat") => seen.push(env["data"]["chat"]["seq"].as_i64().unwrap()),
                _ => {}
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn terminate_backends(db: &str) -> usize {
    let mut admin = PgConnection::establish(&admin_url()).unwrap();
    #[derive(diesel::QueryableByName)]
    struct Killed {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        #[allow(dead_code)]
        pg_terminate_backend: bool,
    }
    diesel::sql_query(format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = '{db}' AND pid <> pg_backend_pid()"
    ))
    .load::<Killed>(&mut admin)
    .unwrap()
    .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn posts_survive_killed_instances_an_emptied_redis_and_cut_database_connections() {
    // Readers away through a restart miss hundreds of chats: replay them all.
    let Some(mut cluster) = Cluster::new(&[("REPLAY_MAX", "100000")]) else {
        return;
    };
    let db_name = cluster.pg_url.rsplit('/').next().unwrap().to_owned();
    let (a, b, c) = tokio::join!(cluster.instance(), cluster.instance(), cluster.instance());
    let mut instances: Vec<Instance> = vec![a, b, c];
    let bases: Vec<String> = instances.iter().map(|i| i.base.clone()).collect();
    let owner = instances[0].user();
    let room = owner.public_room().await;

    let until = Arc::new(Mutex::new(None));
    let mut readers = Vec::new();
    for i in 0..READERS {
        let reader = instances[i % 3].user();
        reader.me().await;
        readers.push(tokio::spawn(read_through_chaos(
            cookie_of(&reader),
            bases.clone(),
            room.clone(),
            until.clone(),
        )));
    }
    // Let the readers join before the first post.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let mut posters = Vec::new();
    for p in 0..POSTERS {
        let client = instances[p % 3].user();
        client.me().await;
        let (http, bases, room) = (client.http.clone(), bases.clone(), room.clone());
        posters.push(tokio::spawn(async move {
            let mut answered = Vec::new();
            for i in 0..POSTS_EACH {
                let client_id = format!("p{p}-{i}");
                let text = format!("post {i} of {p}");
                let (seq, repeat) =
                    post_until_answered(&http, &bases, &room, &text, &client_id).await;
                answered.push((client_id, seq, repeat));
                let pause = rand::thread_rng().gen_range(0..30);
                tokio::time::sleep(Duration::from_millis(pause)).await;
            }
            answered
        }));
    }

    // The chaos, until every post is answered.
    let done = Arc::new(AtomicBool::new(false));
    let waiting = {
        let done = done.clone();
        tokio::spawn(async move {
            let mut all = Vec::new();
            for p in posters {
                all.extend(p.await.expect("a poster finished"));
            }
            done.store(true, Ordering::SeqCst);
            all
        })
    };
    let mut events: HashMap<&str, usize> = HashMap::new();
    let mut round = 0usize;
    while !done.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(700)).await;
        match round % 3 {
            0 => {
                let victim = round / 3 % 3;
                instances[victim].kill();
                tokio::time::sleep(Duration::from_millis(800)).await;
                instances[victim].start_again(&cluster).await;
                *events.entry("instance killed and restarted").or_default() += 1;
            }
            1 => {
                cluster.redis.stop();
                tokio::time::sleep(Duration::from_millis(300)).await;
                cluster.redis.resume().unwrap();
                *events.entry("redis restarted empty").or_default() += 1;
            }
            _ => {
                let killed = tokio::task::spawn_blocking({
                    let db = db_name.clone();
                    move || terminate_backends(&db)
                })
                .await
                .unwrap();
                *events.entry("database connections cut").or_default() += killed.min(1);
            }
        }
        round += 1;
    }
    let answered = waiting.await.unwrap();
    eprintln!("chaos: {events:?} over {round} rounds");
    assert!(
        events.len() == 3,
        "every kind of chaos happened: {events:?}"
    );

    // Every client_id once, each answer naming the chat that holds it.
    for inst in &mut instances {
        inst.wait_ready().await;
    }
    let history = {
        let mut all: Vec<Value> = Vec::new();
        let mut after = 0;
        loop {
            let page = instances[0]
                .as_user(&owner)
                .history(&room, &format!("?after_seq={after}&limit=200"))
                .await;
            assert_eq!(page.status, 200, "{}", page.body);
            let chats = page.body["chats"].as_array().unwrap().clone();
            if chats.is_empty() {
                break;
            }
            after = chats.last().unwrap()["seq"].as_i64().unwrap();
            all.extend(chats);
        }
        all
    };
    let seqs: Vec<i64> = history.iter().map(|c| c["seq"].as_i64().unwrap()).collect();
    let expected: Vec<i64> = (1..=seqs.len() as i64).collect();
    assert_eq!(seqs, expected, "seqs have no gap");
    let mut by_client_id: HashMap<String, Vec<i64>> = HashMap::new();
    for chat in &history {
        if let Some(id) = chat["client_id"].as_str() {
            by_client_id
                .entry(id.to_owned())
                .or_default()
                .push(chat["seq"].as_i64().unwrap());
        }
    }
    assert_eq!(by_client_id.len(), POSTERS * POSTS_EACH);
    let repeats = answered.iter().filter(|(_, _, r)| *r).count();
    for (client_id, seq, _) in &answered {
        assert_eq!(
            by_client_id[client_id],
            [*seq],
            "{client_id} is in history once, where its answer said"
        );
    }
    eprintln!(
        "chaos: {} posts, {repeats} answered as repeats, {} chats in all",
        answered.len(),
        history.len()
    );

    // One more chat, and each reader's stream, resumed through it all, is
    // the history up to there.
    let last = instances[1].as_user(&owner).say(&room, "the end").await;
    assert_eq!(last.status, 201, "{}", last.body);
    let last = last.body["chat"]["seq"].as_i64().unwrap();
    *until.lock().await = Some(last);
    let full: Vec<i64> = (1..=last).collect();
    for reader in readers {
        let stream = tokio::time::timeout(Duration::from_secs(60), reader)
            .await
            .expect("the reader catches up")
            .unwrap();
        let upto: Vec<i64> = stream.into_iter().take_while(|s| *s <= last).collect();
        assert_eq!(
            upto, full,
            "a reader's stream is history: no gap, no repeat, in order"
        );
    }
}
