//! Every setting, read once from the environment (or a `.env` file) or from
//! the command line. `gifchat serve --help` prints this list with defaults.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::builder::BoolishValueParser;
use clap::{ArgAction, Args};
use ipnet::IpNet;

use crate::domain::validation::MaxMembers;

#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// TCP port to listen on (0 picks a free one).
    #[arg(long, env = "PORT", default_value_t = 8005)]
    pub port: u16,

    /// Address to bind.
    #[arg(long, env = "BIND_ADDR", default_value = "0.0.0.0")]
    pub bind_addr: IpAddr,

    /// Folder for the default SQLite database, the generated session key and
    /// the default upload folder.
    #[arg(long, env = "DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,

    /// `postgres://…` for PostgreSQL; anything else is a SQLite file path
    /// (an optional `sqlite://` prefix is accepted). Default: `DATA_DIR/gifchat.db`.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Maximum database connections in the pool.
    #[arg(long, env = "DB_POOL_SIZE", default_value_t = 10)]
    pub db_pool_size: u32,

    /// Where GIF files are stored. Default: `DATA_DIR/gifs`.
    #[arg(long, env = "UPLOAD_DIR")]
    pub upload_dir: Option<PathBuf>,

    /// Secret used to sign and encrypt session cookies: any string of at least
    /// 64 bytes. Without it a key is generated once into `DATA_DIR/session.key`.
    #[arg(long, env = "SESSION_KEY", hide_env_values = true)]
    pub session_key: Option<String>,

    /// Mark the session cookie `Secure` (set this when served over HTTPS).
    #[arg(long, env = "COOKIE_SECURE", default_value = "false", action = ArgAction::Set, value_parser = BoolishValueParser::new())]
    pub cookie_secure: bool,

    /// `redis://…`: run as one of several instances sharing PostgreSQL, with
    /// events and presence shared through this Redis. Needs `DATABASE_URL`
    /// on PostgreSQL. Unset: a single instance with everything in-process.
    #[arg(long, env = "REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,

    /// With `REDIS_URL`: the prefix of every Redis key and channel, so
    /// several deployments can share one Redis.
    #[arg(long, env = "REDIS_PREFIX", default_value = "gifchat")]
    pub redis_prefix: String,

    /// With `REDIS_URL`: seconds an instance's lease lasts without renewal.
    /// When an instance dies, its members' presence ends this long after it
    /// last renewed (then their leave grace runs as usual).
    #[arg(long, env = "INSTANCE_LEASE_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(2..=3600))]
    pub instance_lease_secs: u64,

    /// Seconds a room that had members may stay empty before it is deleted
    /// (0 deletes it at once).
    #[arg(long, env = "ROOM_EMPTY_GRACE_SECS", default_value_t = 60)]
    pub room_empty_grace_secs: u64,

    /// Seconds after a user's last connection goes before they are announced
    /// as having left (a reload is not a leave).
    #[arg(long, env = "LEAVE_GRACE_SECS", default_value_t = 5)]
    pub leave_grace_secs: u64,

    /// Seconds after a start during which the members of the last clean stop
    /// keep their seats: back within it, they are neither announced as gone
    /// nor as joined again (a single instance; in a cluster shared presence
    /// outlives an instance's restart).
    #[arg(long, env = "RESTART_GRACE_SECS", default_value_t = 30)]
    pub restart_grace_secs: u64,

    /// Seconds between WebSocket pings; a peer silent for two is dropped.
    #[arg(long, env = "WS_HEARTBEAT_SECS", default_value_t = 15)]
    pub ws_heartbeat_secs: u64,

    /// Frames queued for one WebSocket before it is closed as too slow (4008).
    #[arg(long, env = "WS_QUEUE", default_value_t = 4096)]
    pub ws_queue: usize,

    /// Bytes queued for one WebSocket before it is closed as too slow (4008),
    /// besides the frame count of `WS_QUEUE`.
    #[arg(long, env = "WS_QUEUE_BYTES", default_value_t = 4 * 1024 * 1024)]
    pub ws_queue_bytes: usize,

    /// Largest client WebSocket message in bytes, whole or fragmented; a
    /// larger one closes with 1009.
    #[arg(long, env = "WS_MAX_FRAME_BYTES", default_value_t = 16 * 1024)]
    pub ws_max_frame_bytes: usize,

    /// Open WebSockets one client address may have; a further one gets 429
    /// (0: no cap; lifted with `RATE_LIMITS=off`).
    #[arg(long, env = "WS_MAX_PER_IP", default_value_t = 64)]
    pub ws_max_per_ip: usize,

    /// Open event streams (`GET /api/rooms/{id}/events`) one client address
    /// may have; a further one gets 429 (0: no cap; lifted with
    /// `RATE_LIMITS=off`).
    #[arg(long, env = "SSE_MAX_PER_IP", default_value_t = 64)]
    pub sse_max_per_ip: usize,

    /// Rooms one WebSocket may have joined at once.
    #[arg(long, env = "WS_MAX_ROOMS", default_value_t = 20)]
    pub ws_max_rooms: usize,

    /// Most chats a `join` with `since_seq` (or SSE `Last-Event-ID`) replays;
    /// past it the latest are sent and the client pages the rest over HTTP.
    #[arg(long, env = "REPLAY_MAX", default_value_t = 500)]
    pub replay_max: u32,

    /// Seconds after posting during which the author may edit a text chat;
    /// 0 = always.
    #[arg(long, env = "CHAT_EDIT_SECS", default_value_t = 900)]
    pub chat_edit_secs: u64,

    /// Comma-separated extra origins (`https://chat.example.com`) allowed to
    /// open the WebSocket, besides the service's own.
    #[arg(long, env = "ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,

    /// Largest `max_members` a room may ask for.
    #[arg(long, env = "ROOM_MAX_MEMBERS", default_value_t = MaxMembers::DEFAULT_CEILING, value_parser = clap::value_parser!(i32).range(MaxMembers::MIN as i64..))]
    pub room_max_members: i32,

    /// Largest GIF upload in bytes.
    #[arg(long, env = "GIF_MAX_BYTES", default_value_t = 5 * 1024 * 1024)]
    pub gif_max_bytes: u64,

    /// Largest GIF width and height in pixels.
    #[arg(long, env = "GIF_MAX_DIMENSION", default_value_t = 4096)]
    pub gif_max_dimension: u16,

    /// Most frames a GIF may have.
    #[arg(long, env = "GIF_MAX_FRAMES", default_value_t = 2000)]
    pub gif_max_frames: u32,

    /// Most pixels a GIF may decode to: its width × height, once per frame.
    #[arg(long, env = "GIF_MAX_PIXELS", default_value_t = 200_000_000)]
    pub gif_max_pixels: u64,

    /// GIFs encoded into lighter renditions at once, each on a thread of
    /// its own; 0 makes none (posters are still made).
    #[arg(long, env = "MEDIA_WORKERS", default_value_t = 1, value_parser = clap::value_parser!(u32).range(0..=64))]
    pub media_workers: u32,

    /// Seconds one GIF's renditions may take to encode; past it, that GIF
    /// keeps no rendition and is served as uploaded.
    #[arg(long, env = "MEDIA_BUDGET_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub media_budget_secs: u64,

    /// Lossy WebP quality of renditions, 0 to 100.
    #[arg(long, env = "WEBP_QUALITY", default_value_t = 75, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub webp_quality: u8,

    /// Seconds a request body (JSON or an upload) may take to arrive, whole;
    /// past it, 408 and the connection is closed.
    #[arg(long, env = "BODY_READ_TIMEOUT_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub body_read_timeout_secs: u64,

    /// Comma-separated addresses or CIDR ranges of reverse proxies whose
    /// `X-Forwarded-For` header is believed.
    #[arg(long, env = "TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_proxy)]
    pub trusted_proxies: Vec<IpNet>,

    /// `off` disables every rate limit (benchmarks, load tests).
    #[arg(long, env = "RATE_LIMITS", default_value = "on", action = ArgAction::Set, value_parser = BoolishValueParser::new())]
    pub rate_limits: bool,

    /// Chats (text and GIF) one user may post per minute.
    #[arg(long, env = "RATE_CHATS_PER_MIN", default_value_t = 120)]
    pub rate_chats_per_min: u32,

    /// Chats (text and GIF) one client address (an IPv6 /64) may post per
    /// minute, whoever it says it is.
    #[arg(long, env = "RATE_CHATS_PER_IP_PER_MIN", default_value_t = 600)]
    pub rate_chats_per_ip_per_min: u32,

    /// WebSocket frames one connection may send per second (bursts of twice that).
    #[arg(long, env = "RATE_WS_FRAMES_PER_SEC", default_value_t = 20)]
    pub rate_ws_frames_per_sec: u32,

    /// Edits, deletions and reactions one user may make per minute. They
    /// also count toward `RATE_CHATS_PER_IP_PER_MIN`.
    #[arg(long, env = "RATE_CHANGES_PER_MIN", default_value_t = 240)]
    pub rate_changes_per_min: u32,

    /// Rooms one client address may create per minute.
    #[arg(long, env = "RATE_ROOMS_PER_MIN", default_value_t = 10)]
    pub rate_rooms_per_min: u32,

    /// Join attempts (password checks) one client address may make per minute.
    #[arg(long, env = "RATE_JOINS_PER_MIN", default_value_t = 30)]
    pub rate_joins_per_min: u32,

    /// `off` stops serving `GET /metrics` and counting HTTP requests for it.
    #[arg(long, env = "METRICS", default_value = "on", action = ArgAction::Set, value_parser = BoolishValueParser::new())]
    pub metrics: bool,

    /// Folder of the built web app, served at `/`.
    #[arg(long, env = "STATIC_DIR", default_value = "frontend/dist")]
    pub static_dir: PathBuf,

    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "WORKERS")]
    pub workers: Option<usize>,

    /// Seconds to let requests finish after SIGTERM before exiting.
    #[arg(long, env = "SHUTDOWN_TIMEOUT_SECS", default_value_t = 10)]
    pub shutdown_timeout_secs: u64,
}

fn parse_proxy(s: &str) -> Result<IpNet, String> {
    let s = s.trim();
    s.parse::<IpNet>()
        .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("`{s}` is neither an IP address nor a CIDR range"))
}

/// Which database a `DATABASE_URL` points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseTarget {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Settings {
    /// The settings as the environment gives them, with nothing on the command line.
    pub fn from_env() -> Result<Self, clap::Error> {
        #[derive(clap::Parser)]
        struct Only {
            #[command(flatten)]
            settings: Settings,
        }
        <Only as clap::Parser>::try_parse_from(["gifchat"]).map(|o| o.settings)
    }

    pub fn database(&self) -> DatabaseTarget {
        match self.database_url.as_deref() {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                DatabaseTarget::Postgres(url.to_owned())
            }
            Some(url) => {
                DatabaseTarget::Sqlite(PathBuf::from(url.strip_prefix("sqlite://").unwrap_or(url)))
            }
            None => DatabaseTarget::Sqlite(self.data_dir.join("gifchat.db")),
        }
    }

    pub fn upload_dir(&self) -> PathBuf {
        self.upload_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("gifs"))
    }
}
