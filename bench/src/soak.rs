//! `make soak`: thousands of sockets in rooms of 100 with light traffic
//! (a few chats a second, and people coming and going) for minutes; the
//! server's RSS and open descriptors are reported every minute. Fails when
//! either grows after the warm-up.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use rand::Rng;
use tokio::sync::watch;

use crate::client::{chat_text, fresh_ip, Tally};
use crate::scenarios::{finish, members, people, Ctx};
use crate::servers::{Kind, Server};

pub struct SoakArgs {
    pub minutes: u64,
    pub connections: usize,
    /// Minutes whose growth is not counted (caches and pools filling).
    pub warmup: u64,
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

const MIB: f64 = 1048576.0;

/// Runs the soak; `Ok(false)` when the server grew.
pub async fn soak(ctx: &Ctx, args: SoakArgs) -> anyhow::Result<bool> {
    let kind = Kind::GifchatSqlite;
    let (server, target) = ctx.start(kind).await?;
    let per_room = 100;
    let owner = target.person().await?;
    let mut rooms = Vec::new();
    for i in 0..args.connections.div_ceil(per_room) {
        rooms.push(
            target
                .create_room(&owner, &format!("soak {i}"), 1000)
                .await?,
        );
    }
    let crowd = people(&target, args.connections).await?;
    let tally = Tally::new(0);
    let (stop, stopped) = watch::channel(false);
    let readers = members(&target, &crowd, &rooms, per_room, &tally, &stopped).await?;
    eprintln!(
        "[soak] {} sockets in {} rooms; {} minutes, the first {} warm-up",
        readers.len(),
        rooms.len(),
        args.minutes,
        args.warmup
    );

    // Light traffic: five chats a second into random rooms, and twenty
    // people a second coming into a room and leaving a few seconds later.
    let posting = {
        let (target, rooms, owner) = (target.clone(), rooms.clone(), owner.clone());
        let mut stopped = stopped.clone();
        tokio::spawn(async move {
            let mut n = 0u64;
            let mut tick = tokio::time::interval(Duration::from_millis(200));
            let mut posted = 0u64;
            loop {
                tokio::select! {
                    _ = stopped.changed() => return posted,
                    _ = tick.tick() => {}
                }
                let room = &rooms[rand::thread_rng().gen_range(0..rooms.len())];
                if target.post(&owner, room, &chat_text(n)).await {
                    posted += 1;
                }
                n += 1;
            }
        })
    };
    let visitors = people(&target, 100).await?;
    let churn = {
        let (target, rooms) = (target.clone(), rooms.clone());
        let mut stopped = stopped.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(50));
            let mut visits = 0u64;
            loop {
                tokio::select! {
                    _ = stopped.changed() => return visits,
                    _ = tick.tick() => {}
                }
                let who = visitors[visits as usize % visitors.len()].clone();
                let room = rooms[rand::thread_rng().gen_range(0..rooms.len())].clone();
                let (target, ip) = (target.clone(), fresh_ip());
                tokio::spawn(async move {
                    if let Ok(member) = target.member(&who, &room, ip).await {
                        tokio::time::sleep(Duration::from_secs(3)).await;
                        drop(member);
                    }
                });
                visits += 1;
            }
        })
    };

    let started = Instant::now();
    let mut baseline: Option<(u64, usize)> = None;
    let mut last = (0, 0);
    println!("| minute | RSS MiB | open fds | deliveries |");
    println!("|--:|--:|--:|--:|");
    for minute in 1..=args.minutes {
        let due = started + Duration::from_secs(60 * minute);
        tokio::time::sleep_until(due.into()).await;
        let (rss, fds) = (server.rss(), open_fds(server.pid()));
        println!(
            "| {minute} | {:.1} | {fds} | {} |",
            rss as f64 / MIB,
            tally.deliveries.load(Ordering::Relaxed)
        );
        if minute == args.warmup {
            baseline = Some((rss, fds));
        }
        last = (rss, fds);
    }
    let _ = stop.send(true);
    let posted = posting.await.unwrap_or(0);
    let visits = churn.await.unwrap_or(0);
    finish(stop, readers).await;
    stop_server(server, ctx);

    let Some((rss0, fds0)) = baseline else {
        eprintln!("[soak] too short to have a warm-up");
        return Ok(true);
    };
    // RSS may wander by allocator and page-cache noise; a leak grows
    // steadily, past both bounds.
    let rss_limit = rss0 as f64 * 1.10 + 4.0 * MIB;
    let fds_limit = fds0 + 32;
    let ok = (last.0 as f64) <= rss_limit && last.1 <= fds_limit;
    eprintln!(
        "[soak] {posted} chats posted, {visits} visits; RSS {:.1} → {:.1} MiB (limit {:.1}), fds {fds0} → {} (limit {fds_limit}): {}",
        rss0 as f64 / MIB,
        last.0 as f64 / MIB,
        rss_limit / MIB,
        last.1,
        if ok { "no growth" } else { "GREW" }
    );
    Ok(ok)
}

fn stop_server(server: Server, ctx: &Ctx) {
    server.stop(&ctx.pg_admin);
}
