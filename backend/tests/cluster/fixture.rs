//! Processes for the cluster tests: a private `redis-server` and gifchat
//! instances started from the built binary.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use diesel::{Connection, PgConnection, RunQueryDsl};

use crate::helpers::{admin_url, Client};

/// Where this test process starts handing out ports: below the kernel's
/// ephemeral range (32768 and up on Linux), spread by process id.
const PORTS: std::ops::Range<u32> = 20_000..32_000;

/// A port for a server this process starts, never handed out twice by it.
/// A port from `bind(0)` could be handed to another test's server, or to
/// any client socket, between choosing it and the server binding it; that
/// server would then fail to start while the other one answered in its
/// place. Ports below the ephemeral range are only ever taken explicitly.
pub fn free_port() -> u16 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let width = PORTS.end - PORTS.start;
    let start = std::process::id() % width;
    loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        assert!(n < width, "no free port left for the test servers");
        let port = u16::try_from(PORTS.start + (start + n) % width).unwrap();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Skips (outside CI) or fails (under CI) when a dependency is missing.
fn missing<T>(what: &str) -> Option<T> {
    assert!(!under_ci(), "{what} is required under CI");
    eprintln!("\n!!! SKIPPED a cluster test: {what} !!!\n");
    None
}

pub struct Redis {
    pub port: u16,
    child: Option<Child>,
}

impl Redis {
    pub fn start() -> Option<Redis> {
        let mut redis = Redis {
            port: free_port(),
            child: None,
        };
        redis.resume()?;
        Some(redis)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Starts the server again on the same port, empty (it keeps nothing on disk).
    pub fn resume(&mut self) -> Option<()> {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let Ok(child) = child else {
            return missing("redis-server (Debian package redis-server)");
        };
        self.child = Some(child);
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Some(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("redis-server did not start on port {}", self.port);
    }

    /// Kills the server (everything it held is gone).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Settings every instance of one cluster shares.
pub struct Cluster {
    pub redis: Redis,
    pub pg_url: String,
    pg_name: String,
    pub uploads: tempfile::TempDir,
    pub env: Vec<(String, String)>,
}

impl Cluster {
    /// A fresh database and Redis. `env` adds or overrides settings.
    pub fn new(env: &[(&str, &str)]) -> Option<Cluster> {
        let redis = Redis::start()?;
        let pg_name = format!("gifchat_cluster_{}", uuid::Uuid::new_v4().simple());
        let Ok(mut admin) = PgConnection::establish(&format!("{}?connect_timeout=3", admin_url()))
        else {
            return missing("PostgreSQL");
        };
        diesel::sql_query(format!("CREATE DATABASE {pg_name}"))
            .execute(&mut admin)
            .unwrap();
        let base = admin_url().rsplit_once('/').unwrap().0.to_owned();
        let uploads = tempfile::tempdir().unwrap();
        let mut all: Vec<(String, String)> = [
            ("BIND_ADDR", "127.0.0.1"),
            ("RATE_LIMITS", "off"),
            ("WORKERS", "2"),
            ("INSTANCE_LEASE_SECS", "2"),
            ("LEAVE_GRACE_SECS", "1"),
            ("ROOM_EMPTY_GRACE_SECS", "3600"),
            ("RUST_LOG", "info"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for (k, v) in env {
            all.retain(|(key, _)| key != k);
            all.push((k.to_string(), v.to_string()));
        }
        Some(Cluster {
            pg_url: format!("{base}/{pg_name}"),
            redis,
            pg_name,
            uploads,
            env: all,
        })
    }

    /// Starts an instance and waits until it is ready.
    pub async fn instance(&self) -> Instance {
        let port = free_port();
        let data = tempfile::tempdir().unwrap();
        let mut instance = Instance {
            port,
            base: format!("http://127.0.0.1:{port}"),
            log: data.path().join("gifchat.log"),
            child: None,
            _data: data,
        };
        instance.spawn(self);
        instance.wait_ready().await;
        instance
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let name = self.pg_name.clone();
        std::thread::spawn(move || {
            if let Ok(mut conn) = PgConnection::establish(&admin_url()) {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn);
            }
        })
        .join()
        .ok();
    }
}

pub struct Instance {
    pub port: u16,
    pub base: String,
    pub log: PathBuf,
    child: Option<Child>,
    _data: tempfile::TempDir,
}

impl Instance {
    fn spawn(&mut self, cluster: &Cluster) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_gifchat"))
            .envs(cluster.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("PORT", self.port.to_string())
            .env("DATA_DIR", self._data.path())
            .env("DATABASE_URL", &cluster.pg_url)
            .env("UPLOAD_DIR", cluster.uploads.path())
            .env("REDIS_URL", cluster.redis.url())
            .env(
                "SESSION_KEY",
                "k".repeat(64) + "shared-by-every-instance-of-this-test",
            )
            .env("STATIC_DIR", self._data.path().join("no-web-app"))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("the gifchat binary starts");
        self.child = Some(child);
    }

    pub async fn wait_ready(&mut self) {
        let http = reqwest::Client::new();
        for _ in 0..200 {
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().unwrap()) {
                panic!(
                    "instance on {} exited ({status}) before it was ready:\n{}",
                    self.port,
                    self.logs()
                );
            }
            if let Ok(res) = http.get(self.url("/readyz")).send().await {
                if res.status() == 200 {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "instance on {} never became ready:\n{}",
            self.port,
            self.logs()
        );
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Starts the process again on the same port and data (after `kill`),
    /// and waits until it is ready.
    pub async fn start_again(&mut self, cluster: &Cluster) {
        self.spawn(cluster);
        self.wait_ready().await;
    }

    /// `kill -9`.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// A person whose cookie jar is `other`'s, talking to this instance.
    pub fn as_user(&self, other: &Client) -> Client {
        Client {
            base: self.base.clone(),
            ..other.clone()
        }
    }

    /// A new person talking to this instance.
    pub fn user(&self) -> Client {
        Client::new(&self.base)
    }

    pub async fn ready_status(&self) -> u16 {
        reqwest::get(self.url("/readyz"))
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
