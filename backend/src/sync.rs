//! Locking that survives a panic elsewhere.
//!
//! Every mutex in the service guards state that each critical section
//! leaves valid before it can panic (maps, queues, counters), so a lock
//! poisoned by a panicking thread still guards usable state: taking it
//! anyway keeps the rest of the service running instead of spreading the
//! panic to every later caller.

use std::sync::{Mutex, MutexGuard};

pub trait LockOrRecover<T> {
    /// The guard, also when another thread panicked while holding it.
    fn lock_or_recover(&self) -> MutexGuard<'_, T>;
}

impl<T> LockOrRecover<T> for Mutex<T> {
    fn lock_or_recover(&self) -> MutexGuard<'_, T> {
        self.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
