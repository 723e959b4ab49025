//! The scenarios. Each runs against a fresh server process and database.

use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};

use std::time::{Duration, Instant};

use futures_util::stream::{self, StreamExt};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::client::{chat_text, fresh_ip, micros_histogram, Member, Person, Tally, Target};
use crate::servers::{Kind, Paths, Server};

pub struct Ctx {
    pub quick: bool,
    /// Members per room in the idle scenario.
    pub idle_room: usize,
    /// Connection counts for the idle scenario.
    pub idle_sizes: Vec<usize>,
    /// Room sizes for the fan-out scenario.
    pub fanout_sizes: Vec<usize>,
    pub paths: Paths,
    pub pg_admin: String,
}

impl Ctx {
    pub fn secs(&self, full: u64) -> Duration {
        Duration::from_secs(if self.quick { (full / 4).max(2) } else { full })
    }

    pub(crate) async fn start(&self, kind: Kind) -> anyhow::Result<(Server, Target)> {
        let server = Server::start(kind, &self.paths, &self.pg_admin).await?;
        let target = Target::new(kind, server.port, server.second_port());
        Ok((server, target))
    }
}

pub(crate) async fn people(target: &Target, n: usize) -> anyhow::Result<Vec<Person>> {
    stream::iter(0..n)
        .map(|_| target.person())
        .buffer_unordered(64)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect()
}

type Reader = tokio::task::JoinHandle<()>;

/// Connects one member per person, `per_room` to a room, from fresh source
/// addresses. Each starts reading the moment it has joined, as a real client
/// does.
pub(crate) async fn members(
    target: &Target,
    people: &[Person],
    rooms: &[String],
    per_room: usize,
    tally: &Arc<Tally>,
    stop: &watch::Receiver<bool>,
) -> anyhow::Result<Vec<Reader>> {
    let ips: Vec<_> = (0..people.len().div_ceil(10_000))
        .map(|_| fresh_ip())
        .collect();
    let joins = people.iter().enumerate().map(|(i, p)| {
        // In a cluster, every other member is on the second instance, so
        // half of every chat crosses Redis.
        let t = if i % 2 == 1 {
            target.second()
        } else {
            target.clone()
        };
        let (room, ip) = (rooms[i / per_room].clone(), ips[i / 10_000]);
        let (p, tally, stop) = (p.clone(), tally.clone(), stop.clone());
        async move {
            t.member(&p, &room, ip)
                .await
                .map(|m: Member| m.spawn(tally, stop))
        }
    });
    stream::iter(joins)
        .buffer_unordered(128)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect()
}

/// Stops the members and waits until each has closed its socket.
pub(crate) async fn finish(stop: watch::Sender<bool>, readers: Vec<Reader>) {
    let _ = stop.send(true);
    for r in readers {
        let _ = r.await;
    }
}

/// Waits until the server is done with the joins (each one announced to the
/// room and recorded as a system chat): under 10% of a core for a quarter
/// second, or 20 s at most.
async fn settle(server: &Server) {
    let deadline = Instant::now() + Duration::from_secs(20);
    tokio::time::sleep(Duration::from_millis(100)).await;
    while Instant::now() < deadline {
        let before = server.cpu_secs();
        tokio::time::sleep(Duration::from_millis(250)).await;
        if server.cpu_secs() - before < 0.025 {
            return;
        }
    }
}

