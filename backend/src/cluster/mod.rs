//! Several instances behind one load balancer, sharing PostgreSQL and Redis.
//!
//! Redis carries two things:
//! - **the event bus**, one pub/sub channel. An instance delivers an event to
//!   its own sockets at once and publishes it; the other instances deliver
//!   it to theirs. Chats carry their seq, and each socket puts chats in seq
//!   order itself, reading any it missed from the database (see
//!   `realtime::socket`), so a lost or late message never loses a chat.
//! - **presence** (`scripts`): members, capacity, leave graces, instance
//!   leases and empty rooms, each change one atomic script.
//!
//! The database stays the source of truth for rooms and chats. When Redis is
//! unreachable, HTTP keeps working, `/readyz` says not ready, and joins
//! answer `unavailable`; when it is back, the bus resubscribes, and the
//! lease renewal notices a lost lease and restores this instance's presence.

mod bus;
mod scripts;

use crate::sync::LockOrRecover;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use bytestring::ByteString;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{FromRedisValue, Script, ScriptInvocation};
use tokio::sync::mpsc;

use crate::error::{AppError, AppResult};

pub use bus::Route;

/// What an instance gives the cluster: delivery of the other instances'
/// events, its own presence for the lease, and what to do about members and
/// rooms the sweep finds gone. The cluster holds it weakly.
pub trait Host: Send + Sync + 'static {
    /// Hands another instance's event to this instance's sockets.
    fn deliver(&self, route: Route, frame: ByteString);
    /// The (room, user) pairs present on this instance.
    fn local_presence(&self) -> Vec<(String, String)>;
    /// A member's leave grace ran out on every instance; `count` members
    /// remain.
    fn member_left(self: Arc<Self>, room: String, user: String, count: usize);
    /// A room has no members left on any instance.
    fn room_empty(self: Arc<Self>, room: String);
}

/// How often each instance sweeps for ended graces and dead instances.
const SWEEP_EVERY: Duration = Duration::from_millis(500);
const SWEEP_BATCH: usize = 200;
/// Redis commands give up after this long, so a dead Redis fails requests
/// quickly instead of holding them.
const REDIS_TIMEOUT: Duration = Duration::from_secs(2);

struct Scripts {
    join: Script,
    leave: Script,
    restore: Script,
    renew: Script,
    release: Script,
    kick: Script,
    forget_room: Script,
    sweep: Script,
}

pub struct Cluster {
    /// This process's id: random per start.
    pub instance: String,
    prefix: String,
    client: redis::Client,
    redis: ConnectionManager,
    scripts: Scripts,
    bus: mpsc::Sender<bus::Message>,
    bus_rx: std::sync::Mutex<Option<mpsc::Receiver<bus::Message>>>,
    subscribed: AtomicBool,
    lease_ms: u64,
    leave_grace_ms: u64,
    empty_grace_ms: u64,
}

/// What one sweep handed to this instance.
#[derive(Debug, Default)]
pub struct Sweep {
    /// `(room, user, member_count)`: members whose leave grace ended.
    pub left: Vec<(String, String, usize)>,
    /// Rooms empty for their whole grace: this instance deletes them.
    pub empty: Vec<String>,
}

fn unavailable(e: redis::RedisError) -> AppError {
    AppError::Unavailable(anyhow::Error::new(e).context("presence (Redis) is unreachable"))
}

