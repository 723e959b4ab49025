//! What every handler shares.

use std::sync::Mutex;

use crate::config::Settings;
use crate::db::Db;
use crate::domain::membership::Membership;
use crate::rate_limit::RateLimits;
use crate::storage::gifs::GifStore;

pub struct AppState {
    pub settings: Settings,
    pub db: Db,
    pub gifs: GifStore,
    pub limits: RateLimits,
    /// Who is in which room on this instance.
    pub presence: Mutex<Membership>,
}

impl AppState {
    pub fn member_count(&self, room_id: &str) -> usize {
        self.presence().count(room_id)
    }

    pub fn presence(&self) -> std::sync::MutexGuard<'_, Membership> {
        // A panic while holding the lock cannot leave the map half-updated in
        // a way worse than losing that one change, so carry on.
        self.presence
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