/// Waits until deliveries stop growing (or `max` passes).
async fn drain(tally: &Tally, max: Duration) {
    let deadline = Instant::now() + max;
    let mut last = u64::MAX;
    while Instant::now() < deadline {
        let now = tally.deliveries.load(Ordering::Relaxed);
        if now == last {
            return;
        }
        last = now;
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
}

pub struct Idle {
    pub connections: usize,
    pub rss_before: u64,
    pub rss_after: u64,
}

impl Idle {
    pub fn per_connection(&self) -> f64 {
        self.rss_after.saturating_sub(self.rss_before) as f64 / self.connections as f64
    }
}

pub async fn idle(ctx: &Ctx, kind: Kind, n: usize) -> anyhow::Result<Idle> {
    let (server, target) = ctx.start(kind).await?;
    let owner = target.person().await?;
    let mut rooms = Vec::new();
    for i in 0..n.div_ceil(ctx.idle_room) {
        rooms.push(
            target
                .create_room(&owner, &format!("idle {i}"), 1000)
                .await?,
        );
    }
    let people = people(&target, n).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_before = server.rss();
    let (stop, stopped) = watch::channel(false);
    let readers = members(
        &target,
        &people,
        &rooms,
        ctx.idle_room,
        &Tally::new(0),
        &stopped,
    )
    .await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_after = server.rss();
    eprintln!("  {} threads with {n} joined", server.threads());
    finish(stop, readers).await;
    server.stop(&ctx.pg_admin);
    Ok(Idle {
        connections: n,
        rss_before,
        rss_after,
    })
}

/// Concurrent posters in the fan-out scenario.
const POSTERS: usize = 32;

pub struct Fanout {
    pub posts: u64,
    pub deliveries: u64,
    pub expected: u64,
    pub per_sec: f64,
    pub per_cpu_sec: f64,
}

pub async fn fanout(ctx: &Ctx, kind: Kind, room_size: usize) -> anyhow::Result<Fanout> {
    let (server, target) = ctx.start(kind).await?;
    let tally = Tally::new(0);
    let (room, stop, readers) = full_room(&target, "fan-out", room_size, &tally).await?;
    settle(&server).await;
    tally.deliveries.store(0, Ordering::Relaxed);

    let window = ctx.secs(8);
    let cpu0 = server.cpu_secs();
    let t0 = tally.now_ns();
    // Enough concurrent posters that a server which batches or pipelines
    // posts is kept busy: each waits for its post to be answered.
    let posters = people(&target, POSTERS).await?;
    let until = Instant::now() + window;
    let mut tasks = Vec::new();
    for (i, p) in posters.into_iter().enumerate() {
        let (t, room) = (target.clone(), room.clone());
        tasks.push(tokio::spawn(async move {
            let mut ok = 0u64;
            let mut n = i as u64;
            while Instant::now() < until {
                if t.post(&p, &room, &chat_text(n)).await {
                    ok += 1;
                }
                n += POSTERS as u64;
            }
            ok
        }));
    }
    let mut posts = 0;
    for t in tasks {
        posts += t.await.unwrap_or(0);
    }
    drain(&tally, Duration::from_secs(10)).await;
    let cpu = server.cpu_secs() - cpu0;
    let deliveries = tally.deliveries.load(Ordering::Relaxed);
    let elapsed = (tally
        .last_delivery_ns
        .load(Ordering::Relaxed)
        .saturating_sub(t0)) as f64
        / 1e9;
    finish(stop, readers).await;
    server.stop(&ctx.pg_admin);
    Ok(Fanout {
        posts,
        deliveries,
        expected: posts * room_size as u64,
        per_sec: deliveries as f64 / elapsed.max(window.as_secs_f64()),
        per_cpu_sec: deliveries as f64 / cpu.max(0.01),
    })
}

/// A new room of `size` members, each reading into `tally` until `stop`.
async fn full_room(
    target: &Target,
    title: &str,
    size: usize,
    tally: &Arc<Tally>,
) -> anyhow::Result<(String, watch::Sender<bool>, Vec<Reader>)> {
    let owner = target.person().await?;
    let room = target
        .create_room(&owner, title, size.max(2) as u32)
        .await?;
    let people = people(target, size).await?;
    let (stop, stopped) = watch::channel(false);
    let readers = members(
        target,
        &people,
        std::slice::from_ref(&room),
        size,
        tally,
        &stopped,
    )
    .await?;
    Ok((room, stop, readers))
}

pub struct Latency {
    /// The median post's time to its first member: the server's post path
    /// (for gifchat, the commit) before the fan-out's spread.
    pub first_p50_ms: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    /// Server CPU time per delivery while posting and draining: with one
    /// frame per delivery, the last member of a post waits about
    /// `room_size` of these.
    pub cpu_per_delivery_us: f64,
    pub delivered: u64,
    pub expected: u64,
}

/// Open loop: `rate` posts a second into a room of `room_size`, each timed
/// from its scheduled send to its receipt by every member.
pub async fn latency(
    ctx: &Ctx,
    kind: Kind,
    room_size: usize,
    rate: u64,
) -> anyhow::Result<Latency> {
    let (server, target) = ctx.start(kind).await?;
    let window = ctx.secs(12);
    let total = rate * window.as_secs();
    let tally = Tally::new(total as usize + 1);
    let (room, stop, readers) = full_room(&target, "latency", room_size, &tally).await?;
    let posters = people(&target, 8).await?;
    settle(&server).await;
    tally.deliveries.store(0, Ordering::Relaxed);
    let cpu0 = server.cpu_secs();

    let mut sends = post_on_time(&tally, &target, &posters, &room, rate, total)?;
    while let Some(s) = sends.recv().await {
        let _ = s.await;
    }
    drain(&tally, Duration::from_secs(10)).await;
    let cpu = server.cpu_secs() - cpu0;
    let delivered = tally.deliveries.load(Ordering::Relaxed);
    finish(stop, readers).await;
    let hist = tally
        .latencies
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    server.stop(&ctx.pg_admin);
    let ms = |q: f64| hist.value_at_quantile(q) as f64 / 1000.0;
    let mut firsts = micros_histogram();
    for n in 1..=total as usize {
        let (sent, first) = (
            tally.sent_at[n].load(Ordering::Relaxed),
            tally.first_at[n].load(Ordering::Relaxed),
        );
        if sent > 0 && first != u64::MAX && first > sent {
            firsts.record((first - sent) / 1000)?;
        }
    }
    Ok(Latency {
        first_p50_ms: firsts.value_at_quantile(0.5) as f64 / 1000.0,
        p50_ms: ms(0.5),
        p99_ms: ms(0.99),
        p999_ms: ms(0.999),
        cpu_per_delivery_us: cpu * 1e6 / delivered.max(1) as f64,
        delivered,
        expected: total * room_size as u64,
    })
}

/// Spawns chat N's post at its due time, from a thread of its own that
/// sleeps until then, and hands over each post's task as it starts: the
/// runtime's timer ticks in whole milliseconds, and posts scheduled with it
/// started 0.8–1.9 ms late, which every server's latency then carried. Each
/// post is still timed from when it was due, so a stalled server cannot hide
/// its stall.
fn post_on_time(
    tally: &Arc<Tally>,
    target: &Target,
    posters: &[Person],
    room: &str,
    rate: u64,
    total: u64,
) -> anyhow::Result<mpsc::UnboundedReceiver<JoinHandle<bool>>> {
    let runtime = tokio::runtime::Handle::current();
    let period = Duration::from_nanos(1_000_000_000 / rate);
    let (tx, rx) = mpsc::unbounded_channel();
    let (tally, target, posters, room) = (
        tally.clone(),
        target.clone(),
        posters.to_vec(),
        room.to_owned(),
    );
    std::thread::Builder::new()
        .name("poster".into())
        .spawn(move || {
            let first = Instant::now() + period;
            for n in 1..=total {
                let due = first + period * (n as u32 - 1);
                if let Some(wait) = due.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
                let due_ns = due.duration_since(tally.start).as_nanos() as u64;
                tally.sent_at[n as usize].store(due_ns.max(1), Ordering::Relaxed);
                let (t, p, room) = (
                    target.clone(),
                    posters[n as usize % posters.len()].clone(),
                    room.clone(),
                );
                let post = runtime.spawn(async move { t.post(&p, &room, &chat_text(n)).await });
                if tx.send(post).is_err() {
                    break;
                }
            }
        })?;
    Ok(rx)
}

pub struct Http {
    pub list_rps: f64,
    pub list_p99_ms: f64,
    pub history_rps: f64,
    pub history_p99_ms: f64,
}

pub async fn http(ctx: &Ctx, kind: Kind) -> anyhow::Result<Option<Http>> {
    if kind == Kind::Ceiling {
        return Ok(None);
    }
    let (server, target) = ctx.start(kind).await?;
    let owner = target.person().await?;
    let mut rooms = Vec::new();
    for i in 0..20 {
        rooms.push(target.create_room(&owner, &format!("room {i}"), 10).await?);
    }
    for i in 0..60 {
        target.post(&owner, &rooms[0], &chat_text(i)).await;
    }
    let list = target.list_path().unwrap_or_default();
    let history = target.history_path(&rooms[0]).unwrap_or_default();
    let (list_rps, list_p99_ms) = hammer(&target, &owner, &list, ctx.secs(8)).await;
    let (history_rps, history_p99_ms) = hammer(&target, &owner, &history, ctx.secs(8)).await;
    server.stop(&ctx.pg_admin);
    Ok(Some(Http {
        list_rps,
        list_p99_ms,
        history_rps,
        history_p99_ms,
    }))
}

/// 32 keep-alive clients in a closed loop on one path.
async fn hammer(target: &Target, who: &Person, path: &str, window: Duration) -> (f64, f64) {
    let until = Instant::now() + window;
    let url = format!("{}{path}", target.base);
    let workers: Vec<_> = (0..32)
        .map(|_| {
            let (http, url, cookie) = (target.http.clone(), url.clone(), who.cookie.clone());
            tokio::spawn(async move {
                let mut hist = micros_histogram();
                while Instant::now() < until {
                    let t = Instant::now();
                    let ok = match http.get(&url).header("cookie", &cookie).send().await {
                        Ok(res) => res.status().is_success() && res.bytes().await.is_ok(),
                        Err(_) => false,
                    };
                    if ok {
                        let _ = hist.record(t.elapsed().as_micros() as u64);
                    }
                }
                hist
            })
        })
        .collect();
    let mut all = micros_histogram();
    for w in workers {
        if let Ok(h) = w.await {
            let _ = all.add(h);
        }
    }
    (
        all.len() as f64 / window.as_secs_f64(),
        all.value_at_quantile(0.99) as f64 / 1000.0,
    )
}

pub struct Persistence {
    pub committed_per_sec: f64,
    pub failed: u64,
}

/// 32 posters over 8 rooms as fast as they can; counts what was committed.
pub async fn persistence(ctx: &Ctx, kind: Kind) -> anyhow::Result<Option<Persistence>> {
    if !kind.is_gifchat() {
        return Ok(None);
    }
    let (server, target) = ctx.start(kind).await?;
    let owner = target.person().await?;
    let mut rooms = Vec::new();
    for i in 0..8 {
        rooms.push(target.create_room(&owner, &format!("busy {i}"), 10).await?);
    }
    let posters = people(&target, 32).await?;
    let window = ctx.secs(8);
    let start = Instant::now();
    let until = start + window;
    let tasks: Vec<_> = posters
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            let (t, room) = (target.clone(), rooms[i % rooms.len()].clone());
            tokio::spawn(async move {
                let mut failed = 0u64;
                let mut n = 0;
                while Instant::now() < until {
                    if !t.post(&p, &room, &chat_text(n)).await {
                        failed += 1;
                    }
                    n += 1;
                }
                failed
            })
        })
        .collect();
    let mut failed = 0;
    for t in tasks {
        failed += t.await.unwrap_or(0);
    }
    let elapsed = start.elapsed().as_secs_f64();
    let mut committed = 0;
    for room in &rooms {
        committed += target.last_seq(&owner, room).await?;
    }
    server.stop(&ctx.pg_admin);
    Ok(Some(Persistence {
        committed_per_sec: committed as f64 / elapsed,
        failed,
    }))
}
