//! GIF files: streamed to a temporary file while counting and hashing,
//! decoded frame by frame to prove they are GIFs, and stored under their
//! SHA-256 with an atomic rename, so identical uploads share one file.
//!
//! Decoding is CPU work of up to `GIF_MAX_PIXELS` per upload, so it runs on
//! a bounded pool: at most one decode per core but one at a time, however
//! many uploads arrive, leaving the rest of the machine to the API.
//!
//! Temporary files live in a folder of this process's own,
//! `UPLOAD_DIR/.tmp/{random}/`, which holds an exclusive file lock
//! (`.lock`) for as long as the process runs. At start, every folder whose
//! lock can be taken belonged to a process that has died (the kernel drops
//! a dead process's locks), so it is deleted with whatever upload it was
//! receiving; folders of instances still running, sharing the upload
//! folder, are left alone.
//!
//! Files and their `gifs` rows change together under one lock: an upload
//! records its row and renames its file while holding it; a deletion drops
//! unreferenced rows while holding it and, once that has committed, takes
//! it again to unlink the files of GIFs that still have no row (an upload
//! of the same bytes meanwhile keeps its file). No interleaving can
//! therefore delete a file that a chat refers to, and a transaction that
//! fails after dropping rows leaves their files; what a crash between the
//! commit and the unlink leaves is a file without a row, harmless. The lock is a mutex in the process and, on
//! PostgreSQL, also a transaction-scoped advisory lock, so instances sharing
//! one `UPLOAD_DIR` and one database exclude each other too.

use crate::sync::LockOrRecover;
use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::num::NonZeroU64;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_multipart::Field;
use diesel::Connection;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use tempfile::NamedTempFile;
use tokio::sync::Semaphore;

use crate::db::models::{Gif, GifVariant};
use crate::db::{self, gifs as gif_rows, now_millis, DbConnection};
use crate::domain::validation::GifName;
use crate::error::{AppError, AppResult};
use crate::extract::payload_error;

#[derive(Debug, Clone, Copy)]
pub struct GifLimits {
    pub max_bytes: u64,
    pub max_dimension: u16,
    pub max_frames: u32,
    /// Most decoded pixels: the logical screen's width × height, once per frame.
    pub max_pixels: u64,
}

#[derive(Clone)]
pub struct GifStore {
    dir: PathBuf,
    limits: GifLimits,
    lock: Arc<Mutex<()>>,
    /// Decodes allowed at once.
    decoders: Arc<Semaphore>,
    /// This process's temporary folder, locked while any clone lives.
    claim: Arc<TempClaim>,
}

/// Name of the lock file in each process's temporary folder.
const CLAIM_LOCK: &str = ".lock";
/// Prefix of a temporary folder being set up, before its lock is held.
const CLAIM_PENDING: &str = ".new-";
/// Leftovers of another layout (loose files, a folder whose lock is gone)
/// are deleted once they are this old.
const STALE: Duration = Duration::from_secs(3600);

/// A process's own temporary folder and the lock that says it is alive.
struct TempClaim {
    path: PathBuf,
    _lock: File,
}

impl TempClaim {
    /// Creates `root/{random}/` holding its lock. The folder is set up under
    /// a pending name and renamed only once locked, so no sweeper ever sees
    /// it unlocked.
    fn new(root: &Path) -> std::io::Result<Self> {
        let name = uuid::Uuid::new_v4().simple().to_string();
        let pending = root.join(format!("{CLAIM_PENDING}{name}"));
        std::fs::create_dir(&pending)?;
        let lock = File::create(pending.join(CLAIM_LOCK))?;
        lock.try_lock().map_err(std::io::Error::other)?;
        let path = root.join(name);
        std::fs::rename(&pending, &path)?;
        Ok(Self { path, _lock: lock })
    }
}

