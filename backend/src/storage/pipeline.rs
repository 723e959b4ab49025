//! The media pipeline: after a GIF is stored (its upload already
//! answered), its renditions are encoded here, off the API, by
//! `MEDIA_WORKERS` threads at the lowest CPU priority, each GIF within
//! `MEDIA_BUDGET_SECS` of CPU time (a busy machine slows encoding down but
//! does not cost a GIF its rendition). A GIF the decoders refuse, or that
//! panics them, is marked processed with what could be made, and never
//! holds the pass up. A
//! rendition is kept only if it is smaller than the GIF. When they are in
//! place, every chat showing the GIF takes a new rev and its readers get
//! `chat_updated` with the renditions.
//!
//! Uploads hand their GIF over through a bounded queue; one that finds the
//! queue full leaves its GIF to the pass. The pass runs at start and
//! whenever the workers are idle: it takes the GIFs not processed yet,
//! oldest first (those stored before renditions existed, those whose
//! instance died mid-encoding), so it resumes wherever it stopped.

use std::collections::HashSet;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use crate::db::gifs as gif_rows;
use crate::db::models::GifVariant;
use crate::error::{AppError, AppResult};
use crate::realtime::append::{Change, ChangePost, Post};
use crate::state::AppState;
use crate::sync::LockOrRecover;

use super::gifs::{poster_name, webp_name};
use super::media;

/// GIFs waiting for a worker; past this, uploads leave theirs to the pass.
const QUEUE: usize = 256;
/// How long idle workers wait before looking for unprocessed GIFs.
const IDLE: Duration = Duration::from_secs(60);
/// GIFs one look of the pass takes.
const PASS_BATCH: i64 = 32;
/// Chats one GIF's renditions are announced to, newest first; older ones
/// show them when next loaded.
const ANNOUNCED: usize = 500;

/// Where uploads hand their GIFs to the workers.
#[derive(Clone)]
pub struct MediaQueue {
    tx: Option<SyncSender<String>>,
}

impl MediaQueue {
    /// A queue and its receiving end, for [`start`].
    pub fn new(workers: u32) -> (Self, Option<Receiver<String>>) {
        if workers == 0 {
            return (Self { tx: None }, None);
        }
        let (tx, rx) = mpsc::sync_channel(QUEUE);
        (Self { tx: Some(tx) }, Some(rx))
    }

    /// Asks for renditions of a stored GIF; never waits.
    pub fn enqueue(&self, file: &str) {
        if let Some(tx) = &self.tx {
            if tx.try_send(file.to_owned()).is_err() {
                log::info!("media queue full: {file} is left to the media pass");
                count("queue_full");
            }
        }
    }
}

/// Starts the workers. They stop when the state is dropped.
pub fn start(rx: Receiver<String>, state: Weak<AppState>, workers: u32) -> std::io::Result<()> {
    let rx = Arc::new(Mutex::new(rx));
    let busy: Arc<Mutex<HashSet<String>>> = Arc::default();
    let runtime = tokio::runtime::Handle::current();
    for n in 0..workers {
        let (rx, state, busy, runtime) = (rx.clone(), state.clone(), busy.clone(), runtime.clone());
        std::thread::Builder::new()
            .name(format!("media-{n}"))
            .spawn(move || {
                lowest_priority();
                // The first look of the pass is right away.
                let mut next = Err(RecvTimeoutError::Timeout);
                loop {
                    let (files, from_pass) = match next {
                        Ok(file) => (vec![file], false),
                        Err(RecvTimeoutError::Disconnected) => return,
                        Err(RecvTimeoutError::Timeout) => match state.upgrade() {
                            Some(state) => (unprocessed(&state), true),
                            None => return,
                        },
                    };
                    // A full batch of the pass: more are waiting, look again
                    // at once rather than after a minute.
                    let more = from_pass && files.len() as i64 == PASS_BATCH;
                    for file in files {
                        let Some(state) = state.upgrade() else { return };
                        if !busy.lock_or_recover().insert(file.clone()) {
                            continue;
                        }
                        let started = Instant::now();
                        let done = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            process(&state, &runtime, &file)
                        }))
                        .unwrap_or_else(|_| {
                            Err(AppError::Internal(anyhow::anyhow!(
                                "a decoder or encoder panicked"
                            )))
                        });
                        match done {
                            Ok(Some((result, made))) => {
                                count(result);
                                crate::metrics::metrics()
                                    .media_seconds
                                    .observe(started.elapsed().as_secs_f64());
                                log::info!(
                                    "media for {file}: {made} in {} ms",
                                    started.elapsed().as_millis()
                                );
                            }
                            Ok(None) => {}
                            Err(e) => {
                                count("failed");
                                log::warn!("media for {file} failed: {e:?}");
                            }
                        }
                        busy.lock_or_recover().remove(&file);
                    }
                    next = if more {
                        rx.lock_or_recover().try_recv().map_err(|e| match e {
                            mpsc::TryRecvError::Empty => RecvTimeoutError::Timeout,
                            mpsc::TryRecvError::Disconnected => RecvTimeoutError::Disconnected,
                        })
                    } else {
                        rx.lock_or_recover().recv_timeout(IDLE)
                    };
                }
            })?;
    }
    Ok(())
}

