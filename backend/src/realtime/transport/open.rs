//! Which sockets are open: for a shutdown that lets their close frames out
//! before the server stops, and for the per-address cap (`WS_MAX_PER_IP`).

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

pub use crate::rate_limit::TooMany;
use crate::rate_limit::{AddressSlot, PerAddress};

/// Sockets whose connection is still open, so that shutdown can let their
/// close frames go out before the server stops, and so that one client
/// address cannot hold more than its share (`WS_MAX_PER_IP`).
#[derive(Default, Clone)]
pub struct OpenSockets(Arc<Open>);

#[derive(Default)]
struct Open {
    count: AtomicUsize,
    none_left: Notify,
    /// Shutting down: no new socket.
    refusing: AtomicBool,
    /// Open sockets by client address, for those counted by address.
    per_ip: PerAddress,
}

/// Counts one socket as open until dropped, and under its client's
/// address when it was opened with one.
pub struct OpenSocket {
    open: Arc<Open>,
    _address: Option<AddressSlot>,
}

impl OpenSockets {
    pub fn open(&self) -> OpenSocket {
        self.0.count.fetch_add(1, Ordering::SeqCst);
        OpenSocket {
            open: self.0.clone(),
            _address: None,
        }
    }

    /// Counts a socket from `ip`, unless `max` from it are open already.
    pub fn open_from(&self, ip: IpAddr, max: usize) -> Result<OpenSocket, TooMany> {
        let address = self.0.per_ip.take(ip, max)?;
        let mut socket = self.open();
        socket._address = Some(address);
        Ok(socket)
    }

    /// How many sockets counted under `ip` are open.
    pub fn open_from_count(&self, ip: IpAddr) -> usize {
        self.0.per_ip.count(ip)
    }

    /// From now on, new sockets are refused (shutdown).
    pub fn refuse_new(&self) {
        self.0.refusing.store(true, Ordering::SeqCst);
    }

    pub fn refusing(&self) -> bool {
        self.0.refusing.load(Ordering::SeqCst)
    }

    pub fn count(&self) -> usize {
        self.0.count.load(Ordering::SeqCst)
    }

    /// Waits until no socket is open, or `limit` has passed; says which.
    pub async fn all_closed(&self, limit: Duration) -> bool {
        let wait = async {
            loop {
                let none_left = self.0.none_left.notified();
                if self.count() == 0 {
                    return;
                }
                none_left.await;
            }
        };
        actix_web::rt::time::timeout(limit, wait).await.is_ok()
    }
}

impl Drop for OpenSocket {
    fn drop(&mut self) {
        if self.open.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.open.none_left.notify_waiters();
        }
    }
}