impl Drop for TempClaim {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Deletes what dead processes left in `root`: every folder whose lock can
/// be taken, and old leftovers of any other kind.
fn sweep(root: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(root)?.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let old = || {
            entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t.elapsed().is_ok_and(|age| age > STALE))
        };
        let pending = entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with(CLAIM_PENDING));
        let removed = if kind.is_dir() && !pending {
            match File::open(path.join(CLAIM_LOCK)) {
                // Held while deleting, so no other sweeper races this one.
                Ok(lock) if lock.try_lock().is_ok() => std::fs::remove_dir_all(&path),
                Ok(_) => continue,
                Err(_) if old() => std::fs::remove_dir_all(&path),
                Err(_) => continue,
            }
        } else if old() {
            if kind.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            }
        } else {
            continue;
        };
        match removed {
            Ok(()) => log::info!("deleted {}, left by an upload that died", path.display()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => log::warn!("could not delete {}: {e}", path.display()),
        }
    }
    Ok(())
}

/// How many GIFs are decoded at once: every core but one, at least one.
fn decoders() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1).max(1))
}

/// An upload on disk, not yet checked or stored. Dropping it deletes the file.
pub struct Received {
    file: NamedTempFile,
    sha256: String,
    bytes: u64,
}

/// What decoding found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GifInfo {
    pub width: u16,
    pub height: u16,
    pub frames: u32,
}

/// A checked upload, ready to be stored, with its poster if one could be made.
pub struct Checked {
    received: Received,
    pub info: GifInfo,
    poster: Option<NamedTempFile>,
}

impl Checked {
    pub fn file_name(&self) -> String {
        format!("{}.gif", self.received.sha256)
    }
}

/// The name of the poster of GIF `file` (`{sha256}.png`).
pub fn poster_name(file: &str) -> String {
    format!("{}.png", file.trim_end_matches(".gif"))
}

/// The name of the WebP rendition of GIF `file` (`{sha256}.webp`).
pub fn webp_name(file: &str) -> String {
    format!("{}.webp", file.trim_end_matches(".gif"))
}

impl GifStore {
    /// Opens (creating) the upload folder, deletes the temporary files of
    /// processes that died mid-upload and claims a temporary folder for this one.
    pub fn open(dir: &Path, limits: GifLimits) -> std::io::Result<Self> {
        let tmp_root = dir.join(".tmp");
        std::fs::create_dir_all(&tmp_root)?;
        sweep(&tmp_root)?;
        let claim = TempClaim::new(&tmp_root)?;
        Ok(Self {
            dir: dir.to_owned(),
            limits,
            lock: Arc::default(),
            decoders: Arc::new(Semaphore::new(decoders())),
            claim: Arc::new(claim),
        })
    }

    pub fn limits(&self) -> GifLimits {
        self.limits
    }

    /// The path of a stored GIF, if `name` is one the server could have made.
    pub fn path_of(&self, name: &str) -> Option<PathBuf> {
        GifName::is_valid(name).then(|| self.dir.join(name))
    }