fn count(result: &str) {
    crate::metrics::metrics()
        .media
        .with_label_values(&[result])
        .inc();
}

/// Puts the calling thread at the lowest CPU priority (nice 19), so that
/// encoding takes only what the API and upload checks leave idle.
fn lowest_priority() {
    #[cfg(target_os = "linux")]
    {
        // On Linux a nice value is a thread's own.
        // SAFETY: plain system calls on the calling thread, no memory shared.
        let done = unsafe {
            let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
            libc::setpriority(libc::PRIO_PROCESS, tid, 19)
        };
        if done != 0 {
            log::warn!(
                "media workers keep their priority: {}",
                std::io::Error::last_os_error()
            );
        }
    }
}

fn unprocessed(state: &AppState) -> Vec<String> {
    match state
        .db
        .read_blocking(|conn| Ok(gif_rows::unprocessed(conn, PASS_BATCH)?))
    {
        Ok(rows) => {
            if !rows.is_empty() {
                log::info!("media pass: {} GIFs without renditions yet", rows.len());
            }
            rows.into_iter().map(|g| g.file).collect()
        }
        Err(e) => {
            log::warn!("media pass could not list GIFs: {e}");
            Vec::new()
        }
    }
}

/// Makes what GIF `file` lacks (a poster, renditions), places it and
/// announces it: the result (as counted) and what was made, or None if
/// there was nothing to do.
fn process(
    state: &AppState,
    runtime: &tokio::runtime::Handle,
    file: &str,
) -> AppResult<Option<(&'static str, String)>> {
    let store = &state.gifs;
    let Some(row) = state
        .db
        .read_blocking(|conn| Ok(gif_rows::find(conn, file)?))?
    else {
        return Ok(None);
    };
    if row.processed {
        return Ok(None);
    }
    let path = store.dir().join(file);
    let mut notes = Vec::new();
    // A file its checks passed but these decoders refuse keeps what it has
    // and is marked processed all the same, so it is never tried again.
    let poster = match row.poster {
        Some(_) => None,
        None => match media::poster(path.as_path()) {
            Ok(png) => Some(png),
            Err(e) => {
                notes.push(format!("no poster ({e})"));
                None
            }
        },
    };
    let settings = &state.settings;
    let budget = Duration::from_secs(settings.media_budget_secs);
    let mut made = Vec::new();
    let result = match media::webp(path.as_path(), settings.webp_quality, budget) {
        Ok(bytes) if (bytes.len() as i64) < row.bytes => {
            notes.push(format!("WebP {} of {} bytes", bytes.len(), row.bytes));
            let variant = GifVariant {
                file: webp_name(file),
                gif_file: file.to_owned(),
                kind: "image/webp".into(),
                width: row.width,
                height: row.height,
                bytes: bytes.len() as i64,
            };
            made.push((variant, bytes));
            "kept"
        }
        Ok(bytes) => {
            notes.push(format!(
                "no rendition (WebP {} ≥ GIF {} bytes)",
                bytes.len(),
                row.bytes
            ));
            "not_smaller"
        }
        // Given up: served as uploaded, and not tried again.
        Err(e @ media::MediaError::OverBudget(_)) => {
            notes.push(format!("no rendition ({e})"));
            "over_budget"
        }
        Err(e) => {
            notes.push(format!("no rendition ({e})"));
            "failed"
        }
    };
    if poster.is_some() {
        notes.push(format!("poster {}", poster_name(file)));
    }
    let placed = state
        .db
        .write_blocking(|conn| store.place_media(conn, file, poster.as_deref(), Some(&made)))?;
    if !placed {
        return Ok(None);
    }
    if !made.is_empty() || poster.is_some() {
        announce(state, runtime, file)?;
    }
    Ok(Some((result, notes.join(", "))))
}

/// Gives every chat showing `file` a new rev, so that its readers are sent
/// it again (`chat_updated`) with the renditions and catch up on resume.
fn announce(state: &AppState, runtime: &tokio::runtime::Handle, file: &str) -> AppResult<()> {
    let showing = state
        .db
        .read_blocking(|conn| Ok(gif_rows::chats_showing(conn, file, ANNOUNCED as i64)?))?;
    for (room_id, seq, author) in showing {
        let Some(user_id) = author else { continue };
        let post = Post::Change(ChangePost {
            room_id,
            user_id,
            seq,
            change: Change::Media,
        });
        if let Err(e) = runtime.block_on(state.appender.post(post)) {
            log::debug!("media for {file} not announced to one chat: {e}");
        }
    }
    Ok(())
}
