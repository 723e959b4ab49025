//! GIF files: streamed to a temporary file while counting and hashing,
//! decoded frame by frame to prove they are GIFs, and stored under their
//! SHA-256 with an atomic rename, so identical uploads share one file.
//!
//! Files and their `gifs` rows change together under one lock: an upload
//! records its row and renames its file while holding it, and room deletion
//! drops unreferenced rows and unlinks their files while holding it. No
//! interleaving can therefore delete a file that a chat refers to, or leave
//! a file without a row. The lock is a mutex in the process and, on
//! PostgreSQL, also a transaction-scoped advisory lock, so instances sharing
//! one `UPLOAD_DIR` and one database exclude each other too.

use std::fs::File;
use std::io::{BufReader, Write};
use std::num::NonZeroU64;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use actix_multipart::Field;
use diesel::Connection;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use tempfile::NamedTempFile;

use crate::db::models::Gif;
use crate::db::{self, gifs as gif_rows, now_millis, DbConnection};
use crate::error::{AppError, AppResult};

#[derive(Debug, Clone, Copy)]
pub struct GifLimits {
    pub max_bytes: u64,
    pub max_dimension: u16,
    pub max_frames: u32,
}

#[derive(Clone)]
pub struct GifStore {
    dir: PathBuf,
    tmp_dir: PathBuf,
    limits: GifLimits,
    lock: Arc<Mutex<()>>,
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

/// A checked upload, ready to be stored.
pub struct Checked {
    received: Received,
    pub info: GifInfo,
}

impl Checked {
    pub fn file_name(&self) -> String {
        format!("{}.gif", self.received.sha256)
    }
}

impl GifStore {
    /// Opens (creating) the upload folder and clears temporary files left by
    /// a run that died mid-upload. Only old ones: another instance sharing
    /// the folder may be receiving an upload right now.
    pub fn open(dir: &Path, limits: GifLimits) -> std::io::Result<Self> {
        let tmp_dir = dir.join(".tmp");
        std::fs::create_dir_all(&tmp_dir)?;
        let stale = std::time::Duration::from_secs(3600);
        for entry in std::fs::read_dir(&tmp_dir)?.flatten() {
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t.elapsed().is_ok_and(|age| age > stale));
            if old {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        Ok(Self {
            dir: dir.to_owned(),
            tmp_dir,
            limits,
            lock: Arc::default(),
        })
    }

    pub fn limits(&self) -> GifLimits {
        self.limits
    }

    /// The path of a stored GIF, if `name` is one the server could have made.
    pub fn path_of(&self, name: &str) -> Option<PathBuf> {
        let hash = name.strip_suffix(".gif")?;
        let ok = hash.len() == 64
            && hash
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        ok.then(|| self.dir.join(name))
    }

    /// Streams a multipart field to a temporary file, hashing as it goes.
    /// Stops reading, and deletes what it wrote, as soon as the limit is passed.
    pub async fn receive(&self, field: &mut Field) -> AppResult<Received> {
        let file = NamedTempFile::new_in(&self.tmp_dir)?;
        let mut out = tokio::fs::File::from_std(file.reopen()?);
        let mut hasher = Sha256::new();
        let mut bytes = 0u64;
        while let Some(chunk) = field.next().await {
            let chunk = chunk
                .map_err(|e| AppError::BadRequest(format!("the upload was interrupted: {e}")))?;
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

    /// Decodes the whole file (blocking). Pixels are read a slice at a time,
    /// so memory stays small however large the frames claim to be.
    pub fn check(&self, received: Received) -> AppResult<Checked> {
        if received.bytes == 0 {
            return Err(AppError::field("gif", "the file is empty"));
        }
        let info = inspect(received.file.path(), self.limits)?;
        Ok(Checked { received, info })
    }

    /// Stores a checked GIF and runs `record` (which inserts the chat) in the
    /// same transaction as the file's row. The file is in place before the
    /// transaction commits; if anything fails, neither the row nor a new file remains.
    pub fn store<T>(
        &self,
        conn: &mut DbConnection,
        checked: Checked,
        record: impl FnOnce(&mut DbConnection, &Gif) -> AppResult<T>,
    ) -> AppResult<T> {
        let name = checked.file_name();
        let path = self.dir.join(&name);
        let row = Gif {
            file: name.clone(),
            width: i32::from(checked.info.width),
            height: i32::from(checked.info.height),
            bytes: checked.received.bytes as i64,
            created_at: now_millis(),
        };
        let _guard = self
            .lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut existed = true;
        let result = conn.transaction::<T, AppError, _>(|conn| {
            db::lock_gif_files(conn)?;
            existed = path.exists();
            gif_rows::insert_if_missing(conn, &row)?;
            let out = record(conn, &row)?;
            if !existed {
                checked.received.file.persist(&path).map_err(|e| {
                    AppError::Internal(anyhow::Error::new(e.error).context("storing a GIF"))
                })?;
            }
            Ok(out)
        });
        if result.is_err() && !existed && !gif_rows::exists(conn, &name).unwrap_or(true) {
            let _ = std::fs::remove_file(&path);
        }
        result
    }

    /// Deletes a room with its chats, then every GIF no chat refers to any more.
    pub fn delete_room(&self, conn: &mut DbConnection, room_id: &str) -> AppResult<bool> {
        let _guard = self
            .lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        conn.transaction::<_, AppError, _>(|conn| {
            db::lock_gif_files(conn)?;
            let deleted = db::rooms::delete(conn, room_id)?;
            if deleted {
                for file in gif_rows::delete_unreferenced(conn)? {
                    match std::fs::remove_file(self.dir.join(&file)) {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => log::warn!("could not delete GIF {file}: {e}"),
                    }
                }
            }
            Ok(deleted)
        })
    }
}

fn too_large(max: u64) -> AppError {
    AppError::PayloadTooLarge(format!("a GIF may be at most {max} bytes"))
}

fn not_a_gif(detail: impl std::fmt::Display) -> AppError {
    AppError::UnsupportedMediaType(format!("the file is not a valid GIF ({detail})"))
}

/// Decodes a GIF file's header and every frame without keeping pixels.
pub fn inspect(path: &Path, limits: GifLimits) -> AppResult<GifInfo> {
    let max_dim = limits.max_dimension;
    let mut options = gif::DecodeOptions::new();
    options.set_color_output(gif::ColorOutput::Indexed);
    options.check_frame_consistency(true);
    let frame_budget = u64::from(max_dim) * u64::from(max_dim);
    options.set_memory_limit(gif::MemoryLimit::Bytes(
        NonZeroU64::new(frame_budget.max(1)).unwrap_or(NonZeroU64::MIN),
    ));
    let mut decoder = options
        .read_info(BufReader::new(File::open(path)?))
        .map_err(not_a_gif)?;
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