    /// Streams a multipart field to a temporary file, hashing as it goes.
    /// Stops reading, and deletes what it wrote, as soon as the limit is passed.
    /// `body_limit` is the whole body's, for the message when it is passed.
    pub async fn receive(&self, field: &mut Field, body_limit: u64) -> AppResult<Received> {
        let file = NamedTempFile::new_in(&self.claim.path)?;
        let mut out = tokio::fs::File::from_std(file.reopen()?);
        let mut hasher = Sha256::new();
        let mut bytes = 0u64;
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|e| match e {
                actix_multipart::MultipartError::Payload(e) => payload_error(&e, body_limit),
                e => AppError::BadRequest(format!("the upload was interrupted: {e}")),
            })?;
            bytes += chunk.len() as u64;
            if bytes > self.limits.max_bytes {
                return Err(too_large(self.limits.max_bytes));
            }
            hasher.update(&chunk);
            tokio::io::AsyncWriteExt::write_all(&mut out, &chunk).await?;
        }
        tokio::io::AsyncWriteExt::flush(&mut out).await?;
        out.sync_all().await?;
        Ok(Received {
            file,
            sha256: hex::encode(hasher.finalize()),
            bytes,
        })
    }

    /// Decodes the whole file on the decoding pool, waiting for a turn.
    /// Pixels are read a slice at a time, so memory stays small however
    /// large the frames claim to be. Dropping the future gives the turn
    /// back only once the decode it started is over.
    pub async fn check(&self, received: Received) -> AppResult<Checked> {
        if received.bytes == 0 {
            return Err(AppError::field("gif", "the file is empty"));
        }
        let turn = self
            .decoders
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| AppError::Internal(e.into()))?;
        let limits = self.limits;
        let tmp = self.claim.path.clone();
        actix_web::web::block(move || {
            let _turn = turn;
            let info = inspect(received.file.path(), limits)?;
            // Without a poster now, the media pass makes one later.
            let poster = match super::media::poster(received.file.path()) {
                Ok(png) => Some(temp_file(&tmp, &png)?),
                Err(e) => {
                    log::warn!("no poster for an upload of {}: {e}", received.sha256);
                    None
                }
            };
            Ok(Checked {
                received,
                info,
                poster,
            })
        })
        .await?
    }

    /// The path of a stored file by name, whatever it is.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Places what the media pass made for GIF `file` and records it, under
    /// the files' lock and only if the GIF is still stored (else nothing is
    /// written): a poster, and with `variants` the renditions kept, marking
    /// the GIF processed. Files are written while the lock is held, so none
    /// outlives a GIF deleted meanwhile. False if the GIF is gone, or was
    /// processed meanwhile (by another instance).
    pub fn place_media(
        &self,
        conn: &mut DbConnection,
        file: &str,
        poster: Option<&[u8]>,
        variants: Option<&[(GifVariant, Vec<u8>)]>,
    ) -> AppResult<bool> {
        let _guard = self.lock.lock_or_recover();
        conn.transaction::<_, AppError, _>(|conn| {
            db::lock_gif_files(conn)?;
            let Some(row) = gif_rows::find(conn, file)? else {
                return Ok(false);
            };
            // Another instance's pass got there first.
            if row.processed && variants.is_some() {
                return Ok(false);
            }
            if let (Some(png), None) = (poster, &row.poster) {
                let name = poster_name(file);
                self.place(&temp_file(&self.claim.path, png)?, &name)?;
                gif_rows::set_poster(conn, file, &name)?;
            }
            if let Some(variants) = variants {
                for (variant, bytes) in variants {
                    self.place(&temp_file(&self.claim.path, bytes)?, &variant.file)?;
                }
                let rows: Vec<GifVariant> = variants.iter().map(|(v, _)| v.clone()).collect();
                gif_rows::finish_processing(conn, file, &rows)?;
            }
            Ok(true)
        })
    }

    /// Hard-links a temporary file to its stored name: the temporary file
    /// stays the caller's, and a name already there (the same bytes,
    /// placed by another instance) is kept.
    fn place(&self, temp: &NamedTempFile, name: &str) -> AppResult<()> {
        let path = self.dir.join(name);
        let placed = std::fs::hard_link(temp.path(), &path).or_else(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => Ok(()),
            // Where links cannot be made: a whole copy, renamed into place.
            _ => {
                let copy = NamedTempFile::new_in(&self.claim.path)?;
                std::fs::copy(temp.path(), copy.path())?;
                copy.persist(&path).map(drop).map_err(|e| e.error)
            }
        });
        placed.map_err(|e| {
            AppError::Internal(anyhow::Error::new(e).context(format!("storing {name}")))
        })
    }

    /// Where this process keeps the uploads it is receiving.
    pub fn temp_dir(&self) -> &Path {
        &self.claim.path
    }

    /// Stores a checked GIF and runs `record` (which inserts the chat) in the
    /// same transaction as the file's row (a savepoint inside the caller's).
    /// The file is in place before the transaction commits; if anything
    /// fails, neither the row nor a new file remains. Should the caller's
    /// own transaction fail later, [`GifStore::discard_unrecorded`] removes
    /// what this placed.
    pub fn store<T>(
        &self,
        conn: &mut DbConnection,
        checked: &Checked,
        record: impl FnOnce(&mut DbConnection, &Gif) -> AppResult<T>,
    ) -> AppResult<T> {
        let name = checked.file_name();
        let path = self.dir.join(&name);
        let poster = checked.poster.as_ref().map(|_| poster_name(&name));
        let row = Gif {
            file: name.clone(),
            width: i32::from(checked.info.width),
            height: i32::from(checked.info.height),
            bytes: checked.received.bytes as i64,
            created_at: now_millis(),
            poster: poster.clone(),
            processed: false,
        };
        let _guard = self.lock.lock_or_recover();
        let mut existed = true;
        let result = conn.transaction::<T, AppError, _>(|conn| {
            db::lock_gif_files(conn)?;
            existed = path.exists();
            gif_rows::insert_if_missing(conn, &row)?;
            let out = record(conn, &row)?;
            if let (Some(temp), Some(poster)) = (&checked.poster, &poster) {
                self.place(temp, poster)?;
            }
            if !existed {
                // Moved, not persisted: the upload stays the caller's, whose
                // temporary file is then already gone when it is dropped.
                std::fs::rename(checked.received.file.path(), &path).map_err(|e| {
                    AppError::Internal(anyhow::Error::new(e).context("storing a GIF"))
                })?;
            }
            Ok(out)
        });
        if result.is_err() && !existed && !gif_rows::exists(conn, &name).unwrap_or(true) {
            let _ = std::fs::remove_file(&path);
            let _ = std::fs::remove_file(self.dir.join(poster_name(&name)));
        }
        result
    }

    /// Posts a stored GIF again: in a transaction (a savepoint inside the
    /// caller's) under the GIF files' lock, so the file cannot go meanwhile,
    /// checks that `viewer` can see it in some room (else `not_found`) and
    /// runs `record`, which inserts the chat into `room_id`, with the
    /// description it may take there ([`gif_rows::inheritable_alt`]).
    /// Nothing is copied.
    pub fn reuse<T>(
        &self,
        conn: &mut DbConnection,
        file: &str,
        viewer: &str,
        room_id: &str,
        record: impl FnOnce(&mut DbConnection, Option<String>) -> AppResult<T>,
    ) -> AppResult<T> {
        if !GifName::is_valid(file) {
            return Err(AppError::NotFound("GIF"));
        }
        let _guard = self.lock.lock_or_recover();
        conn.transaction::<T, AppError, _>(|conn| {
            db::lock_gif_files(conn)?;
            if !gif_rows::visible_to(conn, file, viewer)? {
                return Err(AppError::NotFound("GIF"));
            }
            let alt = gif_rows::inheritable_alt(conn, file, room_id)?;
            record(conn, alt)
        })
    }

    /// Removes the GIFs named that have no row, with their posters and
    /// renditions: GIFs placed by a transaction that then failed, or
    /// released by one that has committed.
    pub fn discard_unrecorded(&self, conn: &mut DbConnection, files: &[String]) -> AppResult<()> {
        let _guard = self.lock.lock_or_recover();
        conn.transaction::<_, AppError, _>(|conn| {
            db::lock_gif_files(conn)?;
            for file in files {
                if !gif_rows::exists(conn, file)? {
                    self.remove_file(file);
                    self.remove_file(&poster_name(file));
                    self.remove_file(&webp_name(file));
                }
            }
            Ok(())
        })
    }

    /// Runs `change` (which stops chats using GIFs, as a deletion does) in a
    /// transaction (a savepoint inside the caller's) under the GIF files'
    /// lock, and deletes the rows of those of `files` no chat refers to any
    /// more. Their files stay until the caller's transaction has committed:
    /// it then hands the names returned to [`GifStore::discard_unrecorded`],
    /// so a transaction that fails after this savepoint leaves every file a
    /// row names.
    pub fn release<T>(
        &self,
        conn: &mut DbConnection,
        files: &[String],
        change: impl FnOnce(&mut DbConnection) -> AppResult<T>,
    ) -> AppResult<(T, Vec<String>)> {
        let _guard = self.lock.lock_or_recover();
        conn.transaction::<_, AppError, _>(|conn| {
            db::lock_gif_files(conn)?;
            let out = change(conn)?;
            let released = gif_rows::delete_unreferenced_among(conn, files)?;
            Ok((out, released))
        })
    }

    fn remove_file(&self, file: &str) {
        match std::fs::remove_file(self.dir.join(file)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => log::warn!("could not delete GIF {file}: {e}"),
        }
    }

    /// Deletes a room with its chats, then every GIF no chat refers to any
    /// more: rows in one transaction (not to be called inside another),
    /// files once it has committed.
    pub fn delete_room(&self, conn: &mut DbConnection, room_id: &str) -> AppResult<bool> {
        let (deleted, released) = {
            let _guard = self.lock.lock_or_recover();
            conn.transaction::<_, AppError, _>(|conn| {
                db::lock_gif_files(conn)?;
                let deleted = db::rooms::delete(conn, room_id)?;
                let released = if deleted {
                    gif_rows::delete_unreferenced(conn)?
                } else {
                    Vec::new()
                };
                Ok((deleted, released))
            })?
        };
        if !released.is_empty() {
            self.discard_unrecorded(conn, &released)?;
        }
        Ok(deleted)
    }
}

