//! `make bench`: gifchat (SQLite and PostgreSQL) against the Socket.IO
//! original and a bare transport ceiling, measured the same way in one run.
//! Servers run on core 0 (`taskset`), this load generator on core 1.

mod client;
mod scenarios;
mod servers;
mod soak;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use clap::Parser;
use scenarios::Ctx;
use servers::{repo_root, Kind, Paths};

#[derive(Parser)]
#[command(about = "Benchmarks gifchat against a Socket.IO peer and a transport ceiling")]
struct Args {
    /// Short runs and fewer sizes (about two minutes).
    #[arg(long)]
    quick: bool,
    /// PostgreSQL to create benchmark databases in.
    #[arg(
        long,
        env = "BENCH_PG_ADMIN_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    pg_admin: String,
    /// Only these servers: any of sqlite, pg, peer, ceiling, cluster (default: all).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Only these scenarios: any of idle, fanout, latency, http, persistence (default: all).
    #[arg(long, value_delimiter = ',')]
    scenarios: Vec<String>,
    /// Members per room in the idle-connections scenario.
    #[arg(long, default_value_t = 100)]
    idle_room: usize,
    /// Idle connection counts to measure (default: 1000,5000,10000,19000; quick: 1000).
    #[arg(long, value_delimiter = ',')]
    idle_sizes: Vec<usize>,
    /// Room sizes for the fan-out scenario (default: 10,100,1000).
    #[arg(long, value_delimiter = ',')]
    fanout_sizes: Vec<usize>,
    /// Instead of the benchmarks, the soak (`make soak`): sockets in rooms
    /// with light traffic, RSS and open files every minute, failing on growth.
    #[arg(long)]
    soak: bool,
    #[arg(long, env = "SOAK_MINUTES", default_value_t = 10)]
    soak_minutes: u64,
    #[arg(long, env = "SOAK_CONNECTIONS", default_value_t = 10_000)]
    soak_connections: usize,
    /// Minutes of the soak not counted as growth.
    #[arg(long, env = "SOAK_WARMUP_MINUTES", default_value_t = 2)]
    soak_warmup: u64,
    /// Where to write the results as Markdown.
    #[arg(long, default_value = "bench/results/latest.md")]
    out: String,
}

/// One row of the table: a value per server.
#[derive(Default)]
struct Row {
    unit: &'static str,
    /// Whether smaller is better (memory, latency).
    lower_is_better: bool,
    values: BTreeMap<usize, f64>,
}

#[derive(Default)]
struct Table {
    rows: Vec<(String, Row)>,
}

impl Table {
    fn set(
        &mut self,
        name: &str,
        unit: &'static str,
        lower_is_better: bool,
        kind: Kind,
        value: f64,
    ) {
        let idx = Kind::ALL.iter().position(|k| *k == kind).unwrap_or(0);
        if let Some((_, row)) = self.rows.iter_mut().find(|(n, _)| n == name) {
            row.values.insert(idx, value);
        } else {
            let mut row = Row {
                unit,
                lower_is_better,
                ..Row::default()
            };
            row.values.insert(idx, value);
            self.rows.push((name.to_owned(), row));
        }
    }

    fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "| scenario | unit | gifchat/sqlite | gifchat/pg | gifchat/pg ×2 + redis | socket.io peer | ceiling | sqlite ÷ peer | sqlite ÷ ceiling |"
        );
        let _ = writeln!(out, "|---|---|--:|--:|--:|--:|--:|--:|--:|");
        for (name, row) in &self.rows {
            let cell = |i: usize| row.values.get(&i).map_or("–".to_owned(), |v| fmt(*v));
            let ratio = |i: usize| match (row.values.get(&0), row.values.get(&i)) {
                (Some(a), Some(b)) if *b > 0.0 => format!("{:.2}×", a / b),
                _ => "–".to_owned(),
            };
            let _ = writeln!(
                out,
                "| {name} | {}{} | {} | {} | {} | {} | {} | {} | {} |",
                row.unit,
                if row.lower_is_better { " ↓" } else { "" },
                cell(0),
                cell(1),
                cell(4),
                cell(2),
                cell(3),
                ratio(2),
                ratio(3)
            );
        }
        out
    }
}

