//! Wake-ups from other threads, batched into one per worker thread.
//!
//! The chat writer's thread publishes each committed batch to every
//! member's connection and then answers every post in it. Each of those
//! wakes a task on an actix worker thread, and a wake-up from another
//! thread costs a system call (the worker's event loop is woken through its
//! eventfd) and, where the writer and the worker share a core, a switch to
//! the worker and back: about one pair per post in fan-out into a room of
//! ten. Inside [`batch_wakeups`], waking a task wrapped in [`Batched`] only queues
//! its waker on the task's own worker thread (its inbox); when `batch_wakeups` ends,
//! each inbox that received any is woken once, and a task of its own wakes
//! the queued tasks there, which is a push onto the worker's local run
//! queue.
//!
//! Outside `batch_wakeups`, and for an inbox whose worker has stopped, a wake-up is
//! passed straight on.

use crate::sync::LockOrRecover;
use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Wake, Waker};

use futures_util::stream::Stream;
use tokio::sync::Notify;

/// A worker thread's queue of wake-ups handed in from other threads.
struct WorkerInbox {
    pending: Mutex<Vec<Waker>>,
    ring: Notify,
    /// The task that serves this inbox still runs.
    open: AtomicBool,
}

impl WorkerInbox {
    fn pending(&self) -> MutexGuard<'_, Vec<Waker>> {
        // Nothing panics while holding the lock.
        self.pending.lock_or_recover()
    }

    /// Wakes what was queued here, outside the lock. `spare` is an empty
    /// list to swap in, so the inbox's task keeps one allocation for good.
    fn wake_queued(&self, spare: &mut Vec<Waker>) {
        std::mem::swap(spare, &mut *self.pending());
        for waker in spare.drain(..) {
            waker.wake();
        }
    }
}

thread_local! {
    /// This worker thread's inbox, for the tasks that run on it.
    static INBOX: RefCell<Option<Arc<WorkerInbox>>> = const { RefCell::new(None) };
    /// Set while this thread is inside `batch_wakeups`: the inboxes to wake at its end.
    static BATCHING: RefCell<Option<Vec<Arc<WorkerInbox>>>> = const { RefCell::new(None) };
}

/// The current worker thread's inbox, started on first use. Must be called
/// from a task on a single-threaded runtime's local set, as every actix
/// worker's tasks are.
fn this_inbox() -> Arc<WorkerInbox> {
    INBOX.with(|cell| {
        let mut cell = cell.borrow_mut();
        if let Some(inbox) = cell.as_ref().filter(|h| h.open.load(Ordering::Acquire)) {
            return inbox.clone();
        }
        let inbox = Arc::new(WorkerInbox {
            pending: Mutex::new(Vec::new()),
            ring: Notify::new(),
            open: AtomicBool::new(true),
        });
        tokio::task::spawn_local(serve(inbox.clone()));
        *cell = Some(inbox.clone());
        inbox
    })
}

/// Marks the inbox closed when its task is dropped with its runtime.
struct Closing(Arc<WorkerInbox>);

impl Drop for Closing {
    fn drop(&mut self) {
        self.0.open.store(false, Ordering::Release);
        self.0.wake_queued(&mut Vec::new());
    }
}

/// The inbox's task: each time it is rung, wakes every queued task, on this
/// thread.
async fn serve(inbox: Arc<WorkerInbox>) {
    let inbox = Closing(inbox);
    let mut wakers = Vec::new();
    loop {
        inbox.0.ring.notified().await;
        inbox.0.wake_queued(&mut wakers);
    }
}

/// Runs `f`, holding back wake-ups of [`Batched`] tasks on other threads
/// until it returns, then waking each of their threads once. Nested calls
/// join the outermost one.
pub fn batch_wakeups<R>(f: impl FnOnce() -> R) -> R {
    let outermost = BATCHING.with(|g| {
        let mut g = g.borrow_mut();
        let outermost = g.is_none();
        if outermost {
            *g = Some(Vec::new());
        }
        outermost
    });
    if !outermost {
        return f();
    }
    /// Rings the inboxes even if `f` panics, so no wake-up is lost.
    struct WakeInboxes;
    impl Drop for WakeInboxes {
        fn drop(&mut self) {
            let inboxes = BATCHING.with(|g| g.borrow_mut().take()).unwrap_or_default();
            for inbox in inboxes {
                inbox.ring.notify_one();
                // Its task has stopped (the worker shut down while the
                // batch was batched): wake them from here.
                if !inbox.open.load(Ordering::Acquire) {
                    inbox.wake_queued(&mut Vec::new());
                }
            }
        }
    }
    let _wake_inboxes = WakeInboxes;
    f()
}

/// A task's waker, with the inbox it runs on.
struct InboxWaker {
    task: Waker,
    inbox: Arc<WorkerInbox>,
}