fn temp_file(dir: &Path, bytes: &[u8]) -> std::io::Result<NamedTempFile> {
    let mut file = NamedTempFile::new_in(dir)?;
    file.write_all(bytes)?;
    file.as_file().sync_all()?;
    Ok(file)
}

fn too_large(max: u64) -> AppError {
    AppError::PayloadTooLarge(format!("a GIF may be at most {max} bytes"))
}

fn not_a_gif(detail: impl std::fmt::Display) -> AppError {
    AppError::UnsupportedMediaType(format!("the file is not a valid GIF ({detail})"))
}

/// Decodes a GIF file's header and every frame without keeping pixels.
pub fn inspect(path: &Path, limits: GifLimits) -> AppResult<GifInfo> {
    inspect_reader(BufReader::new(File::open(path)?), limits)
}

/// Decodes a GIF's header and every frame without keeping pixels: one slice
/// of one frame is in memory at a time. Each frame counts the logical
/// screen's width × height toward `max_pixels` (frames must lie within the
/// screen, and a viewer composes each one onto a whole screen), and a GIF is
/// refused at the first frame that would pass it, before that frame is decoded.
pub fn inspect_reader(reader: impl Read, limits: GifLimits) -> AppResult<GifInfo> {
    let max_dim = limits.max_dimension;
    let mut options = gif::DecodeOptions::new();
    options.set_color_output(gif::ColorOutput::Indexed);
    options.check_frame_consistency(true);
    let frame_budget = u64::from(max_dim) * u64::from(max_dim);
    options.set_memory_limit(gif::MemoryLimit::Bytes(
        NonZeroU64::new(frame_budget.max(1)).unwrap_or(NonZeroU64::MIN),
    ));
    let mut decoder = options.read_info(reader).map_err(not_a_gif)?;
    let (width, height) = (decoder.width(), decoder.height());
    if width == 0 || height == 0 {
        return Err(not_a_gif("it has no pixels"));
    }
    if width > max_dim || height > max_dim {
        return Err(AppError::field(
            "gif",
            format!("must be at most {max_dim}×{max_dim} pixels (it is {width}×{height})"),
        ));
    }
    let screen = u64::from(width) * u64::from(height);
    let mut pixels = 0u64;
    let mut frames = 0u32;
    let mut slice = vec![0u8; 64 * 1024];
    while let Some(frame) = decoder.next_frame_info().map_err(not_a_gif)? {
        if frame.width > max_dim || frame.height > max_dim {
            return Err(AppError::field(
                "gif",
                format!("frames must be at most {max_dim}×{max_dim} pixels"),
            ));
        }
        frames += 1;
        if frames > limits.max_frames {
            return Err(AppError::field(
                "gif",
                format!("must have at most {} frames", limits.max_frames),
            ));
        }
        pixels += screen;
        if pixels > limits.max_pixels {
            return Err(AppError::field(
                "gif",
                format!(
                    "must decode to at most {} pixels (width × height × frames)",
                    limits.max_pixels
                ),
            ));
        }
        while decoder.fill_buffer(&mut slice).map_err(not_a_gif)? {}
    }
    if frames == 0 {
        return Err(not_a_gif("it has no frames"));
    }
    Ok(GifInfo {
        width,
        height,
        frames,
    })
}

