//! Per-key rate limits (GCRA, from `governor`). `RATE_LIMITS=off` disables all.

use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::config::Settings;
use crate::error::AppError;

pub struct Limiter {
    inner: Option<DefaultKeyedRateLimiter<String>>,
}

impl Limiter {
    fn per_minute(enabled: bool, n: u32) -> Self {
        let inner = NonZeroU32::new(n)
            .filter(|_| enabled)
            .map(|n| DefaultKeyedRateLimiter::keyed(Quota::per_minute(n)));
        Self { inner }
    }

    /// Counts one event for `key`; `rate_limited` with `Retry-After` when over.
    pub fn check(&self, key: &str) -> Result<(), AppError> {
        let Some(limiter) = &self.inner else {
            return Ok(());
        };
        limiter.check_key(&key.to_owned()).map_err(|not_until| {
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

/// The service's rate limits, each documented with its setting.
pub struct RateLimits {
    /// Chats and GIFs, per user.
    pub chats: Limiter,
    /// Room creation, per client address.
    pub rooms: Limiter,
    /// Join attempts (password checks), per client address.
    pub joins: Limiter,
}

impl RateLimits {
    pub fn new(s: &Settings) -> Self {
        Self {
            chats: Limiter::per_minute(s.rate_limits, s.rate_chats_per_min),
            rooms: Limiter::per_minute(s.rate_limits, s.rate_rooms_per_min),
            joins: Limiter::per_minute(s.rate_limits, s.rate_joins_per_min),
        }
    }

    pub fn shrink(&self) {
        self.chats.shrink();
        self.rooms.shrink();
        self.joins.shrink();
    }
}