impl Wake for InboxWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let queued = BATCHING.with(|g| {
            let mut g = g.borrow_mut();
            let Some(inboxes) = g.as_mut() else {
                return false;
            };
            if !self.inbox.open.load(Ordering::Acquire) {
                return false;
            }
            self.inbox.pending().push(self.task.clone());
            if !inboxes.iter().any(|h| Arc::ptr_eq(h, &self.inbox)) {
                inboxes.push(self.inbox.clone());
            }
            true
        });
        if !queued {
            self.task.wake_by_ref();
        }
    }
}

pin_project_lite::pin_project! {
    /// A future (or stream) whose wake-ups from a thread inside [`batch_wakeups`]
    /// are batched. It must be polled on an actix worker (a runtime's local
    /// set).
    pub struct Batched<F> {
        #[pin]
        inner: F,
        // The waker handed to `inner`, and the task's own it wraps.
        waker: Option<(Waker, Waker)>,
    }
}

/// Wraps a future or a stream so that wake-ups batched by [`batch_wakeups`] reach
/// it through its worker's inbox.
pub fn batched<F>(inner: F) -> Batched<F> {
    Batched { inner, waker: None }
}

/// The waker to hand the inner future: the task's own, wrapped with this
/// thread's inbox, made again only when the task's waker changes.
fn wrapped<'a>(waker: &'a mut Option<(Waker, Waker)>, cx: &Context<'_>) -> &'a Waker {
    if !waker
        .as_ref()
        .is_some_and(|(_, task)| task.will_wake(cx.waker()))
    {
        *waker = None;
    }
    let (wrapped, _) = waker.get_or_insert_with(|| {
        let task = cx.waker().clone();
        let inbox = this_inbox();
        (
            Waker::from(Arc::new(InboxWaker {
                task: task.clone(),
                inbox,
            })),
            task,
        )
    });
    wrapped
}

impl<F: Future> Future for Batched<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let waker = wrapped(this.waker, cx);
        this.inner.poll(&mut Context::from_waker(waker))
    }
}

impl<S: Stream> Stream for Batched<S> {
    type Item = S::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let this = self.project();
        let waker = wrapped(this.waker, cx);
        this.inner.poll_next(&mut Context::from_waker(waker))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    use super::*;

    /// A waker that counts its wake-ups.
    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Runs `f` on a single-threaded runtime's local set, as actix does.
    fn on_worker<F: Future>(f: F) -> F::Output {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        tokio::task::LocalSet::new().block_on(&rt, f)
    }

    #[test]
    fn gathered_wakeups_reach_their_tasks() {
        on_worker(async {
            let mut senders = Vec::new();
            let mut tasks = Vec::new();
            for i in 0..8 {
                let (tx, rx) = tokio::sync::oneshot::channel::<usize>();
                senders.push(tx);
                tasks.push(tokio::task::spawn_local(batched(async move {
                    rx.await.map(|n| n == i)
                })));
            }
            // Let every task start waiting.
            tokio::task::yield_now().await;
            std::thread::spawn(move || {
                batch_wakeups(|| {
                    for (i, tx) in senders.into_iter().enumerate() {
                        tx.send(i).unwrap();
                    }
                })
            })
            .join()
            .unwrap();
            for task in tasks {
                let answer = tokio::time::timeout(Duration::from_secs(5), task)
                    .await
                    .expect("a batched wake-up arrived")
                    .unwrap();
                assert_eq!(answer, Ok(true));
            }
        });
    }

    #[test]
    fn inside_gather_a_wakeup_waits_for_its_end() {
        let (home_tx, home_rx) = std::sync::mpsc::channel();
        // A worker thread with an inbox; it stays up until told.
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let worker = std::thread::spawn(move || {
            on_worker(async move {
                home_tx.send(this_inbox()).unwrap();
                let _ = stop_rx.await;
            })
        });
        let inbox = home_rx.recv().unwrap();
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(Arc::new(InboxWaker {
            task: Waker::from(count.clone()),
            inbox: inbox.clone(),
        }));
        batch_wakeups(|| {
            waker.wake_by_ref();
            waker.wake_by_ref();
            assert_eq!(count.0.load(Ordering::SeqCst), 0, "held back");
            assert_eq!(inbox.pending().len(), 2);
        });
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while count.0.load(Ordering::SeqCst) < 2 {
            assert!(std::time::Instant::now() < deadline, "the inbox woke both");
            std::thread::sleep(Duration::from_millis(1));
        }
        // Outside `batch_wakeups`, straight on.
        waker.wake_by_ref();
        assert_eq!(count.0.load(Ordering::SeqCst), 3);
        // Once the worker has stopped, its inbox is closed and a batched
        // wake-up is passed straight on too.
        stop_tx.send(()).unwrap();
        worker.join().unwrap();
        assert!(!inbox.open.load(Ordering::Acquire));
        batch_wakeups(|| waker.wake_by_ref());
        assert_eq!(count.0.load(Ordering::SeqCst), 4);
    }
}