/// Writes `bytes` as a temporary file and inspects it; for tests and tools.
pub fn inspect_bytes(bytes: &[u8], limits: GifLimits) -> AppResult<GifInfo> {
    let mut file = NamedTempFile::new()?;
    file.write_all(bytes)?;
    inspect(file.path(), limits)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: GifLimits = GifLimits {
        max_bytes: 1 << 20,
        max_dimension: 64,
        max_frames: 3,
        max_pixels: 64 * 64 * 3,
    };

    fn gif(width: u16, height: u16, frames: usize) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut enc =
                gif::Encoder::new(&mut out, width, height, &[0, 0, 0, 255, 255, 255]).unwrap();
            for i in 0..frames {
                let pixels = vec![(i % 2) as u8; width as usize * height as usize];
                enc.write_frame(&gif::Frame::from_indexed_pixels(
                    width, height, pixels, None,
                ))
                .unwrap();
            }
        }
        out
    }

    #[test]
    fn a_real_gif_is_measured() {
        let info = inspect_bytes(&gif(10, 7, 2), LIMITS).unwrap();
        assert_eq!(
            info,
            GifInfo {
                width: 10,
                height: 7,
                frames: 2
            }
        );
    }

    #[test]
    fn oversized_and_overlong_gifs_are_refused() {
        assert!(matches!(
            inspect_bytes(&gif(65, 10, 1), LIMITS),
            Err(AppError::Validation(_))
        ));
        assert!(matches!(
            inspect_bytes(&gif(8, 8, 4), LIMITS),
            Err(AppError::Validation(_))
        ));
    }

    #[test]
    fn the_pixel_total_counts_the_screen_once_per_frame() {
        let limits = GifLimits {
            max_pixels: 10 * 10 * 2,
            ..LIMITS
        };
        assert!(inspect_bytes(&gif(10, 10, 2), limits).is_ok());
        let Err(AppError::Validation(fields)) = inspect_bytes(&gif(10, 10, 3), limits) else {
            panic!("a third frame passes the cap");
        };
        assert!(fields["gif"].contains("200 pixels"), "{fields:?}");
    }

    #[test]
    fn the_sweep_takes_dead_folders_and_leaves_live_ones() {
        let root = tempfile::tempdir().unwrap();
        let live = TempClaim::new(root.path()).unwrap();
        std::fs::write(live.path.join("upload"), b"in flight").unwrap();
        // What a process killed mid-upload leaves: its folder, an unheld
        // lock file and a partial upload.
        let dead_path = root.path().join("0123abcd");
        std::fs::create_dir(&dead_path).unwrap();
        File::create(dead_path.join(CLAIM_LOCK)).unwrap();
        std::fs::write(dead_path.join("upload"), b"cut off").unwrap();
        sweep(root.path()).unwrap();
        assert!(live.path.join("upload").exists());
        assert!(!dead_path.exists());
    }

    #[test]
    fn truncated_or_foreign_files_are_not_gifs() {
        let mut g = gif(10, 10, 1);
        g.truncate(g.len() / 2);
        assert!(matches!(
            inspect_bytes(&g, LIMITS),
            Err(AppError::UnsupportedMediaType(_))
        ));
        assert!(matches!(
            inspect_bytes(b"\x89PNG\r\n\x1a\nrest", LIMITS),
            Err(AppError::UnsupportedMediaType(_))
        ));
    }
}
