//! Copies SQLite's WAL into the database file on a thread of its own.
//!
//! Left to itself, SQLite checkpoints in whichever connection commits when
//! the WAL passes 1,000 pages: the chat writer, every few seconds under
//! load, and a checkpoint ends in an `fsync` of the database file, during
//! which no chat is committed or sent. Here a `PASSIVE` checkpoint on
//! another connection copies what it can without taking the write lock, so
//! commits carry on beside it. The writer's own automatic checkpoint stays,
//! at 10,000 pages (see `pool.rs`), for when this thread falls behind.
//!
//! Not after every write, though: once a checkpoint has copied the whole
//! WAL, the next commit starts the WAL over, and starting it over syncs its
//! header in the committing connection, the writer, with every chat waiting
//! behind that `fsync`. Checkpointing after a few hundred writes or a few
//! seconds keeps it to one in that many commits. BENCHMARKS.md ("SQLite's
//! checkpoints", "SQLite's WAL restarts") has the traces behind both.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use anyhow::Context;
use diesel::connection::SimpleConnection;
use diesel::r2d2::ManageConnection;

use super::pool::Manager;
use crate::config::DatabaseTarget;

/// How often the checkpointing thread looks at what was written.
const CHECKPOINT_POLL: Duration = Duration::from_millis(100);
/// The WAL is copied into the SQLite database once this many write
/// transactions have gone into it ...
const CHECKPOINT_AFTER_WRITES: u32 = 256;
/// ... or once the first of them is this old.
const CHECKPOINT_WITHIN: Duration = Duration::from_secs(3);

/// The handle the `Db` keeps: it counts SQLite's write transactions, and the
/// checkpointing thread takes away those it has checkpointed. The thread
/// stops once the last handle is gone.
#[derive(Clone)]
pub(super) struct Checkpoints {
    written: Arc<AtomicU32>,
}

impl Checkpoints {
    /// Opens a connection of its own and starts the checkpointing thread.
    pub(super) fn start(target: &DatabaseTarget) -> anyhow::Result<Checkpoints> {
        let written = Arc::new(AtomicU32::new(0));
        let conn = Manager::new(target.clone())
            .connect()
            .context("opening the SQLite checkpointer")?;
        let watched = Arc::downgrade(&written);
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || run(conn, watched))
            .context("starting the SQLite checkpointer")?;
        Ok(Checkpoints { written })
    }

    /// Tells the checkpointing thread that the WAL has grown.
    pub(super) fn wrote(&self) {
        self.written.fetch_add(1, Ordering::Relaxed);
    }
}

fn run(mut conn: super::DbConnection, written: Weak<AtomicU32>) {
    // When the first write since the last checkpoint was seen.
    let mut since: Option<Instant> = None;
    loop {
        std::thread::sleep(CHECKPOINT_POLL);
        let Some(written) = written.upgrade() else {
            return;
        };
        let writes = written.load(Ordering::Relaxed);
        if writes == 0 {
            continue;
        }
        let first = *since.get_or_insert_with(Instant::now);
        if writes < CHECKPOINT_AFTER_WRITES && first.elapsed() < CHECKPOINT_WITHIN {
            continue;
        }
        // Writes counted since the load stay for the next round.
        written.fetch_sub(writes, Ordering::Relaxed);
        since = None;
        if let Err(e) = conn.batch_execute("PRAGMA wal_checkpoint(PASSIVE)") {
            log::warn!("checkpointing the SQLite WAL: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;

    /// What the writer commits reaches the database file within seconds,
    /// copied by the checkpointing thread, long before the WAL would reach
    /// the size at which the writer would copy it itself.
    #[test]
    fn committed_pages_reach_the_database_file_in_the_background() {
        let dir = tempfile::tempdir().expect("temporary folder");
        let path = dir.path().join("checkpoints.db");
        let db = Db::connect(&DatabaseTarget::Sqlite(path.clone()), 1).expect("opening");
        let size = || std::fs::metadata(&path).expect("the database file").len();
        let before = size();
        db.write_blocking(|conn| {
            Ok(conn.batch_execute(
                "CREATE TABLE filler (x BLOB); \
                 INSERT INTO filler WITH RECURSIVE n(i) AS \
                 (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200) \
                 SELECT randomblob(1000) FROM n;",
            )?)
        })
        .expect("writing 200 KB");
        let deadline = Instant::now() + CHECKPOINT_WITHIN + Duration::from_secs(7);
        while size() < before + 200_000 {
            assert!(
                Instant::now() < deadline,
                "the database file is still {} bytes ({before} before)",
                size()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