impl Cluster {
    pub async fn connect(url: &str, settings: &crate::config::Settings) -> anyhow::Result<Self> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(REDIS_TIMEOUT))
            .set_response_timeout(Some(REDIS_TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_secs(1));
        let redis = client.get_connection_manager_with_config(config).await?;
        let (bus, bus_rx) = mpsc::channel(bus::QUEUE);
        Ok(Self {
            instance: crate::domain::ids::new_id(),
            prefix: format!("{}:", settings.redis_prefix),
            client,
            redis,
            scripts: Scripts {
                join: scripts::join(),
                leave: scripts::leave(),
                restore: scripts::restore(),
                renew: scripts::renew(),
                release: scripts::release(),
                kick: scripts::kick(),
                forget_room: scripts::forget_room(),
                sweep: scripts::sweep(),
            },
            bus,
            bus_rx: std::sync::Mutex::new(Some(bus_rx)),
            subscribed: AtomicBool::new(false),
            lease_ms: settings.instance_lease_secs * 1000,
            leave_grace_ms: settings.leave_grace_secs * 1000,
            empty_grace_ms: settings.room_empty_grace_secs * 1000,
        })
    }

    fn channel(&self) -> String {
        format!("{}events", self.prefix)
    }

    fn members_key(&self, room: &str) -> String {
        format!("{}m:{room}", self.prefix)
    }

    /// A call of `script` with the key prefix as its first argument, as
    /// every script in `scripts` expects.
    fn call<'a>(&'a self, script: &'a Script) -> ScriptInvocation<'a> {
        let mut call = script.prepare_invoke();
        call.arg(&self.prefix);
        call
    }

    async fn invoke<T: FromRedisValue>(&self, call: &ScriptInvocation<'_>) -> AppResult<T> {
        call.invoke_async(&mut self.redis.clone())
            .await
            .map_err(unavailable)
    }

    /// Starts the bus, the lease and the sweep. They hold the host weakly
    /// and end when it is gone.
    pub async fn start(self: &Arc<Self>, host: Weak<dyn Host>) -> anyhow::Result<()> {
        self.restore(&[]).await?;
        let rx = self
            .bus_rx
            .lock_or_recover()
            .take()
            .ok_or_else(|| anyhow::anyhow!("the cluster was started twice"))?;
        tokio::spawn(bus::publish_loop(self.clone(), rx));
        tokio::spawn(bus::subscribe_loop(self.clone(), host.clone()));
        tokio::spawn(lease_loop(self.clone(), host.clone()));
        tokio::spawn(sweep_loop(self.clone(), host));
        Ok(())
    }

    /// Takes a seat in `room` for `user` (a connection on this instance).
    /// `Ok(None)` when the room is full.
    pub async fn join(
        &self,
        room: &str,
        user: &str,
        capacity: usize,
    ) -> AppResult<Option<(bool, usize)>> {
        let (status, count): (i64, i64) = self
            .invoke(
                self.call(&self.scripts.join)
                    .arg(room)
                    .arg(user)
                    .arg(capacity)
                    .arg(&self.instance),
            )
            .await?;
        Ok((status >= 0).then_some((status == 1, count.max(0) as usize)))
    }

    /// The user's last connection to `room` on this instance went.
    pub async fn leave(&self, room: &str, user: &str) -> AppResult<()> {
        let _: i64 = self
            .invoke(
                self.call(&self.scripts.leave)
                    .arg(room)
                    .arg(user)
                    .arg(&self.instance)
                    .arg(self.leave_grace_ms),
            )
            .await?;
        Ok(())
    }

    /// Registers this instance with its lease and asserts `present`.
    pub async fn restore(&self, present: &[(String, String)]) -> AppResult<()> {
        let mut call = self.call(&self.scripts.restore);
        call.arg(&self.instance).arg(self.lease_ms);
        for (room, user) in present {
            call.arg(room).arg(user);
        }
        let _: i64 = self.invoke(&call).await?;
        Ok(())
    }

    /// Renews the lease; `false` if it had run out.
    async fn renew(&self) -> AppResult<bool> {
        let kept: i64 = self
            .invoke(
                self.call(&self.scripts.renew)
                    .arg(&self.instance)
                    .arg(self.lease_ms),
            )
            .await?;
        Ok(kept == 1)
    }

    /// Gives up this instance's presence on a clean shutdown.
    pub async fn release(&self) -> AppResult<()> {
        let _: i64 = self
            .invoke(
                self.call(&self.scripts.release)
                    .arg(&self.instance)
                    .arg(self.leave_grace_ms),
            )
            .await?;
        Ok(())
    }

    /// Removes `user` from `room` at once. `Some(member_count)` if they were in it.
    pub async fn kick(&self, room: &str, user: &str) -> AppResult<Option<usize>> {
        let count: i64 = self
            .invoke(
                self.call(&self.scripts.kick)
                    .arg(room)
                    .arg(user)
                    .arg(self.empty_grace_ms),
            )
            .await?;
        Ok((count >= 0).then_some(count as usize))
    }

    pub async fn forget_room(&self, room: &str) -> AppResult<()> {
        let _: i64 = self
            .invoke(self.call(&self.scripts.forget_room).arg(room))
            .await?;
        Ok(())
    }

    async fn sweep(&self) -> AppResult<Sweep> {
        let (left, empty): (Vec<String>, Vec<String>) = self
            .invoke(
                self.call(&self.scripts.sweep)
                    .arg(self.leave_grace_ms)
                    .arg(self.empty_grace_ms)
                    .arg(SWEEP_BATCH),
            )
            .await?;
        let left = left
            .chunks_exact(3)
            .map(|c| (c[0].clone(), c[1].clone(), c[2].parse().unwrap_or(0)))
            .collect();
        Ok(Sweep { left, empty })
    }

    /// Members of each room, counted across instances.
    pub async fn counts(&self, rooms: &[&str]) -> AppResult<Vec<usize>> {
        if rooms.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for room in rooms {
            pipe.zcard(self.members_key(room));
        }
        pipe.query_async(&mut self.redis.clone())
            .await
            .map_err(unavailable)
    }

    /// Member ids in the order they arrived.
    pub async fn members(&self, room: &str) -> AppResult<Vec<String>> {
        redis::cmd("ZRANGE")
            .arg(self.members_key(room))
            .arg(0)
            .arg(-1)
            .query_async(&mut self.redis.clone())
            .await
            .map_err(unavailable)
    }

    /// Those of `rooms` where `user` is a member, in one round trip.
    pub async fn rooms_with_member(&self, rooms: &[String], user: &str) -> AppResult<Vec<String>> {
        if rooms.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for room in rooms {
            pipe.zscore(self.members_key(room), user);
        }
        let scores: Vec<Option<f64>> = pipe
            .query_async(&mut self.redis.clone())
            .await
            .map_err(unavailable)?;
        Ok(rooms
            .iter()
            .zip(scores)
            .filter(|(_, score)| score.is_some())
            .map(|(room, _)| room.clone())
            .collect())
    }

    pub async fn is_member(&self, room: &str, user: &str) -> AppResult<bool> {
        let score: Option<f64> = redis::cmd("ZSCORE")
            .arg(self.members_key(room))
            .arg(user)
            .query_async(&mut self.redis.clone())
            .await
            .map_err(unavailable)?;
        Ok(score.is_some())
    }

    /// Whether `user` holds a seat in `room` or one is free, in one round trip.
    pub async fn has_seat_for(&self, room: &str, user: &str, capacity: usize) -> AppResult<bool> {
        let key = self.members_key(room);
        let (score, count): (Option<f64>, usize) = redis::pipe()
            .zscore(&key, user)
            .zcard(&key)
            .query_async(&mut self.redis.clone())
            .await
            .map_err(unavailable)?;
        Ok(score.is_some() || count < capacity)
    }

    /// Whether Redis answers and the bus is subscribed.
    pub async fn ping(&self) -> AppResult<()> {
        let pong: String = redis::cmd("PING")
            .query_async(&mut self.redis.clone())
            .await
            .map_err(unavailable)?;
        if pong != "PONG" || !self.subscribed.load(Ordering::Relaxed) {
            return Err(AppError::Unavailable(anyhow::anyhow!(
                "the event bus (Redis) is not subscribed"
            )));
        }
        Ok(())
    }

    /// Publishes an event for the other instances. Never blocks: when the
    /// queue is full (Redis gone for long), the event is dropped, and
    /// sockets recover any chat in it from the database by seq.
    pub fn publish(&self, route: Route, frame: &str) {
        let message = bus::Message::new(&self.instance, route, frame);
        if self.bus.try_send(message).is_err() {
            log::debug!("event bus queue full: dropping an event");
        }
    }
}

