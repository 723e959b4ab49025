//! A connection's outbound queue.
//!
//! The hub pushes every frame for a connection here, and the connection's
//! task takes them all at once. A push is a short lock and a `VecDeque`
//! push; the task is woken only when the queue goes from empty to not
//! empty, so a burst of frames costs one wake-up, and the task then swaps
//! the whole queue out under one lock. Frames are [`Outbound`]s, one
//! pointer each, so a queue holding a burst stays small.
//!
//! The queue is bounded in frames and in bytes (the frames' lengths, added
//! up as they are pushed): past either, a push is refused and the hub
//! closes the connection as too slow.

use crate::sync::LockOrRecover;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

use crate::realtime::delivery::frame::Outbound;

/// A queue left with more room than this after a burst gives it back.
const KEEP_CAPACITY: usize = 32;

#[derive(Default)]
struct State {
    frames: VecDeque<Outbound>,
    /// The length of every frame in `frames`, added up.
    bytes: usize,
    closed: bool,
}

struct Shared {
    state: Mutex<State>,
    ready: Notify,
    capacity: usize,
    max_bytes: usize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding the lock, and the state is valid at
        // every step anyway.
        self.state.lock_or_recover()
    }
}

/// The queue is full: the connection is not reading fast enough.
#[derive(Debug, PartialEq, Eq)]
pub struct Full;

/// The hub's end. Dropping it closes the queue; the task still receives what
/// was queued before.
pub struct Sender(Arc<Shared>);

/// The connection task's end.
pub struct Receiver {
    shared: Arc<Shared>,
    /// Frames taken from the queue and not yet handed out.
    taken: VecDeque<Outbound>,
}

/// A queue holding at most `capacity` frames and `max_bytes` bytes of them
/// (a lone frame always fits, whatever its length).
pub fn channel(capacity: usize, max_bytes: usize) -> (Sender, Receiver) {
    let shared = Arc::new(Shared {
        state: Mutex::default(),
        ready: Notify::new(),
        capacity: capacity.max(1),
        max_bytes,
    });
    (
        Sender(shared.clone()),
        Receiver {
            shared,
            taken: VecDeque::new(),
        },
    )
}

impl Sender {
    pub fn push(&self, frame: Outbound) -> Result<(), Full> {
        let was_empty = {
            let len = frame.text.len();
            let mut state = self.0.lock();
            if state.frames.len() >= self.0.capacity
                || (state.bytes + len > self.0.max_bytes && !state.frames.is_empty())
            {
                return Err(Full);
            }
            state.bytes += len;
            state.frames.push_back(frame);
            state.frames.len() == 1
        };
        if was_empty {
            // Stores a permit when the task is not waiting yet, so a frame
            // pushed between its check and its wait still wakes it.
            self.0.ready.notify_one();
        }
        Ok(())
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        self.0.lock().closed = true;
        self.0.ready.notify_one();
    }
}

impl Receiver {
    /// The next frame; `None` once the queue is closed and empty. Safe to
    /// cancel: a frame is only ever taken in the same poll that returns it.
    pub async fn recv(&mut self) -> Option<Outbound> {
        loop {
            if let Some(frame) = self.taken.pop_front() {
                return Some(frame);
            }
            let closed = self.take_queued();
            if self.taken.is_empty() {
                if closed {
                    return None;
                }
                self.shared.ready.notified().await;
            }
        }
    }

    /// The next frame if one is queued.
    pub fn try_recv(&mut self) -> Option<Outbound> {
        if self.taken.is_empty() {
            self.take_queued();
        }
        self.taken.pop_front()
    }

    /// Swaps the (empty) taken frames for the queued ones, under the one
    /// lock that also says whether the queue is closed.
    fn take_queued(&mut self) -> bool {
        if self.taken.capacity() > KEEP_CAPACITY {
            self.taken.shrink_to(KEEP_CAPACITY);
        }
        let mut state = self.shared.lock();
        std::mem::swap(&mut self.taken, &mut state.frames);
        state.bytes = 0;
        state.closed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::realtime::delivery::frame::FrameKind;
    use bytestring::ByteString;

    fn frame(s: &'static str) -> Outbound {
        Outbound::new(ByteString::from_static(s), FrameKind::Other)
    }

    #[test]
    fn frames_come_out_in_order_and_a_full_queue_refuses() {
        let (tx, mut rx) = channel(2, usize::MAX);
        tx.push(frame("a")).unwrap();
        tx.push(frame("b")).unwrap();
        assert_eq!(tx.push(frame("c")), Err(Full));
        assert_eq!(&*rx.try_recv().unwrap().text, "a");
        // Taken out of the queue: there is room again.
        tx.push(frame("d")).unwrap();
        tx.push(frame("e")).unwrap();
        let got: Vec<String> = std::iter::from_fn(|| rx.try_recv())
            .map(|f| f.text.to_string())
            .collect();
        assert_eq!(got, ["b", "d", "e"]);
    }

    #[test]
    fn the_queue_is_bounded_in_bytes_too() {
        let (tx, mut rx) = channel(100, 10);
        tx.push(frame("0123456")).unwrap();
        tx.push(frame("789")).unwrap();
        assert_eq!(tx.push(frame("x")), Err(Full), "11 bytes would be over 10");
        assert_eq!(&*rx.try_recv().unwrap().text, "0123456");
        // Taken out of the queue: its bytes no longer count.
        tx.push(frame("abcdefghij")).unwrap();
        assert_eq!(tx.push(frame("k")), Err(Full));
        let (tx, _rx) = channel(100, 10);
        tx.push(frame("a frame longer than the bound")).unwrap();
        assert_eq!(
            tx.push(frame("k")),
            Err(Full),
            "fits alone, nothing beside it"
        );
    }

    #[tokio::test]
    async fn a_waiting_task_wakes_for_each_frame_and_ends_after_the_close() {
        let (tx, mut rx) = channel(8, usize::MAX);
        let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel();
        let waiter = tokio::spawn(async move {
            while let Some(f) = rx.recv().await {
                let _ = seen_tx.send(f.text.to_string());
            }
        });
        let wait = std::time::Duration::from_secs(5);
        for s in ["x", "y"] {
            // Pushed from another thread while the task waits, as the chat
            // writer does; the queue stays open.
            let pushed = std::thread::scope(|t| t.spawn(|| tx.push(frame(s))).join());
            pushed.unwrap().unwrap();
            let got = tokio::time::timeout(wait, seen.recv()).await;
            assert_eq!(got.expect("the task woke").as_deref(), Some(s));
        }
        drop(tx);
        tokio::time::timeout(wait, waiter)
            .await
            .expect("the task ended after the close")
            .unwrap();
    }
}
