//! Per-key rate limits (GCRA, from `governor`). `RATE_LIMITS=off` disables all.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::config::Settings;
use crate::error::AppError;
use crate::sync::LockOrRecover;

pub struct Limiter<K: Hash + Eq + Clone = String> {
    inner: Option<DefaultKeyedRateLimiter<K>>,
    /// What it limits, as `gifchat_rate_limited_total` labels it.
    route: &'static str,
}

impl<K: Hash + Eq + Clone> Limiter<K> {
    fn per_minute(route: &'static str, enabled: bool, n: u32) -> Self {
        let inner = NonZeroU32::new(n)
            .filter(|_| enabled)
            .map(|n| DefaultKeyedRateLimiter::keyed(Quota::per_minute(n)));
        Self { inner, route }
    }

    /// Counts one event for `key`; `rate_limited` with `Retry-After` when over.
    pub fn check<Q: ToOwned<Owned = K> + ?Sized>(&self, key: &Q) -> Result<(), AppError> {
        let Some(limiter) = &self.inner else {
            return Ok(());
        };
        limiter.check_key(&key.to_owned()).map_err(|not_until| {
            crate::metrics::metrics()
                .rate_limited
                .with_label_values(&[self.route])
                .inc();
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            AppError::RateLimited {
                retry_after_secs: wait.as_secs().max(1),
            }
        })
    }

    /// Forgets keys whose limits have fully recovered, bounding memory.
    pub fn shrink(&self) {
        if let Some(limiter) = &self.inner {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

/// How many connections of one kind (sockets, event streams) each client
/// address holds open, so that none holds more than its share.
#[derive(Default, Clone)]
pub struct PerAddress(Arc<Mutex<HashMap<IpAddr, usize>>>);

/// One connection counted under its client's [`address_key`] until dropped.
pub struct AddressSlot {
    counts: PerAddress,
    key: IpAddr,
}

/// A client address already holds its most connections of this kind.
#[derive(Debug, PartialEq, Eq)]
pub struct TooMany;

impl TooMany {
    /// The answer to the refused connection, counted in
    /// `gifchat_rate_limited_total` under `route`: try again in a few
    /// seconds, once one of its others has closed.
    pub fn refusal(self, route: &'static str) -> AppError {
        crate::metrics::metrics()
            .rate_limited
            .with_label_values(&[route])
            .inc();
        AppError::RateLimited {
            retry_after_secs: 5,
        }
    }
}

impl PerAddress {
    /// Counts one more for `ip`, unless `max` are open already.
    pub fn take(&self, ip: IpAddr, max: usize) -> Result<AddressSlot, TooMany> {
        let key = address_key(ip);
        let mut counts = self.0.lock_or_recover();
        let open = counts.entry(key).or_default();
        if *open >= max {
            return Err(TooMany);
        }
        *open += 1;
        Ok(AddressSlot {
            counts: self.clone(),
            key,
        })
    }

    /// How many are open for `ip`.
    pub fn count(&self, ip: IpAddr) -> usize {
        let counts = self.0.lock_or_recover();
        counts.get(&address_key(ip)).copied().unwrap_or(0)
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        // Nothing panics while holding the lock.
        let mut counts = self.counts.0.lock_or_recover();
        if let Some(open) = counts.get_mut(&self.key) {
            *open -= 1;
            if *open == 0 {
                counts.remove(&self.key);
            }
        }
    }
}

/// The key a client address is limited by: the address itself, or for IPv6
/// its /64 network, which one subscriber usually holds whole.
pub fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(bits.into())
        }
    }
}

/// The service's rate limits, each documented with its setting.
pub struct RateLimits {
    /// Chats and GIFs, per user.
    pub chats: Limiter,
    /// Chats and GIFs, per client address, so that posting without a
    /// cookie (a new user each time) is limited too.
    pub chats_per_address: Limiter<IpAddr>,
    /// Edits, deletions and reactions, per user.
    pub changes: Limiter,
    /// Room creation, per client address.
    pub rooms: Limiter,
    /// Join attempts (password checks), per client address.
    pub joins: Limiter,
}

impl RateLimits {
    pub fn new(s: &Settings) -> Self {
        Self {
            chats: Limiter::per_minute("chats", s.rate_limits, s.rate_chats_per_min),
            chats_per_address: Limiter::per_minute(
                "chats_per_address",
                s.rate_limits,
                s.rate_chats_per_ip_per_min,
            ),
            changes: Limiter::per_minute("chat_changes", s.rate_limits, s.rate_changes_per_min),
            rooms: Limiter::per_minute("create_room", s.rate_limits, s.rate_rooms_per_min),
            joins: Limiter::per_minute("join_room", s.rate_limits, s.rate_joins_per_min),
        }
    }

    /// Counts one chat or GIF of `user` from `address`, before anything is
    /// written for it.
    pub fn check_post(&self, user: &str, address: Option<IpAddr>) -> Result<(), AppError> {
        if let Some(ip) = address {
            self.chats_per_address.check(&address_key(ip))?;
        }
        self.chats.check(user)
    }

    /// Counts one edit, deletion or reaction of `user` from `address`
    /// (whose budget it shares with posts), before anything is written.
    pub fn check_change(&self, user: &str, address: Option<IpAddr>) -> Result<(), AppError> {
        if let Some(ip) = address {
            self.chats_per_address.check(&address_key(ip))?;
        }
        self.changes.check(user)
    }

    pub fn shrink(&self) {
        self.chats.shrink();
        self.changes.shrink();
        self.chats_per_address.shrink();
        self.rooms.shrink();
        self.joins.shrink();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_subscriber_is_one_key() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(other));
        let v4: IpAddr = "203.0.113.7".parse().unwrap();
        assert_eq!(address_key(v4), v4);
    }
}