async fn lease_loop(cluster: Arc<Cluster>, host: Weak<dyn Host>) {
    let every = Duration::from_millis((cluster.lease_ms / 3).max(500));
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failing = false;
    loop {
        tick.tick().await;
        let Some(host) = host.upgrade() else { return };
        let outcome = match cluster.renew().await {
            Ok(true) => Ok(()),
            Ok(false) => {
                let present = host.local_presence();
                log::warn!(
                    "instance lease had run out; restoring presence for {} members",
                    present.len()
                );
                cluster.restore(&present).await
            }
            Err(e) => Err(e),
        };
        match outcome {
            Ok(()) if failing => {
                log::info!("Redis is reachable again");
                failing = false;
            }
            Ok(()) => {}
            Err(e) if !failing => {
                log::warn!("cannot renew the instance lease: {e}");
                failing = true;
            }
            Err(_) => {}
        }
    }
}

async fn sweep_loop(cluster: Arc<Cluster>, host: Weak<dyn Host>) {
    let mut tick = tokio::time::interval(SWEEP_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(host) = host.upgrade() else { return };
        let Ok(found) = cluster.sweep().await else {
            continue;
        };
        for (room, user, count) in found.left {
            host.clone().member_left(room, user, count);
        }
        for room in found.empty {
            host.clone().room_empty(room);
        }
    }
}
