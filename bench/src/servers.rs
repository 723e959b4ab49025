//! Starting and measuring the servers under test, each pinned to core 0.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    GifchatSqlite,
    GifchatPostgres,
    Peer,
    Ceiling,
    /// Two instances on one PostgreSQL database and the machine's Redis.
    GifchatCluster,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::GifchatSqlite,
        Kind::GifchatPostgres,
        Kind::Peer,
        Kind::Ceiling,
        Kind::GifchatCluster,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Kind::GifchatSqlite => "gifchat/sqlite",
            Kind::GifchatPostgres => "gifchat/pg",
            Kind::Peer => "socket.io peer",
            Kind::Ceiling => "ceiling",
            Kind::GifchatCluster => "gifchat/pg ×2 + redis",
        }
    }

    pub fn short(self) -> &'static str {
        match self {
            Kind::GifchatSqlite => "sqlite",
            Kind::GifchatPostgres => "pg",
            Kind::Peer => "peer",
            Kind::Ceiling => "ceiling",
            Kind::GifchatCluster => "cluster",
        }
    }

    pub fn protocol(self) -> Protocol {
        match self {
            Kind::GifchatSqlite | Kind::GifchatPostgres | Kind::GifchatCluster => Protocol::Gifchat,
            Kind::Peer => Protocol::SocketIo,
            Kind::Ceiling => Protocol::Raw,
        }
    }

    pub fn is_gifchat(self) -> bool {
        self.protocol() == Protocol::Gifchat
    }
}

/// What a server speaks, which decides how the load talks to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// gifchat's HTTP API and envelopes, whatever it stores in.
    Gifchat,
    /// The Socket.IO peer.
    SocketIo,
    /// The ceiling's raw frames.
    Raw,
}

pub struct Paths {
    pub root: PathBuf,
}

impl Paths {
    fn release(&self, name: &str) -> PathBuf {
        self.root.join("target/release").join(name)
    }
}

/// A running server on core 0.
pub struct Server {
    pub kind: Kind,
    pub port: u16,
    child: Child,
    /// A cluster's second instance.
    second: Option<(Child, u16)>,
    data: Option<PathBuf>,
    pg_db: Option<String>,
}

static NEXT_PORT: std::sync::atomic::AtomicU16 = std::sync::atomic::AtomicU16::new(18100);

impl Server {
    pub async fn start(kind: Kind, paths: &Paths, pg_admin: &str) -> anyhow::Result<Server> {
        let port = NEXT_PORT.fetch_add(2, std::sync::atomic::Ordering::Relaxed);
        let mut cmd = Command::new("taskset");
        cmd.arg("-c").arg("0");
        if let Ok(wrap) = std::env::var("BENCH_SERVER_WRAP") {
            cmd.args(wrap.split_whitespace());
        }
        let mut data = None;
        let mut pg_db = None;
        match kind.protocol() {
            Protocol::Gifchat => {
                let dir = std::env::temp_dir()
                    .join(format!("gifchat-bench-{port}-{}", std::process::id()));
                std::fs::create_dir_all(&dir)?;
                cmd.arg(paths.release("gifchat")).arg("serve");
                cmd.env("PORT", port.to_string())
                    .env("BIND_ADDR", "127.0.0.1")
                    .env("DATA_DIR", &dir)
                    .env("RATE_LIMITS", "off")
                    // Every member connects from a few addresses.
                    .env("WS_MAX_PER_IP", "1000000")
                    .env("WORKERS", "1")
                    .env("RUST_LOG", "warn")
                    .env("STATIC_DIR", dir.join("no-web-app"));
                if kind == Kind::GifchatCluster {
                    cmd.env("REDIS_URL", "redis://127.0.0.1:6379/")
                        .env(
                            "REDIS_PREFIX",
                            format!("gifchat-bench-{port}-{}", std::process::id()),
                        )
                        .env("SESSION_KEY", "bench".repeat(16))
                        .env("UPLOAD_DIR", dir.join("gifs"));
                }
                if kind != Kind::GifchatSqlite {
                    let name = format!("gifchat_bench_{port}_{}", std::process::id());
                    psql(pg_admin, &format!("CREATE DATABASE {name}"))?;
                    let base = pg_admin.rsplit_once('/').map_or(pg_admin, |(b, _)| b);
                    cmd.env("DATABASE_URL", format!("{base}/{name}"));
                    pg_db = Some(name);
                } else {
                    cmd.env("DATABASE_URL", dir.join("gifchat.db"));
                }
                data = Some(dir);
            }
            Protocol::SocketIo => {
                cmd.arg("node")
                    .arg(paths.root.join("bench/peer-socketio/server.js"))
                    .env("PORT", port.to_string());
            }
            Protocol::Raw => {
                cmd.arg(paths.release("gifchat-ceiling"))
                    .env("PORT", port.to_string());
            }
        }
        cmd.stdout(Stdio::null()).stderr(Stdio::inherit());
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {}", kind.label()))?;
        let second = if kind == Kind::GifchatCluster {
            // The same command on the next port, on the same core.
            cmd.env("PORT", (port + 1).to_string());
            let child = cmd.spawn().context("starting the second instance")?;
            Some((child, port + 1))
        } else {
            None
        };
        let server = Server {
            kind,
            port,
            child,
            second,
            data,
            pg_db,
        };
        server.wait_ready(server.port).await?;
        server.wait_ready(server.second_port()).await?;
        Ok(server)
    }

    async fn wait_ready(&self, port: u16) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("{} did not start on port {port}", self.kind.label())
    }

    /// Where half the members connect: the second instance, or this server.
    pub fn second_port(&self) -> u16 {
        self.second.as_ref().map_or(self.port, |(_, p)| *p)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn pids(&self) -> Vec<u32> {
        let mut pids = vec![self.child.id()];
        pids.extend(self.second.as_ref().map(|(c, _)| c.id()));
        pids
    }

    /// Resident memory in bytes (of both instances in a cluster).
    pub fn rss(&self) -> u64 {
        self.pids()
            .iter()
            .map(|pid| {
                let status =
                    std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
                status
                    .lines()
                    .find_map(|l| l.strip_prefix("VmRSS:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                    .map_or(0, |kb| kb * 1024)
            })
            .sum()
    }

    /// Threads the server process runs.
    pub fn threads(&self) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("Threads:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    }

    /// CPU time used so far (user + system), in seconds, by every instance.
    pub fn cpu_secs(&self) -> f64 {
        self.pids().into_iter().map(cpu_secs_of).sum()
    }

    pub fn stop(mut self, pg_admin: &str) {
        if let Some((mut child, _)) = self.second.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(dir) = self.data.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
        if let Some(db) = self.pg_db.take() {
            let _ = psql(
                pg_admin,
                &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
            );
        }
    }
}

fn cpu_secs_of(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are 14 and 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

fn psql(admin: &str, sql: &str) -> anyhow::Result<()> {
    let status = Command::new("psql")
        .arg(admin)
        .arg("-qc")
        .arg(sql)
        .stdout(Stdio::null())
        .status()?;
    if !status.success() {
        bail!("psql failed: {sql}");
    }
    Ok(())
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}