fn fmt(v: f64) -> String {
    if v >= 100.0 {
        format!("{:.0}", v)
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

async fn run_kind(ctx: &Ctx, kind: Kind, table: &mut Table, only: &[String]) -> anyhow::Result<()> {
    let label = kind.label();
    // A cluster is measured where instances talk to each other: fan-out and latency.
    let cluster_measures =
        |s: &str| kind != Kind::GifchatCluster || matches!(s, "fanout" | "latency");
    let wanted = |s: &str| (only.is_empty() || only.iter().any(|o| o == s)) && cluster_measures(s);
    let default: &[usize] = if ctx.quick {
        &[1000]
    } else {
        &[1000, 5000, 10_000, 19_000]
    };
    let sizes = if ctx.idle_sizes.is_empty() {
        default
    } else {
        &ctx.idle_sizes[..]
    };
    for &n in sizes.iter().filter(|_| wanted("idle")) {
        eprintln!("[{label}] idle connections: {n}");
        let idle = scenarios::idle(ctx, kind, n).await?;
        table.set(
            &format!("idle: RSS per connection at {n}"),
            "KiB",
            true,
            kind,
            idle.per_connection() / 1024.0,
        );
        table.set(
            &format!("idle: server RSS with {n} joined"),
            "MiB",
            true,
            kind,
            idle.rss_after as f64 / 1048576.0,
        );
    }
    let fanout_default = [10usize, 100, 1000];
    let fanout_sizes = if ctx.fanout_sizes.is_empty() {
        &fanout_default[..]
    } else {
        &ctx.fanout_sizes[..]
    };
    // The short run keeps a cluster to its largest room, to stay short.
    let cluster_size = |size: &&usize| {
        !(ctx.quick && kind == Kind::GifchatCluster)
            || **size == *fanout_sizes.iter().max().unwrap_or(size)
    };
    for &size in fanout_sizes
        .iter()
        .filter(|_| wanted("fanout"))
        .filter(cluster_size)
    {
        eprintln!("[{label}] fan-out into {size}");
        let f = scenarios::fanout(ctx, kind, size).await?;
        table.set(
            &format!("fan-out {size}: deliveries/s"),
            "msg/s",
            false,
            kind,
            f.per_sec,
        );
        table.set(
            &format!("fan-out {size}: deliveries per server CPU-s"),
            "msg/CPU-s",
            false,
            kind,
            f.per_cpu_sec,
        );
        table.set(
            &format!("fan-out {size}: posts accepted"),
            "posts",
            false,
            kind,
            f.posts as f64,
        );
        table.set(
            &format!("fan-out {size}: delivered of expected"),
            "%",
            false,
            kind,
            100.0 * f.deliveries as f64 / f.expected.max(1) as f64,
        );
    }
    if wanted("latency") {
        eprintln!("[{label}] latency: 50 posts/s into 1000");
        let l = scenarios::latency(ctx, kind, 1000, 50).await?;
        table.set(
            "latency 50/s × 1000: to the first member, p50",
            "ms",
            true,
            kind,
            l.first_p50_ms,
        );
        table.set("latency 50/s × 1000: p50", "ms", true, kind, l.p50_ms);
        table.set("latency 50/s × 1000: p99", "ms", true, kind, l.p99_ms);
        table.set("latency 50/s × 1000: p99.9", "ms", true, kind, l.p999_ms);
        table.set(
            "latency 50/s × 1000: server CPU per delivery",
            "µs",
            true,
            kind,
            l.cpu_per_delivery_us,
        );
        let delivered = 100.0 * l.delivered as f64 / l.expected.max(1) as f64;
        table.set(
            "latency 50/s × 1000: delivered of expected",
            "%",
            false,
            kind,
            delivered,
        );
    }
    if wanted("http") {
        eprintln!("[{label}] HTTP");
        if let Some(h) = scenarios::http(ctx, kind).await? {
            table.set(
                "HTTP list rooms: throughput",
                "req/s",
                false,
                kind,
                h.list_rps,
            );
            table.set("HTTP list rooms: p99", "ms", true, kind, h.list_p99_ms);
            table.set(
                "HTTP history page: throughput",
                "req/s",
                false,
                kind,
                h.history_rps,
            );
            table.set("HTTP history page: p99", "ms", true, kind, h.history_p99_ms);
        }
    }
    if !wanted("persistence") {
        return Ok(());
    }
    if let Some(p) = scenarios::persistence(ctx, kind).await? {
        eprintln!("[{label}] persistence");
        table.set(
            "persistence: chats committed/s",
            "posts/s",
            false,
            kind,
            p.committed_per_sec,
        );
        table.set(
            "persistence: failed posts",
            "posts",
            true,
            kind,
            p.failed as f64,
        );
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let ctx = Ctx {
        quick: args.quick,
        idle_room: args.idle_room.max(2),
        idle_sizes: args.idle_sizes.clone(),
        fanout_sizes: args.fanout_sizes.clone(),
        paths: Paths { root: repo_root() },
        pg_admin: args.pg_admin,
    };
    if args.soak {
        let ok = soak::soak(
            &ctx,
            soak::SoakArgs {
                minutes: args.soak_minutes,
                connections: args.soak_connections,
                warmup: args.soak_warmup.min(args.soak_minutes),
            },
        )
        .await?;
        std::process::exit(if ok { 0 } else { 1 });
    }
    let mut table = Table::default();
    let started = std::time::Instant::now();
    for kind in Kind::ALL {
        if !args.only.is_empty() && !args.only.iter().any(|o| kind.short() == o) {
            continue;
        }
        // The short run leaves the two-instance server out, to stay short.
        if args.quick && args.only.is_empty() && kind == Kind::GifchatCluster {
            continue;
        }
        if let Err(e) = run_kind(&ctx, kind, &mut table, &args.scenarios).await {
            eprintln!("[{}] failed: {e:#}", kind.label());
        }
    }
    let rendered = table.render();
    println!("\n{rendered}");
    let header = format!(
        "<!-- {} run, {:.0} s; servers pinned to core 0, load to core 1 -->\n\n",
        if ctx.quick { "quick" } else { "full" },
        started.elapsed().as_secs_f64()
    );
    if let Some(dir) = std::path::Path::new(&args.out).parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&args.out, header + &rendered)?;
    eprintln!("written to {}", args.out);
    Ok(())
}
